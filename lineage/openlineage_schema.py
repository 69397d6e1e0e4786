"""Check OpenLineage events against the JSON Schemas their `schemaURL` / `_schemaURL` name.

Every *.json file of lineage/openlineage_schemas/ is registered under its `$id`: Kura's own
facets (KuraFacets.json) always, and the OpenLineage spec's schemas (OpenLineage.json and the
standard facets' files) once vendored there; nothing is fetched. An event is checked against
its `schemaURL` (the spec's RunEvent) and every facet against its `_schemaURL`; a URL whose file
is not there is reported as unavailable, never passed silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

SCHEMA_DIR = Path(__file__).resolve().parent / "openlineage_schemas"


@dataclass(frozen=True)
class SchemaCheck:
    checked: frozenset[str]  # schema documents (URL without fragment) something was checked by
    unavailable: frozenset[str]  # schema documents named by the events but not shipped
    problems: tuple[str, ...]  # one line each: event, facet, where, what

    @property
    def ok(self) -> bool:
        return not self.problems


@cache
def schema_registry(directory: Path = SCHEMA_DIR) -> Registry:
    """Every schema file of `directory`, under its `$id`."""
    resources = []
    for path in sorted(directory.glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _document(url: str) -> str:
    return url.split("#", 1)[0]


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, facet) of every facet of an event: run, job, datasets, input and output facets."""
    groups = [("run", event.get("run") or {}, "facets"), ("job", event.get("job") or {}, "facets")]
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            groups.append((f"{side}[{i}]", dataset, "facets"))
            groups.append((f"{side}[{i}]", dataset, "inputFacets" if side == "inputs"
                           else "outputFacets"))
    for where, holder, key in groups:
        for name, facet in sorted((holder.get(key) or {}).items()):
            if isinstance(facet, dict):
                yield f"{where}.{key}.{name}", facet


def _validate(instance: Any, url: str, registry: Registry) -> list[str]:
    validator = Draft202012Validator({"$ref": url}, registry=registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
            for error in validator.iter_errors(instance)]


def check_events(events: Iterable[dict[str, Any]], directory: Path = SCHEMA_DIR) -> SchemaCheck:
    """Validate each serialized event (a dict, as `Serde.to_dict` gives it)."""
    registry = schema_registry(directory)
    checked: set[str] = set()
    unavailable: set[str] = set()
    problems: list[str] = []
    for n, event in enumerate(events):
        label = f"event {n} ({event.get('eventType', '?')} {(event.get('job') or {}).get('name')})"
        targets = [("event", event, event.get("schemaURL"))]
        targets += [(where, facet, facet.get("_schemaURL")) for where, facet in _facets(event)]
        for where, instance, url in targets:
            if not isinstance(url, str) or not url:
                problems.append(f"{label} {where}: no schema URL")
                continue
            try:
                registry.get_or_retrieve(_document(url))
                errors = _validate(instance, url, registry)
            except (NoSuchResource, Unresolvable) as exc:  # its file, or one it $refs, is absent
                unavailable.add(_document(str(getattr(exc, "ref", url))))
                continue
            checked.add(_document(url))
            problems += [f"{label} {where}: {error}" for error in errors]
    return SchemaCheck(frozenset(checked), frozenset(unavailable), tuple(problems))

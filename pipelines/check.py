"""`kura check MANIFEST`: every problem a manifest would stop `kura onboard` with, at once,
without running anything.

Checked, each by the code the launch uses: the manifest itself (every invalid key, with "did
you mean"); the sources (pipelines/check_sources.py: globs, files, `text_field`); the pseudonym
secret's presence (transforms/pii.py; the secret is never shown); and, with a store, the
residency guard's verdict (pipelines/guard.py, for the embedded runner) and the corpus id's
owner (lineage/owners.py). A part of the manifest that is invalid is skipped where the checks
need it and the rest is still checked: three mistakes take one run to find, not three.

Remote sources are listed and read only once a store's policy has been checked and the guard
found nothing: the guard comes before any byte is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipelines.check_sources import SourceCheck, check_sources
from pipelines.plan import REMOTE_SCHEMES
from schemas.manifest import (
    CorpusSection,
    LimitsSection,
    Manifest,
    ManifestError,
    ManifestProblem,
    SourceSection,
    manifest_problems,
    read_manifest_data,
)
from schemas.pii import PiiConfig

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class CheckReport:
    """Every problem (it would not run) and warning (it would run; worth a look)."""

    manifest: Path
    problems: tuple[ManifestProblem, ...]
    warnings: tuple[ManifestProblem, ...]
    sources: tuple[SourceCheck, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        def listed(items: tuple[ManifestProblem, ...]) -> list[dict[str, Any]]:
            return [{"where": p.where, "message": p.message, "suggestion": p.suggestion}
                    for p in items]

        return {
            "ok": self.ok,
            "problems": listed(self.problems),
            "warnings": listed(self.warnings),
            "sources": [{"uri": s.uri, "files": s.files, "bytes": s.bytes, "format": s.format,
                         "fields": list(s.fields)} for s in self.sources],
        }


def _valid(model: type[Model], value: object) -> Model | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _split(message: str, fallback: str) -> ManifestProblem:
    """`pii.secret_env: env var X is unset` -> where `pii.secret_env`, and the rest."""
    where, sep, rest = message.partition(": ")
    if sep and " " not in where:
        return ManifestProblem(where, rest)
    return ManifestProblem(fallback, message)


@dataclass(frozen=True)
class _Parts:
    """The parts of a manifest that are valid on their own, for the checks that need them."""

    manifest: Manifest | None  # the sources that are valid, under the corpus (or a stand-in)
    indices: tuple[int, ...]  # their positions in the manifest file
    corpus: CorpusSection | None
    pii: PiiConfig | None
    skipped: tuple[ManifestProblem, ...]


def _stand_in_corpus(raw: object) -> CorpusSection:
    """An invalid [corpus] for checking the sources only (never recorded): its own root and
    source_uris where those are valid, since they decide which sources are refused."""
    placing = {key: raw[key] for key in ("root", "source_uris")
               if isinstance(raw, dict) and key in raw}
    unchecked = dict(id="unchecked", member="unchecked", license="unchecked",
                     sensitivity="restricted")
    return _valid(CorpusSection, {**unchecked, **placing}) or CorpusSection(**unchecked)


def _parts(data: dict, manifest: Manifest | None) -> _Parts:
    if manifest is not None:
        return _Parts(manifest, tuple(range(len(manifest.sources))), manifest.corpus,
                      manifest.pii, ())
    raw_sources = data.get("sources")
    sections, indices, skipped = [], [], []
    for i, raw in enumerate(raw_sources if isinstance(raw_sources, list) else []):
        section = _valid(SourceSection, raw)
        if section is None:
            skipped.append(ManifestProblem(
                f"sources[{i}]", "its files are checked once its section is valid"))
        else:
            sections.append(section)
            indices.append(i)
    corpus = _valid(CorpusSection, data.get("corpus"))
    limits = _valid(LimitsSection, data.get("limits", {})) or LimitsSection()
    stand_in = Manifest(corpus=corpus or _stand_in_corpus(data.get("corpus")), sources=sections,
                        limits=limits) if sections else None
    return _Parts(stand_in, tuple(indices), corpus, _valid(PiiConfig, data.get("pii", {})),
                  tuple(skipped))


def _secret_problems(pii: PiiConfig | None, environ: Mapping[str, str]) -> list[ManifestProblem]:
    if pii is None or pii.mode != "pseudonym":
        return []
    from transforms.pii import PiiConfigError, check_secret

    try:
        check_secret(pii, environ)  # read and dropped: only its presence is reported
    except PiiConfigError as exc:
        return [_split(str(exc), "pii")]
    return []


def _store_problems(parts: _Parts, store: Path) -> tuple[list[ManifestProblem], bool]:
    """The residency guard's verdict for the embedded runner, and the corpus id's owner; and
    whether the guard passed the sources."""
    from lineage.keys import KeyStoreError, load_site_context
    from lineage.log import TransparencyLog
    from lineage.owners import corpus_owners
    from pipelines.guard import ResidencyViolation, residency_problems
    from pipelines.launch_config import launch_config
    from pipelines.options import RunnerChoice

    try:
        site = load_site_context(store)
    except KeyStoreError as exc:
        return [ManifestProblem("store", f"{store}: {exc}")], False
    problems = []
    verdict: list[str] = []
    if parts.manifest is not None:
        try:
            verdict = residency_problems(parts.manifest, store, launch_config(RunnerChoice()),
                                         site.signed_policy, site_id=site.site_id)
        except ResidencyViolation as exc:
            verdict = exc.problems
        problems += [_split(line, "residency") for line in verdict]
    if parts.corpus is not None:
        owners = corpus_owners(TransparencyLog(store).read().lines)
        owner = owners.get(parts.corpus.id)
        if owner is not None and owner[0] != parts.corpus.member:
            problems.append(ManifestProblem(
                "corpus.id", f"{parts.corpus.id} belongs to member {owner[0]} (first onboarded "
                f"at log index {owner[1]}); member {parts.corpus.member} cannot onboard it: "
                "choose another corpus.id"))
    return problems, parts.manifest is not None and not verdict


def _remote_out(parts: _Parts, why: str) -> tuple[_Parts, list[ManifestProblem]]:
    """The parts less their remote sources, each with a warning that it was not looked at."""
    assert parts.manifest is not None
    kept = [(i, s) for i, s in zip(parts.indices, parts.manifest.sources, strict=True)
            if not s.uri.startswith(REMOTE_SCHEMES)]
    warnings = [ManifestProblem(f"sources[{i}]", "not listed or read: a remote source is read "
                                f"only once the residency guard has passed it ({why})")
                for i, s in zip(parts.indices, parts.manifest.sources, strict=True)
                if s.uri.startswith(REMOTE_SCHEMES)]
    manifest = parts.manifest.model_copy(update={"sources": [s for _, s in kept]})
    return _Parts(manifest if kept else None, tuple(i for i, _ in kept), parts.corpus,
                  parts.pii, parts.skipped), warnings


def check_manifest(path: Path, store: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> CheckReport:
    """Every problem and warning of the manifest at `path` (see the module doc)."""
    try:
        data = read_manifest_data(path)
    except ManifestError as exc:
        return CheckReport(path, (_split(str(exc).removeprefix(f"{path}: "), "manifest"),), ())
    manifest, problems = manifest_problems(data)
    parts = _parts(data, manifest)
    warnings = list(parts.skipped)
    problems += _secret_problems(parts.pii, os.environ if environ is None else environ)
    guarded = False
    if store is None:
        warnings.append(ManifestProblem("store", "residency and corpus ownership were not "
                                        "checked: give --store (or set KURA_STORE)"))
    else:
        found, guarded = _store_problems(parts, store)
        problems += found
    checked = parts
    if parts.manifest is not None and not guarded:
        checked, unread = _remote_out(
            parts, "give --store" if store is None else "it has not: see the problems")
        warnings += unread
    sources: list[SourceCheck] = []
    if checked.manifest is not None:
        sources, root_problems = check_sources(checked.manifest, path, store, checked.indices)
        problems += root_problems
    for source in sources:
        problems += source.problems
        warnings += source.warnings
    return CheckReport(path, tuple(problems), tuple(warnings), tuple(sources))

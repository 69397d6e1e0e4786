"""What is wrong with a manifest: every problem at once, each naming its key, with a suggestion.

Pydantic reports every invalid field of a model in one `ValidationError`; each becomes a
`ManifestProblem`: where (`sources[0].text_field`), what is wrong, and what the steward likely
meant. An unknown key is matched against the model's field names at its own level
(`text_column` -> `text_field`, `[qualty]` -> `quality`); a value outside a fixed set lists the
allowed values and the closest of them. A problem never quotes a value the manifest holds
under an unknown key, and quotes a known key's value only where it is a choice among names.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.suggest import closest

_QUOTED = re.compile(r"'([^']*)'")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SHOWN_VALUE_CHARS = 60
_TOML_TYPES = {"str": "string", "int": "integer", "float": "float", "bool": "boolean",
               "list": "array", "datetime": "date-time", "date": "date", "time": "time"}


class ManifestError(ValueError):
    """A manifest that cannot be used; the message is one line for the steward."""


@dataclass(frozen=True)
class ManifestProblem:
    """One problem: `where` is the key path (or a file, or `store`), `suggestion` what the
    steward likely meant (a key, a value, a path or a field name), if anything is likely."""

    where: str
    message: str
    suggestion: str | None = None

    def text(self) -> str:
        """`where: message; did you mean X?` on one line."""
        hint = f"; did you mean {self.suggestion}?" if self.suggestion else ""
        return f"{self.where}: {self.message}{hint}"


class ManifestProblems(ManifestError):
    """Every problem of a manifest; `str()` is one line naming them all."""

    def __init__(self, origin: str, problems: Sequence[ManifestProblem]) -> None:
        self.origin = origin
        self.problems = tuple(problems)
        super().__init__(self._message())

    def lines(self) -> list[str]:
        """Each problem as `origin: where: message`."""
        return [f"{self.origin}: {p.text()}" for p in self.problems]

    def _message(self) -> str:
        if len(self.problems) == 1:
            return self.lines()[0]
        joined = " | ".join(p.text() for p in self.problems)
        return f"{self.origin}: {len(self.problems)} problems: {joined}"


def _escaped(ch: str) -> str:
    if ch in '"\\':
        return "\\" + ch
    if ch.isprintable():
        return ch
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _key(part: str) -> str:
    """A key as TOML writes it: bare, or quoted with anything unprintable escaped (a key may
    hold a newline; a problem stays on one line)."""
    if _BARE_KEY.fullmatch(part):
        return part
    return '"' + "".join(_escaped(ch) for ch in part) + '"'


def field_path(loc: Sequence[int | str]) -> str:
    """`("sources", 0, "text_field")` -> `sources[0].text_field`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{_key(part)}" if path else _key(part)
    return path or "(top level)"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (`list[SourceSection]`, `X | None`, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None:
        return []
    if origin in (typing.Union, types.UnionType) or origin in (list, tuple, set, frozenset):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model whose fields are the keys at `loc` (list indices step into the item model)."""
    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        models = _models_in(field.annotation) if field is not None else []
        if len(models) != 1:
            return None
        current = models[0]
    return current


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 1] + "…"


def _problem(error: dict, model: type[BaseModel]) -> ManifestProblem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = model_at(model, loc[:-1])
        names = list(parent.model_fields) if parent is not None else []
        what = "unknown section" if len(loc) == 1 and isinstance(error["input"], dict) else (
            "unknown key")
        return ManifestProblem(field_path(loc), what, closest(str(loc[-1]), names))
    if kind in ("literal_error", "enum"):
        allowed = _QUOTED.findall(str((error.get("ctx") or {}).get("expected", "")))
        value = error.get("input")
        suggestion = closest(value, allowed) if isinstance(value, str) else None
        return ManifestProblem(
            field_path(loc), f"{_shown(value)} is not allowed (allowed: {', '.join(allowed)})",
            suggestion)
    if kind == "model_type":
        given = _TOML_TYPES.get(type(error.get("input")).__name__, "value")
        return ManifestProblem(field_path(loc), f"should be a table of keys, not a {given}")
    message = str(error["msg"]).removeprefix("Value error, ")
    return ManifestProblem(field_path(loc), message)


def validation_problems(exc: ValidationError, model: type[BaseModel]) -> list[ManifestProblem]:
    """Every error of a validation, one problem each. A required key reported missing next to
    an unknown key that names it (`licence` for `license`) is one mistake: only the unknown
    key is reported, with its suggestion."""
    errors = exc.errors()
    problems = [_problem(error, model) for error in errors]
    misspelt = {
        (field_path(tuple(e["loc"])[:-1]), p.suggestion)
        for e, p in zip(errors, problems, strict=True)
        if e["type"] == "extra_forbidden" and p.suggestion
    }
    kept = []
    for error, problem in zip(errors, problems, strict=True):
        loc = tuple(error["loc"])
        if error["type"] == "missing" and (field_path(loc[:-1]), str(loc[-1])) in misspelt:
            continue
        kept.append(problem)
    return kept

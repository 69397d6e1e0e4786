"""A manifest's sources, checked before a run: do they name files, and do the files hold the
`text_field`?

Each source is expanded as the plan expands it (pipelines/plan.py: stat and list only, regular
files, never the store) and the start of up to `CHECKED_FILES` of its files is read with
ingestion's own code (transforms/ingest_sample.py). A problem stops `kura onboard` before
anything runs: a path or glob that names no file (with the path the steward likely meant), a
file that is not a regular file, a `text_field` that is no field or column of a file (with the
ones it has and the closest). What a run survives record by record (an empty or binary file,
some records without the field) is a warning. Field names are reported, never values.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pipelines.nearby import suggest_path
from pipelines.plan import REMOTE_SCHEMES, PlannedFile, resolve_source, source_root
from schemas.manifest import (
    Manifest,
    ManifestError,
    ManifestProblem,
    ManifestProblems,
    SourceSection,
)
from schemas.suggest import closest
from transforms.ingest_sample import SAMPLE_RECORDS, FieldSample, sample_fields
from transforms.ingest_stream import Opener

CHECKED_FILES = 20
LISTED_FIELDS = 20
_NOUN = {"csv": "column", "parquet": "column", "jsonl": "field"}


@dataclass(frozen=True)
class SourceCheck:
    """One manifest source: what it names, the fields its files start with, what is wrong."""

    index: int
    uri: str
    format: str
    files: int = 0
    bytes: int = 0
    fields: tuple[str, ...] = ()
    problems: tuple[ManifestProblem, ...] = ()
    warnings: tuple[ManifestProblem, ...] = ()


@dataclass
class _Findings:
    problems: list[ManifestProblem] = field(default_factory=list)
    warnings: list[ManifestProblem] = field(default_factory=list)
    fields: dict[str, None] = field(default_factory=dict)


def _opener(planned: PlannedFile) -> Opener:
    path = planned.source.path

    @contextmanager
    def open_source() -> Iterator[BinaryIO]:
        if path.startswith(REMOTE_SCHEMES):
            from apache_beam.io.filesystems import FileSystems

            handle = FileSystems.open(path)
        else:
            from transforms.ingest_beam import open_regular_file

            handle = open_regular_file(path)  # as the run opens it: a regular file, no FIFO
        with closing(handle):
            yield handle

    return open_source


def _shown(planned: PlannedFile) -> str:
    return planned.source.name or planned.source.path


def _listed(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:LISTED_FIELDS])
    more = len(names) - LISTED_FIELDS
    return shown + (f" and {more} more" if more > 0 else "")


def _expansion_problem(index: int, section: SourceSection, base: Path,
                       exc: Exception) -> ManifestProblem:
    where = f"sources[{index}].uri"
    message = str(exc).removeprefix(f"{where}: ")
    if section.uri.startswith(REMOTE_SCHEMES):
        return ManifestProblem(where, message)
    local = Path(section.uri.removeprefix("file://"))
    local = local if local.is_absolute() else base / local
    if glob.glob(str(local), recursive=True) or local.exists():
        return ManifestProblem(where, message)  # something is there, but not a file to read
    hint = suggest_path(section.uri, base)
    return ManifestProblem(where, message + hint.note(base), hint.suggestion)


def _judge_sample(index: int, section: SourceSection, planned: PlannedFile,
                  sample: FieldSample, found: _Findings, missing: list[tuple[str, FieldSample]]
                  ) -> None:
    name = _shown(planned)
    where = f"sources[{index}]"
    found.fields.update(dict.fromkeys(sample.fields))
    if sample.status == "empty":
        found.warnings.append(ManifestProblem(where, f"{name} is empty: it yields no document"))
    elif sample.status == "binary":
        found.warnings.append(ManifestProblem(
            where, f"{name} does not read as text: it would be one reject"))
    elif sample.status == "unreadable":
        found.warnings.append(ManifestProblem(
            where, f"{name} cannot be read as {section.format}: it would yield no document"))
    if sample.status != "ok" or section.format == "text":
        return
    field_where, text_field = f"{where}.text_field", section.text_field
    if section.format == "jsonl" and sample.records == sample.unparsed:
        if sample.records:
            found.warnings.append(ManifestProblem(
                where, f"none of the first {sample.records} lines of {name} is a JSON object"))
        return
    if not sample.found and (sample.fields or section.format != "csv"):
        missing.append((name, sample))
    elif sample.field_type is not None:
        found.problems.append(ManifestProblem(
            field_where, f"column {text_field!r} of {name} is {sample.field_type}, not text: "
            "every row would be rejected"))
    elif sample.lacking:
        found.warnings.append(ManifestProblem(
            field_where, f"{sample.lacking} of the first {sample.records} records of {name} "
            f"{'has' if sample.lacking == 1 else 'have'} no field {text_field!r}: "
            f"{'it' if sample.lacking == 1 else 'they'} would be rejected"))


def _missing_problem(index: int, section: SourceSection,
                     missing: list[tuple[str, FieldSample]]) -> ManifestProblem:
    name, sample = missing[0]
    noun = _NOUN[section.format]
    others = f" (nor of {len(missing) - 1} more of its files)" if len(missing) > 1 else ""
    if section.format == "jsonl":
        head = (f"no record among the first {min(sample.records, SAMPLE_RECORDS)} of {name} "
                f"has the field {section.text_field!r}{others}")
    else:
        head = f"{section.text_field!r} is not a {noun} of {name}{others}"
    listed = f"; its {noun}s: {_listed(sample.fields)}" if sample.fields else ""
    return ManifestProblem(f"sources[{index}].text_field", head + listed,
                           closest(section.text_field, sample.fields))


def check_source(index: int, section: SourceSection, manifest: Manifest, base: Path,
                 store_root: Path | None = None, root: Path | None = None) -> SourceCheck:
    """Expand one source and look at the start of its files (see the module doc)."""
    try:
        planned = resolve_source(index, section, manifest, base, store_root, root)
    except (ManifestError, OSError) as exc:  # OSError: a remote listing failed
        return SourceCheck(index, section.uri, section.format,
                           problems=(_expansion_problem(index, section, base, exc),))
    found, missing = _Findings(), []
    for item in planned[:CHECKED_FILES]:
        sample = sample_fields(item.source, _opener(item))
        _judge_sample(index, section, item, sample, found, missing)
    if missing:
        found.problems.insert(0, _missing_problem(index, section, missing))
    if len(planned) > CHECKED_FILES and section.format != "text":
        found.warnings.append(ManifestProblem(
            f"sources[{index}]", f"the first {CHECKED_FILES} of its {len(planned)} files were "
            "checked; the run reads them all"))
    return SourceCheck(index, section.uri, section.format, len(planned),
                       sum(p.size for p in planned), tuple(found.fields),
                       tuple(found.problems), tuple(found.warnings))


def check_sources(manifest: Manifest, manifest_path: Path, store_root: Path | None = None,
                  indices: tuple[int, ...] | None = None
                  ) -> tuple[list[SourceCheck], list[ManifestProblem]]:
    """`check_source` of each source (or of the sources at `indices` of the manifest file,
    when `manifest` holds only those), and the problem of `corpus.root`, if any."""
    base = manifest_path.resolve().parent
    numbers = indices if indices is not None else tuple(range(len(manifest.sources)))
    try:
        root, problems = source_root(manifest, base), []
    except ManifestError as exc:
        where, _, message = str(exc).partition(": ")
        root, problems = None, [ManifestProblem(where, message)]
        # Where sources are recorded does not change what is read: without a usable root,
        # check the files as they would be read, and do not judge them against a root.
        absolute = manifest.corpus.model_copy(update={"source_uris": "absolute"})
        manifest = manifest.model_copy(update={"corpus": absolute})
    checks = [check_source(i, s, manifest, base, store_root, root)
              for i, s in zip(numbers, manifest.sources, strict=True)]
    return checks, problems


def refuse_bad_sources(manifest: Manifest, manifest_path: Path, store_root: Path) -> None:
    """Raise `ManifestProblems` naming every problem of the sources (warnings pass)."""
    checks, problems = check_sources(manifest, manifest_path, store_root)
    problems += [p for check in checks for p in check.problems]
    if problems:
        raise ManifestProblems(str(manifest_path), problems)

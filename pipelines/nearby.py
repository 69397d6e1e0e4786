""""Did you mean" for a source path or glob that matches nothing.

The path is walked from the manifest's folder one part at a time; a part that names nothing is
replaced by the closest name in its folder (`data/manulas/*.jsonl` -> `data/manuals/*.jsonl`),
and a glob whose folders exist but that matches nothing tries the closest file suffix found
there (`*.jsonl` where the files are `.json`). A suggestion is given only if it matches a file;
otherwise the hint names the nearest existing folder and a few of its entries, closest first.
Only names are listed (stat and list, never open).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from schemas.suggest import closest, ranked

LISTED_ENTRIES = 5
_SCANNED_NAMES = 2000  # a recursive glob's suffixes are looked for among this many names


@dataclass(frozen=True)
class PathHint:
    """A pattern that matches files (as the steward would write it), else the nearest folder
    that exists and a few of its entries."""

    suggestion: str | None
    folder: Path | None = None
    entries: tuple[str, ...] = ()

    def note(self, base: Path) -> str:
        """`; the nearest folder data/ holds: a.json, b.json` (empty when there is nothing)."""
        if self.suggestion or self.folder is None:
            return ""
        shown = _shown_folder(self.folder, base)
        if not self.entries:
            return f"; the nearest folder {shown} is empty"
        return f"; the nearest folder {shown} holds: {', '.join(self.entries)}"


def _shown_folder(folder: Path, base: Path) -> str:
    try:
        relative = folder.relative_to(base)
    except ValueError:
        return f"{folder}/"
    return f"{relative}/" if relative.parts else "./ (the manifest's folder)"


def _entries(folder: Path, folders_only: bool) -> list[str]:
    try:
        with os.scandir(folder) as scan:
            return [e.name for e in scan if not folders_only or e.is_dir()]
    except OSError:
        return []


def _matches_a_file(path: Path) -> bool:
    if glob.has_magic(str(path)):
        return any(os.path.isfile(p) for p in glob.iglob(str(path), recursive=True))
    return path.is_file()


def _suffixes_under(folder: Path, recursive: bool) -> set[str]:
    if recursive:
        names = (name for _, _, files in os.walk(folder) for name in files)
    else:
        names = iter(_entries(folder, folders_only=False))
    return {Path(name).suffix for name in islice(names, _SCANNED_NAMES)} - {""}


def suggest_path(pattern: str, base: Path) -> PathHint:
    """What a path or glob that matches nothing probably meant (see the module doc)."""
    scheme = "file://" if pattern.startswith("file://") else ""
    written = Path(pattern.removeprefix("file://"))
    root = Path(written.anchor) if written.is_absolute() else base
    parts = written.parts[1:] if written.is_absolute() else written.parts
    if not parts:
        return PathHint(None)

    def spelled(fixed: list[str]) -> str:
        prefix = [written.anchor] if written.is_absolute() else []
        return scheme + str(Path(*prefix, *fixed))

    fixed: list[str] = []
    folder = root
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            fixed.extend(parts[i:])
            break
        if part in (".", "..") or (folder / part).exists():
            fixed.append(part)
            folder = folder / part
            continue
        if not folder.is_dir():
            return PathHint(None)
        names = _entries(folder, folders_only=i < len(parts) - 1)
        best = closest(part, names)
        if best is None:
            return PathHint(None, folder, tuple(ranked(part, names, LISTED_ENTRIES)))
        fixed.append(best)
        folder = folder / best
    if fixed != list(parts) and _matches_a_file(root.joinpath(*fixed)):
        return PathHint(spelled(fixed))
    last = fixed[-1]
    if glob.has_magic(last) and Path(last).suffix and not glob.has_magic(Path(last).suffix):
        suffix = Path(last).suffix
        better = closest(suffix, _suffixes_under(folder, recursive="**" in fixed))
        if better:
            renamed = [*fixed[:-1], last[: -len(suffix)] + better]
            if _matches_a_file(root.joinpath(*renamed)):
                return PathHint(spelled(renamed))
    if folder.is_file():
        return PathHint(None)
    leaf = last if not glob.has_magic(last) else Path(last).suffix or last
    return PathHint(None, folder, tuple(ranked(leaf, _entries(folder, False), LISTED_ENTRIES)))

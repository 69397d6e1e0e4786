"""Resolve an onboarded manifest into what a run will read and write, before anything is read.

Globs are expanded and sizes taken from the file system's listing (no file is opened), so the
residency guard can check every location before the first byte is read. Only regular files are
planned, symlinks are resolved, and nothing that resolves into the store is read (DESIGN.md
"Bounded reads").

What a local source is *recorded* as (its `uri`: shards' and rejects' `source_uri`, the run
summary, the lineage records) is its resolved path relative to the manifest's `corpus.root`
(default: the manifest's folder), e.g. `manuals/a.jsonl`, so a steward's absolute paths never
reach a shard or the append-only log; with `corpus.source_uris = "absolute"` it is the resolved
path as a file:// URI. A local source that resolves outside the root is refused, naming the
source and the root: recording its absolute path instead would put it into the log for good,
which the steward did not ask for. Remote sources keep their gs:// or s3:// URI. Only the
recorded name changes: what is read and checked against the store is the resolved path, and doc
ids still come from the corpus, the file's digest and its path relative to the manifest.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pyarrow as pa

from lineage.corpus_state import configuration_digest
from schemas.manifest import Location, Manifest, ManifestError, SourceSection
from schemas.records import SourceFile, document_schema
from schemas.store import StoreLayout
from transforms.ingest_stream import file_kind
from transforms.shards import shard_count

REMOTE_SCHEMES = ("gs://", "s3://")


def kura_version() -> str:
    try:
        return version("kura")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class PlannedFile:
    source: SourceFile
    size: int
    source_index: int
    mtime_ns: int | None = None  # from the listing; None where the file system gives none
    settings_sha256: str | None = None  # `source_settings_digest` of its manifest source


@dataclass(frozen=True)
class CurationPlan:
    manifest: Manifest
    manifest_path: Path
    manifest_sha256: str
    files: tuple[PlannedFile, ...]
    store: StoreLayout
    shards: int
    config_digest: str
    kura_version: str
    output_location: Location

    @property
    def corpus_id(self) -> str:
        return self.manifest.corpus.id

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def shard_schema(self) -> pa.Schema:
        """The document schema with this corpus's license and sensitivity in its metadata."""
        corpus = self.manifest.corpus
        return document_schema(corpus.license, corpus.sensitivity)


def _expand_local(pattern: str, base: Path, field: str) -> list[Path]:
    """The regular files a local path or glob names, with symlinks resolved.

    Stat only, never open: a FIFO is refused without waiting for a writer. A folder matched by
    a glob is passed over; anything else that is not a regular file stops the plan, named.
    """
    path_text = pattern.removeprefix("file://")
    path = Path(path_text)
    if not path.is_absolute():
        path = base / path
    if glob.has_magic(str(path)):
        found = [Path(p) for p in sorted(glob.glob(str(path), recursive=True))]
        return [p.resolve() for p in found if _is_regular(p, field, folders_ok=True)]
    if not path.exists():
        return []
    if path.is_dir():
        raise ManifestError(f"{field}: {path} is a folder; name its files with a glob such as "
                            f"'{pattern.rstrip('/')}/**/*'")
    _is_regular(path, field, folders_ok=False)
    return [path.resolve()]


def _is_regular(path: Path, field: str, folders_ok: bool) -> bool:
    """True for a regular file (after symlinks); False for a folder or a broken symlink that a
    glob matched; a ManifestError for a device, FIFO or socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISREG(mode):
        return True
    if stat.S_ISDIR(mode) and folders_ok:
        return False
    raise ManifestError(f"{field}: {path} is {file_kind(mode)}; only regular files are read")


def _outside_store(path: Path, store_root: Path | None, field: str) -> None:
    """Refuse a source that resolves into the store: keys, rejects and shards are not input."""
    if store_root is not None and path.is_relative_to(store_root):
        raise ManifestError(f"{field}: {path} is inside the store {store_root}; sources may "
                            "not be read from the store")


def _expand_remote(pattern: str) -> list[tuple[str, int, int | None]]:
    from apache_beam.io.filesystems import FileSystems

    result = FileSystems.match([pattern])[0]
    return sorted((m.path, m.size_in_bytes, _seconds_to_ns(m.last_updated_in_seconds))
                  for m in result.metadata_list)


def _seconds_to_ns(seconds: float | None) -> int | None:
    return round(seconds * 1_000_000_000) if seconds else None


def source_settings_digest(section: SourceSection) -> str:
    """sha256 of how a source's files are read and where they are (every setting but `uri`):
    a file read under other settings is not the file the corpus holds."""
    settings = section.model_dump(mode="json", exclude={"uri"})
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def source_root(manifest: Manifest, base: Path) -> Path:
    """The folder local sources are recorded relative to: `corpus.root` (relative to the
    manifest's folder `base`), else `base`; resolved, like the sources."""
    declared = manifest.corpus.root
    root = (base / Path(declared).expanduser()).resolve() if declared else base.resolve()
    if declared and not root.is_dir():
        raise ManifestError(f"corpus.root: {declared} ({root}) is not a folder")
    return root


def recorded_uri(resolved: Path, root: Path, absolute: bool, field: str) -> str:
    """How a local source is named in shards, rejects, the run summary and the log."""
    if absolute:
        return resolved.as_uri()
    if not resolved.is_relative_to(root):
        raise ManifestError(
            f"{field}: {resolved} is outside corpus.root {root}; set corpus.root to a folder "
            "that holds every source, or corpus.source_uris = \"absolute\" to record "
            "absolute file:// URIs")
    return resolved.relative_to(root).as_posix()


def resolve_source(index: int, section: SourceSection, manifest: Manifest,
                   base: Path, store_root: Path | None = None,
                   root: Path | None = None) -> list[PlannedFile]:
    """The files of one manifest source. Local paths are resolved (symlinks followed): the
    resolved path is what is read and checked against the store; it is recorded relative to
    `root` (default `base`, the manifest's folder) unless the manifest asks for absolute URIs."""
    field = f"sources[{index}].uri"
    store = store_root.resolve() if store_root is not None else None
    root = root if root is not None else base.resolve()
    absolute = manifest.corpus.source_uris == "absolute"
    common = dict(
        corpus_id=manifest.corpus.id,
        member=manifest.corpus.member,
        format=section.format,
        text_field=section.text_field,
        encoding=section.encoding,
        max_record_bytes=manifest.limits.max_record_bytes,
    )
    settings = source_settings_digest(section)
    if section.uri.startswith(REMOTE_SCHEMES):
        planned = [PlannedFile(SourceFile(uri=uri, path=uri, name=uri, **common), size, index,
                               mtime_ns, settings)
                   for uri, size, mtime_ns in _expand_remote(section.uri)]
    else:
        planned = []
        for resolved in _expand_local(section.uri, base, field):
            _outside_store(resolved, store, field)
            name = os.path.relpath(resolved, base.resolve())  # part of doc ids: never changes
            uri = recorded_uri(resolved, root, absolute, field)
            source = SourceFile(uri=uri, path=str(resolved), name=name, **common)
            listed = resolved.stat()
            planned.append(PlannedFile(source, listed.st_size, index, listed.st_mtime_ns,
                                       settings))
    if not planned:
        raise ManifestError(f"{field}: no file matches {section.uri!r}")
    return planned


def config_digest(manifest: Manifest, kura: str) -> str:
    """Digest of everything but the sources that shapes the outputs (names include it).
    `corpus.root` is left out: as written it may be an absolute path of the steward's machine,
    and what it changes (the recorded source names) is in the shards, not the configuration.
    One function computes it here and from a signed run's parameters (lineage/corpus_state.py),
    so an onboard can tell whether it may append to the corpus's runs."""
    return configuration_digest(manifest.model_dump(mode="json", exclude={"sources"}), kura)


def plan_run(manifest: Manifest, manifest_path: Path, store_root: Path,
             output_location: Location) -> CurationPlan:
    base = manifest_path.resolve().parent
    root = source_root(manifest, base)
    files: list[PlannedFile] = []
    seen: set[str] = set()
    for index, section in enumerate(manifest.sources):
        for planned in resolve_source(index, section, manifest, base, store_root, root):
            if planned.source.path not in seen:  # two globs naming one file read it once
                seen.add(planned.source.path)
                files.append(planned)
    kura = kura_version()
    total = sum(f.size for f in files)
    return CurationPlan(
        manifest=manifest,
        manifest_path=manifest_path,
        manifest_sha256=hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
        files=tuple(files),
        store=StoreLayout(store_root),
        shards=shard_count(total, manifest.shards.target_bytes),
        config_digest=config_digest(manifest, kura),
        kura_version=kura,
        output_location=output_location,
    )

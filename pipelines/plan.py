"""Resolve an onboarded manifest into what a run will read and write, before anything is read.

Globs are expanded and sizes taken from the file system's listing (no file is opened), so the
residency guard can check every location before the first byte is read.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from schemas.manifest import Location, Manifest, ManifestError, SourceSection
from schemas.records import SourceFile
from schemas.store import StoreLayout
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


def _expand_local(pattern: str, base: Path) -> list[Path]:
    path_text = pattern.removeprefix("file://")
    path = Path(path_text)
    if not path.is_absolute():
        path = base / path
    if glob.has_magic(str(path)):
        return [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
    return [path] if path.exists() else []


def _expand_remote(pattern: str) -> list[tuple[str, int]]:
    from apache_beam.io.filesystems import FileSystems

    result = FileSystems.match([pattern])[0]
    return sorted((m.path, m.size_in_bytes) for m in result.metadata_list)


def resolve_source(index: int, section: SourceSection, manifest: Manifest,
                   base: Path) -> list[PlannedFile]:
    common = dict(
        corpus_id=manifest.corpus.id,
        member=manifest.corpus.member,
        format=section.format,
        text_field=section.text_field,
        encoding=section.encoding,
        max_record_bytes=manifest.limits.max_record_bytes,
    )
    if section.uri.startswith(REMOTE_SCHEMES):
        found = [(uri, size) for uri, size in _expand_remote(section.uri)]
        planned = [PlannedFile(SourceFile(uri=uri, path=uri, name=uri, **common), size, index)
                   for uri, size in found]
    else:
        planned = []
        for path in _expand_local(section.uri, base):
            resolved = path.resolve()
            name = os.path.relpath(resolved, base.resolve())
            source = SourceFile(uri=resolved.as_uri(), path=str(resolved), name=name, **common)
            planned.append(PlannedFile(source, resolved.stat().st_size, index))
    if not planned:
        raise ManifestError(f"sources[{index}].uri: no file matches {section.uri!r}")
    return planned


def config_digest(manifest: Manifest, kura: str) -> str:
    """Digest of everything but the sources that shapes the outputs (names include it)."""
    config = manifest.model_dump(mode="json", exclude={"sources"})
    config["kura_version"] = kura
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def plan_run(manifest: Manifest, manifest_path: Path, store_root: Path,
             output_location: Location) -> CurationPlan:
    base = manifest_path.resolve().parent
    files: list[PlannedFile] = []
    seen: set[str] = set()
    for index, section in enumerate(manifest.sources):
        for planned in resolve_source(index, section, manifest, base):
            if planned.source.uri not in seen:  # two globs naming one file read it once
                seen.add(planned.source.uri)
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

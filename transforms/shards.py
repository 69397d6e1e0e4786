"""Kura's own Parquet writer: deterministic names and bytes, zstd, atomic rename.

Beam's WriteToParquet is neither deterministic nor configurable enough (NOTES.md): here a group
of rows, sorted by a stable key, is written by pyarrow to a temporary name in the target folder
and renamed when complete, so a reader never sees half a file and a re-run with the same inputs
and configuration writes the same bytes (no timestamps or run ids inside).
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import SCHEMA_VERSION

KURA_FORMAT_VERSION = "1"


@dataclass(frozen=True)
class WrittenFile:
    path: str
    sha256: str
    rows: int
    bytes: int


def shard_count(total_input_bytes: int, target_bytes: int) -> int:
    return max(1, math.ceil(total_input_bytes / target_bytes))


def shard_index(doc_id: str, shards: int) -> int:
    """Which shard a document goes to: a pure function of its id, so reruns agree."""
    return int(doc_id[:15], 16) % shards


def shard_name(corpus_id: str, inputs_digest: str, index: int, shards: int) -> str:
    return f"{corpus_id}-{inputs_digest[:12]}-{index:05d}-of-{shards:05d}.parquet"


def inputs_digest(source_digests: Iterable[str], config_digest: str) -> str:
    """Digest naming a run's outputs: the sorted source digests plus the configuration's."""
    h = hashlib.sha256(config_digest.encode())
    for digest in sorted(source_digests):
        h.update(digest.encode())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_table_atomically(
    table: pa.Table, path: Path, row_group_rows: int, kura_version: str, private: bool = False
) -> WrittenFile:
    """Write `table` to a hidden temporary name beside `path`, then rename it into place.

    `private` files (raw rejected bytes, withheld documents) are readable by their owner only.
    """
    metadata = dict(table.schema.metadata or {})
    metadata[b"kura.version"] = kura_version.encode()
    metadata[b"kura.schema_version"] = SCHEMA_VERSION.encode()
    table = table.replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            row_group_size=row_group_rows,
            write_statistics=True,
            use_dictionary=True,
        )
        if private:
            os.chmod(tmp, 0o600)
        digest = file_sha256(tmp)
        size = tmp.stat().st_size
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return WrittenFile(str(path), digest, table.num_rows, size)


@dataclass(frozen=True)
class GroupFileSpec:
    """How a group of values becomes one Parquet file: the pure part of the writer."""

    schema: pa.Schema
    to_row: Callable[[Any], dict]
    sort_key: Callable[[Any], Any]
    path_for: Callable[..., str]
    kura_version: str
    row_group_rows: int = 8192
    private: bool = False

    def write(self, key: Any, values: Iterable[Any], *side: Any) -> WrittenFile:
        ordered = sorted(values, key=self.sort_key)
        table = pa.Table.from_pylist([self.to_row(v) for v in ordered], schema=self.schema)
        path = Path(self.path_for(key, *side))
        return write_table_atomically(table, path, self.row_group_rows, self.kura_version,
                                      self.private)


class WriteParquetGroups(beam.PTransform):
    """Group values by `key_of`, write each group as one Parquet file at `spec.path_for(key,
    *side)`. Rows are sorted by `spec.sort_key` first, so the file's bytes do not depend on
    bundle order. Emits one `WrittenFile` per file.
    """

    def __init__(self, spec: GroupFileSpec, key_of: Callable[[Any], Any],
                 side_inputs: tuple = ()) -> None:
        super().__init__()
        self._spec = spec
        self._key_of = key_of
        self._side_inputs = side_inputs

    def expand(self, values):
        spec = self._spec
        return (
            values
            | "KeyByFile" >> beam.Map(lambda v, key_of=self._key_of: (key_of(v), v))
            | "GroupByFile" >> beam.GroupByKey()
            | "WriteFile" >> beam.Map(lambda group, *side: spec.write(*group, *side),
                                      *self._side_inputs)
        )

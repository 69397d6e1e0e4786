"""Kura's own Parquet writer: deterministic names and bytes, zstd, atomic rename.

Beam's WriteToParquet is neither deterministic nor configurable enough (NOTES.md): here rows in a
stable order are written by pyarrow to a temporary name in the target folder and renamed when
complete, so a reader never sees half a file and a re-run with the same inputs and configuration
writes the same bytes (no timestamps or run ids inside). `write_rows_atomically` streams its rows
one row group at a time (the pipeline feeds it merged sorted runs, transforms/sorted_runs.py);
`write_table_atomically` writes a table already in memory. Both give the same bytes.
"""

from __future__ import annotations

import hashlib
import math
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# Parquet's column writers take values in batches of 1024 and cut pages between batches: feeding
# a row group in chunks of this many rows cuts the same pages as feeding it whole.
_WRITE_BATCH_ROWS = 1024
_PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "use_dictionary": True}


def with_kura_metadata(schema: pa.Schema, kura_version: str) -> pa.Schema:
    """`schema` with the footer metadata every Kura file carries (versions, never a run id)."""
    metadata = dict(schema.metadata or {})
    metadata[b"kura.version"] = kura_version.encode()
    metadata[b"kura.schema_version"] = SCHEMA_VERSION.encode()
    return schema.with_metadata(metadata)


def _row_groups(rows: Iterable[dict], schema: pa.Schema, row_group_rows: int
                ) -> Iterator[pa.Table]:
    """`rows` as tables of `row_group_rows` rows (the last may be shorter), each built from
    record batches of at most `_WRITE_BATCH_ROWS` rows, so only one row group is in memory."""
    batches: list[pa.RecordBatch] = []
    pending: list[dict] = []
    in_group = 0
    for row in rows:
        pending.append(row)
        in_group += 1
        if len(pending) == _WRITE_BATCH_ROWS or in_group == row_group_rows:
            batches.append(pa.RecordBatch.from_pylist(pending, schema=schema))
            pending = []
        if in_group == row_group_rows:
            yield pa.Table.from_batches(batches, schema=schema)
            batches, in_group = [], 0
    if pending:
        batches.append(pa.RecordBatch.from_pylist(pending, schema=schema))
    if batches:
        yield pa.Table.from_batches(batches, schema=schema)


def write_rows_atomically(rows: Iterable[dict], schema: pa.Schema, path: Path,
                          row_group_rows: int, kura_version: str, private: bool = False
                          ) -> WrittenFile | None:
    """Stream `rows` (already in file order) into `path`, one row group in memory at a time,
    through a hidden temporary name renamed into place. No rows: no file, and None.

    The bytes are those `write_table_atomically` writes for the same rows in one table.
    """
    schema = with_kura_metadata(schema, kura_version)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    writer: pq.ParquetWriter | None = None
    count = 0
    try:
        for group in _row_groups(rows, schema, row_group_rows):
            if writer is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(tmp, schema, **_PARQUET_OPTIONS)
                if private:
                    os.chmod(tmp, 0o600)
            writer.write_table(group, row_group_size=row_group_rows)
            count += group.num_rows
        if writer is None:
            return None
        writer.close()
        writer = None
        digest = file_sha256(tmp)
        size = tmp.stat().st_size
        os.replace(tmp, path)
    finally:
        if writer is not None:  # an error mid-file: close it before removing it
            writer.close()
        tmp.unlink(missing_ok=True)
    return WrittenFile(str(path), digest, count, size)


def write_table_atomically(
    table: pa.Table, path: Path, row_group_rows: int, kura_version: str, private: bool = False
) -> WrittenFile:
    """Write `table` to a hidden temporary name beside `path`, then rename it into place.

    `private` files (raw rejected bytes, withheld documents) are readable by their owner only.
    """
    table = table.replace_schema_metadata(
        with_kura_metadata(table.schema, kura_version).metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(
            table,
            tmp,
            row_group_size=row_group_rows,
            **_PARQUET_OPTIONS,
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


@dataclass(frozen=True)
class SortedFileSpec:
    """How the rows of one output key become one Parquet file, streamed: the pure part of the
    spilling writers (transforms/shards_beam.py). `row_key` is the file's row order and must be a
    total order over its rows (ties would make the order depend on arrival)."""

    schema: pa.Schema
    row_key: Callable[[dict], Any]
    path_for: Callable[..., str]
    kura_version: str
    row_group_rows: int = 8192
    private: bool = False

    def write(self, key: Any, ordered_rows: Iterable[dict], *side: Any) -> WrittenFile | None:
        return write_rows_atomically(ordered_rows, self.schema, Path(self.path_for(key, *side)),
                                     self.row_group_rows, self.kura_version, self.private)

"""External merge sort of rows: bounded buffers spilled as sorted Parquet runs, merged back.

This is how a shard (or a rejects or duplicates file) is written without holding it in memory:
rows are buffered per output file, and whenever the buffer reaches its byte budget each file's
rows are sorted by the file's row key and written as one run under a scratch folder. Only the
run's path travels on; the file's writer later merges its runs with `heapq.merge`, a few hundred
rows of each run in memory at a time. A file's run count grows with the corpus (one run per
buffer spill), so runs are merged at most `MAX_FAN_IN` at a time: beyond that, groups of runs
are first merged into longer runs, and the writer's memory stays the same at any corpus size.
The row key must be a total order (no two rows of a file compare equal), so the merged order,
and the file's bytes, do not depend on how rows were spread over runs, bundles or workers.
"""

from __future__ import annotations

import heapq
import os
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from transforms.memory import release_freed_memory

RowKey = Callable[[Mapping[str, Any]], Any]

# Small row groups in a run, so merging reads a few hundred rows of each run at a time.
RUN_ROW_GROUP_ROWS = 256
MERGE_BATCH_ROWS = 128
DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024
# Runs open at once in a merge: each holds a decoded row group (a few MB of text) in memory.
MAX_FAN_IN = 16

# What a value costs in CPython, roughly: a str of kana or kanji two bytes per character plus
# its header, bytes one per byte; an int, float, None or small list about a pointer and a box.
_STR_OVERHEAD, _BYTES_OVERHEAD, _OTHER_BYTES, _ROW_OVERHEAD = 49, 33, 32, 232


def estimated_bytes(row: Mapping[str, Any]) -> int:
    """A cheap estimate of a row's size in memory: what a buffer's budget is counted in."""
    size = _ROW_OVERHEAD
    for value in row.values():
        if isinstance(value, str):
            size += 2 * len(value) + _STR_OVERHEAD
        elif isinstance(value, bytes):
            size += len(value) + _BYTES_OVERHEAD
        else:
            size += _OTHER_BYTES
    return size


def _private_opener(path: str, flags: int) -> int:
    # Runs may hold raw rejected bytes: readable by their owner only, from the first byte.
    return os.open(path, flags, 0o600)


def write_run(rows: list[dict], schema: pa.Schema, row_key: RowKey, folder: Path) -> Path:
    """Sort `rows` in place by `row_key` and write them as one run file in `folder`."""
    rows.sort(key=row_key)
    return write_sorted_run(rows, schema, folder)


def _row_groups(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    group: list[dict] = []
    for row in rows:
        group.append(row)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def write_sorted_run(rows: Iterable[dict], schema: pa.Schema, folder: Path) -> Path:
    """Write `rows`, already in order, as one run file in `folder`, a row group at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"run-{uuid.uuid4().hex}.parquet"
    path, tmp = folder / name, folder / f".{name}.tmp"
    try:
        # Scratch written once and read once: the fastest zstd level still halves the disk.
        # One row group converted at a time: the rows are never copied whole into Arrow.
        with open(tmp, "wb", opener=_private_opener) as handle, pq.ParquetWriter(
                handle, schema, compression="zstd", compression_level=1) as writer:
            for group in _row_groups(rows, RUN_ROW_GROUP_ROWS):
                writer.write_table(pa.Table.from_pylist(group, schema=schema))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_run(path: str | Path, batch_rows: int = MERGE_BATCH_ROWS) -> Iterator[dict]:
    """The rows of a run file, in its order, `batch_rows` of them decoded at a time."""
    with pq.ParquetFile(path) as run:
        for batch in run.iter_batches(batch_size=batch_rows):
            yield from batch.to_pylist()


def merge_runs(paths: Iterable[str | Path], row_key: RowKey,
               batch_rows: int = MERGE_BATCH_ROWS, fan_in: int = MAX_FAN_IN) -> Iterator[dict]:
    """The rows of every run, in `row_key` order (each run sorted by it), with at most `fan_in`
    runs open at once: more runs are first merged, `fan_in` at a time, into longer runs beside
    the first of them. The order is total, so the grouping never changes the result."""
    if fan_in < 2:
        raise ValueError(f"fan_in must be 2 or more, not {fan_in}")
    runs = sorted(map(str, paths))
    while len(runs) > fan_in:
        runs = sorted(
            str(_merged_run(runs[start:start + fan_in], row_key, batch_rows))
            for start in range(0, len(runs), fan_in)
        )
    return heapq.merge(*(read_run(p, batch_rows) for p in runs), key=row_key)


def _merged_run(group: list[str], row_key: RowKey, batch_rows: int) -> str:
    if len(group) == 1:
        return group[0]
    schema = pq.read_schema(group[0]).remove_metadata()
    rows = heapq.merge(*(read_run(p, batch_rows) for p in group), key=row_key)
    return str(write_sorted_run(rows, schema, Path(group[0]).parent))


class RunBuffer:
    """Rows grouped by output file key; when their estimated size reaches `budget_bytes`, every
    key's rows are spilled as one sorted run. `add` and `flush` return the (key, run path) pairs
    spilled, in the order the keys first arrived."""

    def __init__(self, schema: pa.Schema, row_key: RowKey, folder: str | Path,
                 budget_bytes: int = DEFAULT_BUFFER_BYTES) -> None:
        if budget_bytes <= 0:
            raise ValueError(f"budget_bytes must be positive, not {budget_bytes}")
        self._schema = schema.remove_metadata()
        self._row_key = row_key
        self._folder = Path(folder)
        self._budget = budget_bytes
        self._rows: dict[Hashable, list[dict]] = {}
        self._bytes = 0

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def add(self, key: Hashable, row: dict) -> list[tuple[Hashable, str]]:
        self._rows.setdefault(key, []).append(row)
        self._bytes += estimated_bytes(row)
        return self.flush() if self._bytes >= self._budget else []

    def flush(self) -> list[tuple[Hashable, str]]:
        spilled = [(key, str(write_run(rows, self._schema, self._row_key, self._folder)))
                   for key, rows in self._rows.items()]
        if self._rows:
            self._rows, self._bytes = {}, 0
            # The buffer's rows (plain values: freed by their counts, no cycle to collect):
            # else the writers stack on them.
            release_freed_memory(collect_cycles=False)
        return spilled

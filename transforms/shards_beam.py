"""Beam wrappers of the shard writer: files written from spilled sorted runs, never grouped.

The DirectRunner holds every collection that crosses a shuffle in memory, so rows never cross
one: `SpillRuns` buffers each bundle's rows per output file and spills them as sorted runs under
a scratch folder (transforms/sorted_runs.py); only (file key, run path) pairs are grouped, and
each file's writer merges its runs and streams them into Parquet one row group at a time.

`WriteShards` does the same for documents and joins dedup's verdicts (ids only) to the runs by
shard index with `CoGroupByKey`: a removed duplicate leaves its shard for the duplicates table,
a kept head gets its cluster id. The duplicates table is itself written from spilled runs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindows

from schemas.records import Document
from transforms.dedup import DedupVerdict
from transforms.dedup_beam import duplicate_row
from transforms.shards import SortedFileSpec, WrittenFile
from transforms.sorted_runs import DEFAULT_BUFFER_BYTES, RunBuffer, merge_runs

DUPLICATE_RUNS = "duplicate_runs"


class UnmatchedVerdictError(RuntimeError):
    """A verdict names a document its shard never received: a bug, never a user error."""


class SpillRunsFn(beam.DoFn):
    """Buffers `to_row(value)` by `key_of(value)`; spills sorted runs when the budget fills and
    at the end of each bundle; emits (key, run path)."""

    def __init__(self, key_of: Callable[[Any], Hashable], to_row: Callable[[Any], dict],
                 spec: SortedFileSpec, folder: str, buffer_bytes: int) -> None:
        self._key_of = key_of
        self._to_row = to_row
        self._spec = spec
        self._folder = folder
        self._buffer_bytes = buffer_bytes
        self._buffer: RunBuffer | None = None

    def start_bundle(self) -> None:
        self._buffer = RunBuffer(self._spec.schema, self._spec.row_key, self._folder,
                                 self._buffer_bytes)

    def process(self, value: Any) -> Iterator[tuple[Hashable, str]]:
        assert self._buffer is not None
        yield from self._buffer.add(self._key_of(value), self._to_row(value))

    def finish_bundle(self):
        assert self._buffer is not None
        for spilled in self._buffer.flush():
            yield GlobalWindows.windowed_value(spilled)


class _WriteMergedFn(beam.DoFn):
    def __init__(self, spec: SortedFileSpec) -> None:
        self._spec = spec

    def process(self, element: tuple[Hashable, Iterable[str]], *side: Any
                ) -> Iterator[WrittenFile]:
        key, runs = element
        written = self._spec.write(key, merge_runs(runs, self._spec.row_key), *side)
        if written is not None:
            yield written


class MergeRuns(beam.PTransform):
    """(key, run path) pairs -> one file per key at `spec.path_for(key, *side)`; emits its
    `WrittenFile`."""

    def __init__(self, spec: SortedFileSpec, side_inputs: tuple = ()) -> None:
        super().__init__()
        self._spec = spec
        self._side_inputs = side_inputs

    def expand(self, runs):
        return (
            runs
            | "GroupRuns" >> beam.GroupByKey()
            | "MergeWrite" >> beam.ParDo(_WriteMergedFn(self._spec), *self._side_inputs)
        )


class WriteSortedFiles(beam.PTransform):
    """Values -> one Parquet file per `key_of(value)`, rows `to_row(value)` in `spec.row_key`
    order, spilled under `spill_dir` (a scratch folder the caller removes). Emits `WrittenFile`s.
    """

    def __init__(self, spec: SortedFileSpec, key_of: Callable[[Any], Hashable],
                 to_row: Callable[[Any], dict], spill_dir: str, side_inputs: tuple = (),
                 buffer_bytes: int = DEFAULT_BUFFER_BYTES) -> None:
        super().__init__()
        self._spec = spec
        self._key_of = key_of
        self._to_row = to_row
        self._spill_dir = spill_dir
        self._side_inputs = side_inputs
        self._buffer_bytes = buffer_bytes

    def expand(self, values):
        return (
            values
            | "SpillRuns" >> beam.ParDo(SpillRunsFn(self._key_of, self._to_row, self._spec,
                                                    self._spill_dir, self._buffer_bytes))
            | "MergeRuns" >> MergeRuns(self._spec, self._side_inputs)
        )


def _ids_of(row: Mapping[str, Any]) -> Document:
    """The identity of a shard row, enough for its duplicates-table row (no text)."""
    return Document(doc_id=row["doc_id"], corpus_id=row["corpus_id"], member=row["member"],
                    source_uri=row["source_uri"], source_sha256=row["source_sha256"],
                    locator=row["locator"], text="")


def apply_verdicts(rows: Iterable[dict], verdicts: Mapping[str, DedupVerdict],
                   removed: Callable[[dict], None]) -> Iterator[dict]:
    """The shard rows that stay, in order: a kept head gets its cluster id, a removed duplicate
    goes to `removed` as its duplicates-table row. Raises UnmatchedVerdictError at the end if a
    verdict's document was not among `rows`."""
    matched = 0
    for row in rows:
        verdict = verdicts.get(row["doc_id"])
        if verdict is None:
            yield row
            continue
        matched += 1
        if verdict.removed:
            removed(duplicate_row(_ids_of(row), verdict))
        else:
            yield {**row, "dup_cluster": verdict.cluster_id}
    if matched != len(verdicts):
        raise UnmatchedVerdictError(
            f"{len(verdicts) - matched} dedup verdict(s) name documents missing from the shard")


class _WriteShardFn(beam.DoFn):
    def __init__(self, spec: SortedFileSpec, duplicates: SortedFileSpec, duplicates_key: str,
                 spill_dir: str, buffer_bytes: int) -> None:
        self._spec = spec
        self._duplicates = duplicates
        self._duplicates_key = duplicates_key
        self._spill_dir = spill_dir
        self._buffer_bytes = buffer_bytes

    def process(self, element: tuple[int, Mapping[str, Iterable]], *side: Any):
        index, joined = element
        verdicts = {v.doc_id: v for v in joined["verdicts"]}
        removed_rows = RunBuffer(self._duplicates.schema, self._duplicates.row_key,
                                 self._spill_dir, self._buffer_bytes)
        duplicate_runs: list[tuple[Hashable, str]] = []

        def remove(row: dict) -> None:
            duplicate_runs.extend(removed_rows.add(self._duplicates_key, row))

        rows = apply_verdicts(merge_runs(joined["runs"], self._spec.row_key), verdicts, remove)
        written = self._spec.write(index, rows, *side)  # None: every document was removed
        duplicate_runs.extend(removed_rows.flush())
        if written is not None:
            yield written
        for run in duplicate_runs:
            yield TaggedOutput(DUPLICATE_RUNS, run)


class WriteShards(beam.PTransform):
    """{"documents": Documents, "verdicts": DedupVerdicts} -> (shard files, duplicate files).

    Documents are spilled by `shard_of(doc)` (their text never crosses a shuffle); verdicts are
    keyed by `shard_of_id(doc_id)` and joined with the run paths by `CoGroupByKey`. Each shard
    is its runs merged in `spec.row_key` order less the removed duplicates, which go to one
    duplicates file per `duplicates_key` (`duplicates.path_for(key, *side)`).
    """

    def __init__(self, spec: SortedFileSpec, duplicates: SortedFileSpec,
                 shard_of_id: Callable[[str], int], to_row: Callable[[Document], dict],
                 duplicates_key: str, spill_dir: str, side_inputs: tuple = (),
                 buffer_bytes: int = DEFAULT_BUFFER_BYTES) -> None:
        super().__init__()
        self._spec = spec
        self._duplicates = duplicates
        self._shard_of_id = shard_of_id
        self._to_row = to_row
        self._duplicates_key = duplicates_key
        self._spill_dir = spill_dir
        self._side_inputs = side_inputs
        self._buffer_bytes = buffer_bytes

    def expand(self, inputs):
        shard_of_id = self._shard_of_id
        runs = inputs["documents"] | "SpillDocuments" >> beam.ParDo(SpillRunsFn(
            lambda doc: shard_of_id(doc.doc_id), self._to_row, self._spec,
            f"{self._spill_dir}/documents", self._buffer_bytes))
        verdicts = inputs["verdicts"] | "KeyVerdicts" >> beam.Map(
            lambda v: (shard_of_id(v.doc_id), v))
        written = (
            {"runs": runs, "verdicts": verdicts}
            | "JoinVerdicts" >> beam.CoGroupByKey()
            | "WriteShard" >> beam.ParDo(
                _WriteShardFn(self._spec, self._duplicates, self._duplicates_key,
                              f"{self._spill_dir}/duplicates", self._buffer_bytes),
                *self._side_inputs).with_outputs(DUPLICATE_RUNS, main="shards")
        )
        duplicate_files = written[DUPLICATE_RUNS] | "WriteDuplicates" >> MergeRuns(
            self._duplicates, self._side_inputs)
        return written.shards, duplicate_files

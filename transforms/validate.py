"""Validate a written shard against the great-expectations suite of schemas/expectations.py.

The core is plain: `validate_shard(table, bounds)` takes a pyarrow Table (or
`validate_shard_file(path, bounds)` a Parquet file) and returns a `ShardValidation`. Nothing here
knows Beam; the curation graph calls it on each shard after the writer renames it into place.

What great-expectations cannot compute, we derive first, as extra columns of the frame it sees
(see schemas/expectations.py): a residual-PII count per row from the same definitions the PII
stage scrubs with (transforms/residual.py), a duplicate marker per row, and whether char_count
matches the text.
Each is a per-row value, so a failure points at rows and doc_ids without quoting any text.

No text leaves this module: great-expectations' results carry the unexpected values themselves
(`partial_unexpected_list`, `unexpected_list`, index lists with values), so the result is rebuilt
from a whitelist of counts, row indices, doc_ids and numbers read from numeric columns before
anything reports, logs or hashes it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from schemas.expectations import (
    CHAR_COUNT_MATCHES_COLUMN,
    CHECK_COLUMNS,
    DOC_ID_PATTERN,
    DUPLICATE_ROW_COLUMN,
    RESIDUAL_PII_COLUMNS,
    RESIDUAL_PII_TYPES,
    ShardBounds,
    build_suite,
    import_great_expectations,
    suite_definition,
)
from schemas.records import DOCUMENT_SCHEMA, upgrade_document_table
from transforms.residual import RESIDUAL_PREFILTER, residual_pii_counts

log = logging.getLogger(__name__)

# At most this many row indices / doc_ids / values per failure: enough to find the rows, small
# enough for a report line and an attestation.
MAX_REPORTED_ROWS = 20

# --- the residual-PII backstop -----------------------------------------------------------------
#
# One definition with the scrubber (transforms/residual.py): the backstop counts exactly what the
# per-document gate would have scrubbed or quarantined, so on the pipeline's output it passes.


def may_hold_pii(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Per row, whether `residual_pii_counts` could find anything: a vectorized superset test.

    Arrow's RE2 tests a whole column in C++, so only the few rows that pass (under 5% of man
    pages) go through the Python definitions.
    """
    return pc.fill_null(pc.match_substring_regex(texts, RESIDUAL_PREFILTER), False)


# --- duplicates ---------------------------------------------------------------------------------


def duplicate_key(text: str) -> bytes:
    """A 16-byte digest of the stored text, for spotting exact repeats within a shard.

    Stored text is already normalized (NFC, width-folded, newlines unified), so an exact repeat is
    a copy that exact dedup, which compares the stricter matching key, should have dropped. Near
    duplicates are the MinHash stage's job and are not re-checked here: folding again (NFKC,
    casefold, whitespace) would cost 3x for copies that dedup's matching key already catches.
    """
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class DuplicateTracker:
    """Marks rows that repeat an earlier row's doc_id or text, across the slices of one shard:
    the seen ids and text digests carry over from one call of `flags` to the next."""

    def __init__(self) -> None:
        self._seen_ids: set[str] = set()
        self._seen_texts: set[bytes] = set()

    def flags(self, doc_ids: Sequence[str | None], texts: Sequence[str | None]) -> list[int]:
        flags: list[int] = []
        for doc_id, text in zip(doc_ids, texts, strict=True):
            repeated = False
            if doc_id is not None:
                repeated = doc_id in self._seen_ids
                self._seen_ids.add(doc_id)
            if text is not None:
                key = duplicate_key(text)
                repeated = repeated or key in self._seen_texts
                self._seen_texts.add(key)
            flags.append(int(repeated))
        return flags


def duplicate_rows(doc_ids: Sequence[str | None], texts: Sequence[str | None]) -> list[int]:
    """1 for every row that repeats an earlier row's doc_id or text, else 0.

    The first row of each group is not a duplicate: the count is what dedup should have dropped,
    so the mean over the shard is its duplicate rate (0 after a correct dedup).
    """
    return DuplicateTracker().flags(doc_ids, texts)


# --- the validation frame -----------------------------------------------------------------------


def _string_column(table: pa.Table, name: str) -> list[str | None] | None:
    if name not in table.column_names:
        return None
    column = table.column(name)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    return column.to_pylist()


def check_columns(table: pa.Table, duplicates: DuplicateTracker | None = None
                  ) -> dict[str, pa.Array]:
    """The derived CHECK_COLUMNS of `table`; a check whose inputs are missing is left out, so the
    suite reports that column as missing rather than passing silently. `duplicates` carries the
    rows seen in earlier slices of the same shard (none: `table` is the whole shard)."""
    checks: dict[str, pa.Array] = {}
    texts = _string_column(table, "text")
    doc_ids = _string_column(table, "doc_id")
    if texts is not None:
        candidates = may_hold_pii(table.column("text")).to_pylist()
        clean = dict.fromkeys(RESIDUAL_PII_TYPES, 0)
        per_row = [
            None if t is None else residual_pii_counts(t) if maybe else clean
            for t, maybe in zip(texts, candidates, strict=True)
        ]
        for kind, column in RESIDUAL_PII_COLUMNS.items():
            checks[column] = pa.array(
                [c[kind] if c is not None else None for c in per_row], pa.int64()
            )
    if texts is not None and doc_ids is not None:
        tracker = duplicates if duplicates is not None else DuplicateTracker()
        checks[DUPLICATE_ROW_COLUMN] = pa.array(tracker.flags(doc_ids, texts), pa.int64())
    if texts is not None and "char_count" in table.column_names:
        lengths = pc.utf8_length(table.column("text"))
        matches = pc.equal(pc.cast(lengths, pa.int64()), table.column("char_count"))
        checks[CHAR_COUNT_MATCHES_COLUMN] = pc.fill_null(matches, False).combine_chunks()
    return checks


def pandas_frame(frame: pa.Table) -> Any:
    """The frame great-expectations sees. pyarrow turns a list cell into a numpy array, a type
    GX cannot name; list columns (`pii`) are given as Python lists, so `type_="list"` holds."""
    data = frame.to_pandas()
    for index, column in enumerate(frame.schema):
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            cells = np.empty(frame.num_rows, dtype=object)
            for row, value in enumerate(frame.column(index).to_pylist()):
                cells[row] = value
            data[column.name] = cells
    return data


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One failed expectation: its type, its column (None for table-level ones), what it expected
    (the suite's kwargs) and what was observed: counts, row indices, doc_ids and numbers only."""

    expectation: str
    column: str | None
    observed: Mapping[str, Any]
    expected: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ShardValidation:
    """The outcome of a shard's suite.

    `result_json` is the canonical JSON of the sanitized suite result (no timestamps, run ids or
    values from the text), and `result_digest` its sha256: the same shard gives the same digest on
    any run, and the digest is what the residency attestation records.
    """

    passed: bool
    failures: tuple[Failure, ...]
    result_digest: str
    statistics: Mapping[str, float | int]
    result_json: str


# Expectations whose observed_value is schema (column names, a dtype name), never document data.
_SCHEMA_EXPECTATIONS = frozenset(
    {"expect_table_columns_to_match_ordered_list", "expect_column_values_to_be_of_type"}
)
_COUNT_KEYS = ("element_count", "unexpected_count", "missing_count")


def _json_number(value: Any) -> Any:
    """A JSON-safe, run-stable form of a number read from a column or a metric."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(float(value))
    if hasattr(value, "item"):  # numpy scalars
        return _json_number(value.item())
    return None


class _RowReporter:
    """Turns row indices into the few things a report may say about a row. `table` is a slice
    of the shard starting at shard row `offset`: rows are given in the slice, reported in the
    shard."""

    def __init__(self, table: pa.Table, offset: int = 0) -> None:
        self._table = table
        self._offset = offset
        ids = _string_column(table, "doc_id") or []
        pattern = re.compile(DOC_ID_PATTERN)
        # A doc_id that is not a Kura id might be anything, so it is not repeated.
        self._doc_ids = [i if i is not None and pattern.match(i) else None for i in ids]

    def describe(self, rows: Iterable[int], column: str | None) -> dict[str, Any]:
        rows = sorted(rows)[:MAX_REPORTED_ROWS]
        out: dict[str, Any] = {
            "rows": [r + self._offset for r in rows],
            "doc_ids": [self._doc_ids[r] if r < len(self._doc_ids) else None for r in rows],
        }
        values = self._numeric_values(column, rows)
        if values is not None:
            out["values"] = values
        return out

    def _numeric_values(self, column: str | None, rows: list[int]) -> list[Any] | None:
        if column is None or column not in self._table.column_names:
            return None
        data = self._table.column(column)
        if not (pa.types.is_integer(data.type) or pa.types.is_floating(data.type)):
            return None  # a string column's values are text: never reported
        return [_json_number(data[r].as_py()) for r in rows]


def _raised(info: Any) -> bool:
    """GX reports an exception as one info dict, or as a dict of them keyed by metric."""
    if not isinstance(info, Mapping):
        return False
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(_raised(v) for v in info.values())


def _sanitized_result(
    result: Mapping[str, Any], reporter: _RowReporter, frame_columns: Sequence[str]
) -> dict[str, Any]:
    config = result["expectation_config"]
    kind = config["type"]
    kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
    column = kwargs.get("column")
    raw = result.get("result") or {}
    observed: dict[str, Any] = {}
    # GX's exception messages may quote values: say only what the schema tells.
    if column is not None and column not in frame_columns:
        observed["error"] = "column missing"
    elif _raised(result.get("exception_info")):
        observed["error"] = "not evaluated"
    for key in _COUNT_KEYS:
        if key in raw:
            observed[key] = int(raw[key])
    if "observed_value" in raw:
        value = raw["observed_value"]
        number = _json_number(value)
        if number is not None or value is None:
            observed["value"] = number
        elif kind in _SCHEMA_EXPECTATIONS:
            observed["value"] = value
    indices = raw.get("partial_unexpected_index_list") or raw.get("unexpected_index_list") or []
    unexpected_rows = [r for r in indices if isinstance(r, int)]
    if unexpected_rows:
        observed.update(reporter.describe(unexpected_rows, column))
    return {
        "expectation": kind,
        "column": column,
        "kwargs": kwargs,
        "success": bool(result["success"]),
        "observed": observed,
    }


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def arrow_schema_mismatches(schema: pa.Schema) -> list[dict[str, Any]]:
    """Columns whose Arrow type or nullability differ from DOCUMENT_SCHEMA.

    pandas, which great-expectations sees, cannot tell float32 from float16 or string from
    large_string; the shard's readers can, so the Arrow schema is checked exactly here.
    """
    found = {f.name: f for f in schema}
    mismatches = []
    for expected in DOCUMENT_SCHEMA:
        actual = found.get(expected.name)
        if actual is None:
            mismatches.append({"column": expected.name, "observed": None})
        elif actual.type != expected.type or actual.nullable != expected.nullable:
            mismatches.append(
                {
                    "column": expected.name,
                    "observed": {"type": str(actual.type), "nullable": actual.nullable},
                    "expected": {"type": str(expected.type), "nullable": expected.nullable},
                }
            )
    return mismatches


# --- slices -------------------------------------------------------------------------------------

# Text bytes great-expectations sees at once. The frame it builds (pandas strings, its hash of the
# frame) costs several times the text, so validation's memory is bounded by the slice, not by the
# shard. Results do not depend on it (tests/transforms/test_validate_slices.py).
DEFAULT_SLICE_BYTES = 8 * 2**20
# Rows per batch read from a Parquet shard; slices are cut from these batches by text bytes.
READ_BATCH_ROWS = 512
READ_BUFFER_BYTES = 1 << 20


# The one wide column: its expectations run slice by slice and their results are merged.
# Every other expectation runs once, on the narrow frame of the whole shard without the text
# (ids, numbers, pii counts and the derived checks: a few hundred bytes a row), where uniqueness,
# the duplicate rate and every row's value are those of the whole frame by construction.
_WIDE_COLUMN = "text"


def _is_wide(schema: pa.Schema) -> bool:
    """Whether the shard has a text column worth slicing (strings; anything else is narrow)."""
    index = schema.get_field_index(_WIDE_COLUMN)
    return index >= 0 and (pa.types.is_string(schema.field(index).type)
                           or pa.types.is_large_string(schema.field(index).type))


def _row_bytes(batch: pa.RecordBatch) -> np.ndarray:
    """What each row brings to a slice: its text's UTF-8 bytes, or the batch's mean row size
    where there is no text column to measure."""
    if _is_wide(batch.schema):
        lengths = pc.fill_null(pc.binary_length(batch.column(_WIDE_COLUMN)), 0)
        return lengths.to_numpy(zero_copy_only=False).astype(np.int64)
    mean = batch.nbytes // max(batch.num_rows, 1)
    return np.full(batch.num_rows, mean, dtype=np.int64)


def cut_slices(batches: Iterable[pa.RecordBatch], schema: pa.Schema, slice_bytes: int
               ) -> Iterator[pa.Table]:
    """Consecutive runs of the rows of `batches`, in order, each closed at the row that brings it
    to `slice_bytes` of text (so a slice has at least one row and at most one row's text over).
    A shard without rows gives one empty slice: the suite is still evaluated once."""
    pending: list[pa.RecordBatch] = []
    pending_bytes = 0
    produced = False
    for batch in batches:
        weights = _row_bytes(batch)
        start = 0
        while start < batch.num_rows:
            filled = np.cumsum(weights[start:]) + pending_bytes
            close = int(np.searchsorted(filled, slice_bytes))  # first row reaching the size
            if close >= len(filled):
                pending.append(batch.slice(start))
                pending_bytes = int(filled[-1])
                break
            pending.append(batch.slice(start, close + 1))
            yield pa.Table.from_batches(pending, schema=schema)
            produced = True
            pending, pending_bytes = [], 0
            start += close + 1
    if pending or not produced:
        yield pa.Table.from_batches(pending, schema=schema)


def _merge_slice_result(merged: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """One expectation's sanitized result over the slices so far, extended by the next slice's:
    success if every slice succeeded, counts summed, the first MAX_REPORTED_ROWS rows (rows are
    already shard rows) with their doc_ids and values, the observed value of the first slice
    (per-slice values are schema only: column names, a dtype)."""
    if merged is None:
        return {**part, "observed": dict(part["observed"])}
    merged["success"] = merged["success"] and part["success"]
    ours, theirs = merged["observed"], part["observed"]
    if "error" in ours:
        return merged
    if "error" in theirs:  # the whole shard would have raised too: say only that
        merged["observed"] = dict(theirs)
        return merged
    for key in _COUNT_KEYS:
        if key in theirs:
            ours[key] = ours.get(key, 0) + theirs[key]
    if "value" in theirs and "value" not in ours:
        ours["value"] = theirs["value"]
    if "rows" in theirs:
        fields = [k for k in ("rows", "doc_ids", "values") if k in ours or k in theirs]
        entries = sorted(
            zip(*(ours.get(k, []) + theirs[k] for k in fields), strict=True),
            key=lambda entry: entry[0],
        )[:MAX_REPORTED_ROWS]
        for position, key in enumerate(fields):
            ours[key] = [entry[position] for entry in entries]
    return merged


# --- running the suite --------------------------------------------------------------------------

# About the frame's column list only (no rows): evaluated on the first slice's whole frame.
_SCHEMA_ONLY_EXPECTATIONS = frozenset({"expect_table_columns_to_match_ordered_list"})


@functools.cache
def _batch_definition() -> Any:
    """One ephemeral GX context per process, with one pandas asset that takes any frame."""
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("kura_shard")
    return source.add_dataframe_asset("shard").add_batch_definition_whole_dataframe("whole")


def _run_suite(suite: Any, data: Any) -> list[dict[str, Any]]:
    """GX's raw results of `suite` on the pandas frame `data`."""
    # GX's own Validator gets the batch once; `batch.validate` would build it twice, and
    # each build fingerprints the whole frame (text included): 40% of the run on big shards.
    from great_expectations.validator.v1_validator import Validator

    validator = Validator(
        _batch_definition(),
        # SUMMARY: counts plus the first rows' indices, all a report may use of a failure.
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": MAX_REPORTED_ROWS,
        },
        batch_parameters={"dataframe": data},
    )
    return validator.validate_expectation_suite(suite).to_json_dict()["results"]


def _result_key(result: Mapping[str, Any]) -> str:
    return _canonical([result["expectation"], result["column"], result["kwargs"]])


@dataclass(frozen=True)
class _Suites:
    """The suite split by what each expectation reads: run on the first slice (whole rows),
    on every later slice (the text alone), and once on the narrow whole-shard frame."""

    first_slice: Any
    later_slices: Any | None
    narrow: Any


class ShardValidator:
    """Validates shards against one suite. Holds only plain data until `setup()`, so it pickles
    (to a Beam worker, say); `setup()` imports great-expectations and builds the suite.

    A shard is validated in slices of about `slice_bytes` of text, so memory does not grow with
    the shard's text: the text's expectations run on each slice and their results are merged;
    all others run once on the narrow frame of the whole shard without its text. The result is
    the one a single whole-shard frame gives (tests/transforms/test_validate_slices.py).
    """

    def __init__(self, bounds: ShardBounds, slice_bytes: int = DEFAULT_SLICE_BYTES) -> None:
        if slice_bytes < 1:
            raise ValueError("slice_bytes must be at least 1")
        self.bounds = bounds
        self.slice_bytes = slice_bytes
        self.definition = suite_definition(bounds)
        self._suites: dict[bool, _Suites] | None = None

    def setup(self) -> None:
        if self._suites is None:
            self._suites = {wide: self._build_suites(wide) for wide in (True, False)}
            _batch_definition()

    def _build_suites(self, wide: bool) -> _Suites:
        """The split for a shard with (`wide`) or without a sliceable text column."""
        name, expectations = self.definition["name"], self.definition["expectations"]
        schema = [e for e in expectations if e["type"] in _SCHEMA_ONLY_EXPECTATIONS]
        text = [e for e in expectations
                if wide and e not in schema and e["kwargs"].get("column") == _WIDE_COLUMN]
        narrow = [e for e in expectations if e not in schema and e not in text]

        def suite(part: str, chosen: list[dict[str, Any]]) -> Any:
            return build_suite({"name": f"{name}.{part}", "expectations": chosen})

        return _Suites(first_slice=suite("first-slice", schema + text),
                       later_slices=suite("slice", text) if text else None,
                       narrow=suite("narrow", narrow))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_suites": None}

    def __call__(self, table: pa.Table) -> ShardValidation:
        """Validate a shard held in memory."""
        batches = table.to_batches(max_chunksize=READ_BATCH_ROWS)
        return self.validate_slices(cut_slices(batches, table.schema, self.slice_bytes))

    def validate_file(self, path: Path) -> ShardValidation:
        """Validate a Parquet shard, streaming it: never more than a slice of its text is held."""
        # Page by page: without a read buffer or with pre-buffering, Arrow holds a row group's
        # whole text column chunk (8192 documents) however small the batches.
        shard = pq.ParquetFile(path, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
        batches = shard.iter_batches(batch_size=READ_BATCH_ROWS, use_threads=False)
        return self.validate_slices(cut_slices(batches, shard.schema_arrow, self.slice_bytes))

    def validate_slices(self, slices: Iterable[pa.Table]) -> ShardValidation:
        """Validate a shard given as its consecutive `slices` (at least one; one empty slice for
        a shard without rows)."""
        self.setup()
        assert self._suites is not None
        tracker = DuplicateTracker()
        merged: dict[str, dict[str, Any]] = {}
        narrow_parts: list[pa.Table] = []
        rows = 0
        schema: pa.Schema | None = None
        frame_columns: list[str] = []
        suites, wide = self._suites[True], [_WIDE_COLUMN]  # as the first slice's schema says
        for number, piece in enumerate(slices):
            # A v1 shard (`pii` as a map) is judged in the v2 shape it is read in.
            piece = upgrade_document_table(piece)
            checks = check_columns(piece, tracker)
            frame = piece
            for name, values in checks.items():
                frame = frame.append_column(name, values)
            if schema is None:
                schema, frame_columns = piece.schema, frame.column_names
                suites = self._suites[_is_wide(schema)]
                wide = [_WIDE_COLUMN] if _is_wide(schema) else []
            if number == 0:
                raw = _run_suite(suites.first_slice, pandas_frame(frame))
            elif suites.later_slices is not None:
                raw = _run_suite(suites.later_slices, pandas_frame(frame.select(wide)))
            else:
                raw = []
            reporter = _RowReporter(frame, offset=rows)
            for result in raw:
                part = _sanitized_result(result, reporter, frame_columns)
                key = _result_key(part)
                merged[key] = _merge_slice_result(merged.get(key), part)
            narrow_parts.append(frame.drop_columns(wide))
            rows += piece.num_rows
        if schema is None:
            raise ValueError("validate_slices needs at least one slice (an empty one for no rows)")

        narrow = pa.concat_tables(narrow_parts)
        del narrow_parts
        reporter = _RowReporter(narrow)
        results = [*merged.values(),
                   *(_sanitized_result(r, reporter, frame_columns)
                     for r in _run_suite(suites.narrow, pandas_frame(narrow)))]
        checks = {name: narrow.column(name) for name in CHECK_COLUMNS
                  if name in narrow.column_names}
        for r in results:
            if r["column"] == DUPLICATE_ROW_COLUMN and DUPLICATE_ROW_COLUMN in checks:
                # A mean has no unexpected rows of its own: name the repeats for the report.
                flags = checks[DUPLICATE_ROW_COLUMN].to_pylist()
                dup_rows = [i for i, flag in enumerate(flags) if flag]
                if dup_rows:
                    r["observed"].update(reporter.describe(dup_rows, None))
        results.sort(key=_result_key)
        return self._outcome(schema, rows, results, checks)

    def _outcome(self, schema: pa.Schema, rows: int, results: list[dict[str, Any]],
                 checks: Mapping[str, pa.ChunkedArray]) -> ShardValidation:
        schema_mismatches = arrow_schema_mismatches(schema)
        passed = not schema_mismatches and all(r["success"] for r in results)
        canonical = {
            "suite": self.definition["name"],
            "bounds": self.bounds.as_dict(),
            "rows": rows,
            "success": passed,
            "arrow_schema": schema_mismatches,
            "results": results,
        }
        result_json = _canonical(canonical)
        failures = tuple(
            Failure("kura.arrow_schema", m["column"], {"value": m["observed"]},
                    {"value": m.get("expected", "present")})
            for m in schema_mismatches
        ) + tuple(
            Failure(r["expectation"], r["column"], r["observed"],
                    {k: v for k, v in r["kwargs"].items() if k != "column"})
            for r in results
            if not r["success"]
        )
        statistics = _statistics(rows, checks, results)
        log.info("shard validation: %d rows, %d expectations, %d failed", rows,
                 len(results), len(failures))
        return ShardValidation(
            passed=passed,
            failures=failures,
            result_digest=hashlib.sha256(result_json.encode("utf-8")).hexdigest(),
            statistics=statistics,
            result_json=result_json,
        )


def _statistics(
    rows: int, checks: Mapping[str, pa.ChunkedArray], results: Sequence[Mapping[str, Any]]
) -> dict[str, float | int]:
    stats: dict[str, float | int] = {
        "rows": rows,
        "evaluated_expectations": len(results),
        "unsuccessful_expectations": sum(1 for r in results if not r["success"]),
    }
    if DUPLICATE_ROW_COLUMN in checks:
        dup = checks[DUPLICATE_ROW_COLUMN]
        stats["duplicate_rows"] = int(pc.sum(dup).as_py() or 0)
        stats["duplicate_rate"] = stats["duplicate_rows"] / rows if len(dup) else 0.0
    for kind, column in RESIDUAL_PII_COLUMNS.items():
        if column in checks:
            stats[f"residual_{kind}"] = int(pc.sum(checks[column]).as_py() or 0)
    return stats


@functools.lru_cache(maxsize=8)
def _validator_for(bounds_json: str) -> ShardValidator:
    spec = json.loads(bounds_json)
    columns = {k: tuple(v) for k, v in spec["columns"].items()}
    validator = ShardValidator(ShardBounds(columns, spec["max_duplicate_rate"]))
    validator.setup()
    return validator


def validate_shard(table: pa.Table, bounds: ShardBounds) -> ShardValidation:
    """Run the shard suite on `table`; the suite and GX context are built once per process."""
    return _validator_for(_canonical(bounds.as_dict()))(table)


def validate_shard_file(path: Path, bounds: ShardBounds) -> ShardValidation:
    """`validate_shard` on a Parquet shard, streamed in slices (its text is never held whole)."""
    return _validator_for(_canonical(bounds.as_dict())).validate_file(path)

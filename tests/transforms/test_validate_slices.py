"""Validating a shard in slices gives exactly the ShardValidation of one whole-shard frame: the
same result_json (so the same digest), statistics, failures and verdict, whatever the slice size,
on shards that pass and on shards built to fail many expectations at once, with the defects
falling on both sides of slice boundaries. The reference runs the whole suite through
great-expectations on the one frame of the whole shard, as validation did before slicing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import DOCUMENT_SCHEMA, PII_COUNTS_TYPE_V1, pii_counts
from tests.transforms.test_validate import BOUNDS, CARD, MY_NUMBER, make_document, make_shard
from transforms.validate import (
    DUPLICATE_ROW_COLUMN,
    ShardValidation,
    ShardValidator,
    _canonical,
    _RowReporter,
    _run_suite,
    _sanitized_result,
    arrow_schema_mismatches,
    check_columns,
    cut_slices,
    pandas_frame,
)

WHOLE = 1 << 40  # a slice size no test shard reaches: one slice


def whole_frame_validation(table: pa.Table, validator: ShardValidator) -> ShardValidation:
    """The reference: the whole suite in one great-expectations run on the whole shard's frame."""
    from schemas.expectations import build_suite

    checks = check_columns(table)
    frame = table
    for name, values in checks.items():
        frame = frame.append_column(name, values)
    reporter = _RowReporter(frame)
    results = [_sanitized_result(r, reporter, frame.column_names)
               for r in _run_suite(build_suite(validator.definition), pandas_frame(frame))]
    for r in results:
        if r["column"] == DUPLICATE_ROW_COLUMN and DUPLICATE_ROW_COLUMN in checks:
            flags = checks[DUPLICATE_ROW_COLUMN].to_pylist()
            rows = [i for i, flag in enumerate(flags) if flag]
            if rows:
                r["observed"].update(reporter.describe(rows, None))
    results.sort(key=lambda r: _canonical([r["expectation"], r["column"], r["kwargs"]]))
    mismatches = arrow_schema_mismatches(table.schema)
    passed = not mismatches and all(r["success"] for r in results)
    result_json = _canonical({
        "suite": validator.definition["name"], "bounds": validator.bounds.as_dict(),
        "rows": table.num_rows, "success": passed, "arrow_schema": mismatches,
        "results": results,
    })
    return ShardValidation(passed, (), hashlib.sha256(result_json.encode()).hexdigest(), {},
                           result_json)


def set_column(table: pa.Table, name: str, values: list) -> pa.Table:
    index = table.schema.get_field_index(name)
    field = table.schema.field(index)
    return table.set_column(index, field, pa.array(values, field.type))


def broken_shard() -> pa.Table:
    """A shard failing most of the suite, each defect on several rows spread over the shard."""
    rows = 48
    docs = [make_document(i) for i in range(rows)]
    docs[3] = replace(docs[3], text=f"携帯090-8765-4321 個人番号{MY_NUMBER}")
    docs[17] = replace(docs[17], text=f"カード{CARD} taro.yamada@example.co.jp")
    docs[30] = replace(docs[30], text="代表03-1111-2222、直通03-1111-2223")
    docs[9] = replace(docs[9], doc_id=docs[2].doc_id)  # repeated id, far from the first
    docs[40] = replace(docs[40], doc_id=docs[39].doc_id)  # repeated id, right after the first
    docs[25] = replace(docs[25], text=docs[4].text)  # repeated text
    docs[26] = replace(docs[26], doc_id="not-a-kura-id")
    docs[12] = make_document(12, text="")
    for i in range(5, rows, 2):  # more out-of-bounds rows than a report names
        docs[i] = replace(docs[i], signals={**docs[i].signals, "hiragana_fraction": 0.001 * i})
    table = make_shard(docs)
    counts = table.column("char_count").to_pylist()
    for i in (1, 22, 44):
        counts[i] += 1
    counts[35] = None  # an int column with a null: float64 for pandas, in every slice
    table = set_column(table, "char_count", counts)
    ids = table.column("doc_id").to_pylist()
    ids[47] = None
    table = set_column(table, "doc_id", ids)
    texts = table.column("text").to_pylist()
    texts[20] = None
    return set_column(table, "text", texts)


def assert_same(ours: ShardValidation, reference: ShardValidation) -> None:
    assert json.loads(ours.result_json) == json.loads(reference.result_json)
    assert ours.result_json == reference.result_json
    assert ours.result_digest == reference.result_digest
    assert ours.passed == reference.passed


def assert_same_validation(ours: ShardValidation, whole: ShardValidation) -> None:
    assert_same(ours, whole)
    assert ours.failures == whole.failures
    assert ours.statistics == whole.statistics


@pytest.fixture(scope="module")
def whole_validator() -> ShardValidator:
    validator = ShardValidator(BOUNDS, slice_bytes=WHOLE)
    validator.setup()
    return validator


def test_cut_slices_keeps_every_row_in_order_within_the_size():
    table = make_shard([make_document(i) for i in range(40)])
    sizes = table.column("text").to_pylist()
    for slice_bytes in (1, 90, 400, WHOLE):
        slices = list(cut_slices(table.to_batches(max_chunksize=7), table.schema, slice_bytes))
        assert pa.concat_tables(slices).equals(table)
        offset = 0
        for piece in slices[:-1]:
            text_bytes = [len(t.encode()) for t in sizes[offset:offset + piece.num_rows]]
            assert sum(text_bytes) >= slice_bytes > sum(text_bytes[:-1])
            offset += piece.num_rows
    empty = list(cut_slices([], DOCUMENT_SCHEMA, 10))
    assert len(empty) == 1 and empty[0].num_rows == 0


def test_clean_shard_in_slices_matches_the_whole_frame(whole_validator):
    table = make_shard([make_document(i) for i in range(30)])
    whole = whole_validator(table)
    assert whole.passed
    assert_same(whole, whole_frame_validation(table, whole_validator))
    assert_same_validation(ShardValidator(BOUNDS, slice_bytes=600)(table), whole)


@pytest.mark.slow
@pytest.mark.parametrize("slice_bytes", [1, 250, 1200])
def test_broken_shard_in_slices_matches_the_whole_frame(whole_validator, slice_bytes):
    table = broken_shard()
    whole = whole_validator(table)
    assert not whole.passed
    failed = {(f.expectation, f.column) for f in whole.failures}
    assert len(failed) >= 12, failed  # the shard really fails many expectations at once
    assert_same(whole, whole_frame_validation(table, whole_validator))
    assert_same_validation(ShardValidator(BOUNDS, slice_bytes=slice_bytes)(table), whole)


def nullable(table: pa.Table) -> pa.Table:
    """`table` with every column nullable, so Parquet takes its nulls (the suite then also
    reports the nullability drift)."""
    return table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))


def test_streamed_file_matches_the_whole_frame(whole_validator, tmp_path):
    path = tmp_path / "shard.parquet"
    pq.write_table(nullable(broken_shard()), path, row_group_size=5)  # slices cross row groups
    streamed = ShardValidator(BOUNDS, slice_bytes=600).validate_file(path)
    table = pq.read_table(path)
    assert_same(streamed, whole_frame_validation(table, whole_validator))
    assert_same_validation(streamed, whole_validator(table))


def test_streamed_v1_shard_is_judged_in_its_v2_shape(whole_validator, tmp_path):
    """A v1 shard's `pii` map is upgraded slice by slice as it is read."""
    v2 = make_shard([make_document(i) for i in range(20)])
    index = DOCUMENT_SCHEMA.get_field_index("pii")
    v1 = v2.set_column(index, pa.field("pii", PII_COUNTS_TYPE_V1, nullable=False),
                       pa.array([sorted(pii_counts(c).items())
                                 for c in v2.column("pii").to_pylist()], PII_COUNTS_TYPE_V1))
    path = tmp_path / "v1.parquet"
    pq.write_table(v1, path, row_group_size=6)
    streamed = ShardValidator(BOUNDS, slice_bytes=300).validate_file(path)
    assert streamed.passed, streamed.failures
    assert_same_validation(streamed, whole_validator(v2))


def test_empty_shard_is_evaluated_once(whole_validator, tmp_path):
    table = make_shard([])
    path = tmp_path / "empty.parquet"
    pq.write_table(table, path)
    whole = whole_validator(table)
    assert not whole.passed
    assert whole.statistics["evaluated_expectations"] == len(whole_validator.definition[
        "expectations"])
    assert_same(whole, whole_frame_validation(table, whole_validator))
    assert_same_validation(ShardValidator(BOUNDS, slice_bytes=1).validate_file(path), whole)


def test_missing_columns_fail_alike_in_slices(whole_validator):
    table = broken_shard().slice(0, 24).drop_columns(["text", "lang"])
    whole = whole_validator(table)
    assert_same(whole, whole_frame_validation(table, whole_validator))
    five_rows = 5 * table.nbytes // table.num_rows  # without text, slices are cut by row size
    assert_same_validation(ShardValidator(BOUNDS, slice_bytes=five_rows)(table), whole)


# Defects a row may carry; hypothesis picks which rows get which and where the slices fall.
_DEFECTS = ("phone", "repeat_id", "repeat_text", "bad_id", "empty", "low_hiragana",
            "count", "null_count", "null_text")


def _defective_shard(defects: list[str]) -> pa.Table:
    docs = [make_document(i) for i in range(len(defects))]
    for i, defect in enumerate(defects):
        if defect == "phone":
            docs[i] = replace(docs[i], text=f"携帯090-1234-{i:04d}")
        elif defect == "repeat_id" and i:
            docs[i] = replace(docs[i], doc_id=docs[i // 2].doc_id)
        elif defect == "repeat_text" and i:
            docs[i] = replace(docs[i], text=docs[i - 1].text)
        elif defect == "bad_id":
            docs[i] = replace(docs[i], doc_id=f"id-{i}")
        elif defect == "empty":
            docs[i] = make_document(i, text="")
        elif defect == "low_hiragana":
            docs[i] = make_document(i, hiragana_fraction=0.01)
    table = make_shard(docs)
    counts = table.column("char_count").to_pylist()
    texts = table.column("text").to_pylist()
    for i, defect in enumerate(defects):
        if defect == "count":
            counts[i] += 3
        elif defect == "null_count":
            counts[i] = None
        elif defect == "null_text":
            texts[i] = None
    return set_column(set_column(table, "char_count", counts), "text", texts)


@pytest.mark.slow
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(defects=st.lists(st.sampled_from([*_DEFECTS, "clean", "clean"]), min_size=1, max_size=10),
       slice_bytes=st.integers(1, 600))
def test_any_defects_and_any_slicing_match_the_whole_frame(whole_validator, defects, slice_bytes):
    table = _defective_shard(defects)
    whole = whole_validator(table)
    assert_same(whole, whole_frame_validation(table, whole_validator))
    assert_same_validation(ShardValidator(BOUNDS, slice_bytes=slice_bytes)(table), whole)

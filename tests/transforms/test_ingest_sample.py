"""The start of a source file, read as ingestion reads it: its encoding and its fields."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import SourceFile
from transforms.ingest_sample import SAMPLE_RECORDS, sample_fields
from transforms.ingest_stream import SAMPLE_BYTES

JA = "東京都港区の会議は明日の午前十時から始まります。"


def source(fmt: str, field: str = "text", encoding: str = "auto",
           limit: int = 10_000) -> SourceFile:
    return SourceFile(corpus_id="c", member="m", uri=f"x.{fmt}", path=f"/x.{fmt}", format=fmt,
                      text_field=field, encoding=encoding, max_record_bytes=limit)


class Reads:
    """An opener over bytes that counts how many bytes were read, over every pass."""

    def __init__(self, data: bytes) -> None:
        self.data, self.read = data, 0

    @contextmanager
    def __call__(self):
        outer = self

        class Counting(io.BytesIO):
            def read(self, size: int | None = -1) -> bytes:
                chunk = super().read(size)
                outer.read += len(chunk)
                return chunk

        yield Counting(self.data)


def test_a_cp932_csv_header_is_decoded_as_the_run_would() -> None:
    data = f"番号,本文,件名\n1,{JA},議事録\n".encode("cp932")
    sample = sample_fields(source("csv"), Reads(data))
    assert sample.encoding == "cp932"
    assert sample.fields == ("番号", "本文", "件名") and not sample.found
    assert sample_fields(source("csv", field="本文"), Reads(data)).found


def test_jsonl_fields_are_gathered_from_the_first_records_only() -> None:
    lines = [json.dumps({"body": JA, "n": i}, ensure_ascii=False) for i in range(SAMPLE_RECORDS)]
    lines += [json.dumps({"text": JA, "late": 1}, ensure_ascii=False), "not json"]
    sample = sample_fields(source("jsonl"), Reads("\n".join(lines).encode("euc_jp")))
    assert sample.encoding == "euc_jp"
    assert sample.fields == ("body", "n") and not sample.found
    assert sample.records == SAMPLE_RECORDS and sample.lacking == SAMPLE_RECORDS


def test_jsonl_lines_that_are_not_objects_are_counted_not_fields() -> None:
    data = b'[1, 2]\n{"text": "a", "id": 1}\n{"id": 2}\n{"trunc'
    sample = sample_fields(source("jsonl"), Reads(data))
    assert sample.fields == ("text", "id") and sample.found
    assert (sample.records, sample.lacking, sample.unparsed) == (4, 1, 2)


def test_a_large_file_is_read_only_at_its_start() -> None:
    line = json.dumps({"text": JA}, ensure_ascii=False).encode() + b"\n"
    opener = Reads(line * (4 * SAMPLE_BYTES // len(line)))
    sample = sample_fields(source("jsonl"), opener)
    assert sample.found and sample.records == SAMPLE_RECORDS
    assert opener.read <= 2 * SAMPLE_BYTES


def test_a_parquet_schema_names_its_columns_and_a_non_text_column(tmp_path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [1, 2], "text": [3, 4]}), path)
    sample = sample_fields(source("parquet"), Reads(path.read_bytes()))
    assert sample.fields == ("id", "text") and sample.found and sample.records == 2
    assert sample.field_type == "int64"


def test_empty_binary_and_unreadable_files_say_so() -> None:
    assert sample_fields(source("jsonl"), Reads(b"")).status == "empty"
    assert sample_fields(source("csv"), Reads(bytes(range(256)) * 8)).status == "binary"
    assert sample_fields(source("parquet"), Reads(b"PAR1 not really")).status == "unreadable"
    assert sample_fields(source("parquet"), Reads(b"")).status == "empty"

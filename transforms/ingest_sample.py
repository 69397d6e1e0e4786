"""A bounded look at the start of a source file: its encoding and the fields its records have.

Before anything runs, `kura check` and `kura onboard` use it to tell a steward that `text_field`
names no field of a file, and which fields the file does have. It reads with ingestion's own
code (the encoding decision, line cutting, per-record decoding, the CSV header and the Parquet
schema), but only a file's start: the encoding is decided on its first `SAMPLE_BYTES` (the
sample the first pass decides from; the run also weighs the rest of the file), and at most
`SAMPLE_RECORDS` records are read within `SAMPLE_BYTES + max_record_bytes`. Field names are
returned, never values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import RawRecord, SourceFile
from transforms.ingest import file_verdict, jsonl_lines
from transforms.ingest_csv import csv_header
from transforms.ingest_stream import SAMPLE_BYTES, Opener, decoded, first_pass, read_prefix
from transforms.ingest_text import can_fall_back

SAMPLE_RECORDS = 100


@dataclass(frozen=True)
class FieldSample:
    """What the start of one file says about its fields.

    `status`: ok, empty, binary (a text format whose bytes are not text) or unreadable.
    `fields`: the names seen, in the order first seen (CSV: the header; Parquet: the schema).
    `found`: `text_field` is one of them. `records`: JSONL lines sampled, or Parquet rows in
    the file; `lacking`: sampled JSONL objects without `text_field`; `unparsed`: sampled JSONL
    lines that are not JSON objects. `field_type`: the Arrow type of a Parquet text column that
    is not a string column (every row would be rejected), else None.
    """

    status: str
    encoding: str | None
    fields: tuple[str, ...] = ()
    found: bool = False
    records: int = 0
    lacking: int = 0
    unparsed: int = 0
    field_type: str | None = None


class _Counted:
    """Chunks passed through, counting their bytes (to tell a cut prefix from a whole file)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.total += len(chunk)
            yield chunk


def sample_fields(source: SourceFile, opener: Opener) -> FieldSample:
    """The fields at the start of `source` (jsonl, csv or parquet; text has none)."""
    try:
        if source.format == "parquet":
            return _parquet_sample(source, opener)
        head = _Counted(read_prefix(opener, SAMPLE_BYTES))
        verdict = file_verdict(first_pass(head), source.format, source.encoding)
        whole_file_read = head.total < SAMPLE_BYTES
        if verdict.status == "empty" and not whole_file_read:
            return FieldSample("ok", None)  # blank for a mebibyte: nothing to say about fields
        if verdict.status != "ok" or verdict.encoding is None:
            return FieldSample(verdict.status, verdict.encoding)
        budget = SAMPLE_BYTES + source.max_record_bytes
        if source.format == "csv":
            return _csv_sample(source, opener, verdict.encoding, budget)
        if source.format == "jsonl":
            return _jsonl_sample(source, opener, verdict.encoding, budget)
        return FieldSample("ok", verdict.encoding)
    except OSError:
        return FieldSample("unreadable", None)


def _csv_sample(source: SourceFile, opener: Opener, encoding: str, budget: int) -> FieldSample:
    texts = decoded(read_prefix(opener, budget), encoding, "surrogateescape")
    header = csv_header(texts, encoding, source.max_record_bytes) or []
    fields = tuple(dict.fromkeys(header))
    return FieldSample("ok", encoding, fields, source.text_field in fields)


def _jsonl_sample(source: SourceFile, opener: Opener, encoding: str, budget: int
                  ) -> FieldSample:
    chunks = _Counted(read_prefix(opener, budget))
    base = RawRecord(source, "", encoding, 0, b"")
    lines = list(islice(jsonl_lines(base, chunks, encoding,
                                    can_fall_back(source.encoding, encoding)),
                        SAMPLE_RECORDS + 1))
    if len(lines) > SAMPLE_RECORDS or chunks.total >= budget:
        lines = lines[:-1]  # the last line read may be cut by the prefix: not a fair sample
    fields: dict[str, None] = {}
    records = lacking = unparsed = 0
    for _, text in lines:
        records += 1
        try:
            obj = json.loads(text) if isinstance(text, str) else None
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            unparsed += 1
            continue
        fields.update(dict.fromkeys(obj))
        lacking += source.text_field not in obj
    found = records - unparsed - lacking > 0
    return FieldSample("ok", encoding, tuple(fields), found, records, lacking, unparsed)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or (
        kind == pa.string_view())


def _parquet_sample(source: SourceFile, opener: Opener) -> FieldSample:
    try:
        with opener() as handle:
            parquet = pq.ParquetFile(handle)
            schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
    except (pa.ArrowException, ValueError, OverflowError):
        empty = not next(read_prefix(opener, 1), b"")
        return FieldSample("empty" if empty else "unreadable", "parquet")
    fields = tuple(schema.names)
    found = source.text_field in fields
    kind = schema.field(fields.index(source.text_field)).type if found else None
    field_type = None if kind is None or _is_text(kind) else str(kind)
    return FieldSample("ok", "parquet", fields, found, rows, field_type=field_type)

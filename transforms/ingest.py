"""Decode and parse member source files into documents, or rejects with a structured reason.

Pure functions over a source's bytes, read through an `Opener` (the Beam wrapper,
`transforms/ingest_beam.py`, opens the file; tests hand bytes to `read_source`). A file is read
twice and never held whole: a first pass takes its sha256 (part of every doc id) and what
decides its encoding, a second cuts its records, each held to about `max_record_bytes`, and
checks that it read the bytes the first pass hashed.

Encoding is decided per file (DESIGN.md "Decoding") and recorded; a record that does not decode,
parse or fit the limits becomes a reject holding its raw bytes (of an oversized record, only
its first `max_record_bytes`), never a crash. Records are numbered from 1 in file order: that
number is the `locator`.

What counts as a record: a non-blank line of JSONL, a data row of CSV (the header is not a
record; quoted multi-line fields belong to their row), a row of Parquet, a whole text file.
Blank JSONL lines hold nothing and are not records, but keep their line numbers: a JSONL
record's locator is its line number.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import (
    Document,
    RawRecord,
    Reject,
    SourceFile,
    doc_id_for,
    rejected,
)
from transforms.ingest_csv import csv_records
from transforms.ingest_stream import (
    ByteFacts,
    Opener,
    decoded,
    first_pass,
    read_chunks,
    split_lines,
    take,
    undecodable_at,
    verified,
    without_prefix,
)
from transforms.ingest_text import (
    CANDIDATE_ENCODINGS,
    can_fall_back,
    check_text,
    choose_encoding,
    codec_name,
    decode_record,
    detect_encoding,
    is_wide,
    missing_field,
    too_large,
)

__all__ = ["CANDIDATE_ENCODINGS", "FileVerdict", "detect_encoding", "examine_file",
           "file_verdict", "jsonl_lines", "read_source", "read_stream"]

_PARQUET_BATCH_ROWS = 1024
_Pairs = Iterable[tuple[RawRecord, "str | Reject"]]


@dataclass(frozen=True)
class FileVerdict:
    """What reading a file decided: its digest, encoding (None if it is not text) and status."""

    sha256: str
    size: int
    encoding: str | None
    status: str  # ok | empty | binary


def file_verdict(facts: ByteFacts, fmt: str, declared_encoding: str) -> FileVerdict:
    """What a first pass decides of a file: empty, binary, or text in this encoding."""
    if fmt == "parquet":
        return FileVerdict(facts.sha256, facts.size, "parquet", "ok" if facts.size else "empty")
    if facts.blank:
        return FileVerdict(facts.sha256, facts.size, None, "empty")
    encoding = choose_encoding(facts) if declared_encoding == "auto" else declared_encoding
    if encoding is None:
        return FileVerdict(facts.sha256, facts.size, None, "binary")
    return FileVerdict(facts.sha256, facts.size, encoding, "ok")


def examine_file(data: bytes, declared_encoding: str = "auto") -> FileVerdict:
    return file_verdict(first_pass([data]), "text", declared_encoding)


def read_source(source: SourceFile, data: bytes) -> tuple[FileVerdict, Iterator[object]]:
    """`read_stream` of bytes already in memory."""
    return read_stream(source, lambda: io.BytesIO(data))


def read_stream(source: SourceFile, opener: Opener) -> tuple[FileVerdict, Iterator[object]]:
    """Examine a source (first pass, now) and yield a `Document` or a `RejectedRecord` per
    record (second pass, as the iterator is consumed).

    A binary file (for a text format) becomes one reject holding its first bytes; an empty file
    yields nothing and is reported as such in the verdict. The iterator raises `SourceChanged`
    at its end if the file's bytes changed between the passes.
    """
    facts = first_pass(read_chunks(opener), text=source.format != "parquet")
    verdict = file_verdict(facts, source.format, source.encoding)
    return verdict, _records(source, opener, verdict, facts)


def _records(source: SourceFile, opener: Opener, verdict: FileVerdict,
             facts: ByteFacts) -> Iterator[object]:
    if verdict.status == "empty":
        return
    limit = source.max_record_bytes
    if verdict.status == "binary":
        raw = take(read_chunks(opener), limit)
        rec = RawRecord(source, verdict.sha256, "", 1, raw)
        yield rejected(rec, Reject("ingest.binary", {"bytes": verdict.size}), raw)
        return
    base = RawRecord(source, verdict.sha256, verdict.encoding or "", 0, b"")
    chunks = verified(read_chunks(opener), verdict.sha256, source.uri)
    if source.format == "parquet":
        pairs = _parquet_records(base, opener, source.text_field)
    else:
        encoding = verdict.encoding or "utf-8"
        fallback = can_fall_back(source.encoding, encoding)
        if source.format == "jsonl":
            pairs = _jsonl_records(base, chunks, encoding, source.text_field, fallback)
        elif source.format == "csv":
            clean_utf8 = codec_name(encoding) in ("utf-8", "utf-8-sig") and not facts.utf8_invalid
            pairs = _csv_records(base, opener, chunks, encoding, source.text_field, fallback,
                                 clean_utf8)
        else:
            pairs = _text_record(base, chunks, verdict.size, encoding, fallback)
    for rec, outcome in pairs:
        if isinstance(outcome, Reject):
            yield rejected(rec, outcome, rec.raw)
        else:
            yield _document(rec, outcome)
    if source.format != "parquet":
        for _ in chunks:  # read what a record did not need, so the digest is checked
            pass


def _document(rec: RawRecord, text: str) -> Document:
    src = rec.source
    return Document(
        doc_id=doc_id_for(src.corpus_id, rec.source_sha256, rec.locator, src.name),
        corpus_id=src.corpus_id,
        member=src.member,
        source_uri=src.uri,
        source_sha256=rec.source_sha256,
        locator=rec.locator,
        text=text,
    )


def _record(base: RawRecord, encoding: str, locator: int, raw: bytes) -> RawRecord:
    return RawRecord(base.source, base.source_sha256, encoding, locator, raw)


def _parse_json_text(line: str, field: str) -> str | Reject:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Reject("ingest.json", {"error": "malformed", "pos": exc.pos})
    except RecursionError:
        return Reject("ingest.json", {"error": "too_deep"})
    if not isinstance(obj, dict):
        return Reject("ingest.json", {"error": "not_an_object", "type": type(obj).__name__})
    if field not in obj:
        return missing_field(field, obj)
    return check_text(obj[field], field)


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _jsonl_records(base: RawRecord, chunks: Iterable[bytes], encoding: str, field: str,
                   fallback: bool) -> _Pairs:
    for rec, text in jsonl_lines(base, chunks, encoding, fallback):
        yield rec, text if isinstance(text, Reject) else _parse_json_text(text, field)


def jsonl_lines(base: RawRecord, chunks: Iterable[bytes], encoding: str,
                fallback: bool) -> Iterator[tuple[RawRecord, str | Reject]]:
    """(record, decoded line or Reject) of each non-blank line, CR LF folded.

    Every codec but UTF-16/32 keeps `\\n` a single byte that never occurs inside a character, so
    lines are cut from the bytes and a record's raw bytes are exactly what the file holds.
    UTF-16/32 files are decoded as a stream and their raw lines kept re-encoded as UTF-8.
    """
    limit = base.source.max_record_bytes
    if is_wide(encoding):
        for line in split_lines(decoded(chunks, encoding, "replace"), "", limit, _utf8_len):
            if line.blank:
                continue
            text = line.body if line.truncated else line.body.removesuffix("\r")
            raw = text.encode("utf-8", "surrogatepass")
            rec = _record(base, encoding, line.number, raw[:limit] if line.truncated else raw)
            yield rec, too_large(line.size - line.cr, limit) or text
        return
    codec = encoding
    if encoding == "utf-8-sig":
        codec, chunks = "utf-8", without_prefix(chunks, codecs.BOM_UTF8)
    for line in split_lines(chunks, b"", limit):
        if line.blank:
            continue
        raw = line.body[:limit] if line.truncated else line.body.removesuffix(b"\r")
        rec = _record(base, encoding, line.number, raw)
        yield rec, too_large(line.size - line.cr, limit) or decode_record(raw, codec, fallback)


def _text_record(base: RawRecord, chunks: Iterable[bytes], size: int, encoding: str,
                 fallback: bool) -> _Pairs:
    limit = base.source.max_record_bytes
    if size > limit:
        yield _record(base, encoding, 1, take(chunks, limit)), too_large(size, limit)
        return
    data = b"".join(chunks)
    text = decode_record(data, encoding, fallback)
    yield _record(base, encoding, 1, data), (
        text if isinstance(text, Reject) else check_text(text, "(file)"))


def _csv_records(base: RawRecord, opener: Opener, chunks: Iterable[bytes], encoding: str,
                 field: str, fallback: bool, clean_utf8: bool) -> _Pairs:
    # Quoted fields may span lines, so the file is decoded as a stream of text; undecodable bytes
    # are kept as escapes and the rows holding them are rejected, the rest read normally.
    # Stateful codecs (ISO-2022-JP) cannot escape every bad byte: such a file is one reject,
    # found by a pass of its own before any row is given out.
    if not clean_utf8:
        offset = undecodable_at(read_chunks(opener), encoding)
        if offset is not None:
            raw = take(read_chunks(opener), base.source.max_record_bytes)
            yield _record(base, encoding, 1, raw), Reject(
                "ingest.decode", {"encoding": encoding, "byte_offset": offset, "scope": "file"})
            return
    base = _record(base, encoding, 0, b"")
    yield from csv_records(base, decoded(chunks, encoding, "surrogateescape"), field, fallback)


def _parquet_records(base: RawRecord, opener: Opener, field: str) -> _Pairs:
    limit = base.source.max_record_bytes
    number = 0
    try:
        with opener() as handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
                for row in batch.to_pylist():
                    number += 1
                    raw = json.dumps(row, ensure_ascii=False, default=repr).encode(
                        "utf-8", "surrogatepass")
                    rec = _record(base, "parquet", number, raw)
                    if field not in names:
                        yield rec, missing_field(field, names)
                        continue
                    yield rec, too_large(len(raw), limit) or check_text(row[field], field)
    except (pa.ArrowException, OSError, ValueError, OverflowError):
        reason = {"error": "unreadable"} | ({"after_row": number} if number else {})
        raw = take(read_chunks(opener), limit)
        yield _record(base, "parquet", number + 1, raw), Reject("ingest.parquet", reason)

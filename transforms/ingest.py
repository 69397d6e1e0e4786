"""Decode and parse member source files into documents, or rejects with a structured reason.

Pure functions over bytes: the Beam wrapper (`transforms/ingest_beam.py`) reads each file once
and hands its bytes here. Encoding is decided per file (DESIGN.md "Decoding") and recorded; a
record that does not decode, parse or fit the limits becomes a reject holding its raw bytes,
never a crash. Records are numbered from 1 in file order: that number is the `locator`.

What counts as a record: a non-blank line of JSONL, a data row of CSV (the header is not a
record; quoted multi-line fields belong to their row), a row of Parquet, a whole text file.
Blank JSONL lines hold nothing and are not records, but keep their line numbers: a JSONL
record's locator is its line number.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import unicodedata
from collections.abc import Iterator
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

# Tried in order when a file has no BOM; the first that decodes cleanly and reads as Japanese wins.
CANDIDATE_ENCODINGS: tuple[str, ...] = ("utf-8", "cp932", "euc_jp")
_SAMPLE_BYTES = 1 << 20
# Control bytes that do not occur in text files: many of them mean binary.
_BINARY_CONTROLS = tuple(bytes([b]) for b in range(0x20) if b not in b"\t\n\r\f\x1b")
_BINARY_CONTROL_FRACTION = 0.05
_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(B", b"\x1b$(D")


@dataclass(frozen=True)
class FileVerdict:
    """What reading a file decided: its digest, encoding (None if it is not text) and status."""

    sha256: str
    size: int
    encoding: str | None
    status: str  # ok | empty | binary


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    controls = sum(sample.count(b) for b in _BINARY_CONTROLS)
    return controls / len(sample) > _BINARY_CONTROL_FRACTION


def _suspect_chars(text: str) -> int:
    """Characters that mean a wrong guess: escaped bytes, replacement, C1 controls, private use."""
    return sum(
        1
        for ch in text
        if "\udc80" <= ch <= "\udcff" or ch == "\ufffd" or "\x80" <= ch <= "\x9f"
        or "\ue000" <= ch <= "\uf8ff"
    )


def _japanese_chars(text: str) -> int:
    return sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")


def detect_encoding(data: bytes) -> str | None:
    """The codec to read `data` with, or None for binary data.

    BOMs decide first (UTF-8, UTF-16). ISO-2022-JP is 7-bit with escape sequences. Otherwise each
    candidate decodes a sample; fewest suspect characters wins, then most kana/kanji (EUC-JP bytes
    often decode as CP932 half-width katakana without error, but not as kana).
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:_SAMPLE_BYTES]
    if _looks_binary(sample):
        return None
    if sample.isascii() and any(esc in sample for esc in _ISO2022_ESCAPES):
        return "iso2022_jp"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # The sample may end inside a multi-byte character; that costs every candidate alike.
    scored = []
    for rank, encoding in enumerate(CANDIDATE_ENCODINGS):
        text = sample.decode(encoding, "surrogateescape")
        scored.append((_suspect_chars(text), -_japanese_chars(text), rank, encoding))
    suspects, _, _, best = min(scored)
    if suspects > max(16, len(sample) // 10):
        return None
    return best


def examine_file(data: bytes, declared_encoding: str = "auto") -> FileVerdict:
    digest = sha256_hex(data)
    if not data.strip():
        return FileVerdict(digest, len(data), None, "empty")
    encoding = detect_encoding(data) if declared_encoding == "auto" else declared_encoding
    if encoding is None:
        return FileVerdict(digest, len(data), None, "binary")
    return FileVerdict(digest, len(data), encoding, "ok")


def _invalid_unicode(text: str) -> bool:
    """True for text no UTF-8 Parquet column can hold: lone surrogates (escaped bytes included)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _decode(raw: bytes, encoding: str) -> str | Reject:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        return Reject("ingest.decode", {"encoding": encoding, "byte_offset": exc.start})


def _check_text(value: object, field: str) -> str | Reject:
    if value is None:
        return Reject("ingest.text_field", {"field": field, "problem": "missing"})
    if not isinstance(value, str):
        return Reject(
            "ingest.text_field",
            {"field": field, "problem": "not_a_string", "type": type(value).__name__},
        )
    if _invalid_unicode(value):
        return Reject("ingest.invalid_unicode", {"field": field})
    if not value.strip() or not any(unicodedata.category(c)[0] in "LNPS" for c in value):
        return Reject("ingest.empty_text", {"field": field, "chars": len(value)})
    return value


def _parse_json_text(line: str, field: str) -> str | Reject:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Reject("ingest.json", {"error": "malformed", "pos": exc.pos})
    except RecursionError:
        return Reject("ingest.json", {"error": "too_deep"})
    if not isinstance(obj, dict):
        return Reject("ingest.json", {"error": "not_an_object", "type": type(obj).__name__})
    return _check_text(obj.get(field), field)


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


def _too_large(rec: RawRecord) -> Reject | None:
    limit = rec.source.max_record_bytes
    if len(rec.raw) > limit:
        return Reject("ingest.too_large", {"max_bytes": limit, "value": len(rec.raw)})
    return None


def _lines(data: bytes, encoding: str) -> Iterator[tuple[int, bytes, str | Reject]]:
    """(line number, raw bytes, decoded line or Reject) of each non-blank line, CR LF folded.

    Every codec but UTF-16 keeps `\\n` a single byte that never occurs inside a character, so
    lines are cut from the bytes and a record's raw bytes are exactly what the file holds.
    UTF-16 files are decoded whole and their raw lines kept re-encoded as UTF-8.
    """
    if encoding.startswith("utf-16"):
        text = data.decode(encoding, "replace")
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if line.strip():
                yield number, line.encode("utf-8", "surrogatepass"), line
        return
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    if encoding == "utf-8-sig" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    for number, piece in enumerate(data.split(b"\n"), start=1):
        raw = piece.removesuffix(b"\r")
        if raw.strip():
            yield number, raw, _decode(raw, codec)


def _jsonl_records(base: RawRecord, data: bytes, encoding: str, field: str):
    for number, raw, line in _lines(data, encoding):
        rec = RawRecord(base.source, base.source_sha256, encoding, number, raw)
        too_large = _too_large(rec)
        if too_large:
            yield rec, too_large
        elif isinstance(line, Reject):
            yield rec, line
        else:
            yield rec, _parse_json_text(line, field)


def _text_record(base: RawRecord, data: bytes, encoding: str):
    rec = RawRecord(base.source, base.source_sha256, encoding, 1, data)
    too_large = _too_large(rec)
    if too_large:
        return rec, too_large
    text = _decode(data, encoding)
    if isinstance(text, Reject):
        return rec, text
    return rec, _check_text(text, "(file)")


def _csv_records(base: RawRecord, data: bytes, encoding: str, field: str):
    # Quoted fields may span lines, so the file is decoded whole; undecodable bytes are kept as
    # escapes and the rows holding them are rejected, the rest read normally.
    try:
        text = data.decode(encoding, "surrogateescape")
    except UnicodeDecodeError as exc:  # stateful codecs (ISO-2022-JP) cannot escape bad bytes
        rec = RawRecord(base.source, base.source_sha256, encoding, 1, data)
        yield rec, Reject("ingest.decode", {"encoding": encoding, "byte_offset": exc.start,
                                            "scope": "file"})
        return
    # Cut on "\n" alone: str.splitlines would also cut on U+2028, \x0c and others, which the
    # csv module would then take for row ends inside a field.
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    reader = csv.reader(iter(lines))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return
    header = [h.lstrip("\ufeff").strip() for h in header]
    column = header.index(field) if field in header else None
    raw_codec = encoding.replace("-sig", "")
    consumed = reader.line_num
    record_no = 0
    while True:
        try:
            row = next(reader)
            error = None
        except StopIteration:
            break
        except csv.Error:
            row, error = None, "malformed"
        raw_text = "".join(lines[consumed:reader.line_num])
        consumed = reader.line_num
        if row is not None and not any(cell.strip() for cell in row):
            continue
        record_no += 1
        try:
            raw = raw_text.encode(raw_codec, "surrogateescape")
        except UnicodeEncodeError:
            raw = raw_text.encode("utf-8", "surrogateescape")
        rec = RawRecord(base.source, base.source_sha256, encoding, record_no, raw)
        yield rec, _parse_csv_row(rec, row, error, column, field)


def _parse_csv_row(
    rec: RawRecord, row: list[str] | None, error: str | None, column: int | None, field: str
) -> str | Reject:
    too_large = _too_large(rec)
    if too_large:
        return too_large
    if row is None:
        return Reject("ingest.csv", {"error": error})
    if column is None:
        return Reject("ingest.text_field", {"field": field, "problem": "missing"})
    if column >= len(row):
        return Reject("ingest.text_field", {"field": field, "problem": "short_row",
                                            "cells": len(row)})
    value = row[column]
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return Reject("ingest.decode", {"encoding": rec.encoding})
    return _check_text(value, field)


def _parquet_records(base: RawRecord, data: bytes, field: str):
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError):
        rec = RawRecord(base.source, base.source_sha256, "parquet", 1, data)
        yield rec, Reject("ingest.parquet", {"error": "unreadable"})
        return
    names = table.column_names
    for number, row in enumerate(table.to_pylist(), start=1):
        raw = json.dumps(row, ensure_ascii=False, default=repr).encode("utf-8", "surrogatepass")
        rec = RawRecord(base.source, base.source_sha256, "parquet", number, raw)
        if field not in names:
            yield rec, Reject("ingest.text_field", {"field": field, "problem": "missing"})
            continue
        yield rec, _too_large(rec) or _check_text(row[field], field)


def read_source(source: SourceFile, data: bytes) -> tuple[FileVerdict, Iterator[object]]:
    """Examine a file's bytes and yield a `Document` or a `RejectedRecord` per record.

    A binary file (for a text format) becomes one reject holding its bytes; an empty file yields
    nothing and is reported as such in the verdict.
    """
    if source.format == "parquet":
        verdict = FileVerdict(sha256_hex(data), len(data), "parquet",
                              "ok" if data else "empty")
    else:
        verdict = examine_file(data, source.encoding)
    return verdict, _records(source, data, verdict)


def _records(source: SourceFile, data: bytes, verdict: FileVerdict) -> Iterator[object]:
    base = RawRecord(source, verdict.sha256, verdict.encoding or "", 0, b"")
    if verdict.status == "empty":
        return
    if verdict.status == "binary":
        rec = RawRecord(source, verdict.sha256, "", 1, data)
        yield rejected(rec, Reject("ingest.binary", {"bytes": len(data)}), data)
        return
    encoding = verdict.encoding or "utf-8"
    if source.format == "jsonl":
        pairs = _jsonl_records(base, data, encoding, source.text_field)
    elif source.format == "csv":
        pairs = _csv_records(base, data, encoding, source.text_field)
    elif source.format == "parquet":
        pairs = _parquet_records(base, data, source.text_field)
    else:
        pairs = iter([_text_record(base, data, encoding)])
    for rec, outcome in pairs:
        if isinstance(outcome, Reject):
            yield rejected(rec, outcome, rec.raw)
        else:
            yield _document(rec, outcome)


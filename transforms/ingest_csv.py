"""Cut CSV text into records, a data row each, holding about one record at a time.

The csv module reads a quoted field on across lines: right for a field that holds a newline,
wrong for a quote that never closes, which swallows the rows after it into its text. So each row
is read strictly first. A row that spans lines but is not well-formed, runs into the end of the
file inside its quote, or outgrows the record limit is taken to start with an unterminated
quote: its first line becomes a reject of its own and the lines after it are read again as
rows. A one-line row that is only not strictly well-formed (`"a"b`) is read as the csv module
reads it by default, as it always was.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from schemas.records import RawRecord, Reject
from transforms.ingest_stream import Line, split_lines
from transforms.ingest_text import check_text, missing_field, other_decoding, too_large

UNTERMINATED = "unterminated quote"


class _Overflow(Exception):
    """The row being read outgrew the record limit."""


class _Lines:
    """An iterator of lines that takes back the lines a row gave up, to read them again."""

    def __init__(self, lines: Iterable[Line]) -> None:
        self._lines = iter(lines)
        self._back: list[Line] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> Line:
        return self._back.pop() if self._back else next(self._lines)

    def give_back(self, lines: list[Line]) -> None:
        self._back.extend(reversed(lines))


@dataclass(frozen=True)
class _Cut:
    """The lines one row was read from: the row's cells, or the problem that stopped it."""

    lines: list[Line]
    row: list[str] | None
    problem: str | None  # None | "too_large" | "malformed" | UNTERMINATED


def _line_text(line: Line) -> str:
    return line.body + "\n" if line.ended else line.body


def _parse(lines: _Lines, cap: int, strict: bool) -> _Cut:
    taken: list[Line] = []
    at_end = True

    def feed() -> Iterator[str]:
        nonlocal at_end
        size = 0
        for line in lines:
            if not line.ended and not line.body:
                continue  # what follows a file's last "\n" holds nothing
            taken.append(line)
            size += line.size
            if line.truncated or size > cap:
                raise _Overflow
            at_end = False
            if "\x00" in line.body:
                # The csv module reads NUL as the end of a line, so a quote can close or a
                # row end where the file holds neither: such a row is malformed, not guessed.
                raise csv.Error("NUL in a row")
            yield _line_text(line)
            at_end = True

    try:
        return _Cut(taken, next(csv.reader(feed(), strict=strict)), None)
    except StopIteration:
        return _Cut(taken, None, None)
    except _Overflow:
        return _Cut(taken, None, "too_large")
    except csv.Error:
        # Strict parsing fails inside a line, before the next is asked for; failing once the
        # lines are spent means the file ended inside a quote.
        return _Cut(taken, None, UNTERMINATED if strict and at_end else "malformed")


def _read_row(lines: _Lines, cap: int) -> _Cut | None:
    cut = _parse(lines, cap, strict=True)
    if not cut.lines:
        return None
    if cut.problem == "malformed" and len(cut.lines) == 1:
        lines.give_back(cut.lines)
        cut = _parse(lines, cap, strict=False)
        if len(cut.lines) > 1:  # read leniently, the bad line opened a quote that ran on
            cut = _Cut(cut.lines, None, UNTERMINATED)
    if len(cut.lines) > 1 and cut.problem in (UNTERMINATED, "too_large", "malformed"):
        lines.give_back(cut.lines[1:])
        return _Cut(cut.lines[:1], None, UNTERMINATED)
    return cut


def _byte_counter(codec: str) -> Callable[[str], int]:
    """Bytes a piece of decoded text took in the file (an encoder keeps a BOM to the first)."""
    encoder = codecs.getincrementalencoder(codec)("surrogateescape")

    def count(text: str) -> int:
        try:
            return len(encoder.encode(text))
        except UnicodeEncodeError:
            return len(text.encode("utf-8", "surrogatepass"))

    return count


def _encoded(text: str, codec: str) -> bytes:
    try:
        return text.encode(codec, "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def csv_records(
    base: RawRecord, texts: Iterable[str], field: str, fallback: bool
) -> Iterator[tuple[RawRecord, str | Reject]]:
    """(record, text or Reject) per data row of CSV text; the header is not a record.

    `texts` is the file decoded with surrogateescape, so undecodable bytes only spoil the rows
    that hold them; a record's raw bytes are its text encoded back the same way.
    """
    cap = base.source.max_record_bytes
    raw_codec = base.encoding.replace("-sig", "")
    lines = _Lines(split_lines(texts, "", cap, _byte_counter(raw_codec)))
    header = _header(lines, cap)
    if header is None:
        return
    column = header.index(field) if field in header else None
    record_no = 0
    while (cut := _read_row(lines, cap)) is not None:
        if cut.row is not None and not any(cell.strip() for cell in cut.row):
            continue
        record_no += 1
        raw = _encoded("".join(_line_text(line) for line in cut.lines), raw_codec)
        size = len(raw)
        if cut.problem == "too_large":
            size = max(size, sum(line.size + line.ended for line in cut.lines))
            raw = raw[:cap]
        rec = RawRecord(base.source, base.source_sha256, base.encoding, record_no, raw)
        yield rec, _row_outcome(rec, cut, size, column, field, header, fallback)


def csv_header(texts: Iterable[str], encoding: str, cap: int) -> list[str] | None:
    """The column names of CSV text as `csv_records` reads them (None: no header row), reading
    only as far as the header's end."""
    raw_codec = encoding.replace("-sig", "")
    return _header(_Lines(split_lines(texts, "", cap, _byte_counter(raw_codec))), cap)


def _header(lines: _Lines, cap: int) -> list[str] | None:
    head = _read_row(lines, cap)
    if head is None:
        return None
    header = head.row
    if header is None:
        if head.problem != UNTERMINATED:
            return None
        header = next(csv.reader([head.lines[0].body]), [])
    return [h.lstrip("\ufeff").strip() for h in header]


def _row_outcome(rec: RawRecord, cut: _Cut, size: int, column: int | None, field: str,
                 header: list[str], fallback: bool) -> str | Reject:
    rejected = too_large(size, rec.source.max_record_bytes)
    if rejected:
        return rejected
    if cut.row is None:
        return Reject("ingest.csv", {"error": cut.problem})
    if column is None:
        return missing_field(field, header)
    row = cut.row
    if column < len(row) and any("\udc80" <= ch <= "\udcff" for ch in row[column]):
        row = _redecoded(rec, fallback) or row
    if column >= len(row):
        return Reject("ingest.text_field", {"field": field, "problem": "short_row",
                                            "cells": len(row)})
    value = row[column]
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return Reject("ingest.decode", {"encoding": rec.encoding})
    return check_text(value, field)


def _redecoded(rec: RawRecord, fallback: bool) -> list[str] | None:
    """The row read again from its bytes in the one other encoding that reads it cleanly."""
    if not fallback:
        return None
    text = other_decoding(rec.raw, rec.encoding.replace("-sig", ""))
    if text is None:
        return None
    try:
        return next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error:
        return None

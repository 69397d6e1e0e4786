"""Serializing documents into the member's file formats and legacy encodings, byte for byte."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Sequence

# JIS X 0208 codecs (EUC-JP, ISO-2022-JP) have no full-width hyphen-minus or tilde: a legacy
# export writes the JIS characters instead, as converters do.
_TO_JIS = str.maketrans({"－": "−", "～": "〜"})
_JIS_CODECS = frozenset({"euc_jp", "iso2022_jp"})

# Codecs whose files get Windows line ends (they come from Windows tools).
CRLF_CODECS = frozenset({"cp932", "utf-16"})


def as_written(text: str, encoding: str) -> str | None:
    """The text a reader decodes from the file written in `encoding`, or None if it won't fit.

    CP932 maps 〜 (U+301C) to ～ (U+FF5E) on the way back, so the round trip is what counts.
    """
    if encoding in _JIS_CODECS:
        text = text.translate(_TO_JIS)
    codec = "utf-16-le" if encoding == "utf-16" else encoding
    try:
        return text.encode(codec).decode(codec)
    except UnicodeError:
        return None


def encode_text(text: str, encoding: str) -> bytes:
    """One text file's bytes. UTF-16 gets an explicit little-endian BOM (not the platform's)."""
    if encoding in CRLF_CODECS:
        text = text.replace("\n", "\r\n")
    if encoding in _JIS_CODECS:
        text = text.translate(_TO_JIS)
    if encoding == "utf-16":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    return text.encode(encoding)


def json_line(fields: dict[str, object]) -> bytes:
    """One JSONL line (with its newline), keys in the given order, non-ASCII kept as UTF-8."""
    return (json.dumps(fields, ensure_ascii=False) + "\n").encode("utf-8")


def encode_csv(header: Sequence[str], rows: Sequence[Sequence[str]], encoding: str) -> bytes:
    """RFC 4180 CSV: CRLF row ends, quotes where needed (multi-line text fields included)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if encoding in _JIS_CODECS:
        text = text.translate(_TO_JIS)
    return text.encode(encoding)

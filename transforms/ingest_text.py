"""From a record's bytes to checked text: the file's encoding, per-record decoding, text checks.

Encoding is decided per file from a first pass (DESIGN.md "Decoding"). A file that is UTF-8 but
for a few records is UTF-8; where the file's encoding fails on a record and the encoding was
detected rather than declared, that record alone is decided again among the candidates, and is
a reject only if none reads cleanly as Japanese.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterable

from schemas.records import Reject
from transforms.ingest_stream import ByteFacts, first_pass

# Tried in order when a file has no BOM; the first that decodes cleanly and reads as Japanese wins.
CANDIDATE_ENCODINGS: tuple[str, ...] = ("utf-8", "cp932", "euc_jp")
# A file is UTF-8 when its valid multi-byte UTF-8 outweighs its invalid bytes this many times:
# legacy Japanese text is at most about 0.6 by accident (measured on CP932 and EUC-JP), a UTF-8
# file with one foreign line in ten well over 10.
MOSTLY_UTF8_RATIO = 4
# Control bytes that do not occur in text files: many of them mean binary.
_BINARY_CONTROLS = tuple(bytes([b]) for b in range(0x20) if b not in b"\t\n\r\f\x1b")
_BINARY_CONTROL_FRACTION = 0.05
_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(J", b"\x1b(B", b"\x1b$(D")
# How many of a record's field names a missing-field reject lists, and how long each may be.
NAMED_FIELDS = 20
_NAME_CHARS = 64


def codec_name(encoding: str) -> str:
    """Python's canonical name of a codec ("UTF_16" -> "utf-16"), for deciding how to cut lines."""
    return codecs.lookup(encoding).name


def is_wide(encoding: str) -> bool:
    """True for codecs in which "\\n" is not one byte of its own (UTF-16, UTF-32)."""
    return codec_name(encoding).startswith(("utf-16", "utf-32"))


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


def choose_encoding(facts: ByteFacts) -> str | None:
    """The codec to read a file with, or None for binary data.

    BOMs decide first (UTF-8, UTF-16). ISO-2022-JP is 7-bit with escape sequences. A file that
    is UTF-8, or UTF-8 but for a few records, is UTF-8. Otherwise each candidate decodes a
    sample; fewest suspect characters wins, then most kana/kanji (EUC-JP bytes often decode as
    CP932 half-width katakana without error, but not as kana).
    """
    sample = facts.sample
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_binary(sample):
        return None
    if sample.isascii() and any(esc in sample for esc in _ISO2022_ESCAPES):
        return "iso2022_jp"
    if facts.utf8_invalid == 0 or facts.utf8_multibyte >= MOSTLY_UTF8_RATIO * facts.utf8_invalid:
        return "utf-8"
    # The sample may end inside a multi-byte character; that costs every candidate alike.
    scored = []
    for rank, encoding in enumerate(CANDIDATE_ENCODINGS):
        text = sample.decode(encoding, "surrogateescape")
        scored.append((_suspect_chars(text), -_japanese_chars(text), rank, encoding))
    suspects, _, _, best = min(scored)
    if suspects > max(16, len(sample) // 10):
        return None
    return best


def detect_encoding(data: bytes) -> str | None:
    """`choose_encoding` of bytes in memory."""
    return choose_encoding(first_pass([data]))


def can_fall_back(declared: str, encoding: str) -> bool:
    """Per-record fallback: only for detected encodings whose records are cut from bytes."""
    return declared == "auto" and codec_name(encoding) in ("utf-8", "utf-8-sig", "cp932",
                                                           "euc_jp")


def decode_record(raw: bytes, encoding: str, fallback: bool) -> str | Reject:
    """Text of one record's bytes in the file's encoding, else (with `fallback`) in the one
    candidate that reads it cleanly as Japanese; a Reject if neither."""
    try:
        return raw.decode(encoding)
    except UnicodeError as exc:  # UnicodeDecodeError, or a codec's own UnicodeError
        failure = Reject("ingest.decode", {"encoding": encoding,
                                           "byte_offset": getattr(exc, "start", 0)})
    if fallback:
        text = other_decoding(raw, encoding)
        if text is not None:
            return text
    return failure


def other_decoding(raw: bytes, encoding: str) -> str | None:
    """The record's text in another candidate encoding that reads it cleanly (no suspect
    characters, and kana: kanji alone is what stray bytes most often decode to); of several,
    the one with the most kana and kanji."""
    best: tuple[int, str] | None = None
    for candidate in CANDIDATE_ENCODINGS:
        if candidate == codec_name(encoding):
            continue
        try:
            text = raw.decode(candidate)
        except UnicodeError:
            continue
        japanese = _japanese_chars(text)
        if (_suspect_chars(text) == 0 and _has_kana(text)
                and (best is None or japanese > best[0])):
            best = (japanese, text)
    return best[1] if best else None


def _has_kana(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" for ch in text)


def invalid_unicode(text: str) -> bool:
    """True for text no UTF-8 Parquet column can hold: lone surrogates (escaped bytes included)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_text(value: object, field: str) -> str | Reject:
    if value is None:
        return Reject("ingest.text_field", {"field": field, "problem": "missing"})
    if not isinstance(value, str):
        return Reject(
            "ingest.text_field",
            {"field": field, "problem": "not_a_string", "type": type(value).__name__},
        )
    if invalid_unicode(value):
        return Reject("ingest.invalid_unicode", {"field": field})
    if not value.strip() or not any(unicodedata.category(c)[0] in "LNPS" for c in value):
        return Reject("ingest.empty_text", {"field": field, "chars": len(value)})
    return value


def missing_field(field: str, available: Iterable[object]) -> Reject:
    """The text field is not among a record's fields: say which fields it has, by name only
    (sorted, at most `NAMED_FIELDS`, each cut to `_NAME_CHARS`), so the steward can fix
    `text_field` from the reject alone. Values are never named."""
    names = sorted({_printable_name(name) for name in available})
    reason: dict[str, object] = {"field": field, "problem": "missing",
                                 "available": names[:NAMED_FIELDS]}
    if len(names) > NAMED_FIELDS:
        reason["more"] = len(names) - NAMED_FIELDS
    return Reject("ingest.text_field", reason)


def _printable_name(name: object) -> str:
    # Undecodable bytes (escaped) and lone surrogates cannot go into a UTF-8 reason.
    text = str(name).encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 1] + "…"


def too_large(size: int, limit: int) -> Reject | None:
    if size > limit:
        return Reject("ingest.too_large", {"max_bytes": limit, "value": size})
    return None

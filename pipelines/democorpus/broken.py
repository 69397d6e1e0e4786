"""Broken records and files, as real member exports contain them.

Each builder returns the raw bytes of one JSONL line (with its newline) or of one whole file,
plus the personal values that made it into those bytes. What Kura should do with each (the
ingestion issue's contract): every broken JSONL line is one reject with a structured reason; the
binary file is rejected whole; the empty file is reported and yields no record.
"""

from __future__ import annotations

import json
import random

from pipelines.democorpus.compose import Draft

# The kinds, in the order they are reported (DemoCorpus.planted keys are "broken.<kind>").
JSONL_KINDS: tuple[str, ...] = (
    "truncated_json",
    "text_not_string",
    "missing_text",
    "invalid_utf8",
    "empty_text",
    "lone_surrogate",
    "nul_byte",
    "oversized",
)
FILE_KINDS: tuple[str, ...] = ("binary_file", "empty_file")

_MARK = "\ue000"  # a private-use placeholder, swapped for the broken bytes after json.dumps
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _fields(record_id: str, draft: Draft, **extra: object) -> dict[str, object]:
    return {"id": record_id, "title": draft.title, "category": draft.kind, **extra}


def _dump(fields: dict[str, object]) -> str:
    return json.dumps(fields, ensure_ascii=False)


def _present(draft: Draft, raw: str) -> tuple[tuple[str, str], ...]:
    return tuple(item for item in draft.pii if item[1] in raw)


def broken_line(
    kind: str, record_id: str, draft: Draft, rng: random.Random, max_record_bytes: int
) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """One broken JSONL line of `kind` built around a real draft, and the PII it carries."""
    text = draft.text
    if kind == "truncated_json":  # an export cut off mid-record, at a character boundary
        whole = _dump(_fields(record_id, draft, text=text))
        cut = whole[: rng.randint(len(whole) // 3, 2 * len(whole) // 3)]
        return (cut + "\n").encode("utf-8"), _present(draft, cut)
    if kind == "text_not_string":
        line = _dump(_fields(record_id, draft, text=rng.randint(10**6, 10**8)))
        return (line + "\n").encode("utf-8"), ()
    if kind == "missing_text":  # a record from an export that named the field differently
        line = _dump(_fields(record_id, draft, body=text))
        return (line + "\n").encode("utf-8"), draft.pii
    if kind == "invalid_utf8":  # one record pasted in from a Shift_JIS system
        line = _dump(_fields(record_id, draft, text=text)) + "\n"
        return line.encode("cp932"), draft.pii
    if kind == "empty_text":
        return (_dump(_fields(record_id, draft, text="")) + "\n").encode("utf-8"), ()
    if kind in ("lone_surrogate", "nul_byte"):
        # \ud800 is valid JSON escape syntax but no Unicode scalar; a raw NUL is a control byte
        # JSON forbids inside strings. Both sit after the first sentence of a real text.
        at = text.index("。") + 1 if "。" in text else len(text) // 2
        line = _dump(_fields(record_id, draft, text=text[:at] + _MARK + text[at:])) + "\n"
        broken = b"\\ud800" if kind == "lone_surrogate" else b"\x00"
        return line.encode("utf-8").replace(_MARK.encode("utf-8"), broken), draft.pii
    if kind == "oversized":  # a batch job's log pasted whole into one record
        lines: list[str] = []
        size = 0
        while size <= max_record_bytes + 4096:
            line = (f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)} "
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} "
                    f"INFO 受注データ{rng.randint(1, 99999)}件目の取り込みが完了しました"
                    f"（処理時間{rng.randint(3, 900)}ミリ秒）")
            lines.append(line)
            size += len(line.encode("utf-8")) + 1
        fields = {"id": record_id, "title": "夜間バッチ処理ログ", "category": "log",
                  "text": "\n".join(lines)}
        return (_dump(fields) + "\n").encode("utf-8"), ()
    raise ValueError(f"unknown broken record kind {kind!r}")


def binary_file(rng: random.Random, size: int = 6144) -> bytes:
    """An image saved under a .txt name: a PNG signature, then noise (NUL bytes included)."""
    return _PNG_SIGNATURE + rng.randbytes(size - len(_PNG_SIGNATURE))

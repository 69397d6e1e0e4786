"""Fuzzing every reader: nothing escapes, every record is a document or a reject, and no
document ever holds the text of two input records.

Each generated record carries a unique ASCII marker (`Q0007Z`); a document whose text holds two
markers would be two records merged. Records are made well- or ill-formed at random (broken
JSON, stray and unterminated CSV quotes, foreign-encoded or random bytes), in every encoding the
readers detect, and read with small limits as well as large ones.
"""

from __future__ import annotations

import io
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import Document, RejectedRecord, SourceFile
from transforms.ingest import read_source

MARKER = re.compile(r"Q\d{4}Z")
PIECES = ["東京の会議", "資料を準備", "ｶﾀｶﾅ", "abc", " ", ",", '"', '""', "\n", "\r\n", "\\", "{",
          "\u3000", "①", "\t"]
ENCODINGS = ["utf-8", "cp932", "euc_jp", "iso2022_jp", "utf-16", "utf-8-sig"]
SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def source(fmt: str, limit: int, encoding: str = "auto") -> SourceFile:
    return SourceFile(corpus_id="c", member="m", uri=f"file:///f.{fmt}", path=f"/f.{fmt}",
                      format=fmt, text_field="text", encoding=encoding, max_record_bytes=limit)


def marker(n: int) -> str:
    return f"Q{n:04d}Z"


body = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


def check(src: SourceFile, data: bytes) -> tuple[list[Document], list]:
    verdict, items = read_source(src, data)
    items = list(items)  # no exception may escape
    docs = [i for i in items if isinstance(i, Document)]
    rejects = [i for i in items if isinstance(i, RejectedRecord)]
    assert len(docs) + len(rejects) == len(items)
    assert [i.locator for i in items] == sorted({i.locator for i in items})  # one each
    for doc in docs:
        assert len(set(MARKER.findall(doc.text))) <= 1, "two records merged into one document"
        doc.text.encode("utf-8")
    for rej in rejects:
        assert set(json.loads(rej.reason)) >= {"step"} and len(rej.raw) <= max(
            src.max_record_bytes * 4, len(data))
    if verdict.status == "empty":
        assert items == []
    return docs, rejects


def seen(docs: list[Document], rejects: list[RejectedRecord]) -> set[str]:
    found = {m for d in docs for m in MARKER.findall(d.text)}
    for rej in rejects:
        raw = rej.raw.replace(b"\x00", b"")  # UTF-16 raw: the ASCII marker with NULs between
        found |= {m.decode() for m in re.findall(rb"Q\d{4}Z", raw)}
    return found


@st.composite
def jsonl_files(draw):
    lines = []
    for n in range(draw(st.integers(0, 8))):
        text = draw(body) + marker(n) + draw(body)
        line = json.dumps({"text": text}, ensure_ascii=draw(st.booleans()))
        kind = draw(st.sampled_from(["ok", "ok", "ok", "truncated", "not_json", "blank_field"]))
        if kind == "truncated":
            line = line[: draw(st.integers(0, len(line)))] + marker(n)
        elif kind == "not_json":
            line = text.replace("\n", " ").replace("\r", " ")
        elif kind == "blank_field":
            line = json.dumps({"text": " ", "id": marker(n)})
        lines.append(line)
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"])), len(lines)


@st.composite
def csv_files(draw):
    rows = ["id,text"]
    count = draw(st.integers(0, 8))
    for n in range(count):
        # Fields start and end with a letter, and stray quotes sit between letters: a quote a
        # later row closes cleanly would make a well-formed multi-line field, which CSV cannot
        # tell from an intended one.
        text = "s" + draw(body).replace('"', 'x"x') + marker(n) + draw(body).replace(
            '"', 'x"x') + "s"
        kind = draw(st.sampled_from(["quoted", "quoted", "plain", "unterminated", "stray"]))
        if kind == "quoted":
            rows.append(f'{n},"' + text.replace('"', '""') + '"')
        elif kind == "plain":
            rows.append(f"{n}," + re.sub(r'[",\r\n]', "", text))
        elif kind == "unterminated":
            rows.append(f'{n},"' + re.sub(r'[",\r\n]', "", text))
        else:  # quotes where they do not belong, on one line
            rows.append(f"{n}," + re.sub(r"[,\r\n]", " ", text))
    return "\n".join(rows) + draw(st.sampled_from(["", "\n"])), count


def encode(draw, text: str) -> bytes:
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, "replace")
    if draw(st.booleans()) and data:  # corrupt a few bytes
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 3))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        # A corrupted byte may also remove a line break or a quote (UTF-16's are two bytes),
        # making two records one line, or one well-formed multi-line field, in the file: then
        # no reader could keep them apart. Keep only corruptions that leave both in place.
        if _structure(bytes(buf), encoding) == _structure(data, encoding):
            data = bytes(buf)
    return data


def _structure(data: bytes, encoding: str) -> list[tuple[int, str]]:
    text = data.decode(encoding, "replace")
    return [(i, ch) for i, ch in enumerate(text) if ch in '\n"']


@SETTINGS
@given(st.data(), jsonl_files(), st.sampled_from([40, 100_000]))
def test_jsonl_records_are_never_merged_and_all_accounted_for(data, file, limit) -> None:
    text, _ = file
    raw = encode(data.draw, text)
    docs, _ = check(source("jsonl", limit), raw)
    assert len({d.doc_id for d in docs}) == len(docs)


@SETTINGS
@given(st.data(), csv_files(), st.sampled_from([40, 100_000]))
def test_csv_rows_are_never_merged_and_all_accounted_for(data, file, limit) -> None:
    text, _ = file
    raw = encode(data.draw, text)
    check(source("csv", limit), raw)


@SETTINGS
@given(csv_files())
def test_csv_rows_in_clean_utf8_are_all_kept_in_some_output(file) -> None:
    text, count = file
    docs, rejects = check(source("csv", 100_000), text.encode("utf-8"))
    assert seen(docs, rejects) == {marker(n) for n in range(count)}


@SETTINGS
@given(jsonl_files())
def test_jsonl_lines_in_clean_utf8_are_all_kept_in_some_output(file) -> None:
    text, count = file
    docs, rejects = check(source("jsonl", 100_000), text.encode("utf-8"))
    assert seen(docs, rejects) == {marker(n) for n in range(count)}


@SETTINGS
@given(st.binary(max_size=4096), st.sampled_from(["jsonl", "csv", "text", "parquet"]),
       st.sampled_from(["auto", "utf-8", "cp932", "utf-16", "iso2022_jp"]),
       st.sampled_from([16, 100_000]))
def test_random_bytes_never_escape_a_reader(raw, fmt, encoding, limit) -> None:
    check(source(fmt, limit, encoding), raw)


@SETTINGS
@given(st.data())
def test_a_text_file_is_one_record(data) -> None:
    text = data.draw(body) + marker(0) + data.draw(body)
    docs, rejects = check(source("text", 100_000), encode(data.draw, text))
    assert len(docs) + len(rejects) <= 1


cells = st.one_of(st.none(), st.integers(), body.map(lambda t: t), st.just(""))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cells, st.booleans()), max_size=12), st.sampled_from([40, 100_000]))
def test_parquet_rows_are_each_a_document_or_a_reject(rows, limit) -> None:
    texts = [f"{value}{marker(n)}" if keep and isinstance(value, str) else value
             for n, (value, keep) in enumerate(rows)]
    column = pa.array(texts, type=pa.string()) if all(
        t is None or isinstance(t, str) for t in texts) else pa.array(
        [None if t is None else str(t) for t in texts])
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": column}), buffer, row_group_size=5)
    docs, rejects = check(source("parquet", limit), buffer.getvalue())
    assert len(docs) + len(rejects) == len(rows)

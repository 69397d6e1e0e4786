from __future__ import annotations

import codecs
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Document, RejectedRecord, SourceFile
from transforms.ingest import detect_encoding, read_source

JA = "東京都港区の会議は明日の午前十時から始まります。資料を準備してください。"
JA2 = "製品マニュアル第二版：取扱説明書をよくお読みのうえ、正しくお使いください。"


def source(fmt: str = "jsonl", *, field: str = "text", limit: int = 10_000,
           encoding: str = "auto") -> SourceFile:
    return SourceFile(corpus_id="c", member="m", uri=f"file:///x.{fmt}", path=f"/x.{fmt}",
                      format=fmt, text_field=field, encoding=encoding, max_record_bytes=limit)


def run(src: SourceFile, data: bytes):
    verdict, items = read_source(src, data)
    items = list(items)
    docs = [i for i in items if isinstance(i, Document)]
    rejects = [i for i in items if isinstance(i, RejectedRecord)]
    assert len(docs) + len(rejects) == len(items)
    return verdict, docs, rejects


def reasons(rejects: list[RejectedRecord]) -> dict[int, dict]:
    return {r.locator: json.loads(r.reason) for r in rejects}


def jsonl(*texts: str) -> str:
    return "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp932", "euc_jp",
                                      "iso2022_jp"])
def test_each_supported_encoding_is_detected_and_decodes_without_rejects(encoding: str) -> None:
    data = jsonl(JA, JA2).encode(encoding)
    verdict, docs, rejects = run(source(), data)
    assert verdict.encoding == encoding
    assert [d.text for d in docs] == [JA, JA2]
    assert rejects == []


def test_crlf_lines_are_records_and_locators_are_line_numbers() -> None:
    data = jsonl(JA, JA2).replace("\n", "\r\n").encode("cp932")
    data = data.replace(b"\r\n", b"\r\n\r\n", 1)  # a blank line keeps its number
    _, docs, _ = run(source(), data)
    assert [d.locator for d in docs] == [1, 3]
    assert docs[0].text == JA


def test_every_kind_of_bad_jsonl_record_is_rejected_with_its_reason() -> None:
    lines = [
        json.dumps({"text": JA}, ensure_ascii=False).encode(),
        b'{"text": "truncated',
        b'{"text": 42}',
        b'{"title": "no text"}',
        b'{"text": "   "}',
        b'{"text": "\\ud800 lone surrogate"}',
        b'{"text": "nul \x00 inside"}',
        b'[1, 2]',
        b'{"text": "\xff\xfe not utf-8"}',
        json.dumps({"text": "長" * 5000}, ensure_ascii=False).encode(),
    ]
    verdict, docs, rejects = run(source(limit=4000), b"\n".join(lines))
    assert verdict.encoding == "utf-8"
    assert [d.locator for d in docs] == [1]
    got = {loc: reason["step"] for loc, reason in reasons(rejects).items()}
    assert got == {
        2: "ingest.json", 3: "ingest.text_field", 4: "ingest.text_field", 5: "ingest.empty_text",
        6: "ingest.invalid_unicode", 7: "ingest.json", 8: "ingest.json", 9: "ingest.decode",
        10: "ingest.too_large",
    }
    assert reasons(rejects)[10]["max_bytes"] == 4000
    # The raw bytes are quarantined as the file holds them.
    assert {r.locator: r.raw for r in rejects}[9] == lines[8]


def test_reject_reasons_never_quote_the_record() -> None:
    secret = "090-1234-5678"
    data = b'{"text": 5, "phone": "' + secret.encode() + b'"}\n{"text": "' + secret.encode()
    _, _, rejects = run(source(), data)
    assert len(rejects) == 2
    assert all(secret not in r.reason for r in rejects)


def test_empty_file_yields_nothing_and_says_so() -> None:
    verdict, docs, rejects = run(source(), b"")
    assert verdict.status == "empty" and docs == [] and rejects == []


def test_binary_file_is_one_reject_holding_its_bytes() -> None:
    data = bytes(range(256)) * 8
    verdict, docs, rejects = run(source("text"), data)
    assert verdict.status == "binary"
    assert docs == [] and len(rejects) == 1
    assert rejects[0].step == "ingest.binary" and rejects[0].raw == data


def test_text_file_is_one_document() -> None:
    _, docs, _ = run(source("text"), (JA + "\r\n" + JA2).encode("cp932"))
    assert len(docs) == 1 and docs[0].locator == 1 and JA2 in docs[0].text


def test_csv_with_quoted_multiline_fields_in_euc_jp() -> None:
    body = f'id,text\n1,"{JA}\n{JA2}"\n2,{JA2}\n3\n\n4,"{JA}"\n'
    verdict, docs, rejects = run(source("csv"), body.encode("euc_jp"))
    assert verdict.encoding == "euc_jp"
    assert [(d.locator, d.text) for d in docs] == [(1, f"{JA}\n{JA2}"), (2, JA2), (4, JA)]
    assert reasons(rejects) == {3: {"step": "ingest.text_field", "field": "text",
                                    "problem": "short_row", "cells": 1}}


def test_csv_without_the_text_column_rejects_every_row() -> None:
    body = f"id,body\n1,{JA}\n2,{JA2}\n"
    _, docs, rejects = run(source("csv"), body.encode("utf-8"))
    assert docs == [] and [r.locator for r in rejects] == [1, 2]


def test_csv_row_with_undecodable_bytes_is_rejected_and_others_kept() -> None:
    data = f"id,text\n1,{JA}\n".encode("cp932") + b"2,\x81\x20broken\n" + \
        f"3,{JA2}\n".encode("cp932")
    _, docs, rejects = run(source("csv", encoding="cp932"), data)
    assert [d.locator for d in docs] == [1, 3]
    assert [r.step for r in rejects] == ["ingest.decode"]


def test_parquet_rows_are_documents_and_bad_rows_rejects(tmp_path) -> None:
    table = pa.table({"text": [JA, None, "", JA2]})
    path = tmp_path / "p.parquet"
    pq.write_table(table, path)
    _, docs, rejects = run(source("parquet"), path.read_bytes())
    assert [d.locator for d in docs] == [1, 4]
    assert sorted(r.step for r in rejects) == ["ingest.empty_text", "ingest.text_field"]


def test_unreadable_parquet_is_a_reject() -> None:
    _, docs, rejects = run(source("parquet"), b"PAR1 not really")
    assert docs == [] and rejects[0].step == "ingest.parquet"


def test_doc_ids_are_stable_and_depend_on_the_bytes() -> None:
    data = jsonl(JA, JA2).encode()
    _, first, _ = run(source(), data)
    _, again, _ = run(source(), data)
    _, other, _ = run(source(), data + b"\n")
    assert [d.doc_id for d in first] == [d.doc_id for d in again]
    assert first[0].doc_id != other[0].doc_id
    assert len({d.doc_id for d in first}) == 2


def test_iso2022_detection_needs_escape_sequences() -> None:
    assert detect_encoding(b"plain ascii only") == "utf-8"
    assert detect_encoding(JA.encode("iso2022_jp")) == "iso2022_jp"
    assert detect_encoding(codecs.BOM_UTF16_LE + JA.encode("utf-16-le")) == "utf-16"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["jsonl", "text", "csv"]))
def test_random_bytes_never_crash_and_every_record_is_accounted_for(data, fmt) -> None:
    verdict, docs, rejects = run(source(fmt), data)
    for doc in docs:
        doc.text.encode("utf-8")  # valid Unicode for a Parquet string column
        assert doc.text.strip()
    if verdict.status == "empty":
        assert docs == [] and rejects == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8))
def test_any_jsonl_of_strings_round_trips(texts) -> None:
    lines = [json.dumps({"text": t}) for t in texts]
    data = ("\n".join(lines) + "\n").encode()
    _, docs, rejects = run(source(), data)
    assert len(docs) + len(rejects) == sum(1 for line in lines if line.strip())
    for doc in docs:
        assert doc.text in texts


def test_csv_fields_may_hold_line_separators_other_than_newline() -> None:
    body = f'id,text\n1,"{JA}\u2028{JA2}\x0cend"\n2,{JA2}\n'
    _, docs, rejects = run(source("csv"), body.encode("utf-8"))
    assert [d.locator for d in docs] == [1, 2] and rejects == []
    assert "\u2028" in docs[0].text


def test_a_wrongly_declared_encoding_rejects_records_instead_of_crashing() -> None:
    data = jsonl(JA, JA2).encode("utf-8")
    verdict, docs, rejects = run(source(encoding="euc_jp"), data)
    assert verdict.encoding == "euc_jp"
    assert docs == [] and [r.step for r in rejects] == ["ingest.decode", "ingest.decode"]
    assert [r.raw for r in rejects] == data.splitlines()


def test_nul_bytes_in_a_text_file_do_not_make_it_binary() -> None:
    verdict, docs, _ = run(source("text"), (JA + "\x00" + JA2).encode("utf-8"))
    assert verdict.status == "ok" and len(docs) == 1


def test_a_jsonl_record_without_its_text_field_names_the_fields_it_has() -> None:
    secret = "090-1234-5678"
    data = json.dumps({"title": secret, "body": JA}, ensure_ascii=False).encode() + b"\n"
    _, docs, rejects = run(source(), data)
    assert docs == []
    assert reasons(rejects) == {1: {"step": "ingest.text_field", "field": "text",
                                    "problem": "missing", "available": ["body", "title"]}}
    assert secret not in rejects[0].reason and JA not in rejects[0].reason


def test_a_null_text_is_missing_without_a_list_of_fields() -> None:
    _, _, rejects = run(source(), b'{"text": null, "body": "x"}\n')
    assert reasons(rejects)[1] == {"step": "ingest.text_field", "field": "text",
                                   "problem": "missing"}


def test_a_csv_without_the_text_column_names_its_columns_in_each_reject() -> None:
    body = f"id,本文\n1,{JA}\n"
    _, _, rejects = run(source("csv"), body.encode("cp932"))
    assert reasons(rejects)[1]["available"] == ["id", "本文"]


def test_a_parquet_without_the_text_column_names_its_columns(tmp_path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"content": [JA], "id": [1]}), path)
    _, _, rejects = run(source("parquet"), path.read_bytes())
    assert reasons(rejects)[1]["available"] == ["content", "id"]


def test_a_record_with_many_fields_names_only_the_first_twenty() -> None:
    record = {f"k{i:02d}": i for i in range(25)} | {"x" * 100: 1}
    _, _, rejects = run(source(), json.dumps(record).encode())
    reason = reasons(rejects)[1]
    assert reason["available"] == [f"k{i:02d}" for i in range(20)] and reason["more"] == 6

"""Withdrawal records (lineage/withdraw.py) and the pure parts of the rewrite: fast, no store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.dsse import canonical_json, sign
from lineage.signing import SigningKey
from lineage.withdraw import (
    logged_withdrawals,
    withdrawal_statement,
    withdrawals_of_files,
    withdrawn_documents,
    withdrawn_in_shards,
)
from pipelines.withdraw import _sources_root_from
from pipelines.withdraw_promote import token_hashes
from pipelines.withdraw_rewrite import new_shard_name
from pipelines.withdraw_scan import Selection
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE, WithdrawalPredicate, WithdrawnSource
from schemas.withdrawal import WITHDRAWN_SCHEMA
from transforms.pii import pseudonym


def _predicate(**changes) -> WithdrawalPredicate:
    fields = dict(corpus_id="acme", kind="source", reason="licence ended",
                  sources=[WithdrawnSource(uri="a/b.jsonl", sha256="ab" * 32)], documents=2,
                  documents_file="withdrawals/acme/w1.parquet", withdrawn_at="2026-11-30T00:00:00Z",
                  certifier_id="certifier@site")
    return WithdrawalPredicate(**{**fields, **changes})


def _line(statement: dict) -> bytes:
    return sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement),
                SigningKey.generate()).to_json_line().encode()


def _documents_file(root: Path, name: str, ids: list[str]) -> None:
    rows = [{"doc_id": i, "corpus_id": "acme", "source_uri": "a/b.jsonl", "source_sha256": None,
             "locator": n + 1, "path": "shards/acme/s.parquet", "kind": "kept"}
            for n, i in enumerate(ids)]
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=WITHDRAWN_SCHEMA), root / name)


def test_withdrawal_record_reads_back_with_its_subjects(tmp_path: Path) -> None:
    affected = [("shards/acme/s.parquet", "11" * 32), ("duplicates/acme/d.parquet", "22" * 32)]
    statement = withdrawal_statement(_predicate(), "33" * 32, affected)
    assert statement["predicateType"] == "https://kura.dev/withdrawal/v1"
    assert statement["predicate"]["reason"] == "licence ended"
    [found] = logged_withdrawals([b"not a record", _line(statement)])
    assert found.log_index == 1
    assert found.documents_file == ("withdrawals/acme/w1.parquet", "33" * 32)
    assert sorted(found.affected) == sorted(affected)
    assert withdrawals_of_files([found])[("shards/acme/s.parquet", "11" * 32)] == (found,)
    assert "licence ended" in found.describe() and "log index 1" in found.describe()

    _documents_file(tmp_path, "withdrawals/acme/w1.parquet", ["d1", "d2"])
    assert withdrawn_documents(tmp_path, [found]) == {"d1": 1, "d2": 1}
    assert withdrawn_documents(tmp_path, [found], corpus_id="other") == {}


def test_a_shard_of_an_earlier_run_holding_withdrawn_ids_is_flagged(tmp_path: Path) -> None:
    """Flagged by its ids, though no withdrawal names it (it was superseded before)."""
    statement = withdrawal_statement(_predicate(), "33" * 32, [("shards/acme/new.parquet",
                                                                 "11" * 32)])
    lines = [_line(statement)]
    _documents_file(tmp_path, "withdrawals/acme/w1.parquet", ["d1"])
    old = tmp_path / "shards/acme/old.parquet"
    old.parent.mkdir(parents=True)
    pq.write_table(pa.table({"doc_id": ["d0", "d1", "d2"]}), old)
    pq.write_table(pa.table({"doc_id": ["d3"]}), tmp_path / "shards/acme/clean.parquet")
    found = withdrawn_in_shards(tmp_path, lines, [("shards/acme/old.parquet", "44" * 32),
                                                  ("shards/acme/clean.parquet", "55" * 32),
                                                  ("shards/acme/new.parquet", "11" * 32)])
    assert [(f.name, f.documents) for f in found] == [("shards/acme/old.parquet", 1),
                                                       ("shards/acme/new.parquet", 0)]


def test_a_missing_documents_file_is_an_error_not_an_empty_withdrawal(tmp_path: Path) -> None:
    [found] = logged_withdrawals([_line(withdrawal_statement(_predicate(), "33" * 32, []))])
    with pytest.raises(ValueError, match="cannot be read"):
        withdrawn_documents(tmp_path, [found])


def test_selection_takes_sources_everything_or_ids() -> None:
    assert Selection("source", uris=frozenset({"a"})).takes("a", "x")
    assert not Selection("source", uris=frozenset({"a"})).takes("b", "x")
    assert Selection("all").takes("anything", "x")
    assert Selection("forget", doc_ids=frozenset({"x"})).takes("b", "x")
    assert not Selection("forget", doc_ids=frozenset({"x"})).whole_sources


def test_token_hashes_match_what_forget_computes() -> None:
    token = pseudonym(b"secret", "PERSON", "山田 太郎")
    text = f"担当は{token}です。連絡先は<PHONE_NUMBER>まで。"
    assert token_hashes(text) == {hashlib.sha256(token.encode()).hexdigest()}


@given(index=st.integers(0, 99999), count=st.integers(1, 99999),
       corpus=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True))
def test_rewritten_shard_names_keep_their_place_and_never_collide(
        index: int, count: int, corpus: str) -> None:
    old = f"shards/{corpus}/{corpus}-abcdef012345-{index:05d}-of-{count:05d}.parquet"
    first, second = new_shard_name(corpus, old, "w1"), new_shard_name(corpus, old, "w2")
    assert first.endswith(f"-{index:05d}-of-{count:05d}.parquet") and first != old
    assert first != second and first.startswith(f"shards/{corpus}/{corpus}-")


@pytest.mark.parametrize(("query", "uri", "root"), [
    ("/data/corpus/jsonl/a.jsonl", "jsonl/a.jsonl", "/data/corpus"),
    ("/data/corpus/jsonl/a.jsonl", "xjsonl/a.jsonl", None),  # whole segments only
    ("file:///data/corpus/a.jsonl", "a.jsonl", None),
    ("/data/a.jsonl", "file:///data/a.jsonl", None),
])
def test_the_sources_folder_is_read_off_the_path_the_steward_gave(
        query: str, uri: str, root: str | None) -> None:
    found = _sources_root_from(query, uri, None)
    assert (str(found) if found else None) == root

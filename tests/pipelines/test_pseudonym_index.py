"""The pseudonym index (hashes only) and the requests `kura forget` refuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lineage.code import file_sha256
from pipelines.cli import app
from pipelines.forget import ForgetError, check_request, forget
from pipelines.pseudonym_index import index_path, lookup, prune_index
from transforms.pii import pseudonym
from transforms.pseudonym_tokens import token_hash

SECRET = b"index-secret"
HANAKO, TARO = pseudonym(SECRET, "PERSON", "佐藤花子"), pseudonym(SECRET, "PERSON", "山田太郎")
SHARD = "shards/c/c-00000-of-00001.parquet"


def write_shard(store: Path, rows: list[tuple[str, str]]) -> str:
    path = store / SHARD
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"doc_id": [r[0] for r in rows], "text": [r[1] for r in rows]}),
                   path)
    return file_sha256(path)


def test_lookup_builds_a_missing_or_stale_index_and_finds_the_documents(tmp_path) -> None:
    sha = write_shard(tmp_path, [("d1", f"担当は{HANAKO}様"), ("d2", f"{TARO}と{HANAKO}"),
                                 ("d3", "名前のない文書")])
    found, built = lookup(tmp_path, {SHARD: sha}, {token_hash(HANAKO)})
    assert found == {SHARD: ["d1", "d2"]} and built == [SHARD]
    index = pq.read_table(index_path(tmp_path, SHARD))
    assert index.column_names == ["token_sha256", "doc_id"]
    assert HANAKO not in str(index.to_pylist())  # hashes only
    assert lookup(tmp_path, {SHARD: sha}, {token_hash(TARO)}) == ({SHARD: ["d2"]}, [])
    sha = write_shard(tmp_path, [("d4", f"{TARO}です")])  # the shard's bytes changed
    assert lookup(tmp_path, {SHARD: sha}, {token_hash(TARO)}) == ({SHARD: ["d4"]}, [SHARD])


def test_prune_drops_the_index_of_shards_no_longer_current(tmp_path) -> None:
    sha = write_shard(tmp_path, [("d1", HANAKO)])
    lookup(tmp_path, {SHARD: sha}, set())
    assert prune_index(tmp_path, {"c": frozenset({SHARD})}) == []
    assert prune_index(tmp_path, {"c": frozenset()}) == [f"pseudonyms/c/{Path(SHARD).name}"]
    assert not index_path(tmp_path, SHARD).exists()


@pytest.mark.parametrize(("value", "reason"), [
    ("佐藤花子", "request of 佐藤花子"), ("佐藤花子", "佐藤　花子さんの依頼"),
    ("サトウ ハナコ", "ｻﾄｳﾊﾅｺ様より"), ("090-1234-5678", "電話０９０１２３４５６７８の件")])
def test_a_reason_holding_the_value_is_refused(value, reason) -> None:
    with pytest.raises(ForgetError, match="--reason contains the value"):
        check_request(value, reason)
    check_request("佐藤花子", "APPI deletion request 2026-118")


@pytest.mark.slow
def test_a_placeholder_corpus_cannot_be_searched_and_the_steward_is_told_why(
        demo_store, tmp_path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store.store, store)
    with pytest.raises(ForgetError, match="placeholder mode") as refused:
        forget(store, "佐藤花子", "APPI deletion request")
    assert "kura withdraw --corpus acme-business-docs --source" in str(refused.value)
    result = CliRunner().invoke(app, ["forget", "--value", "-", "--reason", "APPI request",
                                      "--store", str(store)], input="佐藤花子\n")
    assert result.exit_code == 2
    assert "佐藤花子" not in result.output

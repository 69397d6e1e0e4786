"""The audit catalog (lineage/audit.py): every documented view over a verified store, read-only,
refusing a store that does not verify, never showing text or raw reject bytes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from lineage.audit import VIEWS, CatalogError, describe, open_catalog
from lineage.signing import SigningKey
from tests.lineage.audit_helpers import certify, local_source, record_local_run

LOG_VIEWS = {"catalog", "records", "runs", "sources", "shards", "shard_sources", "releases",
             "release_corpora", "residency", "checkpoints"}


@pytest.fixture
def audited(store: Path, tmp_path: Path) -> Path:
    """Two runs of one corpus (the second supersedes the first) from local sources recorded as
    a relative uri and a file:// uri; shards of schema v1 and v2; run-1's shards released; run-2
    had two documents withheld by the residual-PII gate. Seven log records."""
    _, manual_sha = local_source(tmp_path / "corpus", "manuals/a.jsonl", '{"text": "a"}\n')
    mail, mail_sha = local_source(tmp_path / "corpus", "mail/b.jsonl", '{"text": "b"}\n')
    first = record_local_run(store, "run-1", [("manuals/a.jsonl", manual_sha),
                                              (mail.resolve().as_uri(), mail_sha)])
    certify(store, "r1", [(s.path, s.sha256) for s in first.shards])
    record_local_run(store, "run-2", [("manuals/a.jsonl", manual_sha)], pii_versions=(2,),
                     withheld=2)
    return store


def _columns(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()]


def test_every_view_has_exactly_its_documented_columns(audited):
    con = open_catalog(audited)
    assert [v.name for v in VIEWS] == [
        "catalog", "records", "runs", "sources", "shards", "shard_sources", "releases",
        "release_corpora", "documents", "rejects", "duplicates", "residency", "checkpoints"]
    for view in VIEWS:
        documented = [c for c, _ in view.columns]
        actual = _columns(con, view.name)
        if view.name == "documents":  # plus whatever else the shard files hold, never text
            assert actual[: len(documented)] == documented and "text" not in actual
        else:
            assert actual == documented, view.name
        comments = dict(con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?",
            [view.name]).fetchall())
        assert all(comments[c] for c in documented), view.name
    assert "rejects: every rejected record" in describe()


def test_log_views_hold_the_signed_facts(audited):
    con = open_catalog(audited)
    catalog = con.execute("SELECT verified, pinned, log_size, checkpoint_tree_size FROM catalog")
    assert catalog.fetchall() == [(True, False, 7, 7)]
    kinds = con.execute("SELECT kind, signer_role, count(*) FROM records GROUP BY ALL "
                        "ORDER BY ALL").fetchall()
    assert kinds == [("certification", "certifier", 1), ("policy", "root", 1),
                     ("provenance", "site", 2), ("residency", "site", 3)]
    assert con.execute("SELECT log_index FROM records ORDER BY 1").fetchall() == [
        (i,) for i in range(7)]
    runs = con.execute("SELECT run_id, read, written, rejected, duplicates, quarantined, current, "
                       "rejected_by_step['validate.residual_pii'] FROM runs ORDER BY run_id")
    assert runs.fetchall() == [("run-1", 7, 6, 1, 0, 0, False, None),
                               ("run-2", 6, 3, 3, 0, 2, True, 2)]
    shards = con.execute("SELECT name, run_id, current, certified FROM shards ORDER BY name")
    assert shards.fetchall() == [
        ("shards/acme-news/run-1-part-00000.parquet", "run-1", False, True),
        ("shards/acme-news/run-1-part-00001.parquet", "run-1", False, True),
        ("shards/acme-news/run-2-part-00000.parquet", "run-2", True, False)]
    # Conservation across views: the current runs wrote exactly the current shards' rows.
    assert con.execute("SELECT (SELECT sum(written) FROM runs WHERE current), "
                       "(SELECT sum(rows) FROM shards WHERE current)").fetchall() == [(3, 3)]
    assert con.execute("SELECT release, shard, corpus_id, log_index FROM releases "
                       "ORDER BY shard").fetchall() == [
        ("r1", "shards/acme-news/run-1-part-00000.parquet", "acme-news", 4),
        ("r1", "shards/acme-news/run-1-part-00001.parquet", "acme-news", 4)]
    assert con.execute("SELECT release, corpus_id FROM release_corpora").fetchall() == [
        ("r1", "acme-news")]
    sources = con.execute("SELECT run_id, source_uri, claim_source FROM sources ORDER BY ALL")
    assert [row[:2] for row in sources.fetchall()][:2] == [
        ("run-1", next(r[1] for r in con.execute(
            "SELECT run_id, source_uri FROM sources WHERE source_uri LIKE 'file://%'")
            .fetchall())), ("run-1", "manuals/a.jsonl")]
    # Which sources went into release r1: releases x shard_sources.
    released_sources = con.execute(
        "SELECT DISTINCT s.source_uri FROM releases r JOIN shard_sources s "
        "ON s.shard = r.shard AND s.shard_sha256 = r.sha256 WHERE r.release = 'r1' ORDER BY 1")
    assert len(released_sources.fetchall()) == 2
    claims = con.execute("SELECT claim, count(*) FROM residency WHERE kind = 'residency' "
                         "GROUP BY ALL ORDER BY ALL").fetchall()
    assert claims == [("input", 5), ("output", 3), ("processing", 3), ("site", 3)]
    assert con.execute("SELECT DISTINCT country FROM residency").fetchall() == [("JP",)]
    assert con.execute("SELECT max(tree_size) FROM checkpoints").fetchall() == [(7,)]


def test_documents_read_schema_v1_and_v2_shards_as_one_view(audited):
    con = open_catalog(audited)
    by_shard = con.execute(
        "SELECT shard, count(*), sum(list_sum(list_transform(pii, lambda e: e.count))) "
        "FROM documents GROUP BY shard ORDER BY shard").fetchall()
    assert by_shard == [("shards/acme-news/run-1-part-00000.parquet", 3, 9),  # pii map (v1)
                        ("shards/acme-news/run-1-part-00001.parquet", 3, 9),  # list (v2)
                        ("shards/acme-news/run-2-part-00000.parquet", 3, 9)]
    first = con.execute("SELECT pii FROM documents WHERE doc_id = 'run-1-0-1'").fetchall()
    assert first == [([{"entity": "PERSON", "count": 2}, {"entity": "PHONE_NUMBER", "count": 1}],)]
    with pytest.raises(duckdb.BinderException):
        con.execute("SELECT text FROM documents")


def test_rejects_show_the_reason_never_the_raw_bytes(audited):
    con = open_catalog(audited)
    assert "raw" not in _columns(con, "rejects")
    rows = con.execute("SELECT step, reason->>'$.min', file, run_id, withheld FROM rejects "
                       "ORDER BY run_id, file DESC").fetchall()
    hiragana = "quality.hiragana_fraction"
    withheld = ("validate.residual_pii", None, "quarantine/acme-news/documents-run-2.parquet",
                "run-2", True)
    assert rows == [
        (hiragana, "0.02", "rejects/acme-news/run-1-rejects.parquet", "run-1", False),
        (hiragana, "0.02", "rejects/acme-news/run-2-rejects.parquet", "run-2", False),
        withheld, withheld]
    # The withheld documents are the run's quarantined ones.
    assert con.execute("SELECT quarantined FROM runs WHERE run_id = 'run-2'").fetchall() == [
        (con.execute("SELECT count(*) FROM rejects WHERE withheld").fetchall()[0][0],)]
    everything = json.dumps(con.execute("SELECT * FROM rejects").fetchall(), default=str)
    assert "090-1234-5678" not in everything
    with pytest.raises(duckdb.BinderException):
        con.execute("SELECT raw FROM rejects")


def test_no_statement_can_touch_a_file(audited, tmp_path):
    con = open_catalog(audited)
    shard = audited / "shards" / "acme-news" / "run-2-part-00000.parquet"
    before = shard.read_bytes()
    for statement in (
        f"COPY (SELECT 1 AS a) TO '{shard}' (FORMAT parquet, USE_TMP_FILE false)",
        f"COPY (SELECT * FROM runs) TO '{tmp_path / 'out.csv'}'",
        f"SELECT * FROM read_blob('{audited}/rejects/acme-news/run-1-rejects.parquet')",
        f"SELECT * FROM read_parquet('{shard}')",
        f"ATTACH '{tmp_path / 'x.duckdb'}'",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ):
        with pytest.raises(duckdb.Error):
            con.execute(statement)
    assert shard.read_bytes() == before
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "x.duckdb").exists()


def test_a_store_that_does_not_verify_is_refused(audited):
    shard = audited / "shards" / "acme-news" / "run-2-part-00000.parquet"
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x00")
    with pytest.raises(CatalogError, match=r"does not verify, so nothing is catalogued: "
                       r"subject.digest: shards/acme-news/run-2-part-00000.parquet: sha256"):
        open_catalog(audited)
    # Unverified, the log as it is: it says so, and leaves out the file it cannot read.
    unchecked = open_catalog(audited, verify=False)
    assert unchecked.execute("SELECT verified FROM catalog").fetchall() == [(False,)]
    assert unchecked.execute("SELECT DISTINCT shard FROM documents ORDER BY 1").fetchall() == [
        ("shards/acme-news/run-1-part-00000.parquet",),
        ("shards/acme-news/run-1-part-00001.parquet",)]


def test_the_pinned_root_is_used_and_a_foreign_one_refused(audited, pinned_root, tmp_path):
    con = open_catalog(audited, trust_root=pinned_root)
    assert con.execute("SELECT pinned FROM catalog").fetchall() == [(True,)]
    foreign = tmp_path / "foreign.pub.pem"
    foreign.write_text(SigningKey.generate().public_pem)
    with pytest.raises(CatalogError, match=r"policy\.signature"):
        open_catalog(audited, trust_root=foreign)


@pytest.mark.slow
def test_demo_store_catalog_adds_up(demo_store):
    con = open_catalog(demo_store.store, trust_root=demo_store.trust_root)  # it only reads
    (log_size, pinned), = con.execute("SELECT log_size, pinned FROM catalog").fetchall()
    assert pinned and con.execute("SELECT count(*) FROM records").fetchall() == [(log_size,)]
    written, rejected, duplicates = con.execute(
        "SELECT sum(written), sum(rejected), sum(duplicates) FROM runs WHERE current").fetchall()[0]
    assert written > 0
    assert con.execute("SELECT sum(rows) FROM shards WHERE current").fetchall() == [(written,)]
    assert con.execute("SELECT count(*) FROM documents d JOIN shards s ON s.name = d.shard "
                       "AND s.current").fetchall() == [(written,)]
    assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(rejected,)]
    assert con.execute("SELECT count(*) FROM duplicates").fetchall() == [(duplicates,)]
    assert con.execute("SELECT sum(read) = sum(written + rejected + duplicates) FROM runs"
                       ).fetchall() == [(True,)]
    released = con.execute("SELECT count(DISTINCT shard) FROM releases WHERE release = ?",
                           [demo_store.release]).fetchall()[0][0]
    assert released == con.execute("SELECT count(*) FROM shards WHERE current AND certified "
                                   "AND NOT quarantined").fetchall()[0][0] > 0
    assert con.execute("SELECT count(*) FROM release_corpora WHERE release = ?",
                       [demo_store.release]).fetchall()[0][0] >= 1
    assert con.execute("SELECT count(DISTINCT source_uri) FROM sources").fetchall()[0][0] > 1
    assert con.execute("SELECT DISTINCT country FROM residency").fetchall() == [("JP",)]
    assert con.execute("SELECT count(*) FROM documents WHERE len(pii) > 0").fetchall()[0][0] > 0
    steps = dict(con.execute("SELECT step, count(*) FROM rejects GROUP BY step").fetchall())
    assert steps and all(isinstance(json.loads(r[0]), dict) for r in con.execute(
        "SELECT reason FROM rejects").fetchall())
    assert "text" not in _columns(con, "documents") and "raw" not in _columns(con, "rejects")

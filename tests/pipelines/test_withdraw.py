"""Issue 15, "Done when" first bullet, end to end on a copy of the demo store: release r1 ->
withdraw one source -> release r2 holds no document of it and loses no duplicate it stood for
-> `audit verify` holds -> `release show r1` warns that r1 holds withdrawn data (and `audit
trace --source` says so) -> `gc --retention 0` and verify again."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lineage.corpus_state import corpus_states
from lineage.log import TransparencyLog
from lineage.release import read_release
from lineage.verify import verify_store
from lineage.withdraw import logged_withdrawals
from pipelines.cli import app
from tests.conftest import DemoStore

pytestmark = pytest.mark.slow

CORPUS = "acme-business-docs"


def _kura(*args: str, code: int = 0) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def _ids(store: Path, names: list[str], *columns: str) -> list[dict]:
    rows = []
    for name in names:
        rows += pq.read_table(store / name, columns=list(columns)).to_pylist()
    return rows


def _current(store: Path, prefix: str) -> list[str]:
    state = corpus_states(TransparencyLog(store).read().lines)[CORPUS]
    return sorted(n for n in state.current if n.startswith(f"{prefix}/{CORPUS}/"))


def _source_with_most_promotions(store: Path) -> tuple[str, set[str]]:
    """The source whose kept documents stand for the most duplicates of other sources, and
    those duplicates: withdrawing it must promote them."""
    source_of = {r["doc_id"]: r["source_uri"]
                 for r in _ids(store, _current(store, "shards"), "doc_id", "source_uri")}
    stood_for: dict[str, set[str]] = {}
    for row in _ids(store, _current(store, "duplicates"), "doc_id", "source_uri", "kept_doc_id"):
        kept_source = source_of.get(row["kept_doc_id"])
        if kept_source and kept_source != row["source_uri"]:
            stood_for.setdefault(kept_source, set()).add(row["doc_id"])
    source = max(sorted(stood_for), key=lambda s: len(stood_for[s]))
    return source, stood_for[source]


def test_withdrawn_source_leaves_later_releases_and_flags_earlier_ones(
        demo_store: DemoStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, corpus_dir = tmp_path / "store", tmp_path / "corpus"
    shutil.copytree(demo_store.store, store)
    shutil.copytree(demo_store.corpus_dir, corpus_dir)
    monkeypatch.setenv("KURA_TRUST_ROOT", str(demo_store.trust_root))
    r1 = demo_store.release
    source, stood_for = _source_with_most_promotions(store)
    assert stood_for, "the demo corpus has duplicates across sources"

    out = _kura("withdraw", "--store", str(store), "--corpus", CORPUS,
                "--source", str(corpus_dir / source), "--reason", "licence ended 2026-11-30")
    assert out["sources"][0]["uri"] == source and out["status"] == 0, out
    assert out["byKind"]["kept"] > 0 and out["promoted"], out
    withdrawal = logged_withdrawals(TransparencyLog(store).read().lines)[-1]
    assert (withdrawal.log_index, withdrawal.predicate.reason) == (out["logIndex"],
                                                                   "licence ended 2026-11-30")
    withdrawn = pq.read_table(store / out["documentsFile"]).to_pylist()
    assert {r["source_uri"] for r in withdrawn} == {source}
    assert not {"text", "raw"} & set(pq.read_schema(store / out["documentsFile"]).names)

    created = _kura("release", "create", "r2", "--store", str(store))
    r2 = read_release(store, "r2")
    rows = _ids(store, [s.name for s in r2.shards], "doc_id", "source_uri")
    in_r2 = {r["doc_id"] for r in rows}
    assert source not in {r["source_uri"] for r in rows}
    assert not in_r2 & {r["doc_id"] for r in withdrawn}
    # No duplicate the source stood for is lost: each is in r2, or removed as a duplicate of a
    # document that is.
    pointing = {r["doc_id"]: r["kept_doc_id"] for r in _ids(
        store, _current(store, "duplicates"), "doc_id", "kept_doc_id")}
    for doc_id in stood_for:
        assert doc_id in in_r2 or pointing.get(doc_id) in in_r2, doc_id
    assert set(out["promoted"]) <= in_r2
    before = sum(s.rows for s in read_release(store, r1).shards)
    kept_withdrawn = out["byKind"]["kept"]
    assert len(in_r2) == before - kept_withdrawn + len(out["promoted"])
    assert all("withdrawn documents left it" in x["reason"] for x in created["leftOut"]), created

    report = verify_store(store, trust_root=demo_store.trust_root)
    assert report.ok, report.failures()

    shown = _kura("release", "show", r1, "--store", str(store))
    assert shown["verified"] and shown["holdsWithdrawnData"], shown
    assert {w["logIndex"] for s in shown["withdrawn"] for w in s["withdrawals"]} == {
        out["logIndex"]}
    text = CliRunner().invoke(app, ["release", "show", r1, "--store", str(store)])
    assert text.exit_code == 0 and "holds withdrawn data" in text.stdout
    assert not _kura("release", "show", "r2", "--store", str(store))["holdsWithdrawnData"]
    pulled = _kura("pull", r1, "--dest", str(tmp_path / "pulled"), "--store", str(store))
    assert "holds withdrawn data" in pulled["withdrawnData"]

    traced = _kura("audit", "trace", "--store", str(store), "--source", source)
    assert traced["withdrawn"] and traced["withdrawals"][0]["reason"] == "licence ended 2026-11-30"
    by_release = {r["release"]: r for r in traced["releases"]}
    assert by_release[r1]["holdsWithdrawnData"] and "r2" not in by_release
    other = next(uri for uri in Counter(r["source_uri"] for r in rows))
    others = _kura("audit", "trace", "--store", str(store), "--source", other)
    assert not others["withdrawn"] and {"r2", r1} <= {r["release"] for r in others["releases"]}

    if "gc" in {c.name for c in app.registered_commands}:
        _kura("gc", "--store", str(store), "--retention", "0")
        report = verify_store(store, trust_root=demo_store.trust_root)
        assert report.ok, report.failures()
        assert not (store / withdrawal.affected[0][0]).exists()
        assert _kura("release", "show", "r2", "--store", str(store))["verified"]


def test_withdrawing_what_is_gone_changes_nothing(demo_store: DemoStore, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store.store, store)
    log_before = (store / "lineage" / "log.jsonl").read_bytes()
    result = CliRunner().invoke(app, ["withdraw", "--store", str(store), "--corpus", CORPUS,
                                      "--source", "nowhere/none.jsonl", "--reason", "x"])
    assert result.exit_code == 2 and "no run of corpus" in result.output
    result = CliRunner().invoke(app, ["withdraw", "--store", str(store), "--corpus", "nope",
                                      "--all", "--reason", "x"])
    assert result.exit_code == 2 and "no run of that corpus" in result.output
    assert (store / "lineage" / "log.jsonl").read_bytes() == log_before


def test_interrupted_withdrawal_is_safe_and_completed_and_a_changed_source_is_named(
        demo_store: DemoStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed between the signed record and its rewrite: no release can hold the documents
    meanwhile; the same command again completes it. A duplicate whose source changed since it
    was onboarded cannot be promoted: the withdrawal still happens, it is named, exit 3."""
    import pipelines.withdraw as withdraw_module

    store, corpus_dir = tmp_path / "store", tmp_path / "corpus"
    shutil.copytree(demo_store.store, store)
    shutil.copytree(demo_store.corpus_dir, corpus_dir)
    source, stood_for = _source_with_most_promotions(store)
    duplicates = {r["doc_id"]: r["source_uri"] for r in _ids(
        store, _current(store, "duplicates"), "doc_id", "source_uri")}
    changed = sorted({duplicates[d] for d in stood_for})[0]
    with open(corpus_dir / changed, "ab") as handle:
        handle.write(b"\n")  # other bytes: its documents can no longer be re-read as recorded
    args = ["withdraw", "--store", str(store), "--corpus", CORPUS, "--source",
            str(corpus_dir / source), "--reason", "contract forbids further use", "--json"]

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(withdraw_module, "_rewrite", killed)
        assert CliRunner().invoke(app, args).exit_code != 0
    assert logged_withdrawals(TransparencyLog(store).read().lines)
    assert not (store / "staging").exists() or not any((store / "staging").iterdir())
    refused = CliRunner().invoke(app, ["release", "create", "r2", "--store", str(store)])
    assert refused.exit_code == 2 and "withdrawn document" in refused.output

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    out = json.loads(result.stdout)
    assert out["notes"] and out["unrestored"], out
    assert all(u["sourceUri"] == changed and "changed since it was onboarded" in u["reason"]
               for u in out["unrestored"])
    assert "not restored" in result.stderr
    assert len(logged_withdrawals(TransparencyLog(store).read().lines)) == 1
    report = verify_store(store, trust_root=demo_store.trust_root)
    assert report.ok, report.failures()
    _kura("release", "create", "r2", "--store", str(store))
    rows = _ids(store, [s.name for s in read_release(store, "r2").shards], "source_uri")
    assert source not in {r["source_uri"] for r in rows}

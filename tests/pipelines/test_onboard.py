"""The whole curation pipeline on the demo corpus: conservation, determinism, no leaks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.options import RunnerChoice
from schemas.records import DOCUMENT_SCHEMA
from tests.pipelines.conftest import onboard

pytestmark = pytest.mark.slow

EXPECTED_REJECT_STEPS = {
    "truncated_json": "ingest.json",
    "text_not_string": "ingest.text_field",
    "missing_text": "ingest.text_field",
    "invalid_utf8": "ingest.decode",
    "empty_text": "ingest.empty_text",
    "lone_surrogate": "ingest.invalid_unicode",
    "nul_byte": "ingest.json",
    "oversized": "ingest.too_large",
    "binary_file": "ingest.binary",
}


def rows(store: Path, paths) -> list[dict]:
    out: list[dict] = []
    for stored in paths:
        out.extend(pq.read_table(store / stored.path).to_pylist())
    return out


def test_every_record_is_written_rejected_or_a_duplicate(onboarded) -> None:
    summary = onboarded.result.summary
    counts = summary.counts
    corpus = onboarded.corpus
    broken = {k.removeprefix("broken."): n for k, n in corpus.planted.items()
              if k.startswith("broken.") and k != "broken.empty_file"}
    assert counts.read == corpus.documents + sum(broken.values())
    assert counts.balanced()
    shard_rows = rows(onboarded.store, summary.shards)
    reject_rows = rows(onboarded.store, summary.rejects)
    duplicate_rows = rows(onboarded.store, summary.duplicates)
    assert counts.written == len(shard_rows)
    assert counts.read == len(shard_rows) + len(reject_rows) + len(duplicate_rows)
    ids = [r["doc_id"] for r in shard_rows] + [r["doc_id"] for r in duplicate_rows]
    assert len(ids) == len(set(ids))
    # Every planted broken record is a reject of the expected step, holding its raw bytes.
    expected = Counter(EXPECTED_REJECT_STEPS[kind] for kind, n in broken.items()
                       for _ in range(n))
    assert Counter(r["step"] for r in reject_rows) == expected
    assert all(r["raw"] for r in reject_rows)
    # The empty file is reported, not lost and not fatal.
    statuses = Counter(i.status for i in summary.inputs)
    assert statuses["empty"] == 1 and statuses["binary"] == 1


def test_planted_duplicates_are_removed_and_the_lowest_id_kept(onboarded) -> None:
    summary = onboarded.result.summary
    planted = onboarded.corpus.planted
    removed = sum(summary.counts.duplicates.values())
    assert removed == planted["exact_duplicates"] + planted["near_duplicates"]
    duplicate_rows = rows(onboarded.store, summary.duplicates)
    kept = {r["doc_id"]: r for r in rows(onboarded.store, summary.shards)}
    for row in duplicate_rows:
        assert row["kept_doc_id"] in kept
        assert row["kept_doc_id"] < row["doc_id"]
        assert kept[row["kept_doc_id"]]["dup_cluster"] == row["cluster_id"]


def test_shards_follow_the_schema_and_hold_no_transient_fields(onboarded) -> None:
    summary = onboarded.result.summary
    for stored in summary.shards:
        table = pq.read_table(onboarded.store / stored.path)
        assert table.schema.remove_metadata() == DOCUMENT_SCHEMA.remove_metadata()
        meta = pq.read_metadata(onboarded.store / stored.path).metadata
        assert meta[b"kura.schema_version"] and b"run" not in b"".join(meta.keys())
        assert all(t.strip() for t in table.column("text").to_pylist())


def _written_files(store: Path) -> list[Path]:
    """Everything a run writes but the quarantined rejects (which keep raw bytes on purpose)."""
    return [p for p in store.rglob("*") if p.is_file() and "rejects" not in p.parts
            and "private" not in p.parts]


def test_no_planted_personal_value_reaches_any_written_file(onboarded, caplog) -> None:
    from transforms.normalize import stored_text

    public = set(onboarded.corpus.pii_by_kind.get("corporate_number", ()))
    values = {stored_text(v) for v in onboarded.corpus.planted_pii if v not in public}
    values = {v for v in values if len(v) >= 4}
    files = _written_files(onboarded.store)
    assert any(p.suffix == ".parquet" for p in files)
    leaks = []
    for path in files:
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            text = json.dumps(table.to_pylist(), ensure_ascii=False, default=str)
        else:
            text = path.read_bytes().decode("utf-8", "replace")
        leaks.extend((path.name, len(v)) for v in values if v in text)
    assert leaks == []
    assert not any(v in caplog.text for v in values)


def test_a_rerun_writes_byte_identical_shards(onboarded, tmp_path) -> None:
    again = onboard(onboarded.corpus, tmp_path / "store")
    first = onboarded.result.summary
    second = again.summary
    assert [s.path for s in second.shards] == [s.path for s in first.shards]
    assert [s.sha256 for s in second.shards] == [s.sha256 for s in first.shards]
    assert [s.sha256 for s in second.rejects] == [s.sha256 for s in first.rejects]
    assert [s.sha256 for s in second.duplicates] == [s.sha256 for s in first.duplicates]
    assert second.run_id != first.run_id


def test_two_worker_processes_give_the_same_shards(onboarded, tmp_path) -> None:
    result = onboard(onboarded.corpus, tmp_path / "store", RunnerChoice(workers=2))
    assert [s.sha256 for s in result.summary.shards] == \
        [s.sha256 for s in onboarded.result.summary.shards]


def test_the_same_data_under_a_second_corpus_adds_no_document(onboarded, tmp_path) -> None:
    from lineage.verify import verify_store
    from pipelines.democorpus import DemoCorpus

    store = tmp_path / "store"
    first = onboard(onboarded.corpus, store)
    original = onboarded.corpus.manifest_path
    second_manifest = original.with_name("manifest-second.toml")
    second_manifest.write_text(original.read_text(encoding="utf-8").replace(
        'id = "acme-business-docs"', 'id = "acme-business-docs-again"'), encoding="utf-8")
    again = onboard(DemoCorpus(**{**onboarded.corpus.__dict__,
                                  "manifest_path": second_manifest}), store)
    counts = again.summary.counts
    assert counts.read == first.summary.counts.read
    assert counts.written == 0
    # Every document, its in-corpus duplicates included, is a duplicate of the stored corpus.
    assert counts.duplicates == {"cross-corpus": counts.read - sum(counts.rejected.values())}
    assert verify_store(store).ok


def test_the_report_states_conservation_and_every_reject_reason(onboarded) -> None:
    report = onboarded.result.report.read_text(encoding="utf-8")
    summary = onboarded.result.summary
    assert f"read {summary.counts.read:,} = written" in report and "holds" in report
    for step in summary.counts.rejected:
        assert step in report
    assert all(entity in report for entity in summary.pii)

"""Incremental onboarding end to end: a source added to an onboarded corpus is read alone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lineage.certify import create_release
from lineage.corpus_state import corpus_states
from lineage.log import TransparencyLog
from lineage.statements import logged_statements
from lineage.verify import verify_store
from pipelines.cli import app
from pipelines.curate import run_curation
from pipelines.increment import UpToDate
from pipelines.launch import LaunchResult, launch
from pipelines.options import RunnerChoice
from schemas.manifest import load_manifest
from schemas.predicates import PROVENANCE_PREDICATE

pytestmark = pytest.mark.slow

MANIFEST = """\
[corpus]
id = "acme-inc"
member = "acme"
license = "consortium-internal"
sensitivity = "confidential"
language = "ja"

[[sources]]
uri = "data/*.jsonl"
format = "jsonl"
text_field = "text"
encoding = "utf-8"
location = { provider = "onprem", country = "JP", region = "jp-tokyo" }
"""


def _onboard(manifest: Path, store: Path) -> LaunchResult:
    return launch(load_manifest(manifest), manifest, store, RunnerChoice(),
                  run=lambda plan, stages, run_id: run_curation(plan, stages, RunnerChoice(),
                                                                run_id=run_id),
                  create_local_site=True)


def _rows(store: Path, paths, columns: list[str]) -> list[dict]:
    return [row for path in paths
            for row in pq.read_table(store / path, columns=columns).to_pylist()]


def test_an_added_source_is_read_alone_deduplicated_and_released_with_the_rest(
        demo_corpus, tmp_path) -> None:
    data = tmp_path / "corpus" / "data"
    data.mkdir(parents=True)
    jsonl = demo_corpus.manifest_path.parent / "jsonl"
    shutil.copyfile(jsonl / "manuals.jsonl", data / "a.jsonl")
    shutil.copyfile(jsonl / "mail-archive.jsonl", data / "b.jsonl")
    manifest = tmp_path / "corpus" / "manifest.toml"
    manifest.write_text(MANIFEST, encoding="utf-8")
    store = tmp_path / "store"

    first = _onboard(manifest, store).summary
    assert first.mode == "full" and first.mode_note is None
    held = _rows(store, [s.path for s in first.shards], ["doc_id", "source_uri", "locator"])
    original = next(r for r in held if r["source_uri"] == "data/a.jsonl")
    a_lines = (data / "a.jsonl").read_bytes().splitlines(keepends=True)

    # The 3rd source repeats a document the corpus keeps from a.jsonl.
    (data / "c.jsonl").write_bytes((jsonl / "support-chat.jsonl").read_bytes()
                                   + a_lines[original["locator"] - 1])
    # a.jsonl now holds other bytes of the same size and mtime: a run that read it again would
    # hash, reject or write them; an append run trusts the listing and never opens it.
    stat = (data / "a.jsonl").stat()
    (data / "a.jsonl").write_bytes(b"\n" * stat.st_size)
    os.utime(data / "a.jsonl", ns=(stat.st_atime_ns, stat.st_mtime_ns))

    appended = _onboard(manifest, store)
    summary = appended.summary
    assert summary.mode == "append"
    assert [i.uri for i in summary.inputs] == ["data/c.jsonl"]  # the only file reported read
    assert [(s.uri, s.sha256) for s in summary.skipped] == [
        (i.uri, i.sha256) for i in first.inputs]
    assert "incremental: reading 1 new source, skipping 2" in (summary.mode_note or "")
    assert summary.counts.balanced()
    assert summary.counts.duplicates.get("earlier-run") == 1
    duplicates = _rows(store, [d.path for d in summary.duplicates],
                       ["source_uri", "kind", "kept_doc_id"])
    assert {"source_uri": "data/c.jsonl", "kind": "earlier-run",
            "kept_doc_id": original["doc_id"]} in duplicates
    report = appended.report.read_text(encoding="utf-8")
    assert "append (incremental)" in report and "Skipped: 2 source(s)" in report

    # the store: signatures added beside the corpus's own, both runs current, provenance says so
    signatures = sorted(p.name for p in (store / "signatures" / "acme-inc").glob("*.parquet"))
    assert len(signatures) == 8 and sum(n.startswith(summary.run_id) for n in signatures) == 4
    lines = TransparencyLog(store).read().lines
    state = corpus_states(lines)["acme-inc"]
    assert [mode for _, mode in state.runs] == ["full", "append"]
    provenance = list(logged_statements(lines, PROVENANCE_PREDICATE))[-1]
    assert provenance.predicate["buildDefinition"]["externalParameters"]["mode"] == "append"
    assert provenance.index == state.last_run_index

    created = create_release(store, "r1")
    released = _rows(store, [s.name for s in created.release.shards], ["doc_id", "source_uri"])
    assert {r["source_uri"] for r in released} == {"data/a.jsonl", "data/b.jsonl",
                                                  "data/c.jsonl"}
    assert len(released) == first.counts.written + summary.counts.written
    assert {r["doc_id"] for r in held} <= {r["doc_id"] for r in released}
    assert verify_store(store).ok

    with pytest.raises(UpToDate, match="acme-inc is up to date: its 3 sources are unchanged"):
        _onboard(manifest, store)
    said = CliRunner().invoke(app, ["onboard", str(manifest), "--store", str(store), "--json"])
    assert said.exit_code == 0, said.output
    assert json.loads(said.stdout) == {
        "corpusId": "acme-inc", "status": 0, "mode": "none",
        "note": f"corpus acme-inc is up to date: its 3 sources are unchanged since log index "
                f"{state.last_run_index}; nothing to read (--full reads them again)"}

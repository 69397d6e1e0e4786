"""Shards, duplicates and rejects are the same bytes whatever the worker count and spill size."""

from __future__ import annotations

from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from pipelines.curate import run_curation
from pipelines.launch import launch
from pipelines.options import RunnerChoice
from schemas.manifest import load_manifest

pytestmark = pytest.mark.slow


def stored(summary) -> dict[str, list[tuple[str, str]]]:
    return {kind: [(f.path, f.sha256) for f in getattr(summary, kind)]
            for kind in ("shards", "duplicates", "rejects")}


def test_two_workers_and_tiny_spill_runs_write_the_one_worker_bytes(onboarded, tmp_path) -> None:
    choice = RunnerChoice(workers=2)
    corpus = onboarded.corpus
    # Rows spilled every ~16 KB: each file is merged from many runs made by two processes.
    result = launch(
        load_manifest(corpus.manifest_path), corpus.manifest_path, tmp_path / "store", choice,
        run=lambda plan, stages, run_id: run_curation(
            plan, replace(stages, spill_buffer_bytes=16 * 1024), choice, run_id=run_id),
        create_local_site=True,
    )
    one, two = onboarded.result.summary, result.summary
    assert two.workers == 2
    assert stored(two) == stored(one)
    assert all(stored(one).values())  # the demo plants duplicates and rejects: all three compared
    counts = two.counts
    assert counts.read == counts.written + sum(counts.rejected.values()) + sum(
        counts.duplicates.values())
    written = sum(pq.read_metadata(tmp_path / "store" / s.path).num_rows for s in two.shards)
    assert written == counts.written

"""Validation in a pool of worker processes gives the serial path's results: the same result
digests, the same quarantine decisions and the same run summary, in the same order."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.validation import validate_run
from schemas.manifest import load_manifest
from schemas.run import RunSummary, StoredFile


def _published(store: Path) -> tuple[RunSummary, Path]:
    """The demo store's onboard: its run summary and the manifest it ran with."""
    for path in sorted((store / "runs").glob("*.json")):
        summary = RunSummary.model_validate_json(path.read_text())
        if summary.shards:
            return summary, store / "manifests" / f"{summary.corpus_id}.toml"
    raise AssertionError("the demo store has no run with shards")


def _stage(summary: RunSummary, store: Path, staging: Path) -> RunSummary:
    """Five shards made from the demo's first one, two of them failing the suite (a repeated
    row; a char_count that disagrees with the text), laid out as a run's staging folder."""
    table = pq.read_table(store / summary.shards[0].path)
    half = table.num_rows // 2
    char_count = table.schema.get_field_index("char_count")
    wrong_count = pa.array([1] * table.num_rows, table.schema.field(char_count).type)
    variants = {
        "a": table,
        "b": table.slice(0, half),
        "c": pa.concat_tables([table, table.slice(0, 1)]),
        "d": table.slice(half),
        "e": table.set_column(char_count, table.schema.field(char_count), wrong_count),
    }
    folder = staging / "shards" / summary.corpus_id
    folder.mkdir(parents=True)
    stored = []
    for name, variant in variants.items():
        path = folder / f"{summary.corpus_id}-{name}.parquet"
        pq.write_table(variant, path)
        data = path.read_bytes()
        stored.append(StoredFile(path=str(path.relative_to(staging)), rows=variant.num_rows,
                                 sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)))
    return summary.model_copy(update={"shards": stored, "validation": {}, "quarantined": [],
                                      "workers": 1})


def test_parallel_validation_matches_the_serial_path(demo_store, tmp_path):
    published, manifest_path = _published(demo_store.store)
    manifest = load_manifest(manifest_path)
    runs = {}
    for workers in (1, 2):
        staging = tmp_path / f"workers-{workers}"
        summary = _stage(published, demo_store.store, staging)
        runs[workers] = (staging, validate_run(staging, summary, manifest, workers=workers))

    (serial_dir, serial), (parallel_dir, parallel) = runs[1], runs[2]
    digests = {path: v.result_digest for path, v in serial.validations.items()}
    assert digests == {path: v.result_digest for path, v in parallel.validations.items()}
    assert list(serial.validations) == list(parallel.validations)  # same order
    # Two shards fail and are moved to quarantine/, by both paths.
    quarantined = sorted(p for p, v in serial.validations.items() if not v.passed)
    assert len(quarantined) == 2 and all(p.startswith("quarantine/") for p in quarantined)
    assert sorted(p for p, v in parallel.validations.items() if not v.passed) == quarantined
    assert serial.summary == parallel.summary
    for staging in (serial_dir, parallel_dir):
        assert all((staging / path).is_file() for path in digests)
    reports = [sorted((d / "validation").rglob("*.json")) for d in (serial_dir, parallel_dir)]
    assert [p.name for p in reports[0]] == [p.name for p in reports[1]] and len(reports[0]) == 5
    for ours, theirs in zip(*reports, strict=True):
        assert json.loads(ours.read_text()) == json.loads(theirs.read_text())


def test_a_forkserver_started_before_the_pipeline_is_the_one_the_pool_forks_from(
        demo_store, tmp_path):
    # launch() starts it before a run whose validation will use the pool, so its imports run
    # beside the pipeline; the pool must then fork from it, not start another.
    from multiprocessing import forkserver

    from pipelines.validation_pool import start_forkserver

    start_forkserver()
    started = forkserver._forkserver._forkserver_pid
    assert started is not None
    published, manifest_path = _published(demo_store.store)
    staging = tmp_path / "early"
    summary = _stage(published, demo_store.store, staging)
    run = validate_run(staging, summary, load_manifest(manifest_path), workers=2)
    assert sum(not v.passed for v in run.validations.values()) == 2
    assert forkserver._forkserver._forkserver_pid == started

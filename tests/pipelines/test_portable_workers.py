"""The portable runner on kura's local job service with two SDK workers from one EXTERNAL
worker pool: the job really runs on two worker processes, and the shards, rejects and duplicates
are byte for byte the embedded DirectRunner's."""

from __future__ import annotations

import pytest

from bench.scale_portable import local_cluster
from pipelines.options import RunnerChoice
from tests.pipelines.conftest import onboard

pytestmark = pytest.mark.slow


def test_two_sdk_workers_on_kuras_job_service_write_the_direct_runners_bytes(
    onboarded, tmp_path
) -> None:
    with local_cluster(tmp_path / "services", service="kura") as cluster:
        runner = RunnerChoice(runner="PortableRunner", workers=2, extra_args=cluster.beam_args())
        result = onboard(onboarded.corpus, tmp_path / "store", runner)
        started = cluster.workers_started()
    embedded = onboarded.result.summary
    summary = result.summary
    assert started == 2  # --workers 2 became two SDK worker processes of the one pool
    assert summary.runner == "PortableRunner" and summary.workers == 2
    assert summary.parameters["launch"]["workerPool"] == f"localhost:{cluster.pool_port}"
    assert summary.counts == embedded.counts
    for kind in ("shards", "rejects", "duplicates"):
        ours, theirs = getattr(summary, kind), getattr(embedded, kind)
        assert [(s.path, s.sha256) for s in ours] == [(s.path, s.sha256) for s in theirs], kind
    assert {p: c.result_digest for p, c in summary.validation.items()} == {
        p: c.result_digest for p, c in embedded.validation.items()}

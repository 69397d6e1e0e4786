"""The pipeline on Beam's portable runner: the job service and worker protocol Flink uses.

The test starts the SDK's own local job service and an EXTERNAL worker pool, runs the demo
corpus through them, and expects the very shards the embedded runner wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.scale_portable import free_port, wait_for_port
from pipelines.options import RunnerChoice
from tests.pipelines.conftest import onboard

pytestmark = pytest.mark.slow



@pytest.fixture
def portable_services() -> Iterator[tuple[int, int]]:
    job_port, pool_port = free_port(), free_port()
    env = dict(os.environ)
    # The worker pool starts workers with the first `python` on PATH: it must be this venv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    commands = [
        [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
         "--port", str(job_port)],
        [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main",
         "--service_port", str(pool_port)],
    ]
    processes = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for cmd in commands]
    try:
        wait_for_port(job_port, processes[0])
        wait_for_port(pool_port, processes[1])
        yield job_port, pool_port
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_portable_runner_with_an_external_worker_pool_writes_the_same_shards(
    onboarded, portable_services, tmp_path
) -> None:
    job_port, pool_port = portable_services
    runner = RunnerChoice(
        runner="PortableRunner",
        extra_args=(f"--job_endpoint=localhost:{job_port}", "--environment_type=EXTERNAL",
                    f"--environment_config=localhost:{pool_port}"),
    )
    result = onboard(onboarded.corpus, tmp_path / "store", runner)
    embedded = onboarded.result.summary
    assert result.summary.runner == "PortableRunner"
    assert result.summary.counts == embedded.counts
    assert [s.sha256 for s in result.summary.shards] == [s.sha256 for s in embedded.shards]
    assert [s.sha256 for s in result.summary.rejects] == [s.sha256 for s in embedded.rejects]

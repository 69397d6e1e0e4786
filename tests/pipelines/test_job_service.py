"""kura's local job service runs a job on as many SDK workers as the job asks for with
--sdk_worker_parallelism (kura's --workers on a portable runner), else on the service's own
default; kura's --workers reaches Beam as exactly that option."""

from __future__ import annotations

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.job_service import job_workers
from pipelines.launch_config import launch_config
from pipelines.options import RunnerChoice

LOCAL = ("--job_endpoint=localhost:8099", "--environment_type=EXTERNAL",
         "--environment_config=localhost:50000")


@pytest.mark.parametrize(("args", "service_default", "expected"), [
    ([], 1, 1),
    ([], 3, 3),
    (["--sdk_worker_parallelism=4"], 1, 4),
    (["--sdk_worker_parallelism=4"], 2, 4),
    (["--sdk_worker_parallelism=1"], 2, 2),  # Beam's default: the job did not ask
    (["--sdk_worker_parallelism=0"], 2, 2),  # 0: "the runner chooses"
])
def test_a_job_runs_on_the_workers_it_asks_for(args, service_default, expected):
    assert job_workers(PipelineOptions(args), service_default) == expected


@pytest.mark.parametrize("runner", ["PortableRunner", "FlinkRunner"])
def test_workers_on_a_portable_runner_are_sdk_workers(runner):
    two = launch_config(RunnerChoice(runner=runner, workers=2, extra_args=LOCAL))
    assert two.value("sdk_worker_parallelism") == "2"
    assert job_workers(two.pipeline_options(), 1) == 2
    assert two.placement()["workerPool"] == "localhost:50000"
    one = launch_config(RunnerChoice(runner=runner, extra_args=LOCAL))
    assert one.beam_args == (*LOCAL, f"--runner={runner}")  # one worker: what was typed


def test_kuras_workers_win_over_a_parallelism_given_after_the_separator():
    config = launch_config(RunnerChoice(runner="PortableRunner", workers=3,
                                        extra_args=(*LOCAL, "--sdk_worker_parallelism=8")))
    assert job_workers(config.pipeline_options(), 1) == 3

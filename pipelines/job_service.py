"""A local Beam job service whose jobs run on several SDK workers: Beam's own, made parallel.

    python -m pipelines.job_service --port 8099 [--workers N]

Beam's `local_job_service_main` runs every job with `FnApiRunner.run_via_runner_api`, which
never reads a worker count: each stage runs on one SDK worker, so a job is serial whatever the
options (`--direct_num_workers`, `--sdk_worker_parallelism`) or the number of worker pools
(measured: docs/RUNNERS.md). This service is that job service (the same Job API, artifact
staging, provisioning and Fn API, Beam's code throughout) with one change: a job runs on
`--sdk_worker_parallelism` workers, the portable option a Flink job server reads the same way
(SDK workers per task manager), or on the service's `--workers` when the job leaves it at its
default. With `--environment_type=EXTERNAL`, each worker is one `StartWorker` request to the job's
worker pool, which starts one process per request: N workers on one pool are N processes.
Stages are split across workers as the DirectRunner's `multi_processing` mode splits them (the
same FnApiRunner code), so shards come out byte-identical.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions
from apache_beam.portability.api import beam_job_api_pb2
from apache_beam.runners.portability import local_job_service
from apache_beam.runners.portability.fn_api_runner import fn_runner

log = logging.getLogger(__name__)


def job_workers(options: PipelineOptions, service_default: int) -> int:
    """How many SDK workers a job runs on: its `--sdk_worker_parallelism` when it gave one above
    Beam's default of 1, else the service's default (0 asks the runner to choose: the service's
    default too)."""
    asked = int(options.view_as(PortableOptions).sdk_worker_parallelism or 0)
    return asked if asked > 1 else service_default


def parallel_job_type(default_workers: int) -> Callable[..., local_job_service.BeamJob]:
    """A `BeamJob` class for `LocalJobServicer(beam_job_type=...)` whose runner has N workers."""

    class ParallelBeamJob(local_job_service.BeamJob):
        def _invoke_runner(self) -> Any:
            self.set_state(beam_job_api_pb2.JobState.RUNNING)
            options = self.pipeline_options()
            runner = fn_runner.FnApiRunner(provision_info=self._provision_info)
            # `run_pipeline` sets this from --direct_num_workers; `run_via_runner_api`, which a
            # job service must call (it has a proto, not a Pipeline), leaves it at 1.
            runner._num_workers = job_workers(options, default_workers)
            log.info("job %s: %d SDK worker(s)", self._job_id, runner._num_workers)
            return runner.run_via_runner_api(self._pipeline_proto, options)

    return ParallelBeamJob


def serve(port: int, workers: int, staging_dir: str | None = None) -> None:
    servicer = local_job_service.LocalJobServicer(
        staging_dir, beam_job_type=parallel_job_type(workers))
    bound = servicer.start_grpc_server(port)
    log.info("listening for Beam jobs on port %d (%d SDK worker(s) per job by default)",
             bound, workers)
    try:
        while True:
            time.sleep(3600)
    finally:
        servicer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="the Job API port (0: any free)")
    parser.add_argument("--workers", type=int, default=1,
                        help="SDK workers per job when the job does not set "
                             "--sdk_worker_parallelism")
    parser.add_argument("--staging_dir", help="where staged artifacts go (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be 1 or more")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        serve(args.port, args.workers, args.staging_dir)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

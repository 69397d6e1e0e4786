"""Runner choice and Beam pipeline options. Runner specifics live here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines.launch_config import LaunchConfig

DIRECT = "DirectRunner"
PORTABLE = "PortableRunner"
KNOWN_RUNNERS = (DIRECT, PORTABLE, "FlinkRunner", "DataflowRunner")
# Runners that submit to a Beam job service and run SDK workers (`--workers` there is
# `--sdk_worker_parallelism`).
PORTABLE_RUNNERS = (PORTABLE, "FlinkRunner")
REFUSED_RUNNERS = {
    "DaskRunner": "the Dask runner was measured returning wrong results",
    "PrismRunner": "Prism downloads a binary at run time, which this site cannot do",
}


class RunnerOptionError(ValueError):
    """An option the run cannot start with; the message names the option."""


@dataclass(frozen=True)
class RunnerChoice:
    runner: str = DIRECT
    workers: int = 1
    running_mode: str | None = None
    region: str | None = None
    extra_args: tuple[str, ...] = field(default_factory=tuple)


def validate_runner(choice: RunnerChoice) -> None:
    if choice.runner in REFUSED_RUNNERS:
        raise RunnerOptionError(
            f"--runner {choice.runner}: refused: {REFUSED_RUNNERS[choice.runner]}"
        )
    if choice.runner not in KNOWN_RUNNERS:
        raise RunnerOptionError(
            f"--runner {choice.runner}: unknown; use one of {', '.join(KNOWN_RUNNERS)}"
        )
    if choice.workers < 1:
        raise RunnerOptionError("--workers must be 1 or more")
    for arg in choice.extra_args:
        # Beam takes the last --runner it sees: one after `--` would override the runner the
        # residency guard checked.
        if arg == "--runner" or arg.startswith("--runner="):
            raise RunnerOptionError(f"{arg.split('=')[0]} after `--`: give the runner with "
                                    "kura's own --runner (before `--`), so the guard checks it")
    if choice.running_mode == "multi_threading" and choice.workers > 1:
        raise RunnerOptionError(
            "--running-mode multi_threading with more than one worker is refused: it was measured "
            "losing 0.4-1.8% of elements in a GroupByKey; use multi_processing"
        )
    if choice.running_mode not in (None, "in_memory", "multi_processing", "multi_threading"):
        raise RunnerOptionError(
            f"--running-mode {choice.running_mode}: use in_memory, multi_processing or "
            "multi_threading"
        )


def pipeline_options(runner: RunnerChoice | LaunchConfig) -> PipelineOptions:
    """The Beam options a pipeline runs with: built from the launch configuration the residency
    guard checked (pipelines/launch_config.py), never from argv read a second way."""
    # Imported here: importing Beam takes a second, and `kura --help` should not wait for it.
    from pipelines.launch_config import as_launch_config

    return as_launch_config(runner).pipeline_options()

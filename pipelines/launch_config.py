"""The launch configuration: the runner and every Beam argument, parsed once, by Beam.

Beam reads a repeated flag last-wins (`--region=a --region=b` runs in b); anything that scans
argv by hand can check one value while Beam runs another. So kura's own runner flags and the
arguments after `--` are parsed here, once, with Beam's `PipelineOptions`, into a frozen
`LaunchConfig`. The residency guard checks it, the pipeline is built from its arguments, the run
summary records its runner and placement, and the attestations claim that placement: what is
checked is what runs and what is claimed.

`launch_config(choice)` returns the same object for the same `RunnerChoice` within a process,
so `launch()` (which guards) and `run_curation()` (which runs and summarizes) share it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pipelines.options import DIRECT, PORTABLE_RUNNERS, RunnerChoice, validate_runner
from schemas.run import RunSummary

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

# The options a run's placement record names (Beam dest -> record key): where the work runs.
PLACEMENT_OPTIONS = {
    "region": "region",
    "worker_region": "workerRegion",
    "worker_zone": "workerZone",
    "zone": "zone",
    "job_endpoint": "jobEndpoint",
    "flink_master": "flinkMaster",
    "environment_type": "environmentType",
}
# Beam's default for --flink_master: an embedded Flink that the runner starts on this machine.
EMBEDDED_FLINK = ("[auto]", "[local]")


@dataclass(frozen=True)
class LaunchConfig:
    """What a launch will run with. `given` holds every option whose effective value differs
    from Beam's default (Beam's names, e.g. `temp_location`), including options no Beam class
    defines (`unknown` lists those): the guard judges each of them."""

    runner: str
    workers: int
    beam_args: tuple[str, ...]
    given: Mapping[str, Any]
    unknown: frozenset[str]

    def value(self, option: str) -> Any:
        return self.given.get(option)

    @property
    def region(self) -> str | None:
        return self.value("region")

    @property
    def environment_type(self) -> str | None:
        value = self.value("environment_type")
        return value.upper() if isinstance(value, str) else None

    def placement(self) -> dict[str, Any]:
        """Where the work runs, as the run summary records it (`parameters.launch`) and the
        attestations claim it. Credentials are never in it, only places."""
        record: dict[str, Any] = {"runner": self.runner}
        for option, key in PLACEMENT_OPTIONS.items():
            value = self.value(option)
            if value is not None:
                record[key] = value
        if self.environment_type == "EXTERNAL" and self.value("environment_config"):
            record["workerPool"] = self.value("environment_config")
        return record

    def pipeline_options(self) -> PipelineOptions:
        """A fresh `PipelineOptions` from the very arguments that were checked (a new object per
        pipeline: runners mutate the options they are given)."""
        from apache_beam.options.pipeline_options import PipelineOptions

        return PipelineOptions(list(self.beam_args), save_main_session=False)


def beam_arguments(choice: RunnerChoice) -> tuple[str, ...]:
    """The pass-through arguments, then kura's own flags: last wins in Beam, so kura's runner,
    region and workers are what runs, whatever came after `--`.

    `--workers N` is the DirectRunner's process count; on a portable runner it is
    `--sdk_worker_parallelism`, the SDK workers per worker node (per Flink task manager; per job
    on kura's local job service, pipelines/job_service.py). Given only when above 1, so a
    one-worker launch passes exactly what was typed."""
    args = [*choice.extra_args]
    if choice.runner == DIRECT:
        mode = choice.running_mode or ("multi_processing" if choice.workers > 1 else "in_memory")
        args += [f"--direct_num_workers={choice.workers}", f"--direct_running_mode={mode}"]
    elif choice.runner in PORTABLE_RUNNERS and choice.workers > 1:
        args.append(f"--sdk_worker_parallelism={choice.workers}")
    if choice.region:
        args.append(f"--region={choice.region}")
    args.append(f"--runner={choice.runner}")
    return tuple(args)


def _effective_options(args: tuple[str, ...]) -> tuple[dict[str, Any], frozenset[str]]:
    """(options that differ from Beam's defaults, options no Beam class defines), as Beam
    itself parses `args` (last value wins)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    defaults = PipelineOptions([]).get_all_options()
    effective = PipelineOptions(list(args)).get_all_options(retain_unknown_options=True)
    unknown = frozenset(name for name in effective if name not in defaults)
    given = {
        name: value for name, value in sorted(effective.items())
        if name in unknown or value != defaults[name]
    }
    return given, unknown


@functools.cache
def launch_config(choice: RunnerChoice) -> LaunchConfig:
    """Validate kura's runner flags and parse everything once (cached per choice, so every
    reader of one launch holds the same object)."""
    validate_runner(choice)
    args = beam_arguments(choice)
    given, unknown = _effective_options(args)
    return LaunchConfig(
        runner=choice.runner,
        workers=choice.workers,
        beam_args=args,
        given=MappingProxyType(given),
        unknown=unknown,
    )


def as_launch_config(runner: RunnerChoice | LaunchConfig) -> LaunchConfig:
    return runner if isinstance(runner, LaunchConfig) else launch_config(runner)


def use_filesystem_options(config: LaunchConfig) -> None:
    """Let Beam's file systems (gs://, s3://) in this process use the checked options (the S3
    endpoint and region among them) when the planner lists sources; `beam.Pipeline` does the
    same for the run itself."""
    from apache_beam.io.filesystems import FileSystems

    FileSystems.set_options(config.pipeline_options())


class LaunchMismatch(RuntimeError):
    """A run summary that records another launch than the one guarded: a bug, never a user
    error (nothing of such a run is published)."""


def check_launch_recorded(summary: RunSummary, config: LaunchConfig) -> None:
    """The summary must name the runner and placement the guard checked, since the
    attestations claim what it records."""
    recorded = (summary.runner, summary.parameters.get("launch"))
    if recorded != (config.runner, config.placement()):
        raise LaunchMismatch(f"run {summary.run_id} records runner {summary.runner} and "
                             f"placement {recorded[1]}, but {config.runner} with "
                             f"{config.placement()} was checked")

"""From a validated manifest to a recorded run: guard, plan, run, validate and record.

The residency guard runs before the plan touches any file's bytes (planning only lists and
stats files), so a location outside Japan stops the run before anything is read. After the run
the site key attests every shard it re-hashes, and the records go to the store's log.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lineage.keys import SiteContext, ensure_local_site, load_site_context
from lineage.record import RecordedRun, record_run
from pipelines.curate import StagePlan, new_run_id
from pipelines.guard import guard_launch
from pipelines.options import RunnerChoice, validate_runner
from pipelines.plan import CurationPlan, plan_run
from pipelines.report import write_report
from pipelines.stages import stages_for
from pipelines.validation import validate_run
from schemas.manifest import Manifest
from schemas.run import RunSummary

RunFn = Callable[[CurationPlan, StagePlan, str], RunSummary]


@dataclass(frozen=True)
class LaunchResult:
    summary: RunSummary
    recorded: RecordedRun
    validation_seconds: float
    validation_setup_seconds: float
    report: Path


def _beam_option(args: tuple[str, ...], name: str) -> str | None:
    """The value of a pass-through Beam option (`--name=value` or `--name value`)."""
    for i, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
        if arg == f"--{name}" and i + 1 < len(args):
            return args[i + 1]
    return None


def site_context(store_root: Path, create_local_site: bool) -> SiteContext:
    return ensure_local_site(store_root) if create_local_site else load_site_context(store_root)


def launch(manifest: Manifest, manifest_path: Path, store_root: Path, runner: RunnerChoice,
           run: RunFn, create_local_site: bool = False) -> LaunchResult:
    validate_runner(runner)
    site = site_context(store_root, create_local_site)
    guard_launch(
        manifest, store_root, runner.runner,
        region=runner.region or _beam_option(runner.extra_args, "region"),
        temp_location=_beam_option(runner.extra_args, "temp_location"),
        staging_location=_beam_option(runner.extra_args, "staging_location"),
        policy=site.signed_policy,
        site_id=site.site_id,
    )
    plan = plan_run(manifest, manifest_path, store_root, output_location=site.location)
    run_id = new_run_id()
    # This corpus's signatures are staged beside the others and replace its earlier ones only
    # when the run succeeds; other runs never read a staging folder (its name starts with ".").
    staged_signatures = plan.store.signatures() / f".{plan.corpus_id}.{run_id}"
    stages = stages_for(plan, staged_signatures, scratch_dir=plan.store.tmp(run_id) / "dedup",
                        rebalance=runner.workers > 1)
    plan.store.manifest(plan.corpus_id).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest_path, plan.store.manifest(plan.corpus_id))
    try:
        summary = run(plan, stages, run_id)
        _replace_folder(staged_signatures, plan.store.signatures(plan.corpus_id))
    finally:
        shutil.rmtree(staged_signatures, ignore_errors=True)
    validated = validate_run(store_root, summary, manifest)
    summary = validated.summary
    plan.store.run_summary(summary.run_id).write_text(summary.model_dump_json(indent=2) + "\n")
    report = write_report(store_root, summary)
    recorded = record_run(
        store_root, summary,
        validation_digests={p: v.result_digest for p, v in validated.validations.items()},
        validation_passed={p: v.passed for p, v in validated.validations.items()},
    )
    return LaunchResult(summary, recorded, validated.seconds, validated.setup_seconds, report)


def _replace_folder(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.mkdir(parents=True, exist_ok=True)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)

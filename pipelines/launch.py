"""From a validated manifest to a recorded run: guard, plan, run, validate and publish.

The residency guard runs before the plan touches any file's bytes (planning only lists and
stats files), so a location outside Japan stops the run before anything is read. Then the
sources are checked as `kura check` checks them (pipelines/check_sources.py): a source that
names no file, or a `text_field` that is no field of a file, stops the launch with every such
problem at once, before the store is locked or written. The run is a
transaction (pipelines/store.py): it writes into its own staging folder under the store lock,
and only a complete, validated run is published; the site key then attests every shard it
re-hashes, and the records go to the store's log.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from lineage.corpus_state import corpus_state
from lineage.keys import SiteContext, ensure_local_site, load_site_context
from lineage.log import TransparencyLog
from lineage.owners import check_corpus_owner
from lineage.record import RecordedRun
from pipelines.check_sources import refuse_bad_sources
from pipelines.curate import StagePlan, new_run_id
from pipelines.guard import guard_launch
from pipelines.increment import UpToDate, decide_run, plan_reading, with_decision
from pipelines.launch_config import check_launch_recorded, launch_config, use_filesystem_options
from pipelines.options import RunnerChoice
from pipelines.plan import CurationPlan, plan_run
from pipelines.pseudonym_index import index_run
from pipelines.stages import own_signature_files, stages_for, withdrawn_set
from pipelines.store import Announce, discard, publish, recover, staging_root, store_lock
from pipelines.validation import validate_run
from schemas.manifest import Manifest
from schemas.run import RunSummary
from schemas.store import StoreLayout
from transforms.memory import release_freed_memory
from transforms.pii import check_secret

RunFn = Callable[[CurationPlan, StagePlan, str], RunSummary]


@dataclass(frozen=True)
class LaunchResult:
    summary: RunSummary
    recorded: RecordedRun
    validation_seconds: float
    validation_setup_seconds: float
    report: Path


def _quiet(_line: str) -> None:
    """Announcements are dropped unless the caller shows them."""


def site_context(store_root: Path, create_local_site: bool) -> SiteContext:
    return ensure_local_site(store_root) if create_local_site else load_site_context(store_root)


def launch(manifest: Manifest, manifest_path: Path, store_root: Path, runner: RunnerChoice,
           run: RunFn, create_local_site: bool = False,
           announce: Announce = _quiet, full: bool = False) -> LaunchResult:
    """Guard, then, holding the store lock: recover leftovers, plan, run into staging,
    validate, publish. Nothing a failed or interrupted run wrote is published.

    A corpus already in the store whose sources and configuration are unchanged but for new
    sources gets an append run that reads only those (pipelines/increment.py); `full` forces a
    full run. Raises UpToDate when there is nothing new to read."""
    # Parsed once: the guard checks, the pipeline runs with and the summary records this object.
    config = launch_config(runner)
    check_secret(manifest.pii)  # a missing pseudonym secret stops the launch, before the lock
    site = site_context(store_root, create_local_site)
    guard_launch(manifest, store_root, config, site.signed_policy, site_id=site.site_id)
    use_filesystem_options(config)  # listing gs:// and s3:// sources uses the checked options
    refuse_bad_sources(manifest, manifest_path, store_root)
    with store_lock(store_root, f"onboard of {manifest.corpus.id}", announce):
        for line in recover(store_root):
            announce(line)
        check_corpus_owner(store_root, manifest.corpus.id, manifest.corpus.member)
        plan = plan_run(manifest, manifest_path, store_root, output_location=site.location)
        lines = TransparencyLog(store_root).read().lines
        decision = decide_run(
            plan.files, plan.config_digest, corpus_state(lines, plan.corpus_id),
            has_signatures=bool(own_signature_files(plan)), full=full)
        if decision.note:
            announce(decision.note)
        if decision.mode == "none":
            raise UpToDate(plan.corpus_id, decision.note or "")
        plan = plan_reading(plan, decision)
        run_id = new_run_id()
        staging = staging_root(store_root, run_id)
        staged = replace(plan, store=StoreLayout(staging))
        # Prior signatures come from the published store (`plan`); this run's go to staging.
        stages = stages_for(plan, staged.store.signatures(plan.corpus_id),
                            scratch_dir=staged.store.tmp(run_id) / "dedup",
                            rebalance=runner.workers > 1, append=decision.mode == "append",
                            withdrawn=withdrawn_set(store_root, lines, plan.corpus_id))
        if min(runner.workers, plan.shards) > 1:  # validation will run in a pool
            from pipelines.validation_pool import start_forkserver

            start_forkserver()
        try:
            staged.store.manifest(plan.corpus_id).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(manifest_path, staged.store.manifest(plan.corpus_id))
            summary = with_decision(run(staged, stages, run_id), decision)
            check_launch_recorded(summary, config)
            release_freed_memory()  # validation then starts from what is alive, not the peak
            validated = validate_run(staging, summary, manifest)
            index_run(staging, validated.summary, manifest)  # pseudonym mode: hashes only
            published = publish(
                store_root, staging, validated.summary,
                validation_digests={p: v.result_digest for p, v in validated.validations.items()},
                validation_passed={p: v.passed for p, v in validated.validations.items()},
            )
        except BaseException:
            discard(staging)  # not marked for publishing: nothing of it reaches the store
            raise
    return LaunchResult(published.summary, published.recorded, validated.seconds,
                        validated.setup_seconds, published.report)

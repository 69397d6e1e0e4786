"""From a validated manifest to a recorded run: guard, plan, run, and record.

The residency guard runs before the plan touches any file's bytes (the plan only lists and
stats), so a location outside Japan stops the run before anything is read.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from pipelines.curate import StagePlan, new_run_id
from pipelines.options import RunnerChoice, validate_runner
from pipelines.plan import CurationPlan, plan_run
from pipelines.stages import stages_for
from schemas.manifest import Manifest
from schemas.run import RunSummary

RunFn = Callable[[CurationPlan, StagePlan, str], RunSummary]


def launch(manifest: Manifest, manifest_path: Path, store_root: Path, runner: RunnerChoice,
           run: RunFn, quiet: bool = False) -> RunSummary:
    validate_runner(runner)
    plan = plan_run(manifest, manifest_path, store_root)
    stages = stages_for(plan)
    plan.store.manifest(plan.corpus_id).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest_path, plan.store.manifest(plan.corpus_id))
    run_id = new_run_id()
    return run(plan, stages, run_id)

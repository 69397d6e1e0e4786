"""Which steps a run applies, built from the manifest's sections, in the graph's order."""

from __future__ import annotations

from pathlib import Path

from pipelines.curate import StagePlan
from pipelines.plan import CurationPlan
from transforms.analyze import AnalyzeStep
from transforms.dedup_beam import Deduplicate
from transforms.gate import ResidualPiiGate
from transforms.normalize import NormalizeStep
from transforms.pii import PiiStep
from transforms.quality import QualityStep


def prior_signature_files(plan: CurationPlan) -> list[Path]:
    """Signature files of every other corpus in the store (never this corpus's own)."""
    root = plan.store.signatures()
    if not root.is_dir():
        return []
    # A folder whose name starts with "." is some run's scratch, never a published corpus.
    return sorted(
        path for path in root.glob("*/*.parquet")
        if path.parent.name != plan.corpus_id and not path.parent.name.startswith(".")
    )


def stages_for(plan: CurationPlan, signatures_dir: Path, scratch_dir: Path,
               rebalance: bool = False) -> StagePlan:
    """The run's steps; dedup spills its batches to `scratch_dir`, inside the guarded store."""
    manifest = plan.manifest
    # The PII steps hold only where the pseudonym secret is (pii.secret_env / secret_file):
    # they check it is there now, so a missing one stops the launch, and read it on the worker.
    steps = (
        NormalizeStep(),
        AnalyzeStep(),
        QualityStep(manifest.quality),
        PiiStep(manifest.pii),
        ResidualPiiGate(manifest.pii),
    )
    prior = prior_signature_files(plan)

    def deduplicate() -> Deduplicate:
        return Deduplicate(manifest.dedup, plan.corpus_id, prior_signatures=prior,
                           signatures_dir=signatures_dir, scratch_dir=scratch_dir)

    return StagePlan(steps=steps, deduplicate=deduplicate, rebalance=rebalance)

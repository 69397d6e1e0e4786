"""Which steps a run applies, built from the manifest's sections, in the graph's order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lineage.withdraw import logged_withdrawals, withdrawn_documents
from pipelines.curate import StagePlan
from pipelines.plan import CurationPlan
from schemas.manifest import Manifest
from transforms.analyze import AnalyzeStep
from transforms.dedup_beam import Deduplicate
from transforms.gate import ResidualPiiGate
from transforms.normalize import NormalizeStep
from transforms.pii import PiiStep
from transforms.quality import QualityStep
from transforms.steps import Step
from transforms.withdrawn import ForgottenPersonStep, WithdrawnIdStep, WithdrawnSet


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


def document_steps(manifest: Manifest) -> tuple[Step, ...]:
    """The per-document steps a manifest asks for, in the graph's order (a withdrawal's
    promoted duplicates go through the very same ones).

    The PII steps hold only where the pseudonym secret is (pii.secret_env / secret_file): they
    check it is there now, so a missing one stops the launch, and read it on the worker."""
    return (
        NormalizeStep(),
        AnalyzeStep(),
        QualityStep(manifest.quality),
        PiiStep(manifest.pii),
        ResidualPiiGate(manifest.pii),
    )


def own_signature_files(plan: CurationPlan) -> list[Path]:
    """This corpus's current signature files: what an append run dedups against."""
    return sorted(plan.store.signatures(plan.corpus_id).glob("*.parquet"))


def withdrawn_set(store_root: Path, lines: Sequence[bytes], corpus_id: str) -> WithdrawnSet:
    """What the log has withdrawn that a run of `corpus_id` must not bring back: the corpus's
    withdrawn doc ids, and every forgotten person's token hashes (a token is keyed by a corpus
    secret, so another corpus's tokens match only under the same secret: the same person)."""
    withdrawals = logged_withdrawals(lines)
    forgotten: dict[str, int] = {}
    for withdrawal in withdrawals:
        for token in withdrawal.predicate.forgotten_tokens:
            forgotten.setdefault(token, withdrawal.log_index)
    return WithdrawnSet(withdrawn_documents(store_root, withdrawals, corpus_id), forgotten)


def stages_for(plan: CurationPlan, signatures_dir: Path, scratch_dir: Path,
               rebalance: bool = False, append: bool = False,
               withdrawn: WithdrawnSet | None = None) -> StagePlan:
    """The run's steps; dedup spills its batches to `scratch_dir`, inside the guarded store.
    An `append` run (incremental onboarding) also dedups against the documents its corpus
    already holds (its own signatures), whatever the dedup scope. `withdrawn`: what earlier
    withdrawals took back, which the run rejects (step "withdrawn", no bytes kept)."""
    manifest = plan.manifest
    steps = document_steps(manifest)
    if withdrawn:
        # By id before any work; by a forgotten person's token right after the PII step.
        after_pii = next(i for i, step in enumerate(steps) if isinstance(step, PiiStep)) + 1
        steps = (WithdrawnIdStep(withdrawn), *steps[:after_pii], ForgottenPersonStep(withdrawn),
                 *steps[after_pii:])
    prior = prior_signature_files(plan)
    earlier = own_signature_files(plan) if append else []

    def deduplicate() -> Deduplicate:
        return Deduplicate(manifest.dedup, plan.corpus_id, prior_signatures=prior,
                           signatures_dir=signatures_dir, scratch_dir=scratch_dir,
                           earlier_signatures=earlier)

    return StagePlan(steps=steps, deduplicate=deduplicate, rebalance=rebalance)

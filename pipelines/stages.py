"""Which document steps a run applies, built from the manifest's sections."""

from __future__ import annotations

from pipelines.curate import StagePlan
from pipelines.plan import CurationPlan


def stages_for(plan: CurationPlan) -> StagePlan:
    from transforms.normalize import NormalizeStep

    steps = [NormalizeStep()]
    return StagePlan(steps=tuple(steps))

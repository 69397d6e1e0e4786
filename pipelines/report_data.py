"""What the steward's report shows, as plain values: pure functions over the run summary and over
the rows that `pipelines.report_gather` streams out of the run's id and reason columns.

Nothing here reads a file, and nothing here ever holds document text: only ids, counts, step
names, reason parameters and similarities.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pipelines.report_lengths import LengthStats
from schemas.run import RESIDUAL_PII_CHECK, RunSummary

# Reject steps in the order the pipeline runs them; the funnel groups rejects by this prefix.
STAGE_ORDER: tuple[str, ...] = ("ingest", "normalize", "analyze", "quality", "pii")
# Duplicate kinds in the order they are shown; any other kind follows, by name.
KIND_ORDER: tuple[str, ...] = ("exact", "near", "cross-corpus", "earlier-run")
# Reason fields that observe one record (a value, a position, a count) rather than name the rule
# and its parameters: dropped when reasons are grouped, so equal causes count together.
OBSERVED_FIELDS = frozenset({
    "step", "value", "doc_id", "pos", "byte_offset", "bytes", "chars", "chars_before", "cells",
    "count", "entities", "after_row",
})

StageTone = Literal["total", "loss", "kept"]


@dataclass(frozen=True)
class Stage:
    """One row of the funnel: a running total, or what a step took away from it."""

    label: str
    count: int
    tone: StageTone
    remaining: int  # documents still in the run after this row


@dataclass(frozen=True)
class SourceRow:
    uri: str
    status: str
    read: int
    written: int
    duplicates: Mapping[str, int]
    rejected: Mapping[str, int]  # by step, the residual-PII gate left out (it quarantines)
    quarantined: int  # by the residual-PII gate, plus rows of shards that failed their suite
    yielded_nothing: bool


@dataclass(frozen=True)
class QuarantinedDoc:
    doc_id: str
    check: str
    column: str
    entities: Mapping[str, int]  # residual PII by type: counts only, never the values
    path: str


@dataclass(frozen=True)
class RemovedDuplicate:
    doc_id: str
    kind: str
    estimated_jaccard: float


@dataclass(frozen=True)
class ClusterExample:
    cluster_id: str
    kept_doc_id: str
    removed: tuple[RemovedDuplicate, ...]
    note: str = ""  # why this cluster was picked, when it is not simply one of the largest

    @property
    def kinds(self) -> tuple[str, ...]:
        return ordered_kinds({r.kind for r in self.removed})


@dataclass(frozen=True)
class ReasonCount:
    step: str
    shape: str  # the reason's rule parameters, observed values left out
    count: int


@dataclass(frozen=True)
class RejectRow:
    source_uri: str
    locator: int
    step: str
    reason: str


def ordered_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    known = [k for k in KIND_ORDER if k in kinds]
    return (*known, *sorted(set(kinds) - set(KIND_ORDER)))


def step_stage(step: str) -> str:
    return step.split(".", 1)[0]


def _stage_rank(stage: str) -> tuple[int, str]:
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)


def ordered_steps(steps: Iterable[str]) -> list[str]:
    """Steps in pipeline order (by stage), then by name."""
    return sorted(steps, key=lambda s: (_stage_rank(step_stage(s)), s))


def rejected_by_step(rejected: Mapping[str, int]) -> dict[str, int]:
    """Rejects proper: the residual-PII gate's documents are quarantined, counted apart."""
    return {s: rejected[s] for s in ordered_steps(rejected) if s != RESIDUAL_PII_CHECK}


def failed_shard_rows(summary: RunSummary) -> int:
    """Written documents in shards that failed their suite: written, never certified."""
    return sum(s.rows for s in summary.shards if s.path.startswith("quarantine/"))


def funnel(summary: RunSummary) -> tuple[Stage, ...]:
    """read -> rejected (by stage) -> duplicates (by kind) -> quarantined -> written ->
    withheld in failed shards -> certified. Every record leaves at exactly one row."""
    counts = summary.counts
    remaining = counts.read
    stages = [Stage("read", counts.read, "total", remaining)]

    def lose(label: str, n: int) -> None:
        nonlocal remaining
        remaining -= n
        stages.append(Stage(label, n, "loss", remaining))

    by_stage: Counter[str] = Counter()
    for step, n in rejected_by_step(counts.rejected).items():
        by_stage[step_stage(step)] += n
    for stage in sorted(by_stage, key=_stage_rank):
        lose(f"rejected: {stage}.*", by_stage[stage])
    if not by_stage:
        lose("rejected", 0)
    for kind in ordered_kinds({"exact", "near", *counts.duplicates}):
        lose(f"duplicates: {kind}", counts.duplicates.get(kind, 0))
    lose("quarantined: residual PII", counts.rejected.get(RESIDUAL_PII_CHECK, 0))
    stages.append(Stage("written", counts.written, "total", remaining))
    lose("withheld: shard failed its suite", failed_shard_rows(summary))
    stages.append(Stage("certified", remaining, "kept", remaining))
    return tuple(stages)


def source_rows(summary: RunSummary,
                failed_rows_by_source: Mapping[str, int]) -> tuple[SourceRow, ...]:
    status = {i.uri: i.status for i in summary.inputs}
    return tuple(
        SourceRow(
            uri=s.uri, status=status.get(s.uri, "-"), read=s.read, written=s.written,
            duplicates=dict(s.duplicates), rejected=rejected_by_step(s.rejected),
            quarantined=s.rejected.get(RESIDUAL_PII_CHECK, 0)
            + failed_rows_by_source.get(s.uri, 0),
            yielded_nothing=s.yielded_nothing(),
        )
        for s in summary.sources
    )


def quarantined_documents(summary: RunSummary, gate_reasons: Iterable[tuple[str, str]],
                          limit: int) -> tuple[tuple[QuarantinedDoc, ...], int]:
    """One row per withheld document (at most `limit`), and how many there are in all.

    `gate_reasons` are (path, reason JSON) of the residual-PII gate's quarantine rows: their
    reason names the document, the column and the entity counts. A shard that failed its suite
    names its failing rows in the summary (at most 20 per check); its other rows are counted."""
    rows: list[QuarantinedDoc] = []
    total = 0
    for path, reason_text in gate_reasons:
        reason = json.loads(reason_text)
        total += 1
        if len(rows) < limit:
            rows.append(QuarantinedDoc(
                doc_id=str(reason.get("doc_id", "-")), check=str(reason.get("step", "-")),
                column=str(reason.get("column", "-")),
                entities=dict(sorted(reason.get("entities", {}).items())), path=path))
    for q in summary.quarantined:
        if q.check == RESIDUAL_PII_CHECK:
            continue  # read from the quarantine rows above, with per-document counts
        total += q.documents
        for doc_id in q.doc_ids[:max(0, limit - len(rows))]:
            rows.append(QuarantinedDoc(doc_id, q.check, q.column or "-", dict(q.entities),
                                       q.path))
    return tuple(rows), total


def cluster_examples(rows: Iterable[Mapping], notes: Mapping[str, str] | None = None
                     ) -> tuple[ClusterExample, ...]:
    """Duplicate rows (doc_id, kind, cluster_id, kept_doc_id, estimated_jaccard) grouped into
    clusters, in the order their clusters first appear; removed ids by similarity, then id."""
    grouped: dict[str, list[Mapping]] = {}
    for row in rows:
        grouped.setdefault(row["cluster_id"], []).append(row)
    notes = notes or {}
    return tuple(
        ClusterExample(
            cluster_id=cluster_id,
            kept_doc_id=members[0]["kept_doc_id"],
            removed=tuple(sorted(
                (RemovedDuplicate(m["doc_id"], m["kind"], round(float(m["estimated_jaccard"]), 4))
                 for m in members),
                key=lambda r: (-r.estimated_jaccard, r.doc_id))),
            note=notes.get(cluster_id, ""),
        )
        for cluster_id, members in grouped.items()
    )


def reason_shape(reason: str) -> str:
    """A reason's rule and parameters without what it observed, so equal causes group."""
    fields = {k: v for k, v in json.loads(reason).items() if k not in OBSERVED_FIELDS}
    return ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
        for k, v in sorted(fields.items())) or "-"


def reason_counts(rows: Iterable[tuple[str, str]]) -> tuple[ReasonCount, ...]:
    """(step, reason JSON) rows counted by step and reason shape, in pipeline order."""
    counted = Counter((step, reason_shape(reason)) for step, reason in rows)
    order = {s: i for i, s in enumerate(ordered_steps({s for s, _ in counted}))}
    return tuple(ReasonCount(step, shape, n) for (step, shape), n in
                 sorted(counted.items(), key=lambda kv: (order[kv[0][0]], -kv[1], kv[0][1])))


@dataclass(frozen=True)
class ReportData:
    """Everything the report page shows, gathered once (`pipelines.report_gather.gather`)."""

    summary: RunSummary
    funnel: tuple[Stage, ...]
    sources: tuple[SourceRow, ...]
    quarantined: tuple[QuarantinedDoc, ...]
    quarantined_total: int
    clusters: tuple[ClusterExample, ...]
    cluster_count: int
    reasons: tuple[ReasonCount, ...]
    rejects: tuple[RejectRow, ...]  # the first ones, by step, source and record
    lengths: LengthStats

    @property
    def rejected_by_step(self) -> dict[str, int]:
        return rejected_by_step(self.summary.counts.rejected)

    @property
    def pii_by_type(self) -> dict[str, int]:
        """Entities found, most frequent first."""
        return dict(sorted(self.summary.pii.items(), key=lambda kv: (-kv[1], kv[0])))

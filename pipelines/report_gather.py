"""Gathers what the steward's report shows from a published run: its summary, and the id,
reason and length columns of the run's Parquet files, read column by column and batch by
batch so that memory does not grow with the corpus. The text and raw-bytes columns are never
read, so no document text or personal value can reach the report.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.report_data import (
    ClusterExample,
    RejectRow,
    ReportData,
    cluster_examples,
    funnel,
    ordered_kinds,
    quarantined_documents,
    reason_counts,
    source_rows,
)
from pipelines.report_lengths import LengthTally
from schemas.run import RESIDUAL_PII_CHECK, RunSummary, StoredFile

MAX_LISTED_REJECTS = 200
MAX_QUARANTINED_ROWS = 200
CLUSTERS_PER_KIND = 3
LOWEST_SIMILARITY_NOTE = "the least similar near duplicate of the run"
_BATCH_ROWS = 65_536
_DUPLICATE_COLUMNS = ["doc_id", "kind", "cluster_id", "kept_doc_id", "estimated_jaccard"]


def _batches(root: Path, files: list[StoredFile], columns: list[str]
             ) -> Iterator[tuple[str, pa.RecordBatch]]:
    for stored in files:
        with pq.ParquetFile(root / stored.path) as parquet:
            for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, columns=columns):
                yield stored.path, batch


def _quarantined(files: list[StoredFile]) -> list[StoredFile]:
    return [f for f in files if f.path.startswith("quarantine/")]


def _reject_rows(root: Path, summary: RunSummary) -> Iterator[RejectRow]:
    columns = ["source_uri", "locator", "step", "reason"]
    for _, batch in _batches(root, summary.rejects, columns):
        for row in batch.to_pylist():
            yield RejectRow(row["source_uri"], row["locator"], row["step"], row["reason"])


def _gate_reasons(root: Path, summary: RunSummary) -> Iterator[tuple[str, str]]:
    for path, batch in _batches(root, _quarantined(summary.rejects), ["step", "reason"]):
        for step, reason in zip(batch.column("step").to_pylist(),
                                batch.column("reason").to_pylist(), strict=True):
            if step == RESIDUAL_PII_CHECK:
                yield path, reason


def _failed_rows_by_source(root: Path, summary: RunSummary) -> Counter[str]:
    counted: Counter[str] = Counter()
    for _, batch in _batches(root, _quarantined(summary.shards), ["source_uri"]):
        counted.update(batch.column("source_uri").to_pylist())
    return counted


def _lengths(root: Path, summary: RunSummary) -> LengthTally:
    tally = LengthTally()
    for _, batch in _batches(root, summary.shards, ["char_count"]):
        tally.span(batch.column("char_count").to_numpy())
    for _, batch in _batches(root, summary.shards, ["char_count"]):
        tally.add(batch.column("char_count").to_numpy())
    return tally


def _example_clusters(root: Path, summary: RunSummary, per_kind: int
                      ) -> tuple[tuple[ClusterExample, ...], int]:
    """A few clusters of each kind, largest first, plus the run's least similar near pair:
    the borderline a steward may want to look at before changing the threshold.

    Choosing needs every cluster's size, so the cluster id, kind and similarity columns are
    read whole, as Arrow (some 50 bytes a duplicate) and grouped there; only the chosen
    clusters' rows become Python values."""
    if not summary.duplicates:
        return (), 0
    paths = [root / d.path for d in summary.duplicates]
    table = pa.concat_tables(
        pq.read_table(p, columns=["cluster_id", "kind", "estimated_jaccard"]) for p in paths)
    if table.num_rows == 0:
        return (), 0
    groups = table.group_by(["cluster_id", "kind"]).aggregate(
        [("estimated_jaccard", "count"), ("estimated_jaccard", "min")])
    chosen: dict[str, str] = {}  # cluster_id -> note, in the order shown
    for kind in ordered_kinds(set(pc.unique(groups["kind"]).to_pylist())):
        of_kind = groups.filter(pc.equal(groups["kind"], kind))
        largest = of_kind.sort_by([("estimated_jaccard_count", "descending"),
                                   ("cluster_id", "ascending")]).slice(0, per_kind)
        for cluster_id in largest["cluster_id"].to_pylist():
            chosen.setdefault(cluster_id, "")
        if kind == "near":
            lowest = of_kind.sort_by([("estimated_jaccard_min", "ascending"),
                                      ("cluster_id", "ascending")]).slice(0, 1)
            for cluster_id in lowest["cluster_id"].to_pylist():
                chosen[cluster_id] = LOWEST_SIMILARITY_NOTE
    rows = pa.concat_tables(
        pq.read_table(p, columns=_DUPLICATE_COLUMNS,
                      filters=[("cluster_id", "in", list(chosen))]) for p in paths)
    order = list(chosen)
    examples = sorted(cluster_examples(rows.to_pylist(), chosen),
                      key=lambda c: order.index(c.cluster_id))
    return tuple(examples), pc.count_distinct(table["cluster_id"]).as_py()


def gather(store_root: Path, summary: RunSummary) -> ReportData:
    root = Path(store_root)
    quarantined, quarantined_total = quarantined_documents(
        summary, _gate_reasons(root, summary), MAX_QUARANTINED_ROWS)
    clusters, cluster_count = _example_clusters(root, summary, CLUSTERS_PER_KIND)
    return ReportData(
        summary=summary,
        funnel=funnel(summary),
        sources=source_rows(summary, _failed_rows_by_source(root, summary)),
        quarantined=quarantined,
        quarantined_total=quarantined_total,
        clusters=clusters,
        cluster_count=cluster_count,
        reasons=reason_counts((r.step, r.reason) for r in _reject_rows(root, summary)),
        rejects=tuple(heapq.nsmallest(MAX_LISTED_REJECTS, _reject_rows(root, summary),
                                      key=lambda r: (r.step, r.source_uri, r.locator))),
        lengths=_lengths(root, summary).stats(),
    )

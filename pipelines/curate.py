"""The curation pipeline: the graph of DESIGN.md, top to bottom, and the run that drives it.

    read sources -> decode+parse -> normalize -> analyze (MeCab) -> quality -> PII scrub
      -> exact + near dedup (ids and keys only) -> drop duplicates -> write shards
    every step's rejects -> rejects/ Parquet; removed duplicates -> duplicates/ Parquet

No document, reject or duplicate row crosses a shuffle: each is spilled in sorted runs under the
run's scratch folder, and only run paths and dedup's verdicts (ids) are grouped; each shard's
writer joins its verdicts, merges its runs and streams the file (transforms/shards_beam.py). So
no step holds the corpus in memory after dedup, and the bytes do not depend on worker count.

PII is scrubbed before the duplicates are dropped, not after: the MeCab tokens it reuses then
never leave the fused stage that made them (carrying them across the dedup barrier would hold
every document's tokens in memory). Dedup still decides on the matching key of the unscrubbed
text, which is never stored.

After the pipeline, the driver reads back what the writers recorded (file reports, written
files) and assembles the run summary; the counts come from the files on disk, not from runner
metrics, so they are the same on every runner.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.pvalue import AsSingleton

from pipelines.launch_config import LaunchConfig, as_launch_config
from pipelines.options import RunnerChoice
from pipelines.plan import CurationPlan
from schemas.records import (
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    document_row,
    pii_counts,
    reject_row,
)
from schemas.run import Counts, InputFile, Quarantined, RunSummary, SourceCounts, StoredFile
from transforms.gate import STEP_NAME as RESIDUAL_PII_STEP
from transforms.ingest_beam import FileReport, ReadSources
from transforms.shards import (
    SortedFileSpec,
    WrittenFile,
    inputs_digest,
    shard_index,
    shard_name,
)
from transforms.shards_beam import WriteShards, WriteSortedFiles
from transforms.sorted_runs import DEFAULT_BUFFER_BYTES
from transforms.spread import SpreadDocuments
from transforms.steps import ApplySteps, Step


class ConservationError(RuntimeError):
    """read != written + rejected + duplicates: a bug, never a user error."""


@dataclass(frozen=True)
class StagePlan:
    """The document steps in order, the dedup transform factory (None: no dedup), whether
    to spread documents over workers after reading (parallelism is otherwise per source file;
    spreading writes them once more, to scratch batch files), and how many bytes of rows each
    writer buffers before it spills a sorted run (memory per worker against runs per shard)."""

    steps: tuple[Step, ...]
    deduplicate: Callable[[], beam.PTransform] | None = None
    rebalance: bool = False
    spill_buffer_bytes: int = DEFAULT_BUFFER_BYTES


class _RecordFn(beam.DoFn):
    """Writes each element as JSON under the run's scratch folder, for the driver to read."""

    def __init__(self, folder: str) -> None:
        self._folder = folder

    def process(self, element) -> None:
        folder = Path(self._folder)
        folder.mkdir(parents=True, exist_ok=True)
        body = json.dumps(asdict(element), sort_keys=True)
        name = uuid.uuid5(uuid.NAMESPACE_URL, body).hex
        (folder / f"{name}.json").write_text(body)


def shard_row_key(row: dict) -> tuple[str, int, str]:
    """A shard's row order: by source and place in it; the id breaks the tie of one file
    listed twice, so the order is total and the bytes never depend on arrival."""
    return row["source_uri"], row["locator"], row["doc_id"]


def _reject_row_key(row: dict) -> tuple[int, str, str, str]:
    return row["locator"], row["step"], row["reason"], row["source_uri"]


def _duplicate_row_key(row: dict) -> str:
    return row["doc_id"]


def build_graph(p: beam.Pipeline, plan: CurationPlan, stages: StagePlan, run_tmp: Path) -> None:
    corpus_id = plan.corpus_id
    store = plan.store
    version = plan.kura_version
    row_group_rows = plan.manifest.shards.row_group_rows

    sources = p | "ListSources" >> beam.Create([f.source for f in plan.files], reshuffle=False)
    docs, ingest_rejects, reports = sources | "ReadSources" >> ReadSources(
        progress_dir=str(run_tmp / "progress")
    )
    rejects = [ingest_rejects]
    if stages.rebalance:  # through batch files: only their paths are shuffled (spread.py)
        docs = docs | "SpreadDocuments" >> SpreadDocuments(str(run_tmp / "spread"))
    docs, step_rejects = docs | "DocumentSteps" >> ApplySteps(stages.steps)
    rejects.extend(step_rejects)

    digest = AsSingleton(
        reports
        | "SourceDigests" >> beam.Map(lambda r: r.sha256 or "")
        | "AllDigests" >> beam.combiners.ToList()
        | "InputsDigest" >> beam.Map(inputs_digest, plan.config_digest)
    )

    # Documents cross no shuffle with their text: they are spilled as sorted runs under the
    # run's scratch folder and only run paths and verdicts (ids) are grouped (shards_beam.py).
    spill_dir = str(run_tmp / "spill")
    if stages.deduplicate is not None:
        verdicts = docs | "Deduplicate" >> stages.deduplicate()
    else:
        verdicts = p | "NoVerdicts" >> beam.Create([])

    shards, shard_dir = plan.shards, store.shards(corpus_id)
    duplicate_dir = store.duplicates(corpus_id)
    shard_files, duplicate_files = {"documents": docs, "verdicts": verdicts} | (
        "WriteShards" >> WriteShards(
            SortedFileSpec(
                schema=plan.shard_schema,  # the document schema with license and sensitivity
                row_key=shard_row_key,
                path_for=lambda i, d: str(shard_dir / shard_name(corpus_id, d, i, shards)),
                kura_version=version,
                row_group_rows=row_group_rows,
            ),
            SortedFileSpec(
                schema=DUPLICATE_SCHEMA,
                row_key=_duplicate_row_key,
                path_for=lambda _key, d: str(duplicate_dir / f"duplicates-{d[:12]}.parquet"),
                kura_version=version,
            ),
            shard_of_id=lambda doc_id: shard_index(doc_id, shards),
            to_row=lambda d: document_row(d, version),
            duplicates_key=corpus_id,
            spill_dir=spill_dir,
            side_inputs=(digest,),
            buffer_bytes=stages.spill_buffer_bytes,
        ))

    reject_dir, quarantine_dir = store.rejects(corpus_id), store.quarantine(corpus_id)

    def reject_path(key: tuple[str, bool], digest: str) -> str:
        sha, withheld = key
        if withheld:  # a scrubbed document that still holds PII: withheld, not just rejected
            return str(quarantine_dir / f"documents-{digest[:12]}-{sha[:16]}.parquet")
        return str(reject_dir / f"rejects-{digest[:12]}-{sha[:16]}.parquet")

    reject_files = (
        rejects
        | "AllRejects" >> beam.Flatten()
        | "WriteRejects" >> WriteSortedFiles(
            SortedFileSpec(
                schema=REJECT_SCHEMA,
                row_key=_reject_row_key,
                path_for=reject_path,
                kura_version=version,
                private=True,
            ),
            key_of=lambda r: (r.source_sha256, r.step == RESIDUAL_PII_STEP),
            to_row=reject_row,
            spill_dir=f"{spill_dir}/rejects",
            side_inputs=(digest,),
            buffer_bytes=stages.spill_buffer_bytes,
        )
    )

    outputs = run_tmp / "outputs"
    _ = reports | "RecordInputs" >> beam.ParDo(_RecordFn(str(run_tmp / "inputs")))
    _ = shard_files | "RecordShards" >> beam.ParDo(_RecordFn(str(outputs / "shards")))
    _ = reject_files | "RecordRejects" >> beam.ParDo(_RecordFn(str(outputs / "rejects")))
    _ = duplicate_files | "RecordDuplicates" >> beam.ParDo(_RecordFn(str(outputs / "duplicates")))


def _read_records(folder: Path, kind: type) -> list:
    if not folder.is_dir():
        return []
    return [kind(**json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]


def _stored(files: list[WrittenFile], root: Path, with_sources: bool = False
            ) -> list[StoredFile]:
    return sorted(
        (StoredFile(path=str(Path(f.path).resolve().relative_to(root.resolve())),
                    sha256=f.sha256, rows=f.rows, bytes=f.bytes,
                    sources=_source_digests(f.path) if with_sources else None) for f in files),
        key=lambda s: s.path,
    )


def _source_digests(path: str) -> list[str]:
    """The inputs a shard's documents came from: its attestation names exactly these."""
    column = pq.read_table(path, columns=["source_sha256"]).column("source_sha256")
    return sorted(set(column.to_pylist()))


def _column_counts(files: list[WrittenFile], column: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in files:
        for value in pq.read_table(f.path, columns=[column]).column(column).to_pylist():
            counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _pii_totals(files: list[WrittenFile]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for f in files:
        for entries in pq.read_table(f.path, columns=["pii"]).column("pii").to_pylist():
            for entity, count in pii_counts(entries).items():
                totals[entity] = totals.get(entity, 0) + count
    return dict(sorted(totals.items()))


def _by_source(files: list[WrittenFile], column: str) -> dict[str, Counter]:
    """For each source_uri, how many rows of `files` have each value of `column`."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for f in files:
        table = pq.read_table(f.path, columns=["source_uri", column])
        for uri, value in zip(table.column("source_uri").to_pylist(),
                              table.column(column).to_pylist(), strict=True):
            counts[uri][value] += 1
    return counts


def _source_counts(inputs: list[InputFile], shard_files: list[WrittenFile],
                   reject_files: list[WrittenFile], duplicate_files: list[WrittenFile]
                   ) -> list[SourceCounts]:
    written = _by_source(shard_files, "corpus_id")  # one corpus: its count is the rows
    rejected = _by_source(reject_files, "step")
    duplicates = _by_source(duplicate_files, "kind")
    return [
        SourceCounts(
            uri=i.uri, read=i.records, written=sum(written[i.uri].values()),
            rejected=dict(sorted(rejected[i.uri].items())),
            duplicates=dict(sorted(duplicates[i.uri].items())),
        )
        for i in inputs
    ]


def _quarantined_documents(files: list[WrittenFile], root: Path) -> list[Quarantined]:
    """The residual-PII gate's withheld documents, from the quarantine files' reason column."""
    quarantined = []
    for f in files:
        reasons = [json.loads(r) for r in
                   pq.read_table(f.path, columns=["reason"]).column("reason").to_pylist()]
        entities: Counter = Counter()
        for reason in reasons:
            entities.update(reason.get("entities", {}))
        quarantined.append(Quarantined(
            check=RESIDUAL_PII_STEP, column="text", documents=len(reasons),
            doc_ids=sorted(r["doc_id"] for r in reasons), entities=dict(sorted(entities.items())),
            path=str(Path(f.path).resolve().relative_to(root.resolve())),
        ))
    return quarantined


def summarize(plan: CurationPlan, run_id: str, run_tmp: Path,
              runner: RunnerChoice | LaunchConfig, started_at: str) -> RunSummary:
    """The run summary; its runner and placement (`parameters.launch`) are the launch
    configuration's, which the guard checked and the attestations claim."""
    launch = as_launch_config(runner)
    reports = {r.uri: r for r in _read_records(run_tmp / "inputs", FileReport)}
    outputs = run_tmp / "outputs"
    shard_files = _read_records(outputs / "shards", WrittenFile)
    reject_files = _read_records(outputs / "rejects", WrittenFile)
    duplicate_files = _read_records(outputs / "duplicates", WrittenFile)
    inputs = []
    for planned in plan.files:
        report = reports.get(planned.source.uri)
        if report is None:
            raise ConservationError(f"no ingestion report for {planned.source.uri}")
        inputs.append(InputFile(
            uri=report.uri, sha256=report.sha256, bytes=report.bytes, encoding=report.encoding,
            records=report.records, status=report.status,
            location=plan.manifest.sources[planned.source_index].location,
            mtime_ns=planned.mtime_ns, settings_sha256=planned.settings_sha256,
        ))
    root = plan.store.root
    quarantine_dir = plan.store.quarantine(plan.corpus_id).resolve()
    withheld = [f for f in reject_files if Path(f.path).resolve().parent == quarantine_dir]
    counts = Counts(
        read=sum(i.records for i in inputs),
        written=sum(f.rows for f in shard_files),
        rejected=_column_counts(reject_files, "step"),
        duplicates=_column_counts(duplicate_files, "kind"),
    )
    summary = RunSummary(
        run_id=run_id,
        corpus_id=plan.corpus_id,
        member=plan.manifest.corpus.member,
        manifest_sha256=plan.manifest_sha256,
        kura_version=plan.kura_version,
        runner=launch.runner,
        workers=launch.workers,
        started_at=started_at,
        finished_at=_now(),
        parameters={**plan.manifest.model_dump(mode="json", exclude={"sources"}),
                    "launch": launch.placement()},
        inputs=inputs,
        counts=counts,
        pii=_pii_totals(shard_files),
        shards=_stored(shard_files, root, with_sources=True),
        rejects=_stored(reject_files, root),
        duplicates=_stored(duplicate_files, root),
        output_location=plan.output_location,
        sources=_source_counts(inputs, shard_files, reject_files, duplicate_files),
        quarantined=_quarantined_documents(withheld, root),
    )
    if not counts.balanced():
        raise ConservationError(
            f"run {run_id}: read {counts.read} != written {counts.written} + rejected "
            f"{sum(counts.rejected.values())} + duplicates {sum(counts.duplicates.values())}"
        )
    return summary


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def run_curation(plan: CurationPlan, stages: StagePlan, runner: RunnerChoice | LaunchConfig,
                 run_id: str | None = None) -> RunSummary:
    """Run the pipeline to the end and write the run summary; returns it."""
    launch = as_launch_config(runner)  # the very object `launch()` guarded
    run_id = run_id or new_run_id()
    run_tmp = plan.store.tmp(run_id)
    (run_tmp / "progress").mkdir(parents=True, exist_ok=True)
    started_at = _now()
    try:
        with beam.Pipeline(options=launch.pipeline_options()) as p:
            build_graph(p, plan, stages, run_tmp)
        summary = summarize(plan, run_id, run_tmp, launch, started_at)
    finally:
        shutil.rmtree(run_tmp, ignore_errors=True)
    plan.store.runs.mkdir(parents=True, exist_ok=True)
    plan.store.run_summary(run_id).write_text(summary.model_dump_json(indent=2) + "\n")
    return summary

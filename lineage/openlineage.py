"""`kura audit openlineage`: the verified lineage log as OpenLineage run events, so a lineage
server such as Marquez draws Kura's graph (sources -> curation runs -> shards -> releases).

The store is verified first (`check_store`, the checks of `audit verify`); the events are built
from exactly the log bytes that were verified, and nothing is built from a store that fails.

One run provenance record (B) = one OpenLineage run of job `<namespace>/onboard.<corpus_id>`:
    START     at the run's startedOn, with its inputs
    COMPLETE  at its finishedOn, with inputs, outputs and the facets below, or
    FAIL      instead, when the run certified nothing it should have: every shard it wrote failed
              its suite (quarantined), or it wrote no document although not everything it read
              was already in the store (every record rejected, or nothing read). A run that
              only found duplicates of what the store holds did its job: COMPLETE. A run that
              crashes never reaches the log (a run is a transaction), so it has no event; a run
              that published with some shards or documents withheld is COMPLETE, its withheld
              shards marked `validationPassed: false` in their `kura_shard` facet.
One certification record (C) = one run of job `<namespace>/release.<name>` (START + COMPLETE
at its timeVerified; FAIL if its verificationResult is not PASSED): inputs = the certified
shards, output = the release file.

runId: the client's `generate_static_uuid(startedOn, b"kura-run:" + run id)` (releases:
timeVerified and b"kura-release:" + name), a UUIDv7 that sorts by time and is the same on every
export. Datasets are named by OpenLineage's conventions (openlineage.client.naming): gs:// and
s3:// as bucket + object key, file:// as namespace `file` + absolute path, and a source URI
recorded relative to its manifest's corpus root as namespace `kura-corpus://<corpus_id>` + the
relative path. Standard facets: dataSource, version (= the file's sha256), schema (of a shard
still on disk with the bytes the run wrote), lifecycleStateChange (CREATE, or OVERWRITE when an
earlier run wrote the same path), input/outputStatistics, jobType, documentation,
processing_engine, errorMessage (FAIL). Kura's facets: lineage/openlineage_facets.py, schema
lineage/openlineage_schemas/KuraFacets.json. Log positions are 0-based log indexes.
Checking the events: lineage/openlineage_schema.py; sending them: lineage/openlineage_emit.py.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    datasource_dataset,
    documentation_job,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    lifecycle_state_change_dataset,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
)
from openlineage.client.naming.dataset import GCS, S3, LocalFileSystem
from openlineage.client.uuid import generate_static_uuid

from lineage.code import code_identity
from lineage.openlineage_facets import (
    Attestation,
    KuraCertificationRunFacet,
    KuraResidencyRunFacet,
    KuraShardOutputDatasetFacet,
    KuraSourceInputDatasetFacet,
    Location,
    Site,
)
from lineage.policy import TrustRoot
from lineage.statements import LoggedStatement, logged_statements
from lineage.verify import VerifyReport, check_store
from schemas.policy import TrustPolicy
from schemas.predicates import (
    CERTIFIER_URI_PREFIX,
    CONSERVATION_BYPRODUCT,
    PROVENANCE_PREDICATE,
    RELEASE_URI_PREFIX,
    RESIDENCY_PREDICATE,
    VSA_PREDICATE,
)

DEFAULT_NAMESPACE = "kura"
ONBOARD_JOB = "onboard."
RELEASE_JOB = "release."
INTEGRATION = "KURA"


class OpenLineageExportError(ValueError):
    """The store cannot be exported (it fails verification); one line saying why."""


@dataclass(frozen=True)
class Export:
    events: list[RunEvent]
    report: VerifyReport


def producer_uri() -> str:
    """The `producer` of every event and facet: this Kura, by version."""
    return f"https://kura.dev/kura/{code_identity().version}"


def export_events(
    store_root: Path, trust_root: TrustRoot | None = None, namespace: str = DEFAULT_NAMESPACE
) -> Export:
    """Verify the store (pinned root, else KURA_TRUST_ROOT, else the store's own: reported in
    `report.pinned` / `report.warnings`), then build its events; fail closed."""
    checked = check_store(Path(store_root), trust_root=trust_root)
    report = checked.report
    if not report.ok:
        raise OpenLineageExportError(f"{store_root}: verification FAILED, nothing exported: "
                                     f"{report.first_failure()}; run `kura audit verify`")
    policy = checked.chain.current.policy if checked.chain and checked.chain.current else None
    return Export(build_events(Path(store_root), checked.lines, policy, namespace), report)


# --- building the events (pure but for reading shard footers) ---------------------------------


@dataclass(frozen=True)
class _Context:
    store_root: Path
    lines: Sequence[bytes]
    policy: TrustPolicy | None
    namespace: str
    producer: str
    store_uri: str
    residency_by_index: dict[int, LoggedStatement]
    latest_digest: dict[str, str]  # store path -> sha256 of its latest residency claim
    first_claim: dict[str, int]  # store path -> log index of its first residency claim

    def envelope_sha256(self, index: int) -> str:
        return hashlib.sha256(self.lines[index]).hexdigest()


def build_events(
    store_root: Path, lines: Sequence[bytes], policy: TrustPolicy | None, namespace: str,
    producer: str | None = None,
) -> list[RunEvent]:
    """The events of every run and release of `lines` (verified log bytes), in log order."""
    residency = list(logged_statements(lines, RESIDENCY_PREDICATE))
    latest: dict[str, str] = {}
    first: dict[str, int] = {}
    by_run: dict[str, list[LoggedStatement]] = defaultdict(list)
    for record in residency:
        by_run[record.predicate["run"]["runId"]].append(record)
        for subject in record.statement["subject"]:
            latest[subject["name"]] = subject["digest"]["sha256"]
            first.setdefault(subject["name"], record.index)
    ctx = _Context(Path(store_root), lines, policy, namespace, producer or producer_uri(),
                   _store_uri(Path(store_root), residency), {r.index: r for r in residency},
                   latest, first)
    records = sorted([*logged_statements(lines, PROVENANCE_PREDICATE),
                      *logged_statements(lines, VSA_PREDICATE)], key=lambda r: r.index)
    events: list[RunEvent] = []
    for record in records:
        if record.statement["predicateType"] == PROVENANCE_PREDICATE:
            run_id = record.predicate["runDetails"]["metadata"]["invocationId"]
            events += _onboard_events(ctx, record, by_run.get(run_id, []))
        else:
            events += _release_events(ctx, record)
    return events


def _store_uri(store_root: Path, residency: list[LoggedStatement]) -> str:
    """The store's URI as the records name it (a subject's uri minus its store path)."""
    for record in residency:
        for subject in record.statement["subject"]:
            uri, name = subject.get("uri"), subject["name"]
            if uri and uri.endswith("/" + name):
                return uri[: -len(name) - 1]
    return store_root.resolve().as_uri()


def dataset_identity(uri: str, corpus_id: str) -> tuple[str, str]:
    """(namespace, name) of a file by OpenLineage's naming conventions; a URI relative to the
    manifest's corpus root is named within its corpus."""
    parts = urlsplit(uri)
    if parts.scheme == "gs" and parts.netloc:
        naming: Any = GCS(bucket_name=parts.netloc, object_key=parts.path.lstrip("/") or "/")
    elif parts.scheme == "s3" and parts.netloc:
        naming = S3(bucket_name=parts.netloc, object_key=parts.path.lstrip("/") or "/")
    elif parts.scheme == "file":
        naming = LocalFileSystem(path=unquote(parts.path) or "/")
    elif parts.scheme:
        return f"{parts.scheme}://{parts.netloc}", unquote(parts.path) or "/"
    else:
        return f"kura-corpus://{corpus_id}", uri
    return naming.get_namespace(), naming.get_name()


def _datasource(ctx: _Context, namespace: str) -> datasource_dataset.DatasourceDatasetFacet:
    uri = namespace if "://" in namespace else f"{namespace}:///"
    return datasource_dataset.DatasourceDatasetFacet(name=namespace, uri=uri,
                                                     producer=ctx.producer)


def _location(claim: dict[str, Any] | None) -> Location | None:
    if not isinstance(claim, dict):
        return None
    return Location(provider=claim["provider"], country=claim["country"], region=claim["region"],
                    claimSource=claim.get("claimSource"), uri=claim.get("uri"))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _run_uuid(instant: str, key: str) -> str:
    return str(generate_static_uuid(_time(instant), key.encode("utf-8")))


def _job(ctx: _Context, name: str, kind: str, description: str) -> Job:
    return Job(namespace=ctx.namespace, name=name, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration=INTEGRATION,
                                                jobType=kind, producer=ctx.producer),
        "documentation": documentation_job.DocumentationJobFacet(
            description=description, contentType="text/plain", producer=ctx.producer),
    })


def _engine(ctx: _Context, version: str) -> processing_engine_run.ProcessingEngineRunFacet:
    return processing_engine_run.ProcessingEngineRunFacet(
        version=version, name="Kura", openlineageAdapterVersion=metadata.version(
            "openlineage-python"), producer=ctx.producer)


# --- a curation run ----------------------------------------------------------------------------


def _sources(record: LoggedStatement) -> list[dict[str, Any]]:
    """The run's source files: its resolved dependencies that carry a location (not Kura)."""
    deps = record.predicate["buildDefinition"]["resolvedDependencies"]
    return [d for d in deps if isinstance((d.get("annotations") or {}).get("location"), dict)]


def _input(ctx: _Context, dep: dict[str, Any], corpus_id: str) -> InputDataset:
    notes = dep.get("annotations") or {}
    sha = (dep.get("digest") or {}).get("sha256")
    namespace, name = dataset_identity(dep["uri"], corpus_id)
    facets: dict[str, Any] = {"dataSource": _datasource(ctx, namespace)}
    if sha:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=sha, producer=ctx.producer)
    return InputDataset(namespace=namespace, name=name, facets=facets, inputFacets={
        "inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
            rowCount=notes.get("records"), size=notes.get("bytes"), fileCount=1,
            producer=ctx.producer),
        "kura_source": KuraSourceInputDatasetFacet(
            uri=dep["uri"], sha256=sha, bytes=notes.get("bytes"), records=notes.get("records"),
            encoding=notes.get("encoding"), status=notes.get("status"),
            location=_location(notes.get("location")), producer=ctx.producer),
    })


def schema_fields(schema: pa.Schema) -> list[schema_dataset.SchemaDatasetFacetFields]:
    """A Parquet/Arrow schema as OpenLineage schema fields (structs and lists nested)."""

    def field(f: pa.Field, position: int | None) -> schema_dataset.SchemaDatasetFacetFields:
        children: list[pa.Field] = []
        if pa.types.is_struct(f.type):
            children = [f.type.field(i) for i in range(f.type.num_fields)]
        elif pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            children = [pa.field("_element", f.type.value_type)]
        return schema_dataset.SchemaDatasetFacetFields(
            name=f.name, type=str(f.type), ordinal_position=position,
            fields=[field(c, None) for c in children] or None)

    return [field(f, i + 1) for i, f in enumerate(schema)]


def _shard_schema(
    ctx: _Context, name: str, sha256: str
) -> schema_dataset.SchemaDatasetFacet | None:
    """The columns of a shard whose current bytes are the ones this record attests (verify
    checked the latest claim of every path against the disk); an older run's rewritten shard
    gets none rather than someone else's columns."""
    if ctx.latest_digest.get(name) != sha256:
        return None
    try:
        schema = pq.read_schema(ctx.store_root / name)
    except (OSError, pa.ArrowException):
        return None
    return schema_dataset.SchemaDatasetFacet(fields=schema_fields(schema), producer=ctx.producer)


def _output(ctx: _Context, record: LoggedStatement) -> list[OutputDataset]:
    predicate = record.predicate
    outputs = []
    for subject in record.statement["subject"]:
        name, sha = subject["name"], subject["digest"]["sha256"]
        namespace, ds_name = dataset_identity(subject.get("uri") or f"{ctx.store_uri}/{name}", "")
        change = (lifecycle_state_change_dataset.LifecycleStateChange.OVERWRITE
                  if ctx.first_claim.get(name, record.index) < record.index
                  else lifecycle_state_change_dataset.LifecycleStateChange.CREATE)
        facets: dict[str, Any] = {
            "dataSource": _datasource(ctx, namespace),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=sha, producer=ctx.producer),
            "lifecycleStateChange": lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                lifecycleStateChange=change, producer=ctx.producer),
        }
        schema = _shard_schema(ctx, name, sha)
        if schema is not None:
            facets["schema"] = schema
        counts = predicate["counts"]
        statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=counts["rows"], size=counts["bytes"], fileCount=1, producer=ctx.producer)
        shard = KuraShardOutputDatasetFacet(
            name=name, sha256=sha, rows=counts["rows"], bytes=counts["bytes"],
            logIndex=record.index, envelopeSha256=ctx.envelope_sha256(record.index),
            validationPassed=predicate.get("validationPassed"),
            validationDigest=predicate.get("validationDigest"), producer=ctx.producer)
        outputs.append(OutputDataset(namespace=namespace, name=ds_name, facets=facets,
                                     outputFacets={"outputStatistics": statistics,
                                                   "kura_shard": shard}))
    return outputs


def _site(ctx: _Context, site_id: str, shards: list[LoggedStatement]) -> Site:
    """The site claim of the run's shard records; without any, the policy's entry for it (its
    region only when the policy lists exactly one)."""
    if shards:
        claim = shards[0].predicate["site"]
        return Site(siteId=claim["siteId"], country=claim["country"],
                    provider=claim["provider"], region=claim["region"])
    entry = next((s for s in (ctx.policy.sites if ctx.policy else []) if s.site_id == site_id),
                 None)
    if entry is None:
        return Site(siteId=site_id)
    return Site(siteId=site_id, country=entry.country, provider=entry.provider,
                region=entry.regions[0] if len(entry.regions) == 1 else None)


def _distinct(locations: Iterable[Location | None]) -> list[Location]:
    found: list[Location] = []
    for location in locations:
        if location is not None and location not in found:
            found.append(location)
    return found


def _residency(
    ctx: _Context, record: LoggedStatement, shards: list[LoggedStatement]
) -> KuraResidencyRunFacet:
    internal = record.predicate["buildDefinition"]["internalParameters"]
    processing = _distinct(_location(claim) for shard in shards
                           for claim in shard.predicate["processingLocations"])
    return KuraResidencyRunFacet(
        site=_site(ctx, internal.get("siteId", "?"), shards),
        logIndex=record.index,
        envelopeSha256=ctx.envelope_sha256(record.index),
        inputLocations=_distinct(_location(d["annotations"]["location"])
                                 for d in _sources(record)),
        processingLocations=processing,
        outputLocation=_location(shards[0].predicate["outputLocation"]) if shards else None,
        attestations=[
            Attestation(name=s["name"], sha256=s["digest"]["sha256"], logIndex=shard.index,
                        envelopeSha256=ctx.envelope_sha256(shard.index))
            for shard in shards for s in shard.statement["subject"]],
        policyDigest=internal.get("policyDigest"),
        producer=ctx.producer,
    )


def failure_reason(record: LoggedStatement, shards: list[LoggedStatement]) -> str | None:
    """Why a run certified nothing (its FAIL), or None: it certified a shard, or everything it
    read was already in the store or rejected alongside duplicates of it."""
    if any(s.predicate.get("validationPassed") is True for s in shards):
        return None
    if shards:
        failed = sum(1 for s in shards if s.predicate.get("validationPassed") is False)
        return (f"no shard was certified: {failed} of {len(shards)} shard(s) failed their suite "
                "and were quarantined" if failed else
                f"no shard was certified: {len(shards)} shard(s) were never validated")
    counts = next((b.get("annotations") or {} for b in record.predicate["runDetails"].get(
        "byproducts", []) if b.get("name") == CONSERVATION_BYPRODUCT), {})
    read = int(counts.get("read", 0))
    duplicates = sum(int(v) for v in (counts.get("duplicates") or {}).values())
    if duplicates:
        return None  # nothing new: the store already held what it read
    if read == 0:
        return "no record was read: every source was empty, unreadable or binary"
    return f"no document was written: all {read} records read were rejected"


def _onboard_events(
    ctx: _Context, record: LoggedStatement, shards: list[LoggedStatement]
) -> list[RunEvent]:
    build = record.predicate["buildDefinition"]
    metadata_ = record.predicate["runDetails"]["metadata"]
    corpus = build["externalParameters"]["corpusId"]
    member = build["externalParameters"].get("member", "?")
    run_id = metadata_["invocationId"]
    job = _job(ctx, f"{ONBOARD_JOB}{corpus}", "ONBOARD",
               f"Kura curation of corpus {corpus} (member {member}) into certified Parquet "
               f"shards; run {run_id} is at log index {record.index}.")
    uuid = _run_uuid(metadata_["startedOn"], f"kura-run:{run_id}")
    engine = _engine(ctx, build["internalParameters"].get("kuraVersion", "unknown"))
    inputs = [_input(ctx, dep, corpus) for dep in _sources(record)]
    run_facets: dict[str, Any] = {"processing_engine": engine,
                                  "kura_residency": _residency(ctx, record, shards)}
    reason = failure_reason(record, shards)
    if reason is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=f"run {run_id}: {reason}", programmingLanguage="python",
            producer=ctx.producer)
    start = RunEvent(eventType=RunState.START, eventTime=metadata_["startedOn"],
                     run=Run(runId=uuid, facets={"processing_engine": engine}), job=job,
                     inputs=inputs, outputs=[], producer=ctx.producer)
    end = RunEvent(eventType=RunState.COMPLETE if reason is None else RunState.FAIL,
                   eventTime=metadata_["finishedOn"], run=Run(runId=uuid, facets=run_facets),
                   job=job, inputs=inputs,
                   outputs=[o for shard in shards for o in _output(ctx, shard)],
                   producer=ctx.producer)
    return [start, end]


# --- a release certification -------------------------------------------------------------------


def _certified_shards(ctx: _Context, record: LoggedStatement) -> list[tuple[dict, LoggedStatement
                                                                               | None]]:
    """Each subject of a certification with the residency record it cites (by log index)."""
    cited: dict[str, LoggedStatement] = {}
    for attestation in record.predicate.get("inputAttestations") or []:
        index = str(attestation.get("uri", "")).removeprefix("kura:log/")
        residency = ctx.residency_by_index.get(int(index)) if index.isdigit() else None
        if residency is not None:
            for subject in residency.statement["subject"]:
                cited[subject["name"]] = residency
    return [(s, cited.get(s["name"])) for s in record.statement["subject"]]


def _release_events(ctx: _Context, record: LoggedStatement) -> list[RunEvent]:
    predicate = record.predicate
    release = predicate["resourceUri"].removeprefix(RELEASE_URI_PREFIX)
    certifier = predicate["verifier"]["id"].removeprefix(CERTIFIER_URI_PREFIX)
    when = predicate["timeVerified"]
    shards = _certified_shards(ctx, record)
    corpora = sorted({r.predicate["run"]["job"].split(":", 1)[-1] for _, r in shards if r})
    job = _job(ctx, f"{RELEASE_JOB}{release}", "RELEASE",
               f"Kura release {release}: {len(shards)} certified shard(s) of "
               f"{', '.join(corpora) or 'no corpus'}, signed by {certifier} at log index "
               f"{record.index}.")
    inputs = []
    for subject, residency in shards:
        uri = next((s.get("uri") for s in (residency.statement["subject"] if residency else [])
                    if s["name"] == subject["name"]), None)
        namespace, name = dataset_identity(uri or f"{ctx.store_uri}/{subject['name']}", "")
        inputs.append(InputDataset(namespace=namespace, name=name, facets={
            "dataSource": _datasource(ctx, namespace),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=subject["digest"]["sha256"], producer=ctx.producer),
        }))
    namespace, name = dataset_identity(f"{ctx.store_uri}/releases/{release}.json", "")
    output = OutputDataset(namespace=namespace, name=name,
                           facets={"dataSource": _datasource(ctx, namespace)})
    policy_digest = ((predicate.get("policy") or {}).get("digest") or {}).get("sha256")
    facet = KuraCertificationRunFacet(
        release=release, certifierId=certifier,
        verificationResult=predicate["verificationResult"],
        logIndex=record.index, envelopeSha256=ctx.envelope_sha256(record.index),
        verifiedLevels=list(predicate.get("verifiedLevels") or []),
        policyDigest=f"sha256:{policy_digest}" if policy_digest else None,
        shards=[Attestation(name=s["name"], sha256=s["digest"]["sha256"], logIndex=r.index,
                            envelopeSha256=ctx.envelope_sha256(r.index))
                for s, r in shards if r is not None],
        producer=ctx.producer)
    engine = _engine(ctx, (predicate["verifier"].get("version") or {}).get("kura", "unknown"))
    uuid = _run_uuid(when, f"kura-release:{release}")
    passed = predicate["verificationResult"] == "PASSED"
    return [
        RunEvent(eventType=RunState.START, eventTime=when, job=job, inputs=inputs, outputs=[],
                 run=Run(runId=uuid, facets={"processing_engine": engine}),
                 producer=ctx.producer),
        RunEvent(eventType=RunState.COMPLETE if passed else RunState.FAIL, eventTime=when,
                 job=job, inputs=inputs, outputs=[output] if passed else [],
                 run=Run(runId=uuid, facets={"processing_engine": engine,
                                             "kura_certification": facet}),
                 producer=ctx.producer),
    ]

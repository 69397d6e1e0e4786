"""Building the statements of a run (pure: values in, in-toto Statement dicts out).

(A) `residency_statement`: one per shard, subject = the shard; (B) `provenance_statement`: one
per run, SLSA Provenance v1, subjects = every file the run wrote. Both cite the policy version
they were made under and carry `signedAt`; `signed_at_of` finds it again in any record type.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.code import CodeIdentity
from schemas.manifest import Location
from schemas.policy import AllowedLocation, TrustPolicy
from schemas.predicates import (
    CONSERVATION_BYPRODUCT,
    COUNTS_MEDIA_TYPE,
    CURATE_BUILD_TYPE,
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    STATEMENT_TYPE,
    VSA_PREDICATE,
    BuildDefinition,
    Builder,
    BuildMetadata,
    ClaimedLocation,
    InputClaim,
    ProvenancePredicate,
    ResidencyPredicate,
    ResourceDescriptor,
    RunClaim,
    RunDetails,
    ShardCounts,
    SiteClaim,
    Statement,
    StepClaim,
    Subject,
)
from schemas.run import InputFile, RunSummary, StoredFile

DATAFLOW_RUNNERS = ("dataflow", "dataflowrunner")
# "in-process": a run that Kura did in the signing process itself, without Beam (a withdrawal's
# rewrite of shards): on this machine, as the DirectRunner's.
DIRECT_RUNNERS = ("direct", "directrunner", "in-process")
SITE_RUNNERS = (*DIRECT_RUNNERS, "portable", "portablerunner", "flink", "flinkrunner")
EMBEDDED_FLINK = ("[auto]", "[local]")  # Beam's Flink started on the launching machine


@dataclass(frozen=True)
class SigningFacts:
    """What the signing site knows about itself at signing time."""

    site: SiteClaim
    policy: TrustPolicy
    policy_digest: str
    code: CodeIdentity
    signed_at: str
    store_uri: str  # the store root as a URI, prefix of every subject's uri


def bare_sha256(digest: str) -> str:
    """'sha256:ab..' or 'ab..' to 'ab..' (run summaries may carry either)."""
    return digest.removeprefix("sha256:")


def claimed(location: Location, source: str) -> ClaimedLocation:
    return ClaimedLocation(
        provider=location.provider,
        country=location.country,
        region=location.region,
        claim_source=source,
    )


def endpoint_host(address: str) -> str:
    """The host of a runner address: `host:port`, `[::1]:port` or `scheme://host:port/...`."""
    netloc = address.split("://", 1)[1] if "://" in address else address
    netloc = netloc.split("/", 1)[0].rsplit("@", 1)[-1]
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0].lower()
    if netloc.count(":") > 1:  # a bare IPv6 address without a port
        return netloc.lower()
    return netloc.split(":", 1)[0].lower()


def on_this_machine(address: str) -> bool:
    """True when a runner address is a loopback address: the job runs on the launching
    machine, so at the site whose key signs the run. No name is looked up."""
    if address in ("embed", *EMBEDDED_FLINK):
        return True
    host = endpoint_host(address)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _site_claim(facts: SigningFacts) -> ClaimedLocation:
    site = facts.site
    return ClaimedLocation(
        provider=site.provider, country=site.country, region=site.region, claim_source="policy"
    )


def _gcp_region_claim(region: str, policy: TrustPolicy) -> ClaimedLocation:
    country = next(
        (a.country for a in policy.allowed_locations
         if a.provider == "gcp" and a.region == region),
        "unknown",  # a region the policy does not know: verify will refuse the claim
    )
    return ClaimedLocation(provider="gcp", country=country, region=region,
                           claim_source="runner-option")


def zone_region(zone: str) -> str:
    """`asia-northeast1-b` -> `asia-northeast1` (a GCP zone is its region plus a letter)."""
    return zone.rsplit("-", 1)[0] if zone.count("-") >= 2 else zone


def _unplaced(what: str) -> ClaimedLocation:
    """A place the signer cannot vouch for: claimed as unknown, so verify refuses it."""
    return ClaimedLocation(provider="unknown", country="unknown", region=what,
                           claim_source="runner-option")


# Schemes of named locations that are places where work runs (a cluster, a job service), not
# where bytes are stored: `kura keys allow-location flink://osaka-cluster ...`.
CLUSTER_SCHEMES = ("flink", "grpc", "beam", "http", "https")


def declared_cluster(policy: TrustPolicy, address: str) -> AllowedLocation | None:
    """The policy's named cluster whose host is the host of runner `address`, if any."""
    host = endpoint_host(address)
    for allowed in policy.allowed_locations:
        uri = allowed.uri or ""
        scheme = uri.split("://", 1)[0]
        if scheme in CLUSTER_SCHEMES and endpoint_host(uri) == host:
            return allowed
    return None


def processing_locations(summary: RunSummary, facts: SigningFacts) -> list[ClaimedLocation]:
    """Where the run's work ran, from the launch placement the residency guard checked
    (`parameters.launch`, written from the launch configuration), never from a default:

    - Dataflow: its `region` (the job) and where its workers ran (`worker_region`, or the
      region of `worker_zone` / `zone`), each as a gcp location of the policy.
    - Direct, portable and Flink runners: the signing site, when the job endpoint, Flink master
      and worker pool are on the launching machine; an address on a cluster the signed policy
      names is claimed at that cluster's location; any other address is claimed as unknown.
    """
    launch = summary.parameters.get("launch")
    launch = launch if isinstance(launch, Mapping) else {}
    runner = summary.runner.lower()
    if runner in DATAFLOW_RUNNERS:
        regions = [launch.get("region"), launch.get("workerRegion"),
                   *(zone_region(z) for z in (launch.get("workerZone"), launch.get("zone")) if z)]
        named = list(dict.fromkeys(r for r in regions if isinstance(r, str) and r))
        if not named:
            return [_unplaced("dataflow region not recorded")]
        return [_gcp_region_claim(region, facts.policy) for region in named]
    if runner in SITE_RUNNERS:
        addresses = [launch.get(key) for key in ("jobEndpoint", "flinkMaster", "workerPool")]
        elsewhere = [a for a in addresses if isinstance(a, str) and not on_this_machine(a)]
        if runner not in DIRECT_RUNNERS and not launch:
            return [_unplaced(f"{summary.runner} endpoint not recorded")]
        claims = []
        for address in elsewhere:
            cluster = declared_cluster(facts.policy, address)
            claims.append(ClaimedLocation(provider=cluster.provider, country=cluster.country,
                                          region=cluster.region, claim_source="policy",
                                          uri=cluster.uri)
                          if cluster else _unplaced(f"endpoint {endpoint_host(address)}"))
        return claims or [_site_claim(facts)]
    return [_unplaced(f"runner {summary.runner}")]


def _steps(parameters: Mapping[str, Any]) -> list[StepClaim]:
    """`parameters["steps"]` = {name: {"version": v, "parameters": {...}}}, if the run gave it."""
    steps = parameters.get("steps")
    if not isinstance(steps, Mapping):
        return []
    return [
        StepClaim(
            name=str(name),
            version=str(spec.get("version", "")) if isinstance(spec, Mapping) else str(spec),
            parameters=dict(spec.get("parameters", {})) if isinstance(spec, Mapping) else {},
        )
        for name, spec in sorted(steps.items())
    ]


def _subject(stored: StoredFile, sha256: str, facts: SigningFacts) -> Subject:
    return Subject(
        name=stored.path,
        uri=f"{facts.store_uri.rstrip('/')}/{stored.path}",
        digest={"sha256": sha256},
    )


def residency_statement(
    summary: RunSummary,
    shard: StoredFile,
    shard_sha256: str,
    facts: SigningFacts,
    validation_digest: str | None = None,
    input_attestations: Mapping[str, str] | None = None,
    validation_passed: bool | None = None,
) -> dict[str, Any]:
    """(A) for one shard. `input_attestations` maps an input's sha256 to the digest of the
    envelope that attests it (when the input is itself a Kura shard). `validation_digest` and
    `validation_passed` are the shard suite's result digest and verdict, when it was validated."""
    attested = input_attestations or {}
    inputs = [
        InputClaim(
            uri=item.uri,
            sha256=bare_sha256(item.sha256) if item.sha256 else None,
            location=claimed(item.location, "manifest"),
            attestation_digest=attested.get(bare_sha256(item.sha256)) if item.sha256 else None,
        )
        for item in summary.inputs
        # A shard names the inputs its documents came from, when the run says which they are.
        if shard.sources is None or item.sha256 in shard.sources
    ]
    predicate = ResidencyPredicate(
        site=facts.site,
        run=RunClaim(
            run_id=summary.run_id,
            runner=summary.runner,
            job=f"kura-curate:{summary.corpus_id}",
            code_version=facts.code.version,
            code_digest=facts.code.digest,
        ),
        inputs=inputs,
        processing_locations=processing_locations(summary, facts),
        output_location=claimed(summary.output_location, "store"),
        steps=_steps(summary.parameters),
        parameters={k: v for k, v in summary.parameters.items() if k != "steps"},
        counts=ShardCounts(rows=shard.rows, bytes=shard.bytes),
        validation_digest=validation_digest,
        validation_passed=validation_passed,
        policy_digest=facts.policy_digest,
        signed_at=facts.signed_at,
    )
    statement = Statement(
        subject=[_subject(shard, shard_sha256, facts)],
        predicate_type=RESIDENCY_PREDICATE,
        predicate=predicate.to_json_dict(),
    )
    return statement.to_json_dict()


def _input_annotations(item: InputFile) -> dict[str, Any]:
    """What a run signs about each input; the keys added since (mtimeNs, settingsSha256) only
    when known, so the records of earlier runs read the same."""
    notes: dict[str, Any] = {
        "location": claimed(item.location, "manifest").to_json_dict(),
        "bytes": item.bytes,
        "records": item.records,
        "encoding": item.encoding,
        "status": item.status,
    }
    if item.mtime_ns is not None:
        notes["mtimeNs"] = item.mtime_ns
    if item.settings_sha256 is not None:
        notes["settingsSha256"] = item.settings_sha256
    return notes


def _external_parameters(summary: RunSummary) -> dict[str, Any]:
    """The run's parameters; `mode`, `replaces` and `withdrawal` only for a run that is not
    "full" (lineage/corpus_state.py folds them), so a full run's record is as it always was."""
    external: dict[str, Any] = {
        "corpusId": summary.corpus_id,
        "member": summary.member,
        "manifestSha256": bare_sha256(summary.manifest_sha256),
        "runner": summary.runner,
        "workers": summary.workers,
        "parameters": summary.parameters,
    }
    if summary.mode != "full":
        external["mode"] = summary.mode
        external["replaces"] = list(summary.replaces)
        external["withdrawal"] = summary.withdrawal
    return external


def provenance_statement(
    summary: RunSummary, output_sha256: Mapping[str, str], facts: SigningFacts
) -> dict[str, Any]:
    """(B) for the run. `output_sha256` maps each written file's store path to its re-hashed
    digest; every shard, reject and duplicate file becomes a subject, and so does any other file
    in it (the run summary: a run with no output still has a subject, and its summary is signed)."""
    outputs = [*summary.shards, *summary.rejects, *summary.duplicates]
    listed = {f.path for f in outputs}
    outputs += [StoredFile(path=path, sha256=sha, rows=0, bytes=0)
                for path, sha in sorted(output_sha256.items()) if path not in listed]
    dependencies = [
        ResourceDescriptor(
            uri=item.uri,
            digest={"sha256": bare_sha256(item.sha256)} if item.sha256 else None,
            annotations=_input_annotations(item),
        )
        for item in summary.inputs
    ]
    dependencies.append(
        ResourceDescriptor(
            name="kura",
            uri=f"pkg:pypi/kura@{facts.code.version}",
            digest={"sha256": bare_sha256(facts.code.digest)},
        )
    )
    counts = summary.counts
    predicate = ProvenancePredicate(
        build_definition=BuildDefinition(
            build_type=CURATE_BUILD_TYPE,
            external_parameters=_external_parameters(summary),
            internal_parameters={
                "siteId": facts.site.site_id,
                "signedAt": facts.signed_at,
                "policyDigest": facts.policy_digest,
                "kuraVersion": facts.code.version,
                "codeDigest": facts.code.digest,
                "runSummaryVersion": summary.version,
            },
            resolved_dependencies=dependencies,
        ),
        run_details=RunDetails(
            builder=Builder(
                id=f"https://kura.dev/builders/{facts.site.site_id}/{summary.runner}",
                version={"kura": facts.code.version},
            ),
            metadata=BuildMetadata(
                invocation_id=summary.run_id,
                started_on=summary.started_at,
                finished_on=summary.finished_at,
            ),
            byproducts=[
                ResourceDescriptor(
                    name=CONSERVATION_BYPRODUCT,
                    media_type=COUNTS_MEDIA_TYPE,
                    annotations={
                        "read": counts.read,
                        "written": counts.written,
                        "rejected": dict(counts.rejected),
                        "duplicates": dict(counts.duplicates),
                        # only a rewrite withdraws: earlier records read as they always did
                        **({"withdrawn": dict(counts.withdrawn)} if counts.withdrawn else {}),
                    },
                ),
                ResourceDescriptor(name="pii-entities", annotations=dict(summary.pii)),
            ],
        ),
    )
    statement = Statement(
        subject=[_subject(f, output_sha256[f.path], facts) for f in outputs],
        predicate_type=PROVENANCE_PREDICATE,
        predicate=predicate.to_json_dict(),
    )
    return statement.to_json_dict()


def signed_at_of(statement: Mapping[str, Any]) -> str | None:
    """Where each record type keeps its signing time (None if the type is unknown)."""
    predicate = statement.get("predicate") or {}
    kind = statement.get("predicateType")
    if kind == RESIDENCY_PREDICATE:
        return predicate.get("signedAt")
    if kind == PROVENANCE_PREDICATE:
        return (predicate.get("buildDefinition") or {}).get("internalParameters", {}).get(
            "signedAt"
        )
    if kind == VSA_PREDICATE:
        return predicate.get("timeVerified")
    return None


def is_statement(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_type") == STATEMENT_TYPE

"""Building the statements of a run (pure: values in, in-toto Statement dicts out).

(A) `residency_statement`: one per shard, subject = the shard; (B) `provenance_statement`: one
per run, SLSA Provenance v1, subjects = every file the run wrote. Both cite the policy version
they were made under and carry `signedAt`; `signed_at_of` finds it again in any record type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.code import CodeIdentity
from schemas.manifest import Location
from schemas.policy import TrustPolicy
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
from schemas.run import RunSummary, StoredFile

DATAFLOW_RUNNERS = ("dataflow", "dataflowrunner")


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


def processing_locations(summary: RunSummary, facts: SigningFacts) -> list[ClaimedLocation]:
    """Where the run's workers ran: the Dataflow --region, or else the signing site itself."""
    region = summary.parameters.get("region")
    if summary.runner.lower() in DATAFLOW_RUNNERS and isinstance(region, str):
        country = next(
            (a.country for a in facts.policy.allowed_locations
             if a.provider == "gcp" and a.region == region),
            "unknown",  # a region the policy does not know: verify will refuse the claim
        )
        return [
            ClaimedLocation(
                provider="gcp", country=country, region=region, claim_source="runner-option"
            )
        ]
    site = facts.site
    return [
        ClaimedLocation(
            provider=site.provider, country=site.country, region=site.region, claim_source="policy"
        )
    ]


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
            annotations={
                "location": claimed(item.location, "manifest").to_json_dict(),
                "bytes": item.bytes,
                "records": item.records,
                "encoding": item.encoding,
                "status": item.status,
            },
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
            external_parameters={
                "corpusId": summary.corpus_id,
                "member": summary.member,
                "manifestSha256": bare_sha256(summary.manifest_sha256),
                "runner": summary.runner,
                "workers": summary.workers,
                "parameters": summary.parameters,
            },
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

"""Lineage record shapes: in-toto Statement v1 and the predicates Kura signs.

Every type URI is defined here once. Field names follow the in-toto / SLSA JSON spelling
(camelCase); the Python attributes are snake_case with camelCase aliases, and `to_json_dict`
dumps by alias. Claims are honest about their origin: every location object names who claims it
(`claimSource`): the steward's manifest, the trust policy, a runner option, the store.

    (A) residency attestation, one per shard, signed by the site key   RESIDENCY_PREDICATE
    (B) run provenance (SLSA Provenance v1 shape), one per run          PROVENANCE_PREDICATE
    (C) certification (SLSA VSA v1 shape), signed by a certifier key    VSA_PREDICATE
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"

RESIDENCY_PREDICATE = "https://kura.dev/attestation/residency/v1"
PROVENANCE_PREDICATE = "https://slsa.dev/provenance/v1"
VSA_PREDICATE = "https://slsa.dev/verification_summary/v1"
# A file whose bytes `kura gc` removed, signed by the site key (lineage/tombstone.py).
TOMBSTONE_PREDICATE = "https://kura.dev/tombstone/v1"
# A withdrawal: documents that no later release may hold, signed by a certifier key
# (lineage/withdraw.py).
WITHDRAWAL_PREDICATE = "https://kura.dev/withdrawal/v1"

# The build type of a Kura curation run inside a SLSA provenance.
CURATE_BUILD_TYPE = "https://kura.dev/buildtypes/curate/v1"
# The verified levels a certification (C) grants (custom VSA levels: SLSA's own levels are about
# builds, which Kura does not claim). Every shard of a release holds both:
#   JP_RESIDENCY_LEVEL  its residency attestation verified: a site key of the policy signed it,
#                       and every location it claims is allowed (Japan only)
#   SHARD_SUITE_LEVEL   its great-expectations shard suite passed (validationPassed true)
JP_RESIDENCY_LEVEL = "KURA_RESIDENCY_JP_1"
SHARD_SUITE_LEVEL = "KURA_SHARD_SUITE_1"
# The SLSA version the VSA's shape follows.
VSA_SLSA_VERSION = "1.0"
# A certification's `resourceUri` is RELEASE_URI_PREFIX + the release name, and its
# `verifier.id` is CERTIFIER_URI_PREFIX + the certifier id of the policy whose key signed it.
RELEASE_URI_PREFIX = "kura:release/"
CERTIFIER_URI_PREFIX = "https://kura.dev/certifiers/"
# Release names: lower-case, usable as a file name, never hidden (spec: [a-z0-9._-]+).
RELEASE_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"

# Non-statement payloads signed with DSSE: the trust policy and the log checkpoints. They are
# "record types" like the predicates above, so the policy's role table names them too.
POLICY_PAYLOAD_TYPE = "application/vnd.kura.policy+json"
CHECKPOINT_PAYLOAD_TYPE = "application/vnd.kura.checkpoint+json"

# Where a location claim comes from.
ClaimSource = Literal["manifest", "policy", "runner-option", "store", "declared"]


class CamelModel(BaseModel):
    """The base of every serialized shape under schemas/: frozen, no unknown fields, snake_case
    attributes with camelCase aliases, dumped by alias without the fields left unset (None)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


_Model = CamelModel  # the name the predicate models below were written against


class ClaimedLocation(_Model):
    provider: str
    country: str
    region: str
    claim_source: ClaimSource
    uri: str | None = Field(None, description="the named bucket or cluster, when the policy "
                            "allows only that one in its region")


class SiteClaim(_Model):
    site_id: str
    country: str
    provider: str
    region: str


class RunClaim(_Model):
    run_id: str
    runner: str
    job: str
    code_version: str
    code_digest: str


class InputClaim(_Model):
    uri: str
    sha256: str | None
    location: ClaimedLocation
    attestation_digest: str | None = Field(
        None, description="sha256 of the envelope that attests this input, when it is a shard"
    )


class StepClaim(_Model):
    name: str
    version: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class ShardCounts(_Model):
    rows: int
    bytes: int


class ResidencyPredicate(_Model):
    """(A): where one shard's bytes came from and where they were processed and stored."""

    site: SiteClaim
    run: RunClaim
    inputs: list[InputClaim]
    processing_locations: list[ClaimedLocation]
    output_location: ClaimedLocation
    steps: list[StepClaim] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    counts: ShardCounts
    # The shard's great-expectations suite result: the digest of its canonical JSON, and whether
    # the suite passed. Only a shard attested with `validationPassed: true` can be certified; a
    # failed shard is attested too (it was written and moved to quarantine/), with false.
    # Absent when the run did not validate the shard.
    validation_digest: str | None = None
    validation_passed: bool | None = None
    policy_digest: str
    signed_at: str


class ResourceDescriptor(_Model):
    """in-toto ResourceDescriptor v1 (the subset Kura writes)."""

    name: str | None = None
    uri: str | None = None
    digest: dict[str, str] | None = None
    media_type: str | None = None
    annotations: dict[str, Any] | None = None


class BuildDefinition(_Model):
    build_type: str
    external_parameters: dict[str, Any]
    internal_parameters: dict[str, Any]
    resolved_dependencies: list[ResourceDescriptor]


class Builder(_Model):
    id: str
    version: dict[str, str] = Field(default_factory=dict)


class BuildMetadata(_Model):
    invocation_id: str
    started_on: str
    finished_on: str


class RunDetails(_Model):
    builder: Builder
    metadata: BuildMetadata
    byproducts: list[ResourceDescriptor] = Field(default_factory=list)


class ProvenancePredicate(_Model):
    """(B): SLSA Provenance v1. Kura's `internalParameters` hold `siteId`, `signedAt`,
    `policyDigest`, `kuraVersion`, `codeDigest`; the byproduct named `CONSERVATION_BYPRODUCT`
    carries the conservation counts in its annotations (read, written, rejected, duplicates)."""

    build_definition: BuildDefinition
    run_details: RunDetails


CONSERVATION_BYPRODUCT = "conservation"
COUNTS_MEDIA_TYPE = "application/vnd.kura.counts+json"


class VsaVerifier(_Model):
    id: str
    version: dict[str, str] | None = None


class VsaPolicy(_Model):
    uri: str | None = None
    digest: dict[str, str] | None = None


Sensitivity = Literal["public", "internal", "confidential", "restricted"]
# Where a certified corpus's license and sensitivity were read: the metadata of its shards (whose
# sha256 the residency records sign), or, for shards written before they carried it, the store's
# copy of the corpus manifest (unsigned: the certifier says so).
FACTS_FROM_SHARDS = "shard-metadata"
FACTS_FROM_MANIFEST = "store-manifest"


class CertifiedCorpus(_Model):
    """One corpus of a release, as the certifier found it (Kura's extension of the VSA)."""

    corpus_id: str
    member: str = Field(description="the member that owns the corpus (its first run's "
                        "signed provenance)")
    license: str
    sensitivity: Sensitivity
    facts_from: Literal["shard-metadata", "store-manifest"]
    allow_restricted: bool | None = Field(
        None, description="true when a restricted corpus was released explicitly "
        "(`kura release create --allow-restricted CORPUS`)")


class VsaPredicate(_Model):
    """(C): SLSA Verification Summary v1, signed by a certifier key; one per release.

    Kura fills it as: subjects = every shard of the release (store-relative name, sha256);
    `verifier.id` = CERTIFIER_URI_PREFIX + certifier id; `resourceUri` = RELEASE_URI_PREFIX +
    release name; `policy` = the trust policy version in force ({"uri": "kura:policy/v<N>",
    "digest": {"sha256": ...}}); `inputAttestations` = the residency envelope of each shard
    (uri "kura:log/<index>", digest = sha256 of the envelope line); `verificationResult` PASSED;
    `verifiedLevels` = [JP_RESIDENCY_LEVEL, SHARD_SUITE_LEVEL]; `timeVerified` is its signedAt.
    `corpusFacts` (Kura's extension; in-toto consumers ignore fields they do not know) names
    each corpus of the release with its member, license and sensitivity; absent in releases
    certified before Kura recorded them.
    """

    verifier: VsaVerifier
    time_verified: str
    resource_uri: str
    policy: VsaPolicy
    input_attestations: list[ResourceDescriptor] = Field(default_factory=list)
    verification_result: Literal["PASSED", "FAILED"]
    verified_levels: list[str] = Field(default_factory=list)
    dependency_levels: dict[str, int] | None = None
    slsa_version: str | None = None
    corpus_facts: list[CertifiedCorpus] | None = None


TombstoneReason = Literal["superseded", "withdrawn", "replaced"]


class TombstonePredicate(_Model):
    """A tombstone: `kura gc` removed the bytes of its one subject (store-relative name, the
    sha256 last attested for it). `supersededBy` is the log index of the provenance record whose
    run took the file out of its corpus's current files (`reason` "superseded": a later full
    run; "withdrawn": a rewrite enacting the withdrawal record at log index `withdrawal`;
    "replaced": a rewrite without one); `supersededAt` is that record's signedAt, the start of
    the retention period. No verdict rests on the times: they are for people."""

    reason: TombstoneReason
    superseded_by: int = Field(ge=0)
    superseded_at: str
    withdrawal: int | None = Field(None, ge=0)
    retention_days: float = Field(ge=0)
    bytes: int = Field(ge=0)
    removed_at: str
    site_id: str
    policy_digest: str


WithdrawalKind = Literal["source", "all", "forget"]


class WithdrawnSource(_Model):
    uri: str
    sha256: str | None = None


class WithdrawalPredicate(_Model):
    """A withdrawal, signed by a certifier key: from its log index on, no release may hold the
    documents listed in the withdrawn-documents file (a subject, withdrawals/<corpus>/<id>.parquet:
    ids, sources and where each was, never text). The other subjects are the files that held
    them (name, sha256), which a rewrite run (provenance `withdrawal` = this log index) replaces.
    `kind`: "source" (given sources), "all" (every source of the corpus), "forget" (the documents
    that mention a person, found by `forgottenTokens`: sha256 hex of keyed pseudonym tokens).
    `reason` is recorded as the steward gave it."""

    corpus_id: str
    kind: WithdrawalKind
    reason: str
    sources: list[WithdrawnSource] = Field(default_factory=list)
    documents: int = Field(ge=0)
    documents_file: str = Field(description="the subject naming the withdrawn-documents file")
    forgotten_tokens: list[str] = Field(default_factory=list)
    withdrawn_at: str
    certifier_id: str


class Subject(_Model):
    name: str
    uri: str | None = None
    digest: dict[str, str]


class Statement(_Model):
    """in-toto Statement v1; `predicate` stays a plain dict here and is validated by type."""

    type: Literal["https://in-toto.io/Statement/v1"] = Field(STATEMENT_TYPE, alias="_type")
    subject: list[Subject] = Field(min_length=1)
    predicate_type: str
    predicate: dict[str, Any]


PREDICATE_MODELS: dict[str, type[_Model]] = {
    RESIDENCY_PREDICATE: ResidencyPredicate,
    PROVENANCE_PREDICATE: ProvenancePredicate,
    VSA_PREDICATE: VsaPredicate,
    TOMBSTONE_PREDICATE: TombstonePredicate,
    WITHDRAWAL_PREDICATE: WithdrawalPredicate,
}


def predicate_json_schemas() -> dict[str, dict]:
    return {uri: model.model_json_schema(by_alias=True) for uri, model in PREDICATE_MODELS.items()}

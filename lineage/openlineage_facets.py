"""Kura's custom OpenLineage facets, as typed classes of openlineage-python (attrs, like the
client's generated facets), serialized by the client's own Serde.

Each facet names its JSON Schema in `_schemaURL`: one `$defs` entry of
lineage/openlineage_schemas/KuraFacets.json, whose `$id` is KURA_FACETS_SCHEMA_ID. Field names
are camelCase, as in OpenLineage and in Kura's own records; they carry names, digests, counts
and location claims, never document text or values.

    kura_residency        run facet: where the run ran and where its inputs were (each distinct
                          claim once; every input's own is in its kura_source facet), as the
                          signed records claim, and the log index + envelope digest of the run's
                          provenance record
    kura_certification    run facet of a release job: the certification record (C)
    kura_source           input facet of a source file: its digest, size, encoding, location
    kura_shard            output facet of a shard: its digest, rows, suite verdict, attestation
"""

from __future__ import annotations

import attr
from openlineage.client.facet_v2 import InputDatasetFacet, OutputDatasetFacet, RunFacet
from openlineage.client.utils import RedactMixin

KURA_FACETS_SCHEMA_ID = "https://kura.dev/spec/openlineage/facets/1-0-0/KuraFacets.json"


def kura_schema_url(definition: str) -> str:
    return f"{KURA_FACETS_SCHEMA_ID}#/$defs/{definition}"


@attr.define
class Location(RedactMixin):
    """A location claim of a signed record: provider, country, region, and who claims it."""

    provider: str
    country: str
    region: str
    claimSource: str | None = attr.field(default=None)
    uri: str | None = attr.field(default=None)


@attr.define
class Site(RedactMixin):
    siteId: str
    country: str | None = attr.field(default=None)
    provider: str | None = attr.field(default=None)
    region: str | None = attr.field(default=None)


@attr.define
class Attestation(RedactMixin):
    """A record in the log: its 0-based log index and the sha256 of its envelope line."""

    name: str
    sha256: str
    logIndex: int
    envelopeSha256: str


@attr.define
class KuraResidencyRunFacet(RunFacet):
    site: Site
    logIndex: int
    envelopeSha256: str
    inputLocations: list[Location] = attr.field(factory=list)
    processingLocations: list[Location] = attr.field(factory=list)
    outputLocation: Location | None = attr.field(default=None)
    attestations: list[Attestation] = attr.field(factory=list)
    policyDigest: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return kura_schema_url("KuraResidencyRunFacet")


@attr.define
class KuraCertificationRunFacet(RunFacet):
    release: str
    certifierId: str
    verificationResult: str
    logIndex: int
    envelopeSha256: str
    verifiedLevels: list[str] = attr.field(factory=list)
    policyDigest: str | None = attr.field(default=None)
    shards: list[Attestation] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return kura_schema_url("KuraCertificationRunFacet")


@attr.define
class KuraSourceInputDatasetFacet(InputDatasetFacet):
    sha256: str | None
    uri: str
    bytes: int | None = attr.field(default=None)
    records: int | None = attr.field(default=None)
    encoding: str | None = attr.field(default=None)
    status: str | None = attr.field(default=None)
    location: Location | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return kura_schema_url("KuraSourceInputDatasetFacet")


@attr.define
class KuraShardOutputDatasetFacet(OutputDatasetFacet):
    name: str
    sha256: str
    rows: int
    bytes: int
    logIndex: int
    envelopeSha256: str
    validationPassed: bool | None = attr.field(default=None)
    validationDigest: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return kura_schema_url("KuraShardOutputDatasetFacet")

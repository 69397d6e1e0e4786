"""The trust policy: which locations are allowed, which keys exist, and what each key may sign.

The policy is a versioned JSON document signed (DSSE, payload type `POLICY_PAYLOAD_TYPE`) by the
root key that `kura keys init` creates; the root public key is the trust anchor an auditor pins.
Every change (rotation, revocation) writes a new version signed by the root key and keeps the
old ones, so a record's `policyDigest` always names a version that existed.

Key validity, for a record at log index `i` claiming `signedAt` t under key k:
    t >= k.validFrom
    and, if k was rotated out:  t < k.validUntil  and i < k.validUntilLogSize
    and, if k was revoked:      t < k.revoked.at  and i < k.revoked.logSize
`signedAt` is the signer's own claim, so a stolen key could backdate; the log position (fixed by
a checkpoint written when the key was retired) is what an attacker cannot backdate.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from schemas.predicates import (
    CHECKPOINT_PAYLOAD_TYPE,
    POLICY_PAYLOAD_TYPE,
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    VSA_PREDICATE,
)

POLICY_VERSION_FORMAT = "1"

Role = Literal["root", "site", "certifier"]

# What each role may sign: predicate types for statements, payload types for the rest.
DEFAULT_ROLE_PERMISSIONS: dict[str, list[str]] = {
    "root": [POLICY_PAYLOAD_TYPE, CHECKPOINT_PAYLOAD_TYPE],
    "site": [RESIDENCY_PREDICATE, PROVENANCE_PREDICATE, CHECKPOINT_PAYLOAD_TYPE],
    "certifier": [VSA_PREDICATE],
}



SITE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"  # also a folder and key-file name part

class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class AllowedLocation(_Model):
    provider: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str


class Revocation(_Model):
    at: str
    log_size: int = Field(ge=0, description="records at this log index or later are refused")
    reason: str = "unspecified"


class KeyEntry(_Model):
    keyid: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    role: Role
    public_key: str = Field(description="SubjectPublicKeyInfo PEM")
    valid_from: str
    valid_until: str | None = None
    valid_until_log_size: int | None = None
    revoked: Revocation | None = None


class Site(_Model):
    site_id: str = Field(pattern=SITE_ID_PATTERN)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    provider: str
    regions: list[str] = Field(min_length=1)
    keys: list[KeyEntry] = Field(default_factory=list)


class Certifier(_Model):
    certifier_id: str
    keys: list[KeyEntry] = Field(default_factory=list)


class TrustPolicy(_Model):
    format: str = POLICY_VERSION_FORMAT
    version: int = Field(ge=1)
    issued_at: str
    allowed_countries: list[str]
    allowed_locations: list[AllowedLocation]
    root_keys: list[KeyEntry]
    sites: list[Site]
    certifiers: list[Certifier] = Field(default_factory=list)
    roles: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_ROLE_PERMISSIONS))


# Japanese cloud regions Kura accepts out of the box.
JAPAN_CLOUD_LOCATIONS: tuple[AllowedLocation, ...] = (
    AllowedLocation(provider="gcp", country="JP", region="asia-northeast1"),
    AllowedLocation(provider="gcp", country="JP", region="asia-northeast2"),
    AllowedLocation(provider="aws", country="JP", region="ap-northeast-1"),
    AllowedLocation(provider="aws", country="JP", region="ap-northeast-3"),
    AllowedLocation(provider="azure", country="JP", region="japaneast"),
    AllowedLocation(provider="azure", country="JP", region="japanwest"),
)


def policy_json_schema() -> dict:
    return TrustPolicy.model_json_schema(by_alias=True)

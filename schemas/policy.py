"""The trust policy: which locations are allowed, which keys exist, and what each key may sign.

The policy is a versioned JSON document signed (DSSE, payload type `POLICY_PAYLOAD_TYPE`) by the
root key that `kura keys init` writes outside the store; the root public key is the trust anchor
every reader pins (`--trust-root` / `KURA_TRUST_ROOT`). Every change (rotation, revocation, an
allowed location) writes a new version signed by a root key of the previous version, appends it
to the log as a record of its own and keeps the old ones, so a record's `policyDigest` always
names a version that existed and a rolled-back policy.json is visible.

Key validity is judged by log position only, for a record at log index `i` signed by key k:
    i > the log index of the first logged policy version that lists k (if any is logged)
    and, if k was rotated out:  i < k.validUntilLogSize
    and, if k was revoked:      i < k.revoked.logSize
A checkpoint of tree size s counts as covering up to index s - 1 (so s <= the retirement size).
The times in the entries (validFrom, validUntil, revoked.at) are for people; a signer writes any
time it likes, so no verdict rests on them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.predicates import (
    CHECKPOINT_PAYLOAD_TYPE,
    POLICY_PAYLOAD_TYPE,
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    TOMBSTONE_PREDICATE,
    VSA_PREDICATE,
    WITHDRAWAL_PREDICATE,
    CamelModel,
)

POLICY_VERSION_FORMAT = "1"

Role = Literal["root", "site", "certifier"]

# What each role may sign: predicate types for statements, payload types for the rest.
DEFAULT_ROLE_PERMISSIONS: dict[str, list[str]] = {
    "root": [POLICY_PAYLOAD_TYPE, CHECKPOINT_PAYLOAD_TYPE],
    "site": [RESIDENCY_PREDICATE, PROVENANCE_PREDICATE, CHECKPOINT_PAYLOAD_TYPE,
             TOMBSTONE_PREDICATE],
    "certifier": [VSA_PREDICATE, WITHDRAWAL_PREDICATE],
}

SITE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"  # also a folder and key-file name part
# A named location: scheme://name[/path], no trailing slash (matched on `/` boundaries).
NAMED_LOCATION_PATTERN = r"^[a-z][a-z0-9+.-]*://[^/\s]+(/[^/\s]+)*$"

_Model = CamelModel


class AllowedLocation(_Model):
    """A region where data may be, or (with `uri`) one named bucket or cluster in a region:
    `gs://kura-jp` covers gs://kura-jp and gs://kura-jp/..., never gs://kura-jp-us-mirror."""

    provider: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str
    uri: str | None = Field(default=None, pattern=NAMED_LOCATION_PATTERN)


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
    logged_since: int | None = Field(
        default=None, ge=1,
        description="every version from this one on is a record in the log (stores made before "
                    "policies were logged have none until their first change)")


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

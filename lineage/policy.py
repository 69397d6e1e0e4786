"""The trust policy at work: where it lives, how it is signed and read, and the questions every
other module asks of it (is this location allowed? which key is this? may it sign that, then?).

Files, under <store>/keys/:
    root.pub.pem             the trust anchor: the root key's public half (pin its key id)
    policy.json              the current policy, a DSSE envelope signed by the root key
    policy-history/v0001.json every version ever signed, so old `policyDigest`s stay resolvable
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from lineage.clock import parse_time
from lineage.dsse import Envelope, EnvelopeError, canonical_json, sign, signature_valid
from lineage.signing import SigningKey, key_id, load_public_key_pem
from schemas.policy import KeyEntry, TrustPolicy
from schemas.predicates import POLICY_PAYLOAD_TYPE
from schemas.store import StoreLayout


class PolicyError(ValueError):
    """A policy that is missing, unsigned, badly signed or malformed; one line for the user."""


def policy_path(store_root: Path) -> Path:
    return StoreLayout(store_root).keys / "policy.json"


def policy_history_dir(store_root: Path) -> Path:
    return StoreLayout(store_root).keys / "policy-history"


def root_public_key_path(store_root: Path) -> Path:
    return StoreLayout(store_root).keys / "root.pub.pem"


@dataclass(frozen=True)
class SignedPolicy:
    policy: TrustPolicy
    envelope: Envelope

    @property
    def digest(self) -> str:
        """sha256 of the signed policy bytes: what records cite as `policyDigest`."""
        return "sha256:" + hashlib.sha256(self.envelope.payload).hexdigest()


def sign_policy(policy: TrustPolicy, root_key: SigningKey) -> SignedPolicy:
    payload = canonical_json(policy.to_json_dict())
    return SignedPolicy(policy, sign(POLICY_PAYLOAD_TYPE, payload, root_key))


def write_policy(store_root: Path, signed: SignedPolicy) -> None:
    """Write the new current policy and archive it under its version number."""
    line = signed.envelope.to_json_line() + "\n"
    history = policy_history_dir(store_root)
    history.mkdir(parents=True, exist_ok=True)
    (history / f"v{signed.policy.version:04d}.json").write_text(line)
    tmp = policy_path(store_root).with_suffix(".json.tmp")
    tmp.write_text(line)
    tmp.replace(policy_path(store_root))


def parse_signed_policy(text: str, origin: str) -> SignedPolicy:
    try:
        envelope = Envelope.from_json(text)
    except EnvelopeError as exc:
        raise PolicyError(f"{origin}: {exc}") from None
    if envelope.payload_type != POLICY_PAYLOAD_TYPE:
        raise PolicyError(f"{origin}: payloadType is {envelope.payload_type!r}, not a policy")
    try:
        policy = TrustPolicy.model_validate(json.loads(envelope.payload))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise PolicyError(f"{origin}: not a valid trust policy ({_first_error(exc)})") from None
    return SignedPolicy(policy, envelope)


def load_policy(store_root: Path, anchor: Ed25519PublicKey | None = None) -> SignedPolicy:
    """Read the current policy and check its signature against the trust anchor.

    The anchor defaults to the store's root.pub.pem; an auditor passes the key they pinned.
    """
    path = policy_path(store_root)
    if not path.is_file():
        raise PolicyError(f"{path}: no trust policy; run `kura keys init` first")
    signed = parse_signed_policy(path.read_text(), str(path))
    if anchor is None:
        anchor = load_root_anchor(store_root)
    problem = policy_signature_problem(signed, anchor)
    if problem:
        raise PolicyError(f"{path}: {problem}")
    return signed


def load_root_anchor(store_root: Path) -> Ed25519PublicKey:
    path = root_public_key_path(store_root)
    try:
        return load_public_key_pem(path.read_bytes())
    except OSError:
        raise PolicyError(f"{path}: no root public key; run `kura keys init` first") from None


def policy_signature_problem(signed: SignedPolicy, anchor: Ed25519PublicKey) -> str | None:
    """None if a signature by the anchor key verifies and the policy lists that key as root."""
    anchor_id = key_id(anchor)
    if not any(s.keyid == anchor_id for s in signed.envelope.signatures):
        return f"policy v{signed.policy.version} is not signed by root key {anchor_id}"
    if not any(signature_valid(signed.envelope, s, anchor) for s in signed.envelope.signatures):
        return f"policy v{signed.policy.version}: signature by {anchor_id} does not verify"
    if anchor_id not in {k.keyid for k in signed.policy.root_keys}:
        return f"policy v{signed.policy.version} does not list its signer {anchor_id} as a root key"
    return None


def policy_history(store_root: Path) -> dict[str, SignedPolicy]:
    """Every archived policy version by digest (signatures are checked by the caller)."""
    found: dict[str, SignedPolicy] = {}
    for path in sorted(policy_history_dir(store_root).glob("v*.json")):
        signed = parse_signed_policy(path.read_text(), str(path))
        found[signed.digest] = signed
    return found


@dataclass(frozen=True)
class KnownKey:
    """A key of the policy with who holds it: ('site', siteId), ('certifier', id), ('root', '')."""

    entry: KeyEntry
    owner_kind: str
    owner_id: str
    public_key: Ed25519PublicKey


def known_keys(policy: TrustPolicy) -> dict[str, KnownKey]:
    keys: dict[str, KnownKey] = {}
    for entry in policy.root_keys:
        keys[entry.keyid] = KnownKey(entry, "root", "", load_public_key_pem(entry.public_key))
    for site in policy.sites:
        for entry in site.keys:
            keys[entry.keyid] = KnownKey(
                entry, "site", site.site_id, load_public_key_pem(entry.public_key)
            )
    for certifier in policy.certifiers:
        for entry in certifier.keys:
            keys[entry.keyid] = KnownKey(
                entry, "certifier", certifier.certifier_id, load_public_key_pem(entry.public_key)
            )
    return keys


def key_validity_problem(entry: KeyEntry, signed_at: str, log_index: int | None) -> str | None:
    """Why `entry` could not have signed a record claiming `signed_at` at `log_index`, or None.

    `log_index` None means the record is not in the log (a checkpoint, a policy): only time counts.
    """
    try:
        moment = parse_time(signed_at)
    except (ValueError, AttributeError):
        return f"signedAt {signed_at!r} is not a timestamp"
    if moment < parse_time(entry.valid_from):
        return f"signedAt {signed_at} is before key {entry.keyid} was valid ({entry.valid_from})"
    if entry.valid_until is not None:
        if moment >= parse_time(entry.valid_until):
            return f"key {entry.keyid} was rotated out at {entry.valid_until}"
        size = entry.valid_until_log_size
        if log_index is not None and size is not None and log_index >= size:
            return f"key {entry.keyid} was rotated out at log size {size}; record is at {log_index}"
    if entry.revoked is not None:
        if moment >= parse_time(entry.revoked.at):
            return f"key {entry.keyid} was revoked at {entry.revoked.at}"
        if log_index is not None and log_index >= entry.revoked.log_size:
            return (
                f"key {entry.keyid} was revoked at log size {entry.revoked.log_size}; "
                f"record is at {log_index}"
            )
    return None


def key_is_current(entry: KeyEntry) -> bool:
    return entry.valid_until is None and entry.revoked is None


def role_allows(policy: TrustPolicy, role: str, record_type: str) -> bool:
    return record_type in policy.roles.get(role, [])


def location_problem(policy: TrustPolicy, provider: str, country: str, region: str) -> str | None:
    """Why (provider, country, region) is not an allowed location, or None if it is."""
    if country not in policy.allowed_countries:
        return f"country {country} is not allowed"
    for allowed in policy.allowed_locations:
        if (allowed.provider, allowed.country, allowed.region) == (provider, country, region):
            return None
    return f"{provider} {region} is not an allowed location"


def allowed_values(policy: TrustPolicy, provider: str | None = None) -> str:
    """The allowed locations as one line, for error messages: 'gcp asia-northeast1, ...'."""
    wanted = [loc for loc in policy.allowed_locations if provider in (None, loc.provider)]
    if provider and not wanted:
        wanted = list(policy.allowed_locations)
    if provider and all(loc.provider == provider for loc in wanted):
        listed = ", ".join(loc.region for loc in wanted)
    else:
        listed = ", ".join(f"{loc.provider} {loc.region}" for loc in wanted)
    return f"{listed} (policy v{policy.version})"


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)

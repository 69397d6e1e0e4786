"""Keys of a store: `kura keys init / rotate / revoke`, and the site context a run signs with.

Who signs what (the policy's role table enforces it at verification):
    root       the trust policy and the checkpoints written when a key is retired
    site       residency attestations (A), run provenance (B), the checkpoint after each run
    certifier  certifications (C)
`init` creates one key of each; the root key is the trust anchor (keys/root.pub.pem: pin its id).
Private keys live in <store>/keys/private/<keyid hex>.pem, mode 0600, directory 0700, never
inside shards, logs or records.

Retiring a key (rotate or revoke) happens under the log's lock: the policy records the log size
at that moment, the root key signs a checkpoint of it, and the key's records at or after that
log index are refused. Records it signed before stay valid. `revoke` also creates a replacement
key for the same holder, so the site can keep recording runs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lineage.clock import utc_now
from lineage.log import TransparencyLog
from lineage.policy import (
    PolicyError,
    SignedPolicy,
    key_is_current,
    load_policy,
    policy_path,
    root_public_key_path,
    sign_policy,
    write_policy,
)
from lineage.signing import KeyFileError, SigningKey, load_private_key, write_private_key
from schemas.manifest import Location
from schemas.policy import (
    JAPAN_CLOUD_LOCATIONS,
    SITE_ID_PATTERN,
    AllowedLocation,
    Certifier,
    KeyEntry,
    Revocation,
    Site,
    TrustPolicy,
)
from schemas.store import StoreLayout

log = logging.getLogger(__name__)

LOCAL_SITE_ID = "jp-local-1"
LOCAL_SITE_REGION = "jp-tokyo"
ALLOWED_COUNTRIES = ("JP",)


class KeyStoreError(ValueError):
    """A key operation that cannot be done; one line saying what to do."""


def private_key_path(store_root: Path, keyid: str) -> Path:
    return StoreLayout(store_root).keys / "private" / f"{keyid.removeprefix('sha256:')}.pem"


def site_config_path(store_root: Path) -> Path:
    return StoreLayout(store_root).keys / "site.json"


@dataclass(frozen=True)
class SiteContext:
    """The local site of a store with its current keys: what `record_run` signs with."""

    store_root: Path
    site: Site
    region: str
    site_key: SigningKey
    certifier_id: str
    certifier_key: SigningKey
    signed_policy: SignedPolicy

    @property
    def site_id(self) -> str:
        return self.site.site_id

    @property
    def policy(self) -> TrustPolicy:
        return self.signed_policy.policy

    @property
    def location(self) -> Location:
        return Location(provider=self.site.provider, country=self.site.country, region=self.region)

    @property
    def log_origin(self) -> str:
        return f"kura:{self.site.site_id}"


def _new_entry(key: SigningKey, role: str, now: str) -> KeyEntry:
    return KeyEntry(keyid=key.keyid, role=role, public_key=key.public_pem, valid_from=now)


def _store_new_key(store_root: Path, key: SigningKey) -> None:
    write_private_key(private_key_path(store_root, key.keyid), key)


def init_keys(
    store_root: Path, site_id: str, country: str, region: str, provider: str = "onprem"
) -> SiteContext:
    """Create the root, site and certifier keys and policy v1 of a new store."""
    if policy_path(store_root).exists():
        raise KeyStoreError(f"{policy_path(store_root)} exists: this store already has keys")
    # Checked before any key is made: a refused init leaves no orphan private key behind.
    if not re.fullmatch(SITE_ID_PATTERN, site_id):
        raise KeyStoreError(f"--site {site_id!r}: a site id is lower-case letters, digits and "
                            "hyphens, starting with a letter or digit (e.g. jp-osaka-1)")
    if country not in ALLOWED_COUNTRIES:
        raise KeyStoreError(
            f"--country {country}: sites must be in {', '.join(ALLOWED_COUNTRIES)}"
        )
    site_location = AllowedLocation(provider=provider, country=country, region=region)
    if provider != "onprem" and site_location not in JAPAN_CLOUD_LOCATIONS:
        allowed = ", ".join(loc.region for loc in JAPAN_CLOUD_LOCATIONS if loc.provider == provider)
        raise KeyStoreError(f"--region {region} is not a Japanese {provider} region; allowed: "
                            f"{allowed or 'none for this provider'}")
    now = utc_now()
    root_key, site_key, certifier_key = (SigningKey.generate() for _ in range(3))
    for key in (root_key, site_key, certifier_key):
        _store_new_key(store_root, key)
    allowed_locations = list(JAPAN_CLOUD_LOCATIONS)
    if site_location not in allowed_locations:
        allowed_locations.append(site_location)
    certifier_id = f"certifier@{site_id}"
    policy = TrustPolicy(
        version=1,
        issued_at=now,
        allowed_countries=list(ALLOWED_COUNTRIES),
        allowed_locations=allowed_locations,
        root_keys=[_new_entry(root_key, "root", now)],
        sites=[
            Site(
                site_id=site_id,
                country=country,
                provider=provider,
                regions=[region],
                keys=[_new_entry(site_key, "site", now)],
            )
        ],
        certifiers=[
            Certifier(certifier_id=certifier_id, keys=[_new_entry(certifier_key, "certifier", now)])
        ],
    )
    root_public_key_path(store_root).write_text(root_key.public_pem)
    write_policy(store_root, sign_policy(policy, root_key))
    site_config_path(store_root).write_text(
        json.dumps(
            {"siteId": site_id, "region": region, "certifierId": certifier_id}, indent=2
        ) + "\n"
    )
    log.info("initialized keys for site %s (%s %s %s)", site_id, provider, country, region)
    return load_site_context(store_root)


def ensure_local_site(store_root: Path) -> SiteContext:
    """The embedded default: site jp-local-1 (onprem, JP, jp-tokyo), created if not there."""
    if not policy_path(store_root).exists():
        return init_keys(store_root, LOCAL_SITE_ID, "JP", LOCAL_SITE_REGION, "onprem")
    return load_site_context(store_root)


def _current_private_key(store_root: Path, entries: list[KeyEntry], holder: str) -> SigningKey:
    for entry in reversed(entries):
        if key_is_current(entry):
            path = private_key_path(store_root, entry.keyid)
            try:
                return load_private_key(path)
            except KeyFileError as exc:
                raise KeyStoreError(f"{holder}: {exc}") from None
    raise KeyStoreError(f"{holder} has no current key; run `kura keys rotate`")


def load_site_context(store_root: Path) -> SiteContext:
    config_path = site_config_path(store_root)
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise KeyStoreError(f"{config_path}: no local site; run `kura keys init`") from None
    try:
        signed = load_policy(store_root)
    except PolicyError as exc:
        raise KeyStoreError(str(exc)) from None
    site = next((s for s in signed.policy.sites if s.site_id == config["siteId"]), None)
    if site is None:
        raise KeyStoreError(f"site {config['siteId']} is not in policy v{signed.policy.version}")
    certifier = next(
        (c for c in signed.policy.certifiers if c.certifier_id == config["certifierId"]), None
    )
    if certifier is None:
        raise KeyStoreError(f"certifier {config['certifierId']} is not in the policy")
    return SiteContext(
        store_root=store_root,
        site=site,
        region=config["region"],
        site_key=_current_private_key(store_root, site.keys, f"site {site.site_id}"),
        certifier_id=certifier.certifier_id,
        certifier_key=_current_private_key(
            store_root, certifier.keys, f"certifier {certifier.certifier_id}"
        ),
        signed_policy=signed,
    )


def _root_key(store_root: Path, policy: TrustPolicy) -> SigningKey:
    return _current_private_key(store_root, policy.root_keys, "the root")


def _map_key_lists(
    policy: TrustPolicy, change: Callable[[str, list[KeyEntry]], list[KeyEntry]]
) -> TrustPolicy:
    """A copy of the policy with every site's and certifier's key list passed through `change`."""
    sites = [s.model_copy(update={"keys": change(s.site_id, list(s.keys))}) for s in policy.sites]
    certifiers = [
        c.model_copy(update={"keys": change(c.certifier_id, list(c.keys))})
        for c in policy.certifiers
    ]
    return policy.model_copy(update={"sites": sites, "certifiers": certifiers})


def _retire(
    store_root: Path,
    select: Callable[[KeyEntry], bool],
    retire: Callable[[KeyEntry, str, int], KeyEntry],
) -> tuple[KeyEntry, KeyEntry | None]:
    """Retire the one key `select` picks and, if it was the holder's current key, create its
    successor; all under the log lock. Returns (retired entry, new entry or None).
    """
    tlog = TransparencyLog(store_root)
    with tlog.lock:
        signed = load_policy(store_root)
        root_key = _root_key(store_root, signed.policy)
        now = utc_now()
        log_size = len(tlog.read().lines)
        found: list[tuple[KeyEntry, KeyEntry | None]] = []

        def change(holder: str, keys: list[KeyEntry]) -> list[KeyEntry]:
            out = []
            for entry in keys:
                if select(entry) and not found:
                    old_entry = retire(entry, now, log_size)
                    out.append(old_entry)
                    new_entry = None
                    if key_is_current(entry):  # the holder's signing key: give it a successor
                        new_key = SigningKey.generate()
                        _store_new_key(store_root, new_key)
                        new_entry = _new_entry(new_key, entry.role, now)
                        out.append(new_entry)
                    found.append((old_entry, new_entry))
                else:
                    out.append(entry)
            return out

        policy = _map_key_lists(signed.policy, change)
        if not found:
            raise KeyStoreError("no such key in the policy")
        policy = policy.model_copy(update={"version": policy.version + 1, "issued_at": now})
        write_policy(store_root, sign_policy(policy, root_key))
        origin = f"kura:{json.loads(site_config_path(store_root).read_text())['siteId']}"
        tlog.checkpoint_locked(root_key, origin)
    return found[0]


def rotate_key(store_root: Path, role: str) -> tuple[KeyEntry, KeyEntry | None]:
    """Retire the local site's (or certifier's) current key and create its successor."""
    if role not in ("site", "certifier"):
        raise KeyStoreError(f"--role {role}: only site and certifier keys rotate (root: re-init)")
    context = load_site_context(store_root)
    current = (context.site_key if role == "site" else context.certifier_key).keyid

    def retire(entry: KeyEntry, now: str, log_size: int) -> KeyEntry:
        return entry.model_copy(update={"valid_until": now, "valid_until_log_size": log_size})

    return _retire(store_root, lambda e: e.keyid == current, retire)


def revoke_key(
    store_root: Path, keyid: str, reason: str = "unspecified"
) -> tuple[KeyEntry, KeyEntry | None]:
    """Revoke a site or certifier key (e.g. compromised) and create a replacement for its holder."""
    signed = load_policy(store_root)
    if any(k.keyid == keyid for k in signed.policy.root_keys):
        raise KeyStoreError(f"{keyid} is the root key: it cannot revoke itself; re-init the store")

    def retire(entry: KeyEntry, now: str, log_size: int) -> KeyEntry:
        return entry.model_copy(
            update={"revoked": Revocation(at=now, log_size=log_size, reason=reason)}
        )

    def select(entry: KeyEntry) -> bool:
        return entry.keyid == keyid and entry.revoked is None

    try:
        return _retire(store_root, select, retire)
    except KeyStoreError:
        raise KeyStoreError(
            f"{keyid}: no such unrevoked site or certifier key in the policy"
        ) from None

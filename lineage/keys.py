"""Keys of a store: `kura keys init / rotate / revoke / allow-location`, and the site context a
run signs with.

Who signs what (the policy's role table enforces it at verification):
    root       the trust policy (every version), and the checkpoint after each policy change
    site       residency attestations (A), run provenance (B), the checkpoint after each run
    certifier  certifications (C)
`init` creates one key of each. The root key is the trust anchor and never lives in the store:
`init` writes it to --root-key-out (default: ~/.config/kura/roots/<key id>.pem, refused inside
the store, symlinks resolved), and only the commands that change the policy read it back
(`--root-key PATH`). Readers pin its public half (keys/root.pub.pem, copied out of the store).
Site and certifier private keys stay online in <store>/keys/private/<keyid hex>.pem, mode 0600,
directory 0700, never inside shards, logs or records. A store made before this keeps its root
key in keys/private: it still verifies, `kura audit verify` says to move the key out, and policy
changes refuse it until it is moved.

Changing the policy happens under the log's lock: the new version, signed by the root key, is
appended to the log (the root key signs that checkpoint), then written to keys/. A retired key's
validity ends at the log size before that line (its records at or after it are refused,
whatever time they claim; those it signed before stay valid), and its private key is deleted.
`revoke` also creates a replacement key for the same holder, so the site can keep recording runs.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    uri_covers,
    write_policy,
)
from lineage.signing import KeyFileError, SigningKey, load_private_key, write_private_key
from schemas.manifest import Location
from schemas.policy import (
    DEFAULT_ROLE_PERMISSIONS,
    JAPAN_CLOUD_LOCATIONS,
    NAMED_LOCATION_PATTERN,
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

CONFIG_DIR_ENV = "KURA_CONFIG_DIR"
LOCAL_SITE_ID = "jp-local-1"
LOCAL_SITE_REGION = "jp-tokyo"
ALLOWED_COUNTRIES = ("JP",)


class KeyStoreError(ValueError):
    """A key operation that cannot be done; one line saying what to do."""


def private_key_path(store_root: Path, keyid: str) -> Path:
    return StoreLayout(store_root).keys / "private" / f"{keyid.removeprefix('sha256:')}.pem"


def site_config_path(store_root: Path) -> Path:
    return StoreLayout(store_root).keys / "site.json"


def config_dir() -> Path:
    """Kura's per-user folder: $KURA_CONFIG_DIR, else $XDG_CONFIG_HOME/kura, else ~/.config/kura."""
    if os.environ.get(CONFIG_DIR_ENV):
        return Path(os.environ[CONFIG_DIR_ENV]).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "kura"


def default_root_key_path(keyid: str) -> Path:
    """Where `init` writes the root private key unless told otherwise (outside any store)."""
    return config_dir() / "roots" / f"{keyid.removeprefix('sha256:')}.pem"


def _inside(store_root: Path, path: Path) -> bool:
    # resolve() follows every symlink of the part that exists, so a link into the store counts.
    return path.expanduser().resolve().is_relative_to(Path(store_root).resolve())


def _outside_store(store_root: Path, path: Path, option: str, keyid: str) -> Path:
    if _inside(store_root, path):
        raise KeyStoreError(
            f"{option} {path} is inside the store {store_root}: the root key must live outside "
            f"it (e.g. {default_root_key_path(keyid)}), or whoever can write the store can sign "
            "policies")
    return path.expanduser()


def root_keys_in_store(store_root: Path, policy: TrustPolicy) -> list[Path]:
    """Root private keys a store made before the root left the store still holds."""
    return [path for entry in policy.root_keys
            if (path := private_key_path(store_root, entry.keyid)).exists()]


def load_root_key(store_root: Path, path: Path, policy: TrustPolicy) -> SigningKey:
    """The root private key at `path` (--root-key), which must be outside the store and a
    current root key of `policy`."""
    root_ids = [k.keyid for k in policy.root_keys if key_is_current(k)]
    if _inside(store_root, path):
        raise KeyStoreError(
            f"--root-key {path} is inside the store: move it out first (e.g. mv {path} "
            f"{default_root_key_path(root_ids[0] if root_ids else 'root')}) and pass the new path")
    try:
        key = load_private_key(path.expanduser())
    except KeyFileError as exc:
        raise KeyStoreError(f"--root-key {exc}") from None
    if key.keyid not in root_ids:
        raise KeyStoreError(f"--root-key {path} holds key {key.keyid}, which is not a root key of "
                            f"policy v{policy.version} ({', '.join(root_ids)})")
    return key


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
    root_key_path: Path | None = None  # set by `init`: where the root private key was written

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
    store_root: Path, site_id: str, country: str, region: str, provider: str = "onprem",
    root_key_out: Path | None = None,
) -> SiteContext:
    """Create the root, site and certifier keys and policy v1 of a new store; the root private
    key goes to `root_key_out` (default: `default_root_key_path`), never into the store."""
    store_root = Path(store_root)
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
    tlog = TransparencyLog(store_root)
    if tlog.read().lines:
        raise KeyStoreError(f"{tlog.path} has records but the store has no policy: restore "
                            "keys/ from a backup rather than making new keys")
    now = utc_now()
    root_key, site_key, certifier_key = (SigningKey.generate() for _ in range(3))
    root_path = _outside_store(store_root, root_key_out or default_root_key_path(root_key.keyid),
                               "--root-key-out", root_key.keyid)
    if root_path.exists():
        raise KeyStoreError(f"--root-key-out {root_path} exists; choose a new file")
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
        logged_since=1,
    )
    write_private_key(root_path, root_key)
    for key in (site_key, certifier_key):
        _store_new_key(store_root, key)
    signed = sign_policy(policy, root_key)
    root_public_key_path(store_root).write_text(root_key.public_pem)
    with tlog.lock:
        # The log first: a policy.json the log does not hold would not verify.
        tlog.append([signed.envelope.to_json_line()], root_key, f"kura:{site_id}")
        write_policy(store_root, signed)
    site_config_path(store_root).write_text(
        json.dumps(
            {"siteId": site_id, "region": region, "certifierId": certifier_id}, indent=2
        ) + "\n"
    )
    log.info("initialized keys for site %s (%s %s %s); root key in %s", site_id, provider,
             country, region, root_path)
    context = load_site_context(store_root, root_key.public_key)
    return SiteContext(**{**context.__dict__, "root_key_path": root_path})


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


def load_site_context(
    store_root: Path, trust_root: Ed25519PublicKey | None = None
) -> SiteContext:
    """The local site, its current keys and the current policy (its chain verified against
    `trust_root`, else KURA_TRUST_ROOT, else the store's root.pub.pem)."""
    config_path = site_config_path(store_root)
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise KeyStoreError(f"{config_path}: no local site; run `kura keys init`") from None
    try:
        signed = load_policy(store_root, trust_root)
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


def _change_policy(
    store_root: Path,
    root_key_path: Path,
    change: Callable[[TrustPolicy, str, int], TrustPolicy],
) -> SignedPolicy:
    """Sign the next policy version `change(current, now, log size)` makes with the root key at
    `root_key_path`, append it to the log (root-signed checkpoint) and write it to keys/; all
    under the log lock. Returns the new signed version."""
    store_root = Path(store_root)
    tlog = TransparencyLog(store_root)
    with tlog.lock:
        lines = tlog.read().lines
        signed = load_policy(store_root, lines=lines)
        root_key = load_root_key(store_root, root_key_path, signed.policy)
        now = utc_now()
        policy = change(signed.policy, now, len(lines))
        version = signed.policy.version + 1
        policy = policy.model_copy(update={
            "version": version, "issued_at": now,
            # A store made before policies were logged logs from this version on.
            "logged_since": signed.policy.logged_since or version,
        })
        new = sign_policy(TrustPolicy.model_validate(policy.to_json_dict()), root_key)
        origin = f"kura:{json.loads(site_config_path(store_root).read_text())['siteId']}"
        tlog.append([new.envelope.to_json_line()], root_key, origin)
        write_policy(store_root, new)
    return new


def _retire(
    store_root: Path,
    root_key_path: Path,
    select: Callable[[KeyEntry], bool],
    retire: Callable[[KeyEntry, str, int], KeyEntry],
) -> tuple[KeyEntry, KeyEntry | None]:
    """Retire the one key `select` picks and, if it was the holder's current key, create its
    successor; then delete the retired private key. Returns (retired entry, new entry or None).
    """
    found: list[tuple[KeyEntry, KeyEntry | None]] = []

    def change_policy(policy: TrustPolicy, now: str, log_size: int) -> TrustPolicy:
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

        changed = _map_key_lists(policy, change)
        if not found:
            raise KeyStoreError("no such key in the policy")
        return changed

    _change_policy(store_root, root_key_path, change_policy)
    retired = found[0][0]
    # Whoever can read the store must not be able to sign with a key that is no longer valid.
    private_key_path(store_root, retired.keyid).unlink(missing_ok=True)
    return found[0]


def rotate_key(
    store_root: Path, role: str, *, root_key: Path
) -> tuple[KeyEntry, KeyEntry | None]:
    """Retire the local site's (or certifier's) current key and create its successor."""
    if role not in ("site", "certifier"):
        raise KeyStoreError(f"--role {role}: only site and certifier keys rotate (root: re-init)")
    context = load_site_context(store_root)
    current = (context.site_key if role == "site" else context.certifier_key).keyid

    def retire(entry: KeyEntry, now: str, log_size: int) -> KeyEntry:
        return entry.model_copy(update={"valid_until": now, "valid_until_log_size": log_size})

    return _retire(store_root, root_key, lambda e: e.keyid == current, retire)


def revoke_key(
    store_root: Path, keyid: str, reason: str = "unspecified", *, root_key: Path
) -> tuple[KeyEntry, KeyEntry | None]:
    """Revoke a site or certifier key (e.g. compromised) and create a replacement for its holder."""
    signed = load_policy(store_root)
    if any(k.keyid == keyid for k in signed.policy.root_keys):
        raise KeyStoreError(f"{keyid} is the root key: it cannot revoke itself; re-init the store")
    if not any(e.keyid == keyid and e.revoked is None
               for holder in (*signed.policy.sites, *signed.policy.certifiers)
               for e in holder.keys):
        raise KeyStoreError(f"{keyid}: no such unrevoked site or certifier key in the policy")

    def retire(entry: KeyEntry, now: str, log_size: int) -> KeyEntry:
        return entry.model_copy(
            update={"revoked": Revocation(at=now, log_size=log_size, reason=reason)}
        )

    def select(entry: KeyEntry) -> bool:
        return entry.keyid == keyid and entry.revoked is None

    return _retire(store_root, root_key, select, retire)


# Which provider a scheme's named locations belong to (others: any provider).
_SCHEME_PROVIDERS = {"gs": "gcp", "s3": "aws"}


def allow_location(
    store_root: Path, uri: str, provider: str, country: str, region: str, *, root_key: Path
) -> AllowedLocation:
    """Add a named bucket or cluster to the policy (a new version, logged like every change)."""
    uri = uri.rstrip("/")
    if not re.fullmatch(NAMED_LOCATION_PATTERN, uri):
        raise KeyStoreError(f"{uri!r}: a named location is scheme://name[/path] (e.g. "
                            "gs://kura-jp-raw or hdfs://osaka-cluster/kura)")
    scheme = uri.split("://", 1)[0]
    expected = _SCHEME_PROVIDERS.get(scheme)
    if expected is not None and provider != expected:
        raise KeyStoreError(f"--provider {provider}: {scheme}:// locations are {expected}")
    entry = AllowedLocation(provider=provider, country=country, region=region, uri=uri)

    def change(policy: TrustPolicy, now: str, log_size: int) -> TrustPolicy:
        if country not in policy.allowed_countries:
            raise KeyStoreError(f"--country {country}: policy v{policy.version} allows only "
                                f"{', '.join(policy.allowed_countries)}")
        region_entry = AllowedLocation(provider=provider, country=country, region=region)
        if provider != "onprem" and region_entry not in JAPAN_CLOUD_LOCATIONS:
            allowed = ", ".join(loc.region for loc in JAPAN_CLOUD_LOCATIONS
                                if loc.provider == provider)
            raise KeyStoreError(f"--region {region} is not a Japanese {provider} region; "
                                f"allowed: {allowed or 'none for this provider'}")
        for existing in policy.allowed_locations:
            if existing.uri and (existing.uri == uri or uri_covers(existing.uri, uri)):
                raise KeyStoreError(f"{uri} is already allowed as {existing.uri} ("
                                    f"{existing.provider} {existing.region}, policy "
                                    f"v{policy.version})")
        return policy.model_copy(update={"allowed_locations": [*policy.allowed_locations, entry]})

    _change_policy(store_root, root_key, change)
    return entry


def missing_default_permissions(policy: TrustPolicy) -> dict[str, list[str]]:
    """What this version of Kura lets each role sign that `policy` does not (a policy signed
    before withdrawals and gc tombstones existed lacks them)."""
    missing = {role: [t for t in types if t not in policy.roles.get(role, [])]
               for role, types in DEFAULT_ROLE_PERMISSIONS.items()}
    return {role: types for role, types in missing.items() if types}


def grant_default_permissions(store_root: Path, *, root_key: Path) -> dict[str, list[str]]:
    """Add the record types this version of Kura's roles sign by default and the policy lacks,
    in a new root-signed, logged policy version; returns what was added (empty: nothing to do,
    no version made). Only additions: nothing a role may sign is ever taken away here."""
    missing = missing_default_permissions(load_policy(store_root).policy)
    if not missing:
        return {}

    def change(policy: TrustPolicy, now: str, log_size: int) -> TrustPolicy:
        roles = {role: list(types) for role, types in policy.roles.items()}
        for role, types in missing_default_permissions(policy).items():
            roles[role] = [*roles.get(role, []), *types]
        return policy.model_copy(update={"roles": roles})

    _change_policy(store_root, root_key, change)
    return missing

"""The trust policy at work: where it lives, how it is signed, chained, logged and read, and the
questions every other module asks of it (is this location allowed? which key is this? may it
sign that, there?).

Files, under <store>/keys/:
    root.pub.pem              the root key's public half, for people to copy and pin: no reader
                              trusts it (they take the root from `--trust-root` / KURA_TRUST_ROOT)
    policy.json               the current policy, a DSSE envelope signed by the root key
    policy-history/v0001.json every version ever signed, so old `policyDigest`s stay resolvable

Every version (from `logged_since` on) is also a line of the log: the very envelope, so the log
holds the trust state, checkpoints bind it, and a policy.json older than the newest logged
version is a rollback. Reading the policy follows python-tuf's trusted metadata set: v1 must be
signed by the pinned root, each next version by a root key of the one before, versions only
grow, and nothing is used before its chain verified.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from lineage.dsse import Envelope, EnvelopeError, canonical_json, sign, signature_valid
from lineage.log import TransparencyLog
from lineage.signing import KeyFileError, SigningKey, key_id, load_public_key_pem
from schemas.policy import AllowedLocation, KeyEntry, TrustPolicy
from schemas.predicates import POLICY_PAYLOAD_TYPE
from schemas.store import StoreLayout

TRUST_ROOT_ENV = "KURA_TRUST_ROOT"
HOW_TO_PIN = (f"pass --trust-root ROOT.pub.pem or set {TRUST_ROOT_ENV}: the root public key "
              "`kura keys init` printed, kept outside the store")

# A pinned root: a PEM file's path, or the key itself (a caller that holds the root, e.g. the demo).
TrustRoot = Path | str | Ed25519PublicKey


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


def load_policy(
    store_root: Path, anchor: TrustRoot | None = None, lines: list[bytes] | None = None
) -> SignedPolicy:
    """The current policy, once its whole chain verified (see `policy_chain`); raise PolicyError
    with the first problem otherwise.

    The anchor is the one given, else KURA_TRUST_ROOT, else (for the site's own commands, which
    write the store anyway) the store's root.pub.pem. Readers that hand data out never take the
    last: they call `require_pinned_root` first.
    """
    store_root = Path(store_root)
    path = policy_path(store_root)
    if not path.is_file():
        raise PolicyError(f"{path}: no trust policy; run `kura keys init` first")
    root = pinned_root(anchor) or load_root_anchor(store_root)
    if lines is None:
        lines = TransparencyLog(store_root).read().lines
    chain = policy_chain(store_root, root, lines)
    if chain.problems or chain.current is None:
        problems = list(chain.problems) or ["no policy version verifies"]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PolicyError(f"{problems[0]}{more}")
    return chain.current


def load_root_anchor(store_root: Path) -> Ed25519PublicKey:
    path = root_public_key_path(store_root)
    try:
        return load_public_key_pem(path.read_bytes())
    except OSError:
        raise PolicyError(f"{path}: no root public key; run `kura keys init` first") from None
    except KeyFileError as exc:
        raise PolicyError(f"{path}: {exc}") from None


def pinned_root(trust_root: TrustRoot | None = None) -> Ed25519PublicKey | None:
    """The root the caller pinned: `trust_root`, else the file KURA_TRUST_ROOT names, else None.
    Raises PolicyError for a pin that cannot be read."""
    if isinstance(trust_root, Ed25519PublicKey):
        return trust_root
    if trust_root is None or trust_root == "":
        trust_root = os.environ.get(TRUST_ROOT_ENV) or None
        if trust_root is None:
            return None
    path = Path(trust_root)
    try:
        return load_public_key_pem(path.read_bytes())
    except OSError as exc:
        raise PolicyError(f"trust root {path}: cannot read ({exc.strerror})") from None
    except KeyFileError as exc:
        raise PolicyError(f"trust root {path}: {exc}") from None


def require_pinned_root(trust_root: TrustRoot | None = None) -> Ed25519PublicKey:
    """The pinned root, or PolicyError saying how to pin: readers never fall back to the store."""
    root = pinned_root(trust_root)
    if root is None:
        raise PolicyError(f"no pinned trust root: {HOW_TO_PIN}")
    return root


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


def policy_envelope_digest(envelope: Envelope) -> str:
    return "sha256:" + hashlib.sha256(envelope.payload).hexdigest()


@dataclass(frozen=True)
class LoggedPolicy:
    index: int  # its log index (0-based)
    signed: SignedPolicy


@dataclass(frozen=True)
class PolicyChain:
    """What `policy_chain` could verify. `current` is the newest version whose chain verified
    (None if not even v1 did); `problems` is empty only if everything holds."""

    current: SignedPolicy | None
    versions: dict[int, SignedPolicy]  # every verified version
    logged: tuple[LoggedPolicy, ...]  # the policy lines of the log, in log order
    problems: tuple[str, ...]
    anchor_id: str
    _introduced: dict[str, int] = field(default_factory=dict)

    @property
    def by_digest(self) -> dict[str, SignedPolicy]:
        return {s.digest: s for s in self.versions.values()}

    @property
    def logged_indices(self) -> frozenset[int]:
        return frozenset(p.index for p in self.logged)

    def introduced_at(self, keyid: str) -> int:
        """The log index of the first logged version listing `keyid`; -1 if none does (a key of
        a version made before policies were logged, valid from the log's start)."""
        return self._introduced.get(keyid, -1)

    def in_force_at(self, index: int) -> LoggedPolicy | None:
        """The newest logged version placed before log index `index`, if any."""
        before = [p for p in self.logged if p.index < index]
        return before[-1] if before else None


def policy_records(lines: list[bytes]) -> tuple[list[LoggedPolicy], list[str]]:
    """The policy envelopes among the log's lines, and a problem for each that does not parse."""
    found: list[LoggedPolicy] = []
    problems: list[str] = []
    for index, line in enumerate(lines):
        if POLICY_PAYLOAD_TYPE.encode() not in line:  # cheap: most lines are statements
            continue
        try:
            envelope = Envelope.from_json(line)
        except EnvelopeError:
            continue  # verify's log.format names it
        if envelope.payload_type != POLICY_PAYLOAD_TYPE:
            continue
        try:
            found.append(LoggedPolicy(index, parse_signed_policy(envelope.to_json_line(),
                                                                 f"log index {index}")))
        except PolicyError as exc:
            problems.append(str(exc))
    return found, problems


def _signed_by_root_of(signed: SignedPolicy, previous: SignedPolicy) -> str | None:
    """None if a root key of `previous` signed `signed` and `signed` still lists it as root."""
    roots = {k.keyid: k for k in previous.policy.root_keys}
    for signature in signed.envelope.signatures:
        entry = roots.get(signature.keyid)
        if entry is None:
            continue
        if not signature_valid(signed.envelope, signature, load_public_key_pem(entry.public_key)):
            return (f"policy v{signed.policy.version}: signature by {signature.keyid} does not "
                    "verify")
        if signature.keyid not in {k.keyid for k in signed.policy.root_keys}:
            return (f"policy v{signed.policy.version} does not list its signer {signature.keyid} "
                    "as a root key")
        return None
    return (f"policy v{signed.policy.version} is not signed by a root key of policy "
            f"v{previous.policy.version} ({', '.join(sorted(roots))})")


def policy_chain(store_root: Path, anchor: Ed25519PublicKey, lines: list[bytes]) -> PolicyChain:
    """Verify every policy version from the pinned root on, against the log.

    v1 is signed by `anchor`; v(n+1) by a root key of v(n). The log's policy lines must grow by
    one version each; a version in both the log and keys/policy-history must be the same bytes
    (the log wins: checkpoints bind it). From a version's `logged_since` on, every version must
    be in the log, and keys/policy.json must be the newest version there is.
    """
    store_root = Path(store_root)
    problems: list[str] = []
    anchor_id = key_id(anchor)
    candidates: dict[int, tuple[SignedPolicy, str]] = {}  # version -> (policy, where it is)
    history = policy_history_dir(store_root)
    for path in sorted(history.glob("v*.json")) if history.is_dir() else []:
        try:
            signed = parse_signed_policy(path.read_text(), f"keys/policy-history/{path.name}")
        except (PolicyError, OSError) as exc:
            problems.append(str(exc))
            continue
        candidates[signed.policy.version] = (signed, f"keys/policy-history/{path.name}")
    logged, bad_lines = policy_records(lines)
    problems += bad_lines
    previous_logged: LoggedPolicy | None = None
    for record in logged:
        version = record.signed.policy.version
        where = f"log index {record.index}"
        if previous_logged is not None and version != previous_logged.signed.policy.version + 1:
            problems.append(f"{where}: policy v{version} follows v"
                            f"{previous_logged.signed.policy.version} (log index "
                            f"{previous_logged.index}); versions must grow by one")
        archived = candidates.get(version)
        if archived is not None and archived[0].digest != record.signed.digest:
            problems.append(f"{archived[1]} is not the policy v{version} logged at {where}")
        candidates[version] = (record.signed, where)
        previous_logged = record
    versions: dict[int, SignedPolicy] = {}
    newest = max(candidates, default=0)
    for version in range(1, newest + 1):
        if version not in candidates:
            problems.append(f"policy v{version} is missing: neither in the log nor in "
                            "keys/policy-history")
            break
        signed, where = candidates[version]
        if version == 1:
            problem = policy_signature_problem(signed, anchor)
        else:
            problem = _signed_by_root_of(signed, versions[version - 1])
        if problem:
            problems.append(f"{where}: {problem}")
            break
        versions[version] = signed
    current = versions[max(versions)] if versions else None
    if not candidates:
        problems.append(f"{policy_path(store_root)}: no trust policy; run `kura keys init` first")
    logged_versions = {r.signed.policy.version for r in logged}
    if current is not None:
        since = current.policy.logged_since
        for version in range(since or newest + 1, newest + 1):
            if version not in logged_versions:
                problems.append(f"policy v{version} is not in the log, though policy v"
                                f"{current.policy.version} says every version from v{since} is")
                break
        problems += _current_file_problems(store_root, current, candidates, versions)
    # A key is introduced by the logged version that first lists it; the keys a version made
    # before policies were logged already listed are valid from the log's start.
    introduced: dict[str, int] = {}
    for record in logged:
        previous = versions.get(record.signed.policy.version - 1)
        before = {e.keyid for e in _all_entries(previous.policy)} if previous else set()
        for entry in _all_entries(record.signed.policy):
            if entry.keyid not in before:
                introduced.setdefault(entry.keyid, record.index)
    return PolicyChain(current, versions, tuple(logged), tuple(problems), anchor_id, introduced)


def _current_file_problems(
    store_root: Path, current: SignedPolicy, candidates: dict[int, tuple[SignedPolicy, str]],
    versions: dict[int, SignedPolicy],
) -> list[str]:
    path = policy_path(store_root)
    try:
        signed = parse_signed_policy(path.read_text(), "keys/policy.json")
    except OSError:
        return [f"{path}: no trust policy; run `kura keys init` first"]
    except PolicyError as exc:
        return [str(exc)]
    if signed.digest == current.digest:
        return []
    version = signed.policy.version
    newest_where = candidates[current.policy.version][1]
    known = versions.get(version)
    if known is not None and known.digest == signed.digest:
        return [f"keys/policy.json is policy v{version} but the newest policy is "
                f"v{current.policy.version} ({newest_where}): a rolled-back policy"]
    # Not a version of the chain: say whether its signature is what fails.
    previous = versions.get(version - 1)
    problem = _signed_by_root_of(signed, previous) if previous is not None else None
    if problem is None and version == 1:
        problem = policy_signature_problem(signed, load_public_key_pem(
            current.policy.root_keys[0].public_key))
    if problem is None:
        problem = (f"policy v{version} is not the v{version} of the verified chain (newest "
                   f"v{current.policy.version}, {newest_where})")
    return [f"keys/policy.json: {problem}"]


def _all_entries(policy: TrustPolicy) -> list[KeyEntry]:
    return [*policy.root_keys, *(k for s in policy.sites for k in s.keys),
            *(k for c in policy.certifiers for k in c.keys)]


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


def retired_at(entry: KeyEntry) -> tuple[int, str] | None:
    """(log size, 'rotated out' or 'revoked') if the key was retired; the earlier of the two."""
    ends = []
    if entry.revoked is not None:
        ends.append((entry.revoked.log_size, "revoked"))
    if entry.valid_until is not None:
        # A retirement without its log size (never written by Kura) ends the key at the start.
        ends.append((entry.valid_until_log_size or 0, "rotated out"))
    return min(ends) if ends else None


def key_validity_problem(entry: KeyEntry, log_index: int, introduced_at: int = -1) -> str | None:
    """Why `entry` could not have signed the record at `log_index` (0-based), or None.

    Judged by position only: after the policy record that introduced the key, before the log
    size at which it was retired. A time the signer wrote proves nothing, so none is asked.
    """
    if log_index <= introduced_at:
        return (f"key {entry.keyid} was introduced by the policy at log index {introduced_at}; "
                f"the record is at log index {log_index}")
    end = retired_at(entry)
    if end is not None and log_index >= end[0]:
        return (f"key {entry.keyid} was {end[1]} at log size {end[0]}; the record is at log "
                f"index {log_index}")
    return None


def checkpoint_key_problem(entry: KeyEntry, tree_size: int, introduced_at: int = -1) -> str | None:
    """Why `entry` could not have signed a checkpoint of `tree_size` lines, or None: a key signs
    checkpoints only of logs it was valid at the end of, whatever timestamp it writes."""
    if tree_size <= introduced_at:
        return (f"key {entry.keyid} was introduced by the policy at log index {introduced_at}; "
                f"the checkpoint covers only {tree_size} records")
    end = retired_at(entry)
    if end is not None and tree_size > end[0]:
        return (f"key {entry.keyid} was {end[1]} at log size {end[0]}; the checkpoint covers "
                f"{tree_size} lines")
    return None


def key_is_current(entry: KeyEntry) -> bool:
    return entry.valid_until is None and entry.revoked is None


def role_allows(policy: TrustPolicy, role: str, record_type: str) -> bool:
    return record_type in policy.roles.get(role, [])


def uri_covers(named: str, uri: str) -> bool:
    """Whether named location `named` covers `uri`, on `/` boundaries: gs://kura-jp covers
    gs://kura-jp and gs://kura-jp/a, never gs://kura-jp-us-mirror."""
    named = named.rstrip("/")
    return uri == named or uri.rstrip("/") == named or uri.startswith(named + "/")


def named_location(policy: TrustPolicy, uri: str) -> AllowedLocation | None:
    """The most specific named location (bucket, cluster) of the policy covering `uri`."""
    found = [a for a in policy.allowed_locations if a.uri and uri_covers(a.uri, uri)]
    return max(found, key=lambda a: len(a.uri or "")) if found else None


def location_problem(
    policy: TrustPolicy, provider: str, country: str, region: str, uri: str | None = None
) -> str | None:
    """Why (provider, country, region) is not an allowed location, or None if it is. A region
    entry allows anything there; a named entry allows only the `uri`s it covers."""
    if country not in policy.allowed_countries:
        return f"country {country} is not allowed"
    for allowed in policy.allowed_locations:
        if (allowed.provider, allowed.country, allowed.region) != (provider, country, region):
            continue
        if allowed.uri is None or (uri is not None and uri_covers(allowed.uri, uri)):
            return None
    if uri is not None:
        return f"{uri} ({provider} {region}) is not an allowed location"
    return f"{provider} {region} is not an allowed location"


def allowed_values(policy: TrustPolicy, provider: str | None = None) -> str:
    """The allowed locations as one line, for error messages: 'gcp asia-northeast1, ...'."""
    regions = [loc for loc in policy.allowed_locations if loc.uri is None]
    wanted = [loc for loc in regions if provider in (None, loc.provider)]
    if provider and not wanted:
        wanted = regions
    if provider and all(loc.provider == provider for loc in wanted):
        listed = ", ".join(loc.region for loc in wanted)
    else:
        listed = ", ".join(f"{loc.provider} {loc.region}" for loc in wanted)
    named = [loc.uri for loc in policy.allowed_locations
             if loc.uri and provider in (None, loc.provider)]
    if named:
        listed += "; named: " + ", ".join(n for n in named if n)
    return f"{listed} (policy v{policy.version})"


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc)

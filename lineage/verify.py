"""`kura audit verify`: re-check a store's lineage from its files alone and say what fails.

Checks, in order (each names the line, file, key or run at fault):
    policy.signature     the policy and every archived version verify under the trust anchor
    log.format           every line is a DSSE envelope holding an in-toto Statement v1 of a known
                         predicate type; the file does not end inside a line
    record.signature     every envelope verifies under a key listed in the policy
    record.role          the key's role may sign that record type (a site key cannot certify)
    record.key_validity  the key was valid at the record's signedAt and log position
                         (rotation and revocation)
    record.site_pairing  the signing key belongs to the site the record names, and the site
                         claim matches the policy's site
    record.policy_digest the record cites a policy version that exists
    subject.digest       every subject's sha256 matches the file on disk now (the latest record
                         of a path is authoritative; an older one for a rewritten path is not)
    residency.locations  every location claimed (site, inputs, processing, output) is allowed
    run.conservation     read = written + rejected + duplicates, and the shards' rows = written
    log.checkpoint       the latest checkpoint is signed by a key allowed to, and its root is
                         the Merkle root of the first treeSize lines; no line is uncovered
    log.consistency      every stored checkpoint, and the auditor's --since-checkpoint, is an
                         RFC 6962 prefix of the latest one (consistency proof verified)
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from lineage import merkle
from lineage.attest import is_statement, signed_at_of
from lineage.code import file_sha256
from lineage.dsse import Envelope, EnvelopeError, signature_valid
from lineage.log import LogError, SignedCheckpoint, TransparencyLog, read_checkpoint
from lineage.policy import (
    KnownKey,
    PolicyError,
    SignedPolicy,
    allowed_values,
    key_validity_problem,
    known_keys,
    load_root_anchor,
    parse_signed_policy,
    policy_history,
    policy_path,
    policy_signature_problem,
    role_allows,
)
from lineage.policy import location_problem as policy_location_problem
from lineage.signing import key_id, load_public_key_pem
from schemas.policy import TrustPolicy
from schemas.predicates import (
    CHECKPOINT_PAYLOAD_TYPE,
    CONSERVATION_BYPRODUCT,
    IN_TOTO_PAYLOAD_TYPE,
    PREDICATE_MODELS,
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    VSA_PREDICATE,
)

CHECKS: tuple[tuple[str, str], ...] = (
    ("policy.signature", "policy signed by the trust anchor"),
    ("log.format", "lines are DSSE in-toto statements"),
    ("record.signature", "envelope signatures under policy keys"),
    ("record.role", "key role allows the record type"),
    ("record.key_validity", "key valid at signing time and log position"),
    ("record.site_pairing", "signing key belongs to the named site"),
    ("record.policy_digest", "cited policy version exists"),
    ("subject.digest", "subject digests match bytes on disk"),
    ("residency.locations", "every location allowed by the policy"),
    ("run.conservation", "read = written + rejected + duplicates"),
    ("log.checkpoint", "Merkle root matches the latest checkpoint"),
    ("log.consistency", "checkpoints are prefixes of the latest"),
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    checked: int
    failures: tuple[str, ...]
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class VerifyReport:
    checks: tuple[CheckResult, ...]
    seconds: float
    log_size: int
    anchor_keyid: str

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def failures(self) -> list[str]:
        return [f"{c.name}: {msg}" for c in self.checks for msg in c.failures]


@dataclass
class _Tally:
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, str] = field(default_factory=dict)

    def ok(self, check: str, n: int = 1) -> None:
        self.checked[check] += n

    def fail(self, check: str, message: str) -> None:
        self.checked[check] += 1
        self.failures[check].append(message)


@dataclass(frozen=True)
class _Entry:
    """One parsed log line; `key` is the policy key whose signature verified, if any."""

    index: int
    label: str
    statement: dict[str, Any]
    key: KnownKey | None


def _label(index: int, statement: dict[str, Any] | None) -> str:
    if not statement:
        return f"line {index + 1}"
    subjects = statement.get("subject") or [{}]
    kind = statement.get("predicateType", "")
    name = subjects[0].get("name", "?")
    if kind == RESIDENCY_PREDICATE:
        return f"line {index + 1} (residency of {name})"
    if kind == PROVENANCE_PREDICATE:
        run = (statement.get("predicate") or {}).get("runDetails", {}).get("metadata", {})
        return f"line {index + 1} (provenance of run {run.get('invocationId', '?')})"
    return f"line {index + 1} ({kind.rsplit('/', 2)[-2] if '/' in kind else kind} of {name})"


def verify_store(
    store_root: Path,
    since_checkpoint: Path | None = None,
    trust_root: Path | None = None,
) -> VerifyReport:
    """Run every check on the store; never raises for a bad store, reports it instead."""
    started = time.perf_counter()
    store_root = Path(store_root)
    tally = _Tally()
    anchor_id = ""
    policy: TrustPolicy | None = None
    try:
        anchor = (
            load_public_key_pem(trust_root.read_bytes()) if trust_root else
            load_root_anchor(store_root)
        )
        anchor_id = key_id(anchor)
        signed_policy = parse_signed_policy(policy_path(store_root).read_text(), "policy.json")
        policy = signed_policy.policy
        history = _check_policy(store_root, signed_policy, anchor, tally)
    except (PolicyError, OSError, ValueError) as exc:
        tally.fail("policy.signature", str(exc))
        history = {}
    tlog = TransparencyLog(store_root)
    contents = tlog.read()
    if policy is not None:
        entries = _check_records(contents.lines, policy, history, tally)
        _check_subjects(store_root, entries, tally)
        _check_conservation(entries, tally)
        _check_log(tlog, contents.lines, policy, since_checkpoint, tally)
    if contents.partial_tail:
        tally.fail("log.format", f"{tlog.path.name} ends inside line {len(contents.lines) + 1}")
    checks = tuple(
        CheckResult(name, desc, tally.checked.get(name, 0), tuple(tally.failures.get(name, [])),
                    tally.notes.get(name, ""))
        for name, desc in CHECKS
    )
    return VerifyReport(checks, time.perf_counter() - started, len(contents.lines), anchor_id)


def _check_policy(
    store_root: Path, signed: SignedPolicy, anchor: Ed25519PublicKey, tally: _Tally
) -> dict[str, SignedPolicy]:
    problem = policy_signature_problem(signed, anchor)
    if problem:
        tally.fail("policy.signature", f"policy.json: {problem}")
    else:
        tally.ok("policy.signature")
    history: dict[str, SignedPolicy] = {}
    for digest, version in policy_history(store_root).items():
        problem = policy_signature_problem(version, anchor)
        if problem:
            tally.fail("policy.signature", f"policy-history v{version.policy.version}: {problem}")
        else:
            tally.ok("policy.signature")
            history[digest] = version
    if signed.digest not in history:
        tally.fail("policy.signature", "policy.json is not among the archived versions")
    tally.notes["policy.signature"] = f"v{signed.policy.version}, anchor {key_id(anchor)[:19]}…"
    return history


def _parse_line(index: int, line: bytes, tally: _Tally) -> tuple[Envelope, dict] | None:
    try:
        envelope = Envelope.from_json(line)
    except EnvelopeError as exc:
        tally.fail("log.format", f"line {index + 1}: {exc}")
        return None
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        tally.fail("log.format", f"line {index + 1}: payloadType {envelope.payload_type!r}")
        return None
    try:
        statement = json.loads(envelope.payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        tally.fail("log.format", f"line {index + 1}: payload is not JSON")
        return None
    if not is_statement(statement):
        tally.fail("log.format", f"line {index + 1}: payload is not an in-toto Statement v1")
        return None
    model = PREDICATE_MODELS.get(statement.get("predicateType", ""))
    if model is None:
        tally.fail("log.format", f"line {index + 1}: unknown predicateType "
                   f"{statement.get('predicateType')!r}")
        return None
    try:
        model.model_validate(statement.get("predicate"))
    except ValidationError as exc:
        err = exc.errors()[0]
        tally.fail("log.format", f"{_label(index, statement)}: predicate "
                   f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
        return None
    tally.ok("log.format")
    return envelope, statement


def _verified_key(
    envelope: Envelope, keys: dict[str, KnownKey], label: str, tally: _Tally
) -> KnownKey | None:
    unknown = []
    for signature in envelope.signatures:
        known = keys.get(signature.keyid)
        if known is None:
            unknown.append(signature.keyid)
            continue
        if signature_valid(envelope, signature, known.public_key):
            tally.ok("record.signature")
            return known
        tally.fail("record.signature", f"{label}: signature by {signature.keyid} "
                   f"({known.owner_kind} {known.owner_id}) does not verify: the record was altered")
        return None
    tally.fail("record.signature", f"{label}: signed by {', '.join(unknown)}, "
               "a key not in the trust policy")
    return None


def _check_records(
    lines: list[bytes], policy: TrustPolicy, history: dict[str, SignedPolicy], tally: _Tally
) -> list[_Entry]:
    keys = known_keys(policy)
    sites = {s.site_id: s for s in policy.sites}
    entries: list[_Entry] = []
    for index, line in enumerate(lines):
        parsed = _parse_line(index, line, tally)
        if parsed is None:
            continue
        envelope, statement = parsed
        label = _label(index, statement)
        key = _verified_key(envelope, keys, label, tally)
        entries.append(_Entry(index, label, statement, key))
        kind = statement["predicateType"]
        predicate = statement["predicate"]
        if key is not None:
            role = key.entry.role
            if role_allows(policy, role, kind):
                tally.ok("record.role")
            else:
                tally.fail("record.role", f"{label}: {role} key {key.entry.keyid} "
                           f"({key.owner_id or 'root'}) may not sign {kind}")
            signed_at = signed_at_of(statement) or ""
            problem = key_validity_problem(key.entry, signed_at, index)
            if problem:
                tally.fail("record.key_validity", f"{label}: {problem}")
            else:
                tally.ok("record.key_validity")
            _check_pairing(label, kind, predicate, key, sites, tally)
        cited = _cited_policy(kind, predicate)
        if cited is not None:
            if cited in history:
                tally.ok("record.policy_digest")
            else:
                tally.fail("record.policy_digest", f"{label}: cites unknown policy {cited}")
        _check_locations(label, kind, predicate, policy, tally)
    return entries


def _cited_policy(kind: str, predicate: dict) -> str | None:
    if kind == RESIDENCY_PREDICATE:
        return predicate.get("policyDigest")
    if kind == PROVENANCE_PREDICATE:
        return predicate["buildDefinition"]["internalParameters"].get("policyDigest")
    if kind == VSA_PREDICATE:
        digest = ((predicate.get("policy") or {}).get("digest") or {}).get("sha256")
        return f"sha256:{digest}" if digest else None
    return None


def _check_pairing(
    label: str, kind: str, predicate: dict, key: KnownKey, sites: dict, tally: _Tally
) -> None:
    if kind == RESIDENCY_PREDICATE:
        claim = predicate["site"]
        named = claim["siteId"]
    elif kind == PROVENANCE_PREDICATE:
        claim = None
        named = predicate["buildDefinition"]["internalParameters"].get("siteId")
    else:
        return
    if key.owner_kind != "site" or key.owner_id != named:
        tally.fail("record.site_pairing", f"{label}: names site {named} but is signed by "
                   f"{key.owner_kind} {key.owner_id or 'root'}'s key {key.entry.keyid}")
        return
    site = sites[named]
    if claim is not None and (
        claim["country"] != site.country
        or claim["provider"] != site.provider
        or claim["region"] not in site.regions
    ):
        tally.fail("record.site_pairing", f"{label}: site claim {claim['provider']} "
                   f"{claim['country']} {claim['region']} differs from the policy's site {named}")
        return
    tally.ok("record.site_pairing")


def _claimed_locations(kind: str, predicate: dict) -> list[tuple[str, dict]]:
    if kind == RESIDENCY_PREDICATE:
        found = [("site", {**predicate["site"], "claimSource": "policy"})]
        found += [(f"inputs[{i}].location", item["location"])
                  for i, item in enumerate(predicate["inputs"])]
        found += [(f"processingLocations[{i}]", loc)
                  for i, loc in enumerate(predicate["processingLocations"])]
        found.append(("outputLocation", predicate["outputLocation"]))
        return found
    if kind == PROVENANCE_PREDICATE:
        deps = predicate["buildDefinition"]["resolvedDependencies"]
        return [
            (f"resolvedDependencies[{i}].location", dep["annotations"]["location"])
            for i, dep in enumerate(deps)
            if isinstance((dep.get("annotations") or {}).get("location"), dict)
        ]
    return []


def _check_locations(
    label: str, kind: str, predicate: dict, policy: TrustPolicy, tally: _Tally
) -> None:
    for where, loc in _claimed_locations(kind, predicate):
        try:
            provider, country, region = loc["provider"], loc["country"], loc["region"]
        except (KeyError, TypeError):
            tally.fail("residency.locations", f"{label}: {where} lacks provider/country/region")
            continue
        problem = policy_location_problem(policy, provider, country, region)
        if problem:
            tally.fail("residency.locations", f"{label}: {where} {provider} {country} {region} "
                       f"(claimed by {loc.get('claimSource', '?')}): {problem}; allowed: "
                       f"{allowed_values(policy)}")
        else:
            tally.ok("residency.locations")


def _check_subjects(store_root: Path, entries: list[_Entry], tally: _Tally) -> None:
    latest: dict[str, tuple[_Entry, str]] = {}
    claimed: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        for subject in entry.statement.get("subject", []):
            name, digest = subject.get("name", ""), (subject.get("digest") or {}).get("sha256")
            previous = latest.get(name)
            # Name the shard's own residency record rather than the run's provenance or a
            # release's certification, when they make the same claim.
            if not (previous and previous[1] == digest
                    and entry.statement["predicateType"] in (PROVENANCE_PREDICATE,
                                                             VSA_PREDICATE)):
                latest[name] = (entry, digest)
            claimed[name].add(digest)
    root = store_root.resolve()
    superseded = sum(1 for digests in claimed.values() if len(digests) > 1)
    for name, (entry, expected) in sorted(latest.items()):
        path = (store_root / name).resolve()
        if not path.is_relative_to(root) or not name:
            tally.fail("subject.digest", f"{entry.label}: subject {name!r} is outside the store")
            continue
        try:
            actual = file_sha256(path)
        except OSError:
            tally.fail("subject.digest", f"{name}: attested by {entry.label} but missing on disk")
            continue
        if actual != expected:
            tally.fail("subject.digest", f"{name}: sha256 on disk {actual[:16]}… differs from "
                       f"{(expected or '')[:16]}… attested by {entry.label}")
        else:
            tally.ok("subject.digest")
    tally.notes["subject.digest"] = f"{len(latest)} files" + (
        f", {superseded} rewritten since an earlier claim" if superseded else ""
    )


def _check_conservation(entries: list[_Entry], tally: _Tally) -> None:
    shard_rows: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.statement["predicateType"] == RESIDENCY_PREDICATE:
            predicate = entry.statement["predicate"]
            shard_rows[predicate["run"]["runId"]] += predicate["counts"]["rows"]
    for entry in entries:
        if entry.statement["predicateType"] != PROVENANCE_PREDICATE:
            continue
        predicate = entry.statement["predicate"]
        run_id = predicate["runDetails"]["metadata"]["invocationId"]
        counts = next(
            (b.get("annotations") or {} for b in predicate["runDetails"].get("byproducts", [])
             if b.get("name") == CONSERVATION_BYPRODUCT),
            None,
        )
        if counts is None:
            tally.fail("run.conservation", f"{entry.label}: no conservation counts")
            continue
        try:
            read, written = int(counts["read"]), int(counts["written"])
            rejected = sum(int(v) for v in counts["rejected"].values())
            duplicates = sum(int(v) for v in counts["duplicates"].values())
        except (KeyError, TypeError, ValueError, AttributeError):
            tally.fail("run.conservation", f"{entry.label}: malformed conservation counts")
            continue
        if read != written + rejected + duplicates:
            tally.fail("run.conservation", f"run {run_id}: read {read} != written {written} + "
                       f"rejected {rejected} + duplicates {duplicates}")
        elif shard_rows.get(run_id, 0) != written:
            attested = shard_rows.get(run_id, 0)
            tally.fail("run.conservation", f"run {run_id}: its shards attest {attested} rows "
                       f"but the provenance says {written} written")
        else:
            tally.ok("run.conservation")


def checkpoint_problem(
    signed: SignedCheckpoint, keys: dict[str, KnownKey], policy: TrustPolicy
) -> str | None:
    """Why a checkpoint cannot be trusted under `policy` (signer, role, validity), or None."""
    for signature in signed.envelope.signatures:
        known = keys.get(signature.keyid)
        if known is None:
            continue
        if not signature_valid(signed.envelope, signature, known.public_key):
            return f"signature by {signature.keyid} does not verify"
        if not role_allows(policy, known.entry.role, CHECKPOINT_PAYLOAD_TYPE):
            return f"{known.entry.role} key {signature.keyid} may not sign checkpoints"
        return key_validity_problem(known.entry, signed.checkpoint.timestamp, None)
    return "signed by no key in the trust policy"


def _last_good(stored: list[SignedCheckpoint], hashes: list[bytes]) -> str:
    """Where the damage starts: after the largest stored checkpoint the log still matches."""
    for signed in reversed(stored):
        size = signed.checkpoint.tree_size
        if size <= len(hashes) and merkle.root(hashes[:size]).hex() == signed.checkpoint.root_hash:
            return f" after line {size} (the log still matches checkpoint size {size})"
    return " (no stored checkpoint matches the log)"


def _check_log(
    tlog: TransparencyLog,
    lines: list[bytes],
    policy: TrustPolicy,
    since: Path | None,
    tally: _Tally,
) -> None:
    keys = known_keys(policy)
    hashes = [merkle.leaf_hash(line) for line in lines]
    try:
        stored = tlog.checkpoints()
    except LogError as exc:
        tally.fail("log.checkpoint", str(exc))
        return
    if not stored:
        if lines:
            tally.fail("log.checkpoint", f"{len(lines)} log lines but no checkpoint")
        return
    latest = stored[-1]
    head = latest.checkpoint
    name = latest.path.name if latest.path else "latest checkpoint"
    problem = checkpoint_problem(latest, keys, policy)
    if problem:
        tally.fail("log.checkpoint", f"{name}: {problem}")
    elif head.tree_size > len(lines):
        tally.fail("log.checkpoint", f"{name} covers {head.tree_size} lines but the log has "
                   f"{len(lines)}: lines were removed{_last_good(stored, hashes)}")
    elif merkle.root(hashes[: head.tree_size]).hex() != head.root_hash:
        tally.fail("log.checkpoint", f"{name}: the Merkle root of the first {head.tree_size} lines "
                   f"is not the signed root {head.root_hash[:16]}…: the log was altered"
                   f"{_last_good(stored, hashes)}")
    elif head.tree_size < len(lines):
        tally.fail("log.checkpoint", f"lines {head.tree_size + 1}..{len(lines)} are covered by "
                   f"no checkpoint")
    else:
        tally.ok("log.checkpoint")
    tally.notes["log.checkpoint"] = f"size {head.tree_size}, root {head.root_hash[:12]}…"
    if head.tree_size > len(lines):
        return
    full_root = bytes.fromhex(head.root_hash)
    earlier = [(c.path.name if c.path else "?", c) for c in stored[:-1]]
    if since is not None:
        try:
            earlier.append((f"--since-checkpoint {since.name}", read_checkpoint(since)))
        except LogError as exc:
            tally.fail("log.consistency", str(exc))
    for label, old in earlier:
        problem = checkpoint_problem(old, keys, policy)
        if problem:
            tally.fail("log.consistency", f"{label}: {problem}")
            continue
        size = old.checkpoint.tree_size
        if size > head.tree_size:
            tally.fail("log.consistency", f"{label} (size {size}) is larger than the latest "
                       f"checkpoint (size {head.tree_size}): the log was truncated")
            continue
        proof = merkle.consistency_proof(size, hashes[: head.tree_size])
        if merkle.verify_consistency(
            size, head.tree_size, bytes.fromhex(old.checkpoint.root_hash), full_root, proof
        ):
            tally.ok("log.consistency")
        else:
            tally.fail("log.consistency", f"{label} (size {size}, root "
                       f"{old.checkpoint.root_hash[:12]}…) is not a prefix of the latest "
                       f"checkpoint (size {head.tree_size}): history was rewritten")

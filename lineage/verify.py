"""`kura audit verify`: re-check a store's lineage from its files alone and say what fails.

The trust anchor is the root public key the caller pinned (`--trust-root` / KURA_TRUST_ROOT);
without a pin the store's own keys/root.pub.pem is used and the report says it is unpinned
(`pull` and `open_release` refuse to run unpinned). `pull`, `open_release` and `release show`
run these same checks (`check_store`) before handing anything out.

Checks, in order (each names the line, file, key or run at fault):
    policy.signature     the policy chain: v1 signed by the trust anchor, each next version by a
                         root key of the one before, every version from `loggedSince` in the log,
                         and keys/policy.json the newest version (a rollback names the version)
    log.format           every line is a DSSE envelope holding an in-toto Statement v1 of a known
                         predicate type; the file does not end inside a line
    record.signature     every envelope verifies under a key listed in the policy
    record.role          the key's role may sign that record type (a site key cannot certify)
    record.key_validity  the key was valid at the record's log position: after the policy line
                         that introduced it, before the log size that retired it (never by a
                         time the signer wrote)
    record.site_pairing  the signing key belongs to the site the record names, and the site
                         claim matches the policy's site
    record.policy_digest the record cites a policy version of the chain, the one in force at its
                         log position
    subject.digest       every subject's sha256 matches the file on disk now (the latest record
                         of a path is authoritative; an older one for a rewritten path is not);
                         a file whose latest record is a gc tombstone may be gone: the tombstone
                         must name the digest last attested for it and a file no longer current
                         (lineage/gc.py's fold), and the report counts what gc removed, when, why
    residency.locations  every location claimed (site, inputs, processing, output) is allowed
    run.conservation     read = written + rejected + duplicates (+ withdrawn, for a withdrawal's
                         rewrite run), and the shards' rows = written
    log.checkpoint       the latest checkpoint is signed by a key valid at its tree size, binds
                         the newest policy line it covers, and its root is the Merkle root of
                         the first treeSize lines; no line is uncovered
    log.consistency      every stored checkpoint, and the auditor's --since-checkpoint (always,
                         also against an emptied or truncated store), is an RFC 6962 prefix of
                         the latest one (consistency proof verified)
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lineage import merkle
from lineage.attest import is_statement
from lineage.code import file_sha256
from lineage.dsse import Envelope, EnvelopeError, signature_valid
from lineage.gc import GcError, fold_provenance
from lineage.keys import default_root_key_path, root_keys_in_store
from lineage.log import (
    Checkpoint,
    LogError,
    SignedCheckpoint,
    TransparencyLog,
    newest_policy_digest,
    read_checkpoint,
)
from lineage.policy import (
    KnownKey,
    PolicyChain,
    PolicyError,
    TrustRoot,
    allowed_values,
    checkpoint_key_problem,
    key_validity_problem,
    known_keys,
    load_root_anchor,
    pinned_root,
    policy_chain,
    role_allows,
)
from lineage.policy import location_problem as policy_location_problem
from lineage.signing import key_id
from lineage.tombstone import Tombstone, removal_summary
from schemas.policy import TrustPolicy
from schemas.predicates import (
    CHECKPOINT_PAYLOAD_TYPE,
    CONSERVATION_BYPRODUCT,
    IN_TOTO_PAYLOAD_TYPE,
    POLICY_PAYLOAD_TYPE,
    PREDICATE_MODELS,
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    TOMBSTONE_PREDICATE,
    VSA_PREDICATE,
    TombstonePredicate,
)

CHECKS: tuple[tuple[str, str], ...] = (
    ("policy.signature", "policy chain from the trust anchor, newest logged"),
    ("log.format", "lines are DSSE in-toto statements"),
    ("record.signature", "envelope signatures under policy keys"),
    ("record.role", "key role allows the record type"),
    ("record.key_validity", "key valid at the record's log position"),
    ("record.site_pairing", "signing key belongs to the named site"),
    ("record.policy_digest", "cited policy version in force"),
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
    pinned: bool = False  # the anchor came from the caller, not from the store being checked
    warnings: tuple[str, ...] = ()  # what holds but should change (a root key in the store)
    removed: tuple[Tombstone, ...] = ()  # files gc removed, each covered by its tombstone

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> CheckResult:
        return next(c for c in self.checks if c.name == name)

    def failures(self) -> list[str]:
        return [f"{c.name}: {msg}" for c in self.checks for msg in c.failures]

    def first_failure(self) -> str:
        """The first failure and how many more there are: the one line a refusal prints."""
        failures = self.failures() or ["no policy version verifies"]
        more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{failures[0]}{more}"


@dataclass
class _Tally:
    checked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    notes: dict[str, str] = field(default_factory=dict)
    removed: list[Tombstone] = field(default_factory=list)

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
        return f"log index {index}"
    subjects = statement.get("subject") or [{}]
    kind = statement.get("predicateType", "")
    name = subjects[0].get("name", "?")
    if kind == RESIDENCY_PREDICATE:
        return f"log index {index} (residency of {name})"
    if kind == PROVENANCE_PREDICATE:
        run = (statement.get("predicate") or {}).get("runDetails", {}).get("metadata", {})
        return f"log index {index} (provenance of run {run.get('invocationId', '?')})"
    return f"log index {index} ({kind.rsplit('/', 2)[-2] if '/' in kind else kind} of {name})"


@dataclass(frozen=True)
class CheckedStore:
    """A store as `check_store` read and judged it: the lines and checkpoints it read once, and
    the policy chain; readers take what they hand out from exactly these bytes."""

    report: VerifyReport
    chain: PolicyChain | None
    lines: list[bytes]
    checkpoints: list[SignedCheckpoint]


def verify_store(
    store_root: Path,
    since_checkpoint: Path | None = None,
    trust_root: TrustRoot | None = None,
) -> VerifyReport:
    """Run every check on the store; never raises for a bad store, reports it instead.
    `trust_root`: the pinned root (else KURA_TRUST_ROOT, else the store's own, reported)."""
    return check_store(store_root, since_checkpoint, trust_root).report


def check_store(
    store_root: Path,
    since_checkpoint: Path | None = None,
    trust_root: TrustRoot | None = None,
    subjects: Collection[str] | None = None,
) -> CheckedStore:
    """`verify_store`, keeping what it read. `subjects` limits subject.digest to those files
    (a reader hashes the shards it hands out itself, on the bytes it keeps); None: every file."""
    started = time.perf_counter()
    store_root = Path(store_root)
    tally = _Tally()
    warnings: list[str] = []
    anchor_id = ""
    pinned = False
    tlog = TransparencyLog(store_root)
    contents = tlog.read()  # once: every check below judges these very bytes
    lines = contents.lines
    chain: PolicyChain | None = None
    try:
        anchor = pinned_root(trust_root)
        pinned = anchor is not None
        if anchor is None:
            anchor = load_root_anchor(store_root)
            warnings.append("the trust anchor is the store's own keys/root.pub.pem: pin the root "
                            "with --trust-root or KURA_TRUST_ROOT")
        anchor_id = key_id(anchor)
        chain = policy_chain(store_root, anchor, lines)
    except PolicyError as exc:
        tally.fail("policy.signature", str(exc))
    policy: TrustPolicy | None = None
    if chain is not None:
        for problem in chain.problems:
            tally.fail("policy.signature", problem)
        tally.ok("policy.signature", len(chain.versions))
        if chain.current is not None:
            policy = chain.current.policy
            tally.notes["policy.signature"] = (
                f"v{policy.version} ({len(chain.logged)} logged), anchor {anchor_id[:19]}…"
                + ("" if pinned else " (unpinned)"))
            warnings += _root_keys_in_store(store_root, policy)
    try:
        stored = tlog.checkpoints()
    except LogError as exc:
        tally.fail("log.checkpoint", str(exc))
        stored = []
    if policy is not None and chain is not None:
        entries = _check_records(lines, policy, chain, tally)
        _check_subjects(store_root, entries, tally, subjects)
        _check_conservation(entries, tally)
    _check_log(lines, stored, chain, since_checkpoint, tally)
    if contents.partial_tail:
        tally.fail("log.format",
                   f"{tlog.path.name} ends inside log index {len(lines)} (a cut-off line)")
    checks = tuple(
        CheckResult(name, desc, tally.checked.get(name, 0), tuple(tally.failures.get(name, [])),
                    tally.notes.get(name, ""))
        for name, desc in CHECKS
    )
    report = VerifyReport(checks, time.perf_counter() - started, len(lines), anchor_id, pinned,
                          tuple(warnings), tuple(tally.removed))
    return CheckedStore(report, chain, lines, stored)


def _root_keys_in_store(store_root: Path, policy: TrustPolicy) -> list[str]:
    return [f"root private key {path.relative_to(store_root)} is inside the store (made before "
            f"the root left it): whoever can read the store can sign policies; move it out, e.g. "
            f"`mv {path} {default_root_key_path(path.stem)}`, and pass --root-key to policy changes"
            for path in root_keys_in_store(store_root, policy)]


def _parse_line(index: int, line: bytes, tally: _Tally) -> tuple[Envelope, dict] | None:
    try:
        envelope = Envelope.from_json(line)
    except EnvelopeError as exc:
        tally.fail("log.format", f"log index {index}: {exc}")
        return None
    if envelope.payload_type == POLICY_PAYLOAD_TYPE:
        return envelope, {}  # a policy version: `policy_chain` parsed and judged it
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        tally.fail("log.format", f"log index {index}: payloadType {envelope.payload_type!r}")
        return None
    try:
        statement = json.loads(envelope.payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        tally.fail("log.format", f"log index {index}: payload is not JSON")
        return None
    if not is_statement(statement):
        tally.fail("log.format", f"log index {index}: payload is not an in-toto Statement v1")
        return None
    model = PREDICATE_MODELS.get(statement.get("predicateType", ""))
    if model is None:
        tally.fail("log.format", f"log index {index}: unknown predicateType "
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
    lines: list[bytes], policy: TrustPolicy, chain: PolicyChain, tally: _Tally
) -> list[_Entry]:
    keys = known_keys(policy)
    sites = {s.site_id: s for s in policy.sites}
    versions = chain.by_digest
    logged = {p.index: p for p in chain.logged}
    entries: list[_Entry] = []
    for index, line in enumerate(lines):
        parsed = _parse_line(index, line, tally)
        if parsed is None:
            continue
        envelope, statement = parsed
        if envelope.payload_type == POLICY_PAYLOAD_TYPE:
            record = logged.get(index)
            if record is not None and record.signed.digest in versions:
                tally.ok("log.format")
                tally.ok("record.signature")
            else:  # `policy_chain` said why (policy.signature); name the line here too
                tally.fail("record.signature", f"log index {index}: a policy version that is not "
                           "part of the verified chain")
            continue
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
            problem = key_validity_problem(key.entry, index, chain.introduced_at(key.entry.keyid))
            if problem:
                tally.fail("record.key_validity", f"{label}: {problem}")
            else:
                tally.ok("record.key_validity")
            _check_pairing(label, kind, predicate, key, sites, tally)
        cited = _cited_policy(kind, predicate)
        if cited is not None:
            in_force = chain.in_force_at(index)
            if cited not in versions:
                tally.fail("record.policy_digest", f"{label}: cites unknown policy {cited}")
            elif in_force is not None and cited != in_force.signed.digest:
                tally.fail("record.policy_digest", f"{label}: cites policy "
                           f"v{versions[cited].policy.version} but v"
                           f"{in_force.signed.policy.version} (log index {in_force.index}) "
                           "was in force there")
            else:
                tally.ok("record.policy_digest")
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
    if kind == TOMBSTONE_PREDICATE:
        return predicate.get("policyDigest")
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
    elif kind == TOMBSTONE_PREDICATE:
        claim = None
        named = predicate.get("siteId")
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
        problem = policy_location_problem(policy, provider, country, region, uri=loc.get("uri"))
        if problem:
            tally.fail("residency.locations", f"{label}: {where} {provider} {country} {region} "
                       f"(claimed by {loc.get('claimSource', '?')}): {problem}; allowed: "
                       f"{allowed_values(policy)}")
        else:
            tally.ok("residency.locations")


def _check_subjects(
    store_root: Path, entries: list[_Entry], tally: _Tally, only: Collection[str] | None = None
) -> None:
    latest: dict[str, tuple[_Entry, str]] = {}
    claimed: dict[str, set[str]] = defaultdict(set)
    stone_problems: dict[str, str] = {}
    for entry in entries:
        for subject in entry.statement.get("subject", []):
            name, digest = subject.get("name", ""), (subject.get("digest") or {}).get("sha256")
            previous = latest.get(name)
            if entry.statement["predicateType"] == TOMBSTONE_PREDICATE:
                if previous is None or previous[1] != digest:
                    stone_problems[name] = (f"{entry.label}: names sha256 {(digest or '')[:16]}…"
                                            " but no earlier record attests those bytes")
                else:
                    stone_problems.pop(name, None)
            # Name the shard's own residency record rather than the run's provenance or a
            # release's certification, when they make the same claim.
            if not (previous and previous[1] == digest
                    and entry.statement["predicateType"] in (PROVENANCE_PREDICATE,
                                                             VSA_PREDICATE)):
                latest[name] = (entry, digest)
            claimed[name].add(digest)
    root = store_root.resolve()
    superseded = sum(1 for digests in claimed.values() if len(digests) > 1)
    stones = any(entry.statement["predicateType"] == TOMBSTONE_PREDICATE
                 for entry, _ in latest.values())
    departed = _departed_files(entries, tally) if stones else frozenset()
    for name, (entry, expected) in sorted(latest.items()):
        if only is not None and name not in only:
            continue
        path = (store_root / name).resolve()
        if not path.is_relative_to(root) or not name:
            tally.fail("subject.digest", f"{entry.label}: subject {name!r} is outside the store")
            continue
        tombstone = entry.statement["predicateType"] == TOMBSTONE_PREDICATE
        if tombstone:
            problem = stone_problems.get(name) or (
                None if name in departed else f"{entry.label}: {name} is a current file of "
                "its corpus; gc removes only files a later run took out")
            if problem:
                tally.fail("subject.digest", problem)
                continue
            if not path.exists():
                tally.removed.append(Tombstone(name, expected, entry.index,
                                               TombstonePredicate.model_validate(
                                                   entry.statement["predicate"])))
                tally.ok("subject.digest")
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
    removed = removal_summary(tally.removed)
    tally.notes["subject.digest"] = f"{len(latest)} files" + (
        f", {superseded} rewritten since an earlier claim" if superseded else ""
    ) + (f"; {removed}" if removed else "")


def _departed_files(entries: list[_Entry], tally: _Tally) -> frozenset[str]:
    """The files a later run took out of their corpus's current files (gc's fold)."""
    runs = [(entry.index, entry.statement) for entry in entries
            if entry.statement["predicateType"] == PROVENANCE_PREDICATE]
    try:
        return frozenset(fold_provenance(runs).departed)
    except GcError as exc:
        tally.fail("subject.digest", str(exc))
        return frozenset()


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
            # a rewrite run (withdrawal) also takes documents out; absent everywhere else
            withdrawn = sum(int(v) for v in (counts.get("withdrawn") or {}).values())
        except (KeyError, TypeError, ValueError, AttributeError):
            tally.fail("run.conservation", f"{entry.label}: malformed conservation counts")
            continue
        if read != written + rejected + duplicates + withdrawn:
            tally.fail("run.conservation", f"run {run_id}: read {read} != written {written} + "
                       f"rejected {rejected} + duplicates {duplicates}"
                       + (f" + withdrawn {withdrawn}" if withdrawn else ""))
        elif shard_rows.get(run_id, 0) != written:
            attested = shard_rows.get(run_id, 0)
            tally.fail("run.conservation", f"run {run_id}: its shards attest {attested} rows "
                       f"but the provenance says {written} written")
        else:
            tally.ok("run.conservation")


def checkpoint_problem(signed: SignedCheckpoint, chain: PolicyChain) -> str | None:
    """Why a checkpoint cannot be trusted under the chain's policy (signer, role, validity at
    its tree size), or None."""
    if chain.current is None:
        return "no verified policy to check its signer against"
    policy = chain.current.policy
    keys = known_keys(policy)
    for signature in signed.envelope.signatures:
        known = keys.get(signature.keyid)
        if known is None:
            continue
        if not signature_valid(signed.envelope, signature, known.public_key):
            return f"signature by {signature.keyid} does not verify"
        if not role_allows(policy, known.entry.role, CHECKPOINT_PAYLOAD_TYPE):
            return f"{known.entry.role} key {signature.keyid} may not sign checkpoints"
        return checkpoint_key_problem(known.entry, signed.checkpoint.tree_size,
                                      chain.introduced_at(known.entry.keyid))
    return "signed by no key in the trust policy"


def binding_problem(signed: SignedCheckpoint, lines: list[bytes]) -> str | None:
    """A checkpoint that names a policy must name the newest policy line it covers."""
    bound = signed.checkpoint.policy_digest
    size = signed.checkpoint.tree_size
    if bound is None or size > len(lines):
        return None
    newest = newest_policy_digest(lines[:size])
    if bound != newest:
        return (f"binds policy {bound[:19]}… but the newest policy in its {size} lines is "
                f"{(newest or 'none')[:19]}…")
    return None


def _last_good(stored: list[SignedCheckpoint], hashes: list[bytes]) -> str:
    """Where the damage starts: after the largest stored checkpoint the log still matches."""
    for signed in reversed(stored):
        size = signed.checkpoint.tree_size
        if size <= len(hashes) and merkle.root(hashes[:size]).hex() == signed.checkpoint.root_hash:
            return f" after log index {size - 1} (the log still matches checkpoint size {size})"
    return " (no stored checkpoint matches the log)"


def _check_log(
    lines: list[bytes],
    stored: list[SignedCheckpoint],
    chain: PolicyChain | None,
    since: Path | None,
    tally: _Tally,
) -> None:
    hashes = [merkle.leaf_hash(line) for line in lines]
    head = _check_head(lines, hashes, stored, chain, tally)
    earlier = [(c.path.name if c.path else "?", c) for c in stored[:-1]]
    if since is not None:
        # Always checked: an emptied or truncated store must not make an auditor's memory moot.
        try:
            earlier.append((f"--since-checkpoint {since.name}", read_checkpoint(since)))
        except LogError as exc:
            tally.fail("log.consistency", str(exc))
    for label, old in earlier:
        problem = (checkpoint_problem(old, chain) if chain is not None
                   else "no verified policy to check its signer against")
        if problem:
            tally.fail("log.consistency", f"{label}: {problem}")
            continue
        size = old.checkpoint.tree_size
        old_root = old.checkpoint.root_hash
        if size > len(lines):
            tally.fail("log.consistency", f"{label} (size {size}) covers {size} lines but the log "
                       f"has {len(lines)}: log indexes {len(lines)}..{size - 1} are missing")
        elif head is None or size > head.tree_size:
            # No trusted head to prove against: compare with the lines themselves.
            if merkle.root(hashes[:size]).hex() == old_root:
                tally.ok("log.consistency")
            else:
                tally.fail("log.consistency", f"{label} (size {size}, root {old_root[:12]}…) is "
                           f"not a prefix of the log: history was rewritten")
        elif merkle.verify_consistency(
            size, head.tree_size, bytes.fromhex(old_root), bytes.fromhex(head.root_hash),
            merkle.consistency_proof(size, hashes[: head.tree_size]),
        ):
            tally.ok("log.consistency")
        else:
            tally.fail("log.consistency", f"{label} (size {size}, root {old_root[:12]}…) is not a "
                       f"prefix of the latest checkpoint (size {head.tree_size}): history was "
                       "rewritten")


def _check_head(
    lines: list[bytes], hashes: list[bytes], stored: list[SignedCheckpoint],
    chain: PolicyChain | None, tally: _Tally,
) -> Checkpoint | None:
    """Check the latest checkpoint; return its head if the log holds every line it covers."""
    if not stored:
        if lines:
            tally.fail("log.checkpoint", f"{len(lines)} log lines but no checkpoint")
        return None
    latest = stored[-1]
    head = latest.checkpoint
    name = latest.path.name if latest.path else "latest checkpoint"
    problem = (checkpoint_problem(latest, chain) if chain is not None
               else "no verified policy to check its signer against")
    binding = binding_problem(latest, lines)
    if problem:
        tally.fail("log.checkpoint", f"{name}: {problem}")
    elif head.tree_size > len(lines):
        tally.fail("log.checkpoint", f"{name} covers {head.tree_size} lines but the log has "
                   f"{len(lines)}: lines were removed{_last_good(stored, hashes)}")
    elif merkle.root(hashes[: head.tree_size]).hex() != head.root_hash:
        tally.fail("log.checkpoint", f"{name}: the Merkle root of the first {head.tree_size} lines "
                   f"is not the signed root {head.root_hash[:16]}…: the log was altered"
                   f"{_last_good(stored, hashes)}")
    elif binding:
        tally.fail("log.checkpoint", f"{name}: {binding}")
    elif head.tree_size < len(lines):
        tally.fail("log.checkpoint", f"log indexes {head.tree_size}..{len(lines) - 1} are "
                   "covered by no checkpoint")
    else:
        tally.ok("log.checkpoint")
    tally.notes["log.checkpoint"] = f"size {head.tree_size}, root {head.root_hash[:12]}…"
    return head if head.tree_size <= len(lines) else None

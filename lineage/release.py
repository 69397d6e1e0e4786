"""Releases: their index files, and verifying a release's certification record (C).

    <store>/releases/<name>.json   the index `kura release list` reads (schemas/release.py):
                                   name, log index and envelope digest of the record. Unsigned:
                                   readers use it only to find the record.

`verify_release` is what a trainer trusts. It needs the root the trainer pinned (`--trust-root`
/ KURA_TRUST_ROOT; never the store's own) and first runs `audit verify`'s checks over the store
(`check_store`: policy chain, every record, checkpoints, consistency), then checks the record at
the log index the index file names: that envelope, the first certification of this release, a
VSA with verificationResult PASSED and the Japanese residency level, signed by a certifier key of
the policy valid at that log position, included in the latest signed checkpoint. Every fact it
returns comes from signed records: the shard list from the VSA's subjects, each shard's rows and
bytes from the residency attestation the VSA cites for it, the dates, certifier and each corpus's
member, license and sensitivity from the VSA (a restricted corpus must have been released
explicitly, or the record is refused). Shard bytes are checked by the caller that reads them
(pull, open_release), on the bytes it keeps.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from lineage import merkle
from lineage.attest import is_statement
from lineage.dsse import Envelope, EnvelopeError, signature_valid
from lineage.log import TransparencyLog
from lineage.policy import (
    KnownKey,
    PolicyChain,
    PolicyError,
    TrustRoot,
    key_validity_problem,
    known_keys,
    require_pinned_root,
    role_allows,
)
from lineage.signing import key_id
from lineage.tombstone import removal_note
from lineage.verify import CheckedStore, check_store
from lineage.withdraw import WithdrawalError, WithdrawnShard, withdrawn_in_shards
from schemas.predicates import (
    CERTIFIER_URI_PREFIX,
    IN_TOTO_PAYLOAD_TYPE,
    JP_RESIDENCY_LEVEL,
    RELEASE_URI_PREFIX,
    RESIDENCY_PREDICATE,
    VSA_PREDICATE,
    CertifiedCorpus,
    VsaPredicate,
)
from schemas.release import (
    RELEASE_FILE_FORMAT,
    PulledReleaseFile,
    PulledShard,
    ReleaseFile,
    ReleaseShard,
)
from schemas.store import StoreLayout

# Re-exported: the release shapes live in schemas/release.py; older imports name this module.
__all__ = [
    "RELEASE_FILE_FORMAT", "PulledReleaseFile", "PulledShard", "ReleaseFile", "ReleaseShard",
]

# A pulled directory holds only Parquet shards where readers look (<corpus>/<file>.parquet);
# release metadata goes under __kura/. pyarrow.dataset skips names starting with "_" or ".", but
# HF datasets (5.2) skips only hidden names and folders starting with "__": measured, a "_kura/"
# folder's release.json made `load_dataset("parquet", data_dir=DEST)` fail.
PULLED_METADATA_DIR = "__kura"
PULLED_RELEASE_FILE = "release.json"
PULLED_CARD_FILE = "README.md"
SHARDS_PREFIX = "shards/"
HASH_CHUNK = 1 << 20


class ReleaseError(ValueError):
    """A release that does not exist or whose index cannot be read; one line for the user."""


class ReleaseVerificationError(ReleaseError):
    """A release that fails verification; the message names the record, key or shard at fault."""


class UnpinnedRootError(ReleaseError):
    """No root was pinned (or the pin cannot be read): readers never trust the store's own."""


@dataclass(frozen=True)
class VerifiedRelease:
    """A release whose record verified; every field comes from signed records."""

    name: str
    log_index: int
    envelope: Envelope
    certifier_id: str
    signer_keyid: str
    time_verified: str
    checkpoint_tree_size: int
    shards: tuple[ReleaseShard, ...]  # the VSA's subjects; rows/bytes from their attestations
    anchor_keyid: str = ""
    policy_version: int = 0
    # Each corpus's member, license and sensitivity as certified; empty for a release certified
    # before Kura recorded them.
    corpus_facts: tuple[CertifiedCorpus, ...] = ()
    # Its shards that hold documents withdrawn since (signed withdrawal records of the log the
    # store verified with): the release still verifies, but holds data that left.
    withdrawn: tuple[WithdrawnShard, ...] = ()

    @property
    def where(self) -> str:
        return f"release {self.name} (log index {self.log_index})"

    @property
    def corpora(self) -> list[str]:
        return sorted({corpus for s in self.shards if (corpus := shard_corpus(s.name))})


def release_uri(name: str) -> str:
    return RELEASE_URI_PREFIX + name


def certifier_uri(certifier_id: str) -> str:
    return CERTIFIER_URI_PREFIX + certifier_id


def release_path(store_root: Path, name: str) -> Path:
    return StoreLayout(Path(store_root)).releases / f"{name}.json"


def write_release_file(store_root: Path, release: ReleaseFile) -> Path:
    path = release_path(store_root, release.release)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(release.to_json_dict(), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def _parse_release_file(path: Path) -> ReleaseFile:
    try:
        return ReleaseFile.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ReleaseError(f"{path}: cannot read ({exc.strerror})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ReleaseError(f"{path}: not a release file ({'.'.join(map(str, err['loc']))}: "
                           f"{err['msg']})") from None


def read_release(store_root: Path | str, name: str) -> ReleaseFile:
    path = release_path(Path(store_root), name)
    if not path.is_file():
        known = [r.release for r in list_releases(store_root)]
        raise ReleaseError(f"no release named {name!r} in {Path(store_root)} "
                           f"(releases: {', '.join(known) or 'none'})")
    release = _parse_release_file(path)
    if release.release != name:
        raise ReleaseError(f"{path}: names release {release.release!r}, not {name!r}")
    return release


def list_releases(store_root: Path | str) -> list[ReleaseFile]:
    """Every release of the store, oldest first."""
    folder = StoreLayout(Path(store_root)).releases
    if not folder.is_dir():
        return []
    found = [_parse_release_file(p) for p in folder.glob("*.json") if not p.name.startswith(".")]
    return sorted(found, key=lambda r: r.log_index)


def _vsa_statement(line: bytes) -> tuple[Envelope, dict[str, Any]] | None:
    try:
        envelope = Envelope.from_json(line)
        statement = json.loads(envelope.payload)
    except (EnvelopeError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not is_statement(statement) or statement.get("predicateType") != VSA_PREDICATE:
        return None
    return envelope, statement


def release_record_index(lines: list[bytes], name: str) -> int | None:
    """The log index (0-based) of the first certification of release `name`, if any."""
    uri = release_uri(name)
    for index, line in enumerate(lines):
        parsed = _vsa_statement(line)
        if parsed and (parsed[1].get("predicate") or {}).get("resourceUri") == uri:
            return index
    return None


# --- verifying the record -------------------------------------------------------------------------


def _signing_certifier(envelope: Envelope, chain: PolicyChain, where: str) -> KnownKey:
    """The policy key whose signature verifies, which must be a certifier's."""
    assert chain.current is not None
    policy = chain.current.policy
    keys = known_keys(policy)
    for signature in envelope.signatures:
        known = keys.get(signature.keyid)
        if known is None or not signature_valid(envelope, signature, known.public_key):
            continue
        if known.owner_kind != "certifier" or not role_allows(
            policy, known.entry.role, VSA_PREDICATE
        ):
            raise ReleaseVerificationError(
                f"{where}: signed by {known.owner_kind} {known.owner_id or 'root'}'s "
                f"{known.entry.role} key {known.entry.keyid}, which may not sign certifications")
        return known
    signers = ", ".join(s.keyid for s in envelope.signatures)
    raise ReleaseVerificationError(
        f"{where}: no signature verifies under a key of the trust policy (signed by {signers})")


def _check_inclusion(checked: CheckedStore, index: int, where: str) -> int:
    """Prove the record's line is in the latest signed checkpoint; return its tree size.
    (`check_store` already judged that checkpoint's signer and root; this is the proof.)"""
    if not checked.checkpoints:
        raise ReleaseVerificationError(f"{where}: the log has no signed checkpoint")
    latest = checked.checkpoints[-1]
    head = latest.checkpoint
    name = latest.path.name if latest.path else "the latest checkpoint"
    lines = checked.lines
    if head.tree_size <= index:
        raise ReleaseVerificationError(
            f"{where}: not covered by the latest checkpoint {name} (size {head.tree_size})")
    if head.tree_size > len(lines):
        raise ReleaseVerificationError(
            f"{where}: checkpoint {name} covers {head.tree_size} lines but the log has "
            f"{len(lines)}: lines were removed")
    hashes = [merkle.leaf_hash(line) for line in lines[: head.tree_size]]
    proof = merkle.inclusion_proof(index, hashes)
    if not merkle.verify_inclusion(index, head.tree_size, hashes[index], proof,
                                   bytes.fromhex(head.root_hash)):
        raise ReleaseVerificationError(
            f"{where}: inclusion proof against checkpoint {name} (size {head.tree_size}) fails: "
            "the log was altered")
    return head.tree_size


def _parse_record(line: bytes, release: ReleaseFile, where: str) -> tuple[Envelope, VsaPredicate,
                                                                          list[dict[str, Any]]]:
    try:
        envelope = Envelope.from_json(line)
    except EnvelopeError as exc:
        raise ReleaseVerificationError(f"{where}: not a DSSE envelope ({exc})") from None
    if envelope.digest != release.envelope_digest:
        raise ReleaseVerificationError(
            f"{where}: the log line's envelope digest {envelope.digest[:16]}… is not the "
            f"{release.envelope_digest[:16]}… that releases/{release.release}.json names")
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise ReleaseVerificationError(f"{where}: payloadType {envelope.payload_type!r}")
    try:
        statement = json.loads(envelope.payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ReleaseVerificationError(f"{where}: payload is not JSON") from None
    if not is_statement(statement) or statement.get("predicateType") != VSA_PREDICATE:
        raise ReleaseVerificationError(f"{where}: not a certification (SLSA VSA) statement")
    try:
        predicate = VsaPredicate.model_validate(statement.get("predicate"))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ReleaseVerificationError(
            f"{where}: predicate {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return envelope, predicate, list(statement.get("subject") or [])


def _attested_counts(
    lines: list[bytes], predicate: VsaPredicate, where: str
) -> dict[tuple[str, str], tuple[int, int]]:
    """(shard name, sha256) -> (rows, bytes) from the residency records the VSA cites, each the
    envelope the citation's digest names."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for cited in predicate.input_attestations:
        uri, digest = cited.uri or "", (cited.digest or {}).get("sha256", "")
        try:
            index = int(uri.removeprefix("kura:log/"))
            envelope = Envelope.from_json(lines[index])
            statement = json.loads(envelope.payload)
        except (ValueError, IndexError, EnvelopeError, UnicodeDecodeError):
            raise ReleaseVerificationError(
                f"{where}: cites input attestation {uri!r}, which is not a log record") from None
        if envelope.digest != digest or statement.get("predicateType") != RESIDENCY_PREDICATE:
            raise ReleaseVerificationError(
                f"{where}: input attestation {uri} is not the residency record it cites")
        counts = (statement.get("predicate") or {}).get("counts") or {}
        for subject in statement.get("subject") or []:
            sha = (subject.get("digest") or {}).get("sha256", "")
            found[(subject.get("name", ""), sha)] = (int(counts.get("rows", 0)),
                                                     int(counts.get("bytes", 0)))
    return found


def _subjects(subjects: list[dict[str, Any]], counts: dict[tuple[str, str], tuple[int, int]],
              where: str) -> tuple[ReleaseShard, ...]:
    shards = []
    for subject in subjects:
        name = subject.get("name") or ""
        sha = (subject.get("digest") or {}).get("sha256") or ""
        shard_file_name(name)  # refuses a subject that would escape the store or the pull dir
        attested = counts.get((name, sha))
        if attested is None:
            raise ReleaseVerificationError(
                f"{where}: certifies {name} but cites no residency attestation of it with that "
                "digest")
        shards.append(ReleaseShard(name=name, sha256=sha, rows=attested[0], bytes=attested[1]))
    if not shards:
        raise ReleaseVerificationError(f"{where}: certifies no shard")
    return tuple(shards)


def _checked_corpus_facts(predicate: VsaPredicate, shards: tuple[ReleaseShard, ...],
                          where: str) -> tuple[CertifiedCorpus, ...]:
    """The VSA's corpus facts, one per corpus of its subjects; a restricted corpus must have been
    released explicitly. A release certified before facts were recorded has none."""
    if predicate.corpus_facts is None:
        return ()
    facts = {f.corpus_id: f for f in predicate.corpus_facts}
    if len(facts) != len(predicate.corpus_facts):
        raise ReleaseVerificationError(f"{where}: names a corpus twice in corpusFacts")
    corpora = {shard_corpus(s.name) for s in shards}
    if set(facts) != corpora:
        raise ReleaseVerificationError(
            f"{where}: corpusFacts names {', '.join(sorted(facts)) or 'no corpus'} but the "
            f"shards are of {', '.join(sorted(c or '?' for c in corpora))}")
    for fact in facts.values():
        if fact.sensitivity == "restricted" and fact.allow_restricted is not True:
            raise ReleaseVerificationError(
                f"{where}: certifies restricted corpus {fact.corpus_id} without recording that "
                "it was released explicitly (--allow-restricted)")
    return tuple(facts[c] for c in sorted(facts))


def shard_corpus(name: str) -> str | None:
    """The corpus of a shards/<corpus>/<file> name, else None."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] + "/" == SHARDS_PREFIX and parts[1] and parts[2]:
        return parts[1]
    return None


def verify_release(
    store_root: Path | str, name: str, trust_root: TrustRoot | None = None
) -> VerifiedRelease:
    """Verify the store and release `name`'s certification record (not yet its shard bytes);
    raise ReleaseVerificationError naming what fails. `trust_root` is the root public key (PEM
    path, or the key) the trainer pinned, else KURA_TRUST_ROOT; without either, UnpinnedRootError.
    """
    store_root = Path(store_root)
    try:
        anchor = require_pinned_root(trust_root)
    except PolicyError as exc:
        raise UnpinnedRootError(str(exc)) from None
    release = read_release(store_root, name)
    where = f"release {name} (log index {release.log_index})"
    # The reader hashes the shards it hands out itself; every other check runs as in audit verify.
    checked = check_store(store_root, trust_root=anchor, subjects=())
    chain = checked.chain
    if chain is None or chain.current is None:
        raise ReleaseVerificationError(f"{where}: {_store_failure(checked, anchor)}")
    lines = checked.lines
    if release.log_index >= len(lines):
        raise ReleaseVerificationError(f"{where}: the log has only {len(lines)} records")
    envelope, predicate, subjects = _parse_record(lines[release.log_index], release, where)
    first = release_record_index(lines, name)
    if first != release.log_index:
        raise ReleaseVerificationError(
            f"{where}: release {name} was first certified at log index {first or 0}")
    key = _signing_certifier(envelope, chain, where)
    problem = key_validity_problem(key.entry, release.log_index,
                                   chain.introduced_at(key.entry.keyid))
    if problem:
        raise ReleaseVerificationError(f"{where}: {problem}")
    if predicate.verifier.id != certifier_uri(key.owner_id):
        raise ReleaseVerificationError(
            f"{where}: names verifier {predicate.verifier.id} but is signed by certifier "
            f"{key.owner_id}")
    if predicate.resource_uri != release_uri(name):
        raise ReleaseVerificationError(
            f"{where}: certifies {predicate.resource_uri}, not {release_uri(name)}")
    if predicate.verification_result != "PASSED" or JP_RESIDENCY_LEVEL not in (
        predicate.verified_levels
    ):
        raise ReleaseVerificationError(
            f"{where}: verificationResult {predicate.verification_result}, levels "
            f"{', '.join(predicate.verified_levels) or 'none'}: not a passed residency "
            "certification")
    if not checked.report.ok:
        raise ReleaseVerificationError(f"{where}: {_store_failure(checked, anchor)}")
    tree_size = _check_inclusion(checked, release.log_index, where)
    shards = _subjects(subjects, _attested_counts(lines, predicate, where), where)
    facts = _checked_corpus_facts(predicate, shards, where)
    try:
        withdrawn = withdrawn_in_shards(store_root, lines, [(s.name, s.sha256) for s in shards])
    except WithdrawalError as exc:
        raise ReleaseVerificationError(f"{where}: {exc}") from None
    return VerifiedRelease(
        name=name,
        log_index=release.log_index,
        envelope=envelope,
        certifier_id=key.owner_id,
        signer_keyid=key.entry.keyid,
        time_verified=predicate.time_verified,
        checkpoint_tree_size=tree_size,
        shards=shards,
        anchor_keyid=key_id(anchor),
        policy_version=chain.current.policy.version,
        corpus_facts=facts,
        withdrawn=tuple(withdrawn),
    )


def withdrawn_note(release: VerifiedRelease) -> str | None:
    """One line warning that a verified release holds withdrawn data, or None."""
    if not release.withdrawn:
        return None
    documents = sum(w.documents for w in release.withdrawn)
    records = sorted({w.log_index for s in release.withdrawn for w in s.withdrawals})
    return (f"{release.where} holds withdrawn data: {documents} withdrawn document(s) in "
            f"{len(release.withdrawn)} of its {len(release.shards)} shards (withdrawal at log "
            f"index {', '.join(map(str, records))}); do not train on it: use a later release")


def _store_failure(checked: CheckedStore, anchor: Ed25519PublicKey) -> str:
    return (f"the store does not verify against the pinned root {key_id(anchor)[:19]}…: "
            f"{checked.report.first_failure()}")


# --- shard files ----------------------------------------------------------------------------------


def shard_file_name(name: str) -> PurePosixPath:
    """A certified shard's store-relative name as a safe relative path (no '..', not absolute)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name or any(
        part in ("", ".", "..") for part in name.split("/")
    ):
        raise ReleaseVerificationError(f"shard name {name!r} is not a plain store-relative path")
    return path


def pulled_release_file(dest: Path) -> Path:
    """Where a pull writes its release.json: DEST/__kura/release.json."""
    return Path(dest) / PULLED_METADATA_DIR / PULLED_RELEASE_FILE


def find_pulled_release_file(dest: Path) -> Path | None:
    """The release.json of a pulled directory, in the current layout (__kura/release.json) or
    the one before it (release.json beside the shards); None if `dest` holds neither."""
    for candidate in (pulled_release_file(dest), Path(dest) / PULLED_RELEASE_FILE):
        if candidate.is_file():
            return candidate
    return None


def pulled_path(name: str) -> str:
    """Where a shard goes inside a pulled directory: shards/<corpus>/<file> -> <corpus>/<file>."""
    return shard_file_name(name).as_posix().removeprefix(SHARDS_PREFIX)


def digest_mismatch(release: VerifiedRelease, shard: ReleaseShard, actual: str) -> str:
    return (f"{shard.name}: sha256 {actual[:16]}… differs from {shard.sha256[:16]}… certified "
            f"by {release.where}")


def missing_shard(store_root: Path, release: VerifiedRelease, shard: ReleaseShard) -> str:
    """Why a certified shard is not on disk: removed by `kura gc` (its tombstone says when and
    why; the release can no longer be pulled), or missing without a record."""
    note = removal_note(TransparencyLog(Path(store_root)).read().lines, shard.name)
    if note:
        return (f"{shard.name}: certified by {release.where} but its bytes were {note}; "
                "the release can no longer be pulled: use a later release")
    return f"{shard.name}: certified by {release.where} but missing from the store"


def read_certified_shard(store_root: Path, release: VerifiedRelease, shard: ReleaseShard) -> bytes:
    """The shard's bytes, read once and returned only if their sha256 is the certified one."""
    path = Path(store_root) / shard_file_name(shard.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReleaseVerificationError(
            f"{shard.name}: certified by {release.where} but cannot be read "
            f"({exc.strerror})") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != shard.sha256:
        raise ReleaseVerificationError(digest_mismatch(release, shard, actual))
    return data


def copy_certified_shard(
    store_root: Path, release: VerifiedRelease, shard: ReleaseShard, target: Path
) -> int:
    """Copy the shard to `target` (a new file), hashing exactly the bytes written; raise if they
    are not the certified ones. Returns the number of bytes copied."""
    source = Path(store_root) / shard_file_name(shard.name)
    digest = hashlib.sha256()
    copied = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(source, "rb") as src, open(target, "xb") as out:
            while block := src.read(HASH_CHUNK):
                digest.update(block)
                out.write(block)
                copied += len(block)
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError:
        raise ReleaseVerificationError(missing_shard(store_root, release, shard)) from None
    if digest.hexdigest() != shard.sha256:
        raise ReleaseVerificationError(digest_mismatch(release, shard, digest.hexdigest()))
    return copied


def shard_problem(store_root: Path, release: VerifiedRelease, shard: ReleaseShard) -> str | None:
    """Why the shard on disk is not the certified one, or None (streams; for `release show`)."""
    path = Path(store_root) / shard_file_name(shard.name)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as src:
            while block := src.read(HASH_CHUNK):
                digest.update(block)
    except OSError:
        return missing_shard(store_root, release, shard)
    actual = digest.hexdigest()
    return None if actual == shard.sha256 else digest_mismatch(release, shard, actual)

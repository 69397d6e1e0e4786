"""Releases: their index files, and verifying a release's certification record (C).

    <store>/releases/<name>.json   the index `kura release list` reads: name, log index and
                                   envelope digest of the record, shard list. Unsigned: every
                                   reader goes back to the signed record it points at.

`verify_release` is what a trainer trusts, and it needs only the trust policy (checked against
the root anchor), the log and the latest checkpoint: the record at the index's log line must be
the envelope the index names, a VSA for this release with verificationResult PASSED and the
Japanese residency level, signed by a certifier key of the policy that was valid for it, and
included in the latest signed checkpoint (RFC 6962 inclusion proof). The shard list comes from
the signed record, never from the index. Shard bytes are checked by the caller that reads them
(pull, open_release), on the very bytes it keeps.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from lineage import merkle
from lineage.attest import is_statement
from lineage.dsse import Envelope, EnvelopeError, signature_valid
from lineage.log import LogContents, LogError, TransparencyLog
from lineage.policy import (
    KnownKey,
    PolicyError,
    key_validity_problem,
    known_keys,
    load_policy,
    role_allows,
)
from lineage.signing import KeyFileError, load_public_key_pem
from lineage.verify import checkpoint_problem
from schemas.policy import TrustPolicy
from schemas.predicates import (
    CERTIFIER_URI_PREFIX,
    IN_TOTO_PAYLOAD_TYPE,
    JP_RESIDENCY_LEVEL,
    RELEASE_URI_PREFIX,
    VSA_PREDICATE,
    VsaPredicate,
)
from schemas.store import StoreLayout

RELEASE_FILE_FORMAT = "1"
PULLED_RELEASE_FILE = "release.json"
SHARDS_PREFIX = "shards/"
HASH_CHUNK = 1 << 20


class ReleaseError(ValueError):
    """A release that does not exist or whose index cannot be read; one line for the user."""


class ReleaseVerificationError(ReleaseError):
    """A release that fails verification; the message names the record, key or shard at fault."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ReleaseShard(_Model):
    name: str = Field(description="store-relative path, as the certification's subject")
    sha256: str
    rows: int
    bytes: int


class ReleaseFile(_Model):
    """<store>/releases/<name>.json."""

    format: str = RELEASE_FILE_FORMAT
    release: str
    created_at: str
    certifier_id: str
    corpora: list[str]
    log_index: int = Field(ge=0, description="0-based line of the certification in the log")
    envelope_digest: str = Field(description="sha256 of the certification's envelope line")
    shards: list[ReleaseShard]


class PulledShard(_Model):
    name: str = Field(description="store-relative path, as the certification's subject")
    path: str = Field(description="path of the copy, relative to the pulled directory")
    sha256: str
    rows: int
    bytes: int


class PulledReleaseFile(_Model):
    """<dest>/release.json, written by `kura pull` beside the shards. `certification` is the
    signed envelope itself, so the pulled folder can be checked again without the store."""

    format: str = RELEASE_FILE_FORMAT
    release: str
    certifier_id: str
    time_verified: str
    log_index: int
    envelope_digest: str
    checkpoint_tree_size: int
    shards: list[PulledShard]
    certification: dict[str, Any]


@dataclass(frozen=True)
class VerifiedRelease:
    """A release whose record verified; `shards` are the signed record's subjects."""

    name: str
    log_index: int
    envelope: Envelope
    certifier_id: str
    signer_keyid: str
    time_verified: str
    checkpoint_tree_size: int
    shards: tuple[ReleaseShard, ...]

    @property
    def where(self) -> str:
        return f"release {self.name} (log line {self.log_index + 1})"


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
    """The log line (0-based) of the first certification of release `name`, if any."""
    uri = release_uri(name)
    for index, line in enumerate(lines):
        parsed = _vsa_statement(line)
        if parsed and (parsed[1].get("predicate") or {}).get("resourceUri") == uri:
            return index
    return None


# --- verifying the record -------------------------------------------------------------------------


def _signing_certifier(
    envelope: Envelope, policy: TrustPolicy, where: str
) -> KnownKey:
    """The policy key whose signature verifies, which must be a certifier's."""
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


def _check_inclusion(
    tlog: TransparencyLog, contents: LogContents, policy: TrustPolicy, index: int, where: str
) -> int:
    """Prove the record's line is in the latest signed checkpoint; return its tree size."""
    try:
        checkpoints = tlog.checkpoints()
    except LogError as exc:
        raise ReleaseVerificationError(f"{where}: {exc}") from None
    if not checkpoints:
        raise ReleaseVerificationError(f"{where}: the log has no signed checkpoint")
    latest = checkpoints[-1]
    head = latest.checkpoint
    name = latest.path.name if latest.path else "the latest checkpoint"
    problem = checkpoint_problem(latest, known_keys(policy), policy)
    if problem:
        raise ReleaseVerificationError(f"{where}: checkpoint {name}: {problem}")
    if head.tree_size <= index:
        raise ReleaseVerificationError(
            f"{where}: not covered by the latest checkpoint {name} (size {head.tree_size})")
    if head.tree_size > len(contents.lines):
        raise ReleaseVerificationError(
            f"{where}: checkpoint {name} covers {head.tree_size} lines but the log has "
            f"{len(contents.lines)}: lines were removed")
    hashes = contents.leaf_hashes()[: head.tree_size]
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


def _subjects(subjects: list[dict[str, Any]], release: ReleaseFile,
              where: str) -> tuple[ReleaseShard, ...]:
    indexed = {s.name: s for s in release.shards}
    shards = []
    for subject in subjects:
        name = subject.get("name") or ""
        sha = (subject.get("digest") or {}).get("sha256") or ""
        listed = indexed.pop(name, None)
        if listed is None or listed.sha256 != sha:
            raise ReleaseVerificationError(
                f"{where}: releases/{release.release}.json does not list {name} with the digest "
                "its signed record certifies")
        shard_file_name(name)  # refuses a subject that would escape the store or the pull dir
        shards.append(listed)
    if indexed:
        raise ReleaseVerificationError(
            f"{where}: releases/{release.release}.json lists {sorted(indexed)[0]}, which its "
            "signed record does not certify")
    if not shards:
        raise ReleaseVerificationError(f"{where}: certifies no shard")
    return tuple(shards)


def verify_release(
    store_root: Path | str, name: str, trust_root: Path | None = None
) -> VerifiedRelease:
    """Verify release `name`'s certification record (not yet its shard bytes); raise
    ReleaseVerificationError naming what fails. `trust_root` is the root public key (PEM) the
    trainer pinned; default: the store's keys/root.pub.pem."""
    store_root = Path(store_root)
    release = read_release(store_root, name)
    where = f"release {name} (log line {release.log_index + 1})"
    try:
        anchor = load_public_key_pem(trust_root.read_bytes()) if trust_root else None
        policy = load_policy(store_root, anchor).policy
    except (PolicyError, KeyFileError, OSError) as exc:
        raise ReleaseVerificationError(f"trust policy: {exc}") from None
    tlog = TransparencyLog(store_root)
    contents = tlog.read()  # one read: the record and its proof come from the same bytes
    if release.log_index >= len(contents.lines):
        raise ReleaseVerificationError(
            f"{where}: the log has only {len(contents.lines)} lines")
    envelope, predicate, subjects = _parse_record(
        contents.lines[release.log_index], release, where)
    key = _signing_certifier(envelope, policy, where)
    problem = key_validity_problem(key.entry, predicate.time_verified, release.log_index)
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
    tree_size = _check_inclusion(tlog, contents, policy, release.log_index, where)
    return VerifiedRelease(
        name=name,
        log_index=release.log_index,
        envelope=envelope,
        certifier_id=key.owner_id,
        signer_keyid=key.entry.keyid,
        time_verified=predicate.time_verified,
        checkpoint_tree_size=tree_size,
        shards=_subjects(subjects, release, where),
    )


# --- shard files ----------------------------------------------------------------------------------


def shard_file_name(name: str) -> PurePosixPath:
    """A certified shard's store-relative name as a safe relative path (no '..', not absolute)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name or any(
        part in ("", ".", "..") for part in name.split("/")
    ):
        raise ReleaseVerificationError(f"shard name {name!r} is not a plain store-relative path")
    return path


def pulled_path(name: str) -> str:
    """Where a shard goes inside a pulled directory: shards/<corpus>/<file> -> <corpus>/<file>."""
    return shard_file_name(name).as_posix().removeprefix(SHARDS_PREFIX)


def digest_mismatch(release: VerifiedRelease, shard: ReleaseShard, actual: str) -> str:
    return (f"{shard.name}: sha256 {actual[:16]}… differs from {shard.sha256[:16]}… certified "
            f"by {release.where}")


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
        raise ReleaseVerificationError(
            f"{shard.name}: certified by {release.where} but missing from the store") from None
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
        return f"{shard.name}: certified by {release.where} but missing from the store"
    actual = digest.hexdigest()
    return None if actual == shard.sha256 else digest_mismatch(release, shard, actual)

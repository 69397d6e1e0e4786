"""The append-only lineage log: one DSSE envelope per line of <store>/lineage/log.jsonl, an
RFC 6962 Merkle tree over the lines (each line's bytes without its newline is a leaf), and
signed checkpoints of (tree size, root) under <store>/lineage/checkpoints/.

Appends take an exclusive file lock (filelock) around "check the tail, write, fsync, checkpoint",
so two runs on one store cannot interleave or lose a line, and every checkpoint describes exactly
the bytes that were on disk when it was signed.

The trust policy is in the log too (each version's envelope is a line), and a checkpoint names
the digest of the newest policy line it covers (`policyDigest`), so the policy in force is
bound into every signed tree head, not only reachable through its root hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from lineage import merkle
from lineage.clock import utc_now
from lineage.dsse import Envelope, EnvelopeError, canonical_json, sign
from lineage.signing import SigningKey
from schemas.predicates import CHECKPOINT_PAYLOAD_TYPE, POLICY_PAYLOAD_TYPE
from schemas.store import StoreLayout

log = logging.getLogger(__name__)
LOCK_TIMEOUT_S = 600


class LogError(ValueError):
    """A log or checkpoint that cannot be read as written; one line naming the file and spot."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: str  # hex
    timestamp: str  # for people: no verdict rests on a time the signer wrote
    policy_digest: str | None = None  # the newest policy line covered; None before any (or old)

    def to_payload(self) -> bytes:
        data = {
            "origin": self.origin,
            "rootHash": self.root_hash,
            "timestamp": self.timestamp,
            "treeSize": self.tree_size,
        }
        if self.policy_digest is not None:
            data["policyDigest"] = self.policy_digest
        return canonical_json(data)

    @classmethod
    def from_payload(cls, payload: bytes) -> Checkpoint:
        data = json.loads(payload)
        digest = data.get("policyDigest")
        return cls(
            origin=str(data["origin"]),
            tree_size=int(data["treeSize"]),
            root_hash=str(data["rootHash"]),
            timestamp=str(data["timestamp"]),
            policy_digest=str(digest) if digest is not None else None,
        )


def newest_policy_digest(lines: Sequence[bytes]) -> str | None:
    """The digest (sha256 of the payload, as `SignedPolicy.digest`) of the last policy line."""
    marker = POLICY_PAYLOAD_TYPE.encode()
    for line in reversed(lines):
        if marker not in line:
            continue
        try:
            envelope = Envelope.from_json(line)
        except EnvelopeError:
            continue
        if envelope.payload_type == POLICY_PAYLOAD_TYPE:
            return "sha256:" + hashlib.sha256(envelope.payload).hexdigest()
    return None


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    envelope: Envelope
    path: Path | None = None


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> SignedCheckpoint:
    return SignedCheckpoint(checkpoint, sign(CHECKPOINT_PAYLOAD_TYPE, checkpoint.to_payload(), key))


def read_checkpoint(path: Path) -> SignedCheckpoint:
    try:
        envelope = Envelope.from_json(path.read_bytes())
        if envelope.payload_type != CHECKPOINT_PAYLOAD_TYPE:
            raise LogError(f"{path}: payloadType {envelope.payload_type!r} is not a checkpoint")
        return SignedCheckpoint(Checkpoint.from_payload(envelope.payload), envelope, path)
    except OSError as exc:
        raise LogError(f"{path}: cannot read checkpoint ({exc.strerror})") from None
    except (EnvelopeError, KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, LogError):
            raise
        raise LogError(f"{path}: not a checkpoint envelope ({exc})") from None


@dataclass(frozen=True)
class LogContents:
    lines: list[bytes]  # complete lines, without their newline
    partial_tail: bool  # the file ends inside a line (a write was cut off)

    def leaf_hashes(self) -> list[bytes]:
        return [merkle.leaf_hash(line) for line in self.lines]


@dataclass(frozen=True)
class AppendResult:
    first_index: int
    tree_size: int
    checkpoint: SignedCheckpoint | None


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: str
    path: tuple[str, ...]
    root_hash: str

    def verify(self) -> bool:
        return merkle.verify_inclusion(
            self.index,
            self.tree_size,
            bytes.fromhex(self.leaf_hash),
            [bytes.fromhex(h) for h in self.path],
            bytes.fromhex(self.root_hash),
        )


class TransparencyLog:
    """The log of one store. Cheap to construct; every method re-reads the files it needs."""

    def __init__(self, store_root: Path) -> None:
        layout = StoreLayout(store_root)
        self.path = layout.log
        self.checkpoint_dir = layout.checkpoints
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)

    def read(self) -> LogContents:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return LogContents([], False)
        lines = data.split(b"\n")
        partial = lines[-1] != b""
        if not partial:
            lines.pop()
        return LogContents(lines, partial)

    @property
    def lock(self) -> FileLock:
        """The appenders' lock (re-entrant within a process); hold it to read a stable log."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self._lock

    def append(
        self,
        lines: Sequence[str],
        checkpoint_key: SigningKey | None,
        origin: str,
    ) -> AppendResult:
        """Append whole lines, then (if a key is given) sign and store a checkpoint, atomically
        with respect to other appenders. Callers that must decide what to write from a stable
        log (e.g. with a key that cannot be retired meanwhile) hold `lock` around this call."""
        if any("\n" in line for line in lines):
            raise ValueError("a log line cannot contain a newline")
        with self.lock:
            before = self.read()
            if before.partial_tail:
                raise LogError(f"{self.path}: ends inside a line; repair it before appending")
            data = "".join(line + "\n" for line in lines).encode("utf-8")
            with open(self.path, "ab") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            checkpoint = None
            if checkpoint_key is not None:
                checkpoint = self.checkpoint_locked(checkpoint_key, origin)
        first = len(before.lines)
        return AppendResult(first, first + len(lines), checkpoint)

    def write_checkpoint(self, key: SigningKey, origin: str) -> SignedCheckpoint:
        """Sign the current tree head (used after appends and when a key is retired)."""
        with self.lock:
            return self.checkpoint_locked(key, origin)

    def checkpoint_locked(self, key: SigningKey, origin: str) -> SignedCheckpoint:
        """Sign the current tree head; the caller holds `lock`."""
        contents = self.read()
        tree_root = merkle.root(contents.leaf_hashes())
        head = Checkpoint(origin, len(contents.lines), tree_root.hex(), utc_now(),
                          newest_policy_digest(contents.lines))
        signed = sign_checkpoint(head, key)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self._free_checkpoint_path(head.tree_size)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(signed.envelope.to_json_line() + "\n")
        tmp.replace(path)
        log.info("checkpoint %s: size %d root %s", path.name, head.tree_size, head.root_hash)
        return SignedCheckpoint(head, signed.envelope, path)

    def _free_checkpoint_path(self, tree_size: int) -> Path:
        base = f"{tree_size:012d}"
        candidate = self.checkpoint_dir / f"{base}.json"
        n = 1
        while candidate.exists():
            candidate = self.checkpoint_dir / f"{base}-{n}.json"
            n += 1
        return candidate

    def checkpoint_paths(self) -> list[Path]:
        if not self.checkpoint_dir.is_dir():
            return []
        return sorted(self.checkpoint_dir.glob("*.json"))

    def checkpoints(self) -> list[SignedCheckpoint]:
        """Every stored checkpoint, oldest (smallest tree) first."""
        found = [read_checkpoint(p) for p in self.checkpoint_paths()]
        return sorted(found, key=lambda c: (c.checkpoint.tree_size, c.checkpoint.timestamp))

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> InclusionProof:
        hashes = self.read().leaf_hashes()
        size = len(hashes) if tree_size is None else tree_size
        if size > len(hashes):
            raise LogError(f"{self.path}: tree size {size} is beyond the log's {len(hashes)} lines")
        prefix = hashes[:size]
        return InclusionProof(
            index,
            size,
            prefix[index].hex(),
            tuple(h.hex() for h in merkle.inclusion_proof(index, prefix)),
            merkle.root(prefix).hex(),
        )

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        hashes = self.read().leaf_hashes()
        if new_size > len(hashes):
            raise LogError(
                f"{self.path}: tree size {new_size} is beyond the log's {len(hashes)} lines"
            )
        return merkle.consistency_proof(old_size, hashes[:new_size])

"""`kura audit prove --index N`: an inclusion proof of log record N against the latest signed
checkpoint, in a form anyone can check without Kura.

The JSON form (`RecordProof.to_json`), keys in camelCase:

    {
      "logIndex": N,                 0-based leaf index = line number of lineage/log.jsonl - 1
      "treeSize": S,                 leaves the checkpoint covers (N < S)
      "leafHash": "<hex>",           SHA-256(0x00 || entry bytes), RFC 6962 section 2.1
      "hashes": ["<hex>", ...],      the audit path, leaf to root (RFC 9162 section 2.1.3.1)
      "rootHash": "<hex>",           the Merkle tree hash of the first S leaves
      "entry": "<text>",             log line N without its newline: the DSSE envelope, ASCII
      "entrySha256": "<hex>",        sha256 of the entry bytes (how records cite an envelope)
      "checkpoint": {
        "file": "lineage/checkpoints/<file>.json",
        "envelope": {...},           the signed checkpoint exactly as stored: DSSE, payloadType
                                     application/vnd.kura.checkpoint+json, Ed25519 signature(s)
        "body": {...},               its payload decoded, for reading: origin, treeSize, rootHash,
                                     timestamp, policyDigest (a verifier decodes it itself)
        "keyid": "sha256:<hex>",     the key whose signature verified
        "publicKey": "<PEM>",        that key as the verified trust policy lists it
        "signer": "site <id>",       who holds it, and under which policy version:
        "policyVersion": V
      },
      "trustAnchor": {"keyid": "sha256:<hex>", "pinned": true}
    }

To check it independently: (1) SHA-256(0x00 || entry) = leafHash; (2) fold `hashes` into
leafHash as RFC 9162 section 2.1.3.2 says, with logIndex and treeSize, giving rootHash;
(3) base64-decode checkpoint.envelope.payload: its treeSize and rootHash are the proof's;
(4) the Ed25519 signature verifies over DSSE's PAE(payloadType, payload) with publicKey, and
that key is one your pinned root's policy lists (`kura keys show`; `kura audit verify` checks
the whole chain).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage import merkle
from lineage.log import LogError, SignedCheckpoint, TransparencyLog
from lineage.policy import (
    PolicyError,
    TrustRoot,
    known_keys,
    load_root_anchor,
    pinned_root,
    policy_chain,
)
from lineage.verify import checkpoint_problem


class ProveError(ValueError):
    """No proof can be given: the log or checkpoint does not hold (exit 1); one line."""


class IndexOutOfRange(ProveError):
    """The index names no record of the log (a user error: exit 2)."""


class NotCovered(ProveError):
    """The record is in the log but no signed checkpoint covers it yet."""


@dataclass(frozen=True)
class RecordProof:
    log_index: int
    tree_size: int
    leaf_hash: str
    hashes: tuple[str, ...]
    root_hash: str
    entry: bytes
    checkpoint: SignedCheckpoint
    checkpoint_file: str
    keyid: str
    public_key: str
    signer: str
    policy_version: int
    anchor_keyid: str
    pinned: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "logIndex": self.log_index,
            "treeSize": self.tree_size,
            "leafHash": self.leaf_hash,
            "hashes": list(self.hashes),
            "rootHash": self.root_hash,
            "entry": self.entry.decode("utf-8"),
            "entrySha256": hashlib.sha256(self.entry).hexdigest(),
            "checkpoint": {
                "file": self.checkpoint_file,
                "envelope": self.checkpoint.envelope.to_dict(),
                "body": json.loads(self.checkpoint.envelope.payload),
                "keyid": self.keyid,
                "publicKey": self.public_key,
                "signer": self.signer,
                "policyVersion": self.policy_version,
            },
            "trustAnchor": {"keyid": self.anchor_keyid, "pinned": self.pinned},
        }


def prove(store: Path, index: int, trust_root: TrustRoot | None = None) -> RecordProof:
    """The inclusion proof of record `index` in the latest checkpoint, after checking that the
    checkpoint's signer is valid under the policy chain from the trust root (pinned, else the
    store's own) and that the proof verifies."""
    store = Path(store)
    tlog = TransparencyLog(store)
    try:
        lines = tlog.read().lines
        checkpoints = tlog.checkpoints()
    except LogError as exc:
        raise ProveError(str(exc)) from None
    if not lines:
        raise IndexOutOfRange(f"--index {index}: {tlog.path} holds no record")
    if not 0 <= index < len(lines):
        raise IndexOutOfRange(f"--index {index}: the log holds log indexes 0..{len(lines) - 1}")
    if not checkpoints:
        raise NotCovered(f"log index {index} is not covered by a signed checkpoint: the store has "
                         "none; `kura store repair` signs one")
    latest = checkpoints[-1]
    head = latest.checkpoint
    file = (latest.path.relative_to(store).as_posix() if latest.path is not None
            and latest.path.is_relative_to(store) else str(latest.path))
    if index >= head.tree_size:
        raise NotCovered(f"log index {index} is not yet covered by a signed checkpoint: the "
                         f"latest, {file}, covers log indexes 0..{head.tree_size - 1}; "
                         "`kura store repair` signs one")
    if head.tree_size > len(lines):
        raise ProveError(f"{file} covers {head.tree_size} records but the log holds "
                         f"{len(lines)}: records were removed; run `kura audit verify`")
    signer = _signer(store, latest, lines, trust_root, file)
    hashes = [merkle.leaf_hash(line) for line in lines[: head.tree_size]]
    path = merkle.inclusion_proof(index, hashes)
    if not merkle.verify_inclusion(index, head.tree_size, hashes[index], path,
                                   bytes.fromhex(head.root_hash)):
        raise ProveError(f"the log's first {head.tree_size} records do not hash to the root "
                         f"{file} signed: the log was altered; run `kura audit verify`")
    return RecordProof(
        log_index=index, tree_size=head.tree_size, leaf_hash=hashes[index].hex(),
        hashes=tuple(h.hex() for h in path), root_hash=head.root_hash, entry=lines[index],
        checkpoint=latest, checkpoint_file=file, **signer,
    )


def _signer(store: Path, latest: SignedCheckpoint, lines: list[bytes],
            trust_root: TrustRoot | None, file: str) -> dict[str, Any]:
    try:
        anchor = pinned_root(trust_root)
        pinned = anchor is not None
        chain = policy_chain(store, anchor or load_root_anchor(store), lines)
    except PolicyError as exc:
        raise ProveError(str(exc)) from None
    if chain.problems or chain.current is None:
        problem = chain.problems[0] if chain.problems else "no policy version verifies"
        raise ProveError(f"the trust policy does not verify: {problem}; run `kura audit verify`")
    problem = checkpoint_problem(latest, chain)
    if problem:
        raise ProveError(f"{file}: {problem}")
    keys = known_keys(chain.current.policy)
    keyid = next(s.keyid for s in latest.envelope.signatures if s.keyid in keys)
    known = keys[keyid]
    return {
        "keyid": keyid, "public_key": known.entry.public_key,
        "signer": f"{known.owner_kind} {known.owner_id}".strip(),
        "policy_version": chain.current.policy.version,
        "anchor_keyid": chain.anchor_id, "pinned": pinned,
    }

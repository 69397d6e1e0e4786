"""Repairing what an interrupted append left in the log, without rewriting anything signed.

Three states a killed command can leave, each made whole by appending or completing, never by
editing a complete line:
- the log ends inside a line (the write was cut off): that line was never a record; it is cut
  off, and the command that wrote it can be run again;
- complete lines that no checkpoint covers (killed between the append and its checkpoint): the
  site key signs a checkpoint over them, as the append would have;
- a release certified in the log whose releases/<name>.json was never written: the file is
  written from the signed record (its shards' rows and bytes from their attestations).
"""

from __future__ import annotations

import os
from pathlib import Path

from lineage.certify import corpus_of, latest_residency
from lineage.dsse import Envelope
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.release import ReleaseFile, ReleaseShard, release_path, write_release_file
from lineage.statements import logged_statements
from schemas.predicates import CERTIFIER_URI_PREFIX, RELEASE_URI_PREFIX, VSA_PREDICATE


def _cut_partial_tail(tlog: TransparencyLog) -> int:
    data = tlog.path.read_bytes()
    keep = data.rfind(b"\n") + 1
    with open(tlog.path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return len(data) - keep


def release_file_from_record(lines: list[bytes], index: int, envelope: Envelope,
                             statement: dict) -> ReleaseFile:
    """The release file a certification record stands for (it names every shard and digest)."""
    predicate = statement.get("predicate") or {}
    attested = latest_residency(lines[:index])
    shards = []
    for subject in statement.get("subject") or []:
        name = subject["name"]
        shard = attested.get(name)
        shards.append(ReleaseShard(name=name, sha256=subject["digest"]["sha256"],
                                   rows=shard.rows if shard else 0,
                                   bytes=shard.bytes if shard else 0))
    return ReleaseFile(
        release=str(predicate.get("resourceUri", "")).removeprefix(RELEASE_URI_PREFIX),
        created_at=str(predicate.get("timeVerified", "")),
        certifier_id=str((predicate.get("verifier") or {}).get("id", "")).removeprefix(
            CERTIFIER_URI_PREFIX),
        corpora=sorted({c for s in shards if (c := corpus_of(s.name))}),
        log_index=index,
        envelope_digest=envelope.digest,
        shards=shards,
        corpus_facts=predicate.get("corpusFacts") or [],  # each corpus as the record certifies
    )


def repair_log(store_root: Path) -> list[str]:
    """Make the log whole again; one line per thing done (none when nothing was wrong)."""
    store_root = Path(store_root)
    tlog = TransparencyLog(store_root)
    said: list[str] = []
    if not tlog.path.exists():
        return said
    with tlog.lock:
        contents = tlog.read()
        if contents.partial_tail:
            cut = _cut_partial_tail(tlog)
            said.append(f"cut {cut} bytes of an incomplete last line off {tlog.path.name}: a "
                        "write was interrupted, so that record was never made")
            contents = tlog.read()
        checkpoints = tlog.checkpoints()
        covered = checkpoints[-1].checkpoint.tree_size if checkpoints else 0
        if len(contents.lines) > covered:
            context = load_site_context(store_root)
            signed = tlog.checkpoint_locked(context.site_key, context.log_origin)
            said.append(f"signed checkpoint {signed.path.name if signed.path else ''} over lines "
                        f"{covered + 1}..{len(contents.lines)}, which an interrupted command "
                        "appended without one")
        for record in logged_statements(contents.lines, VSA_PREDICATE):
            index = record.index
            release = release_file_from_record(contents.lines, index, record.envelope,
                                               record.statement)
            if release.release and not release_path(store_root, release.release).exists():
                write_release_file(store_root, release)
                said.append(f"wrote releases/{release.release}.json from its certification at "
                            f"log index {index}, whose command was interrupted")
    return said

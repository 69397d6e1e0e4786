"""`kura audit trace`: follow the log from a shard to its run and sources, and from a source to
the runs that read it and the shards they wrote. Read-only; `verify` is what vouches for the log,
trace only shows the chain (and proves the shard's record is in the latest checkpoint).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lineage import merkle
from lineage.dsse import Envelope, EnvelopeError
from lineage.log import TransparencyLog
from schemas.predicates import PROVENANCE_PREDICATE, RESIDENCY_PREDICATE


class TraceError(ValueError):
    """Nothing in the log matches what was asked; one line naming it."""


@dataclass(frozen=True)
class SourceRef:
    uri: str
    sha256: str | None
    location: str  # "provider country region (claimed by ...)"


@dataclass(frozen=True)
class ShardTrace:
    shard: str
    sha256: str
    log_index: int
    run_id: str
    runner: str
    site: str
    signed_at: str
    sources: tuple[SourceRef, ...]
    provenance_index: int | None
    siblings: tuple[str, ...]  # other shards of the same run
    included_in_checkpoint: int | None  # tree size whose root the inclusion proof verified to


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    source_sha256: str | None
    site: str
    shards: tuple[str, ...]
    provenance_index: int | None


@dataclass(frozen=True)
class SourceTrace:
    uri: str
    runs: tuple[SourceRun, ...]


@dataclass(frozen=True)
class _Record:
    index: int
    statement: dict[str, Any]


def _records(lines: list[bytes]) -> list[_Record]:
    found = []
    for index, line in enumerate(lines):
        try:
            statement = json.loads(Envelope.from_json(line).payload)
        except (EnvelopeError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(statement, dict):
            found.append(_Record(index, statement))
    return found


def _provenance_index(records: list[_Record], run_id: str) -> int | None:
    for record in reversed(records):
        if record.statement.get("predicateType") == PROVENANCE_PREDICATE:
            meta = record.statement["predicate"]["runDetails"]["metadata"]
            if meta.get("invocationId") == run_id:
                return record.index
    return None


def _location_text(loc: dict) -> str:
    return (f"{loc.get('provider')} {loc.get('country')} {loc.get('region')} "
            f"(claimed by {loc.get('claimSource', '?')})")


def store_name(store_root: Path, shard: str) -> str:
    """A shard given as a path (absolute or relative to cwd) or as its store-relative name."""
    candidate = Path(shard)
    if candidate.exists():
        try:
            return candidate.resolve().relative_to(Path(store_root).resolve()).as_posix()
        except ValueError:
            pass
    return shard


def trace_shard(store_root: Path, shard: str) -> ShardTrace:
    tlog = TransparencyLog(store_root)
    contents = tlog.read()
    records = _records(contents.lines)
    name = store_name(store_root, shard)
    hit = None
    for record in reversed(records):  # the latest attestation of a path is the current one
        st = record.statement
        if st.get("predicateType") == RESIDENCY_PREDICATE and any(
            s.get("name") == name for s in st.get("subject", [])
        ):
            hit = record
            break
    if hit is None:
        raise TraceError(f"{name}: no residency attestation in {tlog.path}")
    predicate = hit.statement["predicate"]
    run_id = predicate["run"]["runId"]
    siblings = tuple(
        s["name"]
        for r in records
        if r.statement.get("predicateType") == RESIDENCY_PREDICATE
        and r.statement["predicate"]["run"]["runId"] == run_id
        for s in r.statement.get("subject", [])
        if s["name"] != name
    )
    included = None
    checkpoints = tlog.checkpoints()
    if checkpoints and checkpoints[-1].checkpoint.tree_size > hit.index:
        head = checkpoints[-1].checkpoint
        hashes = contents.leaf_hashes()[: head.tree_size]
        proof = merkle.inclusion_proof(hit.index, hashes)
        if merkle.verify_inclusion(
            hit.index, head.tree_size, hashes[hit.index], proof, bytes.fromhex(head.root_hash)
        ):
            included = head.tree_size
    return ShardTrace(
        shard=name,
        sha256=hit.statement["subject"][0]["digest"]["sha256"],
        log_index=hit.index,
        run_id=run_id,
        runner=predicate["run"]["runner"],
        site=predicate["site"]["siteId"],
        signed_at=predicate["signedAt"],
        sources=tuple(
            SourceRef(i["uri"], i.get("sha256"), _location_text(i["location"]))
            for i in predicate["inputs"]
        ),
        provenance_index=_provenance_index(records, run_id),
        siblings=siblings,
        included_in_checkpoint=included,
    )


def trace_source(store_root: Path, uri: str) -> SourceTrace:
    records = _records(TransparencyLog(store_root).read().lines)
    runs: dict[str, dict[str, Any]] = {}
    for record in records:
        st = record.statement
        if st.get("predicateType") != RESIDENCY_PREDICATE:
            continue
        predicate = st["predicate"]
        for item in predicate["inputs"]:
            if item["uri"] == uri:
                run = runs.setdefault(predicate["run"]["runId"], {
                    "sha": item.get("sha256"), "site": predicate["site"]["siteId"], "shards": [],
                })
                run["shards"].extend(s["name"] for s in st.get("subject", []))
    if not runs:
        raise TraceError(f"{uri}: no run in the log read this source")
    return SourceTrace(
        uri,
        tuple(
            SourceRun(run_id, r["sha"], r["site"], tuple(r["shards"]),
                      _provenance_index(records, run_id))
            for run_id, r in runs.items()
        ),
    )

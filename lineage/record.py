"""Recording a finished run: re-hash what it wrote, sign (A) per shard and (B) for the run,
append them to the log and sign a checkpoint.

The site never signs a digest it did not compute itself: every output file is re-hashed from
disk and must match the run summary, or nothing is signed. Hashing happens outside the log lock;
choosing the key, signing and appending happen inside it, so a key rotated or revoked meanwhile
is never used for a record placed after its retirement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from lineage.attest import (
    SigningFacts,
    bare_sha256,
    provenance_statement,
    residency_statement,
)
from lineage.clock import utc_now
from lineage.code import code_identity, file_sha256
from lineage.dsse import canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.statements import logged_statements
from schemas.predicates import (
    IN_TOTO_PAYLOAD_TYPE,
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    SiteClaim,
)
from schemas.run import RunSummary

log = logging.getLogger(__name__)


class RecordError(ValueError):
    """A run that cannot be recorded as summarized; one line naming the file at fault."""


@dataclass(frozen=True)
class RecordedShard:
    path: str  # relative to the store root
    sha256: str
    log_index: int
    envelope_digest: str


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    shards: tuple[RecordedShard, ...]
    provenance_index: int
    provenance_digest: str
    tree_size: int
    root_hash: str
    checkpoint_path: Path


def rehash_outputs(store_root: Path, summary: RunSummary) -> dict[str, str]:
    """Re-hash every file the run says it wrote; refuse any that is missing or differs."""
    digests: dict[str, str] = {}
    for stored in [*summary.shards, *summary.rejects, *summary.duplicates]:
        path = store_root / stored.path
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise RecordError(f"{stored.path}: cannot read ({exc.strerror})") from None
        if actual != bare_sha256(stored.sha256):
            raise RecordError(
                f"{stored.path}: sha256 on disk is {actual}, the run summary says "
                f"{bare_sha256(stored.sha256)}; refusing to sign"
            )
        digests[stored.path] = actual
    return digests


def _attested_inputs(lines: list[bytes]) -> dict[str, str]:
    """sha256 of every shard already attested in the log -> digest of its (A) envelope."""
    found: dict[str, str] = {}
    for record in logged_statements(lines, RESIDENCY_PREDICATE):
        for subject in record.statement.get("subject", []):
            sha = (subject.get("digest") or {}).get("sha256")
            if sha:
                found[sha] = record.envelope.digest
    return found


def _check_validation(
    summary: RunSummary, digests: dict[str, str], passed: dict[str, bool]
) -> None:
    """Validation claims must name shards of this run, and a verdict must cite its result."""
    shard_paths = {s.path for s in summary.shards}
    for what, claims in (("validation digest", digests), ("validation verdict", passed)):
        unknown = sorted(set(claims) - shard_paths)
        if unknown:
            raise RecordError(f"{what} for {unknown[0]}, which is not a shard of this run")
    uncited = sorted(set(passed) - set(digests))
    if uncited:
        raise RecordError(f"validation verdict for {uncited[0]} without its result digest")
    not_bool = sorted(path for path, verdict in passed.items() if not isinstance(verdict, bool))
    if not_bool:
        raise RecordError(f"validation verdict for {not_bool[0]} is not true or false")


def record_run(
    store_root: Path,
    summary: RunSummary,
    validation_digests: dict[str, str] | None = None,
    validation_passed: dict[str, bool] | None = None,
    also_attest: tuple[str, ...] = (),
) -> RecordedRun:
    """Sign and log a finished run.

    `validation_digests` maps a shard's store path (as in `summary.shards[i].path`, so a
    quarantined shard by its quarantine/ path) to the digest of its great-expectations result;
    `validation_passed` maps it to whether the suite passed. Both go into the shard's residency
    attestation (`validationDigest`, `validationPassed`); only a shard attested as passed can be
    certified into a release. `also_attest` names other files the run wrote (its summary),
    store-relative, which the provenance covers too.
    """
    store_root = Path(store_root)
    validation = dict(validation_digests or {})
    verdicts = dict(validation_passed or {})
    _check_validation(summary, validation, verdicts)
    digests = rehash_outputs(store_root, summary)
    for path in also_attest:
        try:
            digests[path] = file_sha256(store_root / path)
        except OSError as exc:
            raise RecordError(f"{path}: cannot read ({exc.strerror})") from None

    tlog = TransparencyLog(store_root)
    with tlog.lock:
        context = load_site_context(store_root)  # fresh: the current key and policy
        facts = SigningFacts(
            site=SiteClaim(
                site_id=context.site_id,
                country=context.site.country,
                provider=context.site.provider,
                region=context.region,
            ),
            policy=context.policy,
            policy_digest=context.signed_policy.digest,
            code=code_identity(),
            signed_at=utc_now(),
            store_uri=store_root.resolve().as_uri(),
        )
        attested = _attested_inputs(tlog.read().lines)
        envelopes = [
            sign(
                IN_TOTO_PAYLOAD_TYPE,
                canonical_json(
                    residency_statement(
                        summary,
                        shard,
                        digests[shard.path],
                        facts,
                        validation.get(shard.path),
                        attested,
                        verdicts.get(shard.path),
                    )
                ),
                context.site_key,
            )
            for shard in summary.shards
        ]
        envelopes.append(
            sign(
                IN_TOTO_PAYLOAD_TYPE,
                canonical_json(provenance_statement(summary, digests, facts)),
                context.site_key,
            )
        )
        result = tlog.append(
            [e.to_json_line() for e in envelopes], context.site_key, context.log_origin
        )
    assert result.checkpoint is not None and result.checkpoint.path is not None
    shards = tuple(
        RecordedShard(shard.path, digests[shard.path], result.first_index + i, envelope.digest)
        for i, (shard, envelope) in enumerate(zip(summary.shards, envelopes, strict=False))
    )
    log.info(
        "recorded run %s: %d shard attestations and its provenance at log %d..%d",
        summary.run_id, len(shards), result.first_index, result.tree_size - 1,
    )
    return RecordedRun(
        run_id=summary.run_id,
        shards=shards,
        provenance_index=result.tree_size - 1,
        provenance_digest=envelopes[-1].digest,
        tree_size=result.tree_size,
        root_hash=result.checkpoint.checkpoint.root_hash,
        checkpoint_path=result.checkpoint.path,
    )


def recorded_run(store_root: Path, run_id: str) -> RecordedRun | None:
    """The records an earlier `record_run` of `run_id` placed in the log, or None if it placed
    none: publishing a run again after a crash must not sign it twice."""
    tlog = TransparencyLog(Path(store_root))
    lines = tlog.read().lines
    shards = [
        RecordedShard(subject.get("name", ""), (subject.get("digest") or {}).get("sha256", ""),
                      record.index, record.envelope.digest)
        for record in logged_statements(lines, RESIDENCY_PREDICATE)
        if (record.predicate.get("run") or {}).get("runId") == run_id
        for subject in record.statement.get("subject") or []
    ]
    provenance: tuple[int, str] | None = None
    for record in logged_statements(lines, PROVENANCE_PREDICATE):
        metadata = (record.predicate.get("runDetails") or {}).get("metadata") or {}
        if metadata.get("invocationId") == run_id:
            provenance = (record.index, record.envelope.digest)
    if provenance is None:
        return None
    checkpoints = tlog.checkpoints()
    if not checkpoints or checkpoints[-1].path is None:
        raise RecordError(f"run {run_id} is in the log but no checkpoint covers it; "
                          "run `kura store repair`")
    latest = checkpoints[-1]
    return RecordedRun(run_id=run_id, shards=tuple(shards), provenance_index=provenance[0],
                       provenance_digest=provenance[1], tree_size=len(lines),
                       root_hash=latest.checkpoint.root_hash, checkpoint_path=latest.path)

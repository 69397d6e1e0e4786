"""Small real stores for the audit catalog, trace and prove tests: runs with shard, reject and
duplicate files of the real Arrow schemas (shard schema v1 and v2), local sources, and a
certification signed by the store's certifier key as `release create` signs one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

from lineage.dsse import canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.record import RecordedRun, record_run
from schemas.predicates import (
    CERTIFIER_URI_PREFIX,
    IN_TOTO_PAYLOAD_TYPE,
    JP_RESIDENCY_LEVEL,
    RELEASE_URI_PREFIX,
    SHARD_SUITE_LEVEL,
    STATEMENT_TYPE,
    VSA_PREDICATE,
)
from schemas.records import PII_COUNTS_TYPE, PII_COUNTS_TYPE_V1, REJECT_SCHEMA
from schemas.run import RESIDUAL_PII_CHECK, Counts, InputFile
from tests.lineage.conftest import JP_TOKYO, write_run, write_stored_file


def document_table(ids: list[str], source_uri: str, pii_version: int) -> pa.Table:
    """A shard's table: ids, source, text and a `pii` column of shard schema v1 or v2."""
    n = len(ids)
    pii = [[("PERSON", i + 1), ("PHONE_NUMBER", 1)] for i in range(n)]
    if pii_version == 1:
        pii_column = pa.array(pii, type=PII_COUNTS_TYPE_V1)
    else:
        pii_column = pa.array([[{"entity": e, "count": c} for e, c in row] for row in pii],
                              type=PII_COUNTS_TYPE)
    return pa.table({
        "doc_id": ids, "corpus_id": ["acme-news"] * n, "source_uri": [source_uri] * n,
        "locator": list(range(1, n + 1)),
        "text": [f"田中さんの電話は{i}番です。" for i in range(n)],
        "pii": pii_column,
    })


def local_source(folder: Path, name: str, text: str) -> tuple[Path, str]:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _reject_rows(source: tuple[str, str], step: str, reason: str, rows: int) -> pa.Table:
    return pa.table({
        "corpus_id": ["acme-news"] * rows, "source_uri": [source[0]] * rows,
        "source_sha256": [source[1]] * rows, "locator": list(range(9, 9 + rows)),
        "step": [step] * rows, "reason": [reason] * rows,
        "raw": [b"raw bytes: 090-1234-5678"] * rows,
    }, schema=REJECT_SCHEMA)


def record_local_run(store: Path, run_id: str, sources: list[tuple[str, str]],
                     pii_versions: tuple[int, ...] = (1, 2), rows: int = 3,
                     withheld: int = 0) -> RecordedRun:
    """A run that read `sources` ((recorded uri, sha256)) and wrote one shard per entry of
    `pii_versions`, a reject file (raw bytes included, as the pipeline writes it) and, with
    `withheld`, that many documents the residual-PII gate kept in quarantine/; signed and
    logged as `record_run` does."""
    base = write_run(store, run_id=run_id, shards=0)
    shards = []
    for n, version in enumerate(pii_versions):
        ids = [f"{run_id}-{n}-{i}" for i in range(rows)]
        shards.append(write_stored_file(store, f"shards/acme-news/{run_id}-part-{n:05d}.parquet",
                                        document_table(ids, sources[0][0], version)))
    reject_files = [write_stored_file(
        store, f"rejects/acme-news/{run_id}-rejects.parquet", _reject_rows(
            sources[0], "quality.hiragana_fraction",
            '{"min":0.02,"step":"quality.hiragana_fraction","value":0.01}', 1))]
    rejected = {"quality.hiragana_fraction": 1}
    if withheld:
        reject_files.append(write_stored_file(
            store, f"quarantine/acme-news/documents-{run_id}.parquet", _reject_rows(
                sources[0], RESIDUAL_PII_CHECK,
                '{"entities":{"PHONE_NUMBER":1},"step":"validate.residual_pii"}', withheld)))
        rejected[RESIDUAL_PII_CHECK] = withheld
    written = rows * len(pii_versions)
    summary = base.model_copy(update={
        "inputs": [InputFile(uri=uri, sha256=sha, bytes=10, encoding="utf-8", records=written,
                             status="ok", location=JP_TOKYO) for uri, sha in sources],
        "counts": Counts(read=written + sum(rejected.values()), written=written,
                         rejected=rejected),
        "shards": shards, "rejects": reject_files,
    })
    return record_run(store, summary)


def certify(store: Path, release: str, shards: list[tuple[str, str]]) -> int:
    """Sign and log a certification (SLSA VSA) of `shards` ((name, sha256)) with the store's
    certifier key; its log index."""
    context = load_site_context(store)
    policy = context.signed_policy
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha}} for name, sha in shards],
        "predicateType": VSA_PREDICATE,
        "predicate": {
            "verifier": {"id": CERTIFIER_URI_PREFIX + policy.policy.certifiers[0].certifier_id},
            "timeVerified": "2030-01-01T00:00:00Z",
            "resourceUri": RELEASE_URI_PREFIX + release,
            "policy": {"uri": f"kura:policy/v{policy.policy.version}",
                       "digest": {"sha256": policy.digest.removeprefix("sha256:")}},
            "verificationResult": "PASSED",
            "verifiedLevels": [JP_RESIDENCY_LEVEL, SHARD_SUITE_LEVEL],
        },
    }
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.certifier_key)
    result = TransparencyLog(store).append([envelope.to_json_line()], context.site_key,
                                           context.log_origin)
    return result.first_index

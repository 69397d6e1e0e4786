"""The audit catalog's tables, built from the lineage log (pure: parsed records in, Arrow tables
out).

Every row here comes from a signed record: `lineage.audit.open_catalog` builds these tables from
the very lines `verify_store` judged, and registers them under the views it documents. Records
never hold document text or personal data (reasons and counts only), so nothing here can leak
it. Timestamps are UTC, without a zone.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from lineage import merkle
from lineage.audit_log import (
    QUARANTINE_PREFIX,
    LogRecord,
    Signer,
    certified_pairs,
    conservation_counts,
    corpus_of,
    count_pairs,
    external_parameters,
    internal_parameters,
    release_name,
    run_corpora,
    signing_keyid,
    timestamp,
)
from lineage.corpus_state import fold_statements
from lineage.statements import LoggedStatement
from schemas.predicates import CERTIFIER_URI_PREFIX
from schemas.run import RESIDUAL_PII_CHECK

SUBJECT = pa.struct([("name", pa.string()), ("sha256", pa.string())])
COUNT_MAP = pa.map_(pa.string(), pa.int64())
TIME = pa.timestamp("us")


def records_table(records: Sequence[LogRecord], keys: Mapping[str, Signer]) -> pa.Table:
    rows = []
    for r in records:
        keyid = signing_keyid(r, keys)
        signer = keys.get(keyid or "")
        rows.append({
            "log_index": r.index,
            "kind": r.kind,
            "payload_type": r.envelope.payload_type if r.envelope else None,
            "predicate_type": (r.payload or {}).get("predicateType") if r.kind != "policy"
            else None,
            "keyid": keyid,
            "signer_role": signer.role if signer else None,
            "signer": signer.holder if signer else None,
            "signed_at": timestamp(r.signed_at),
            "run_id": r.run_id,
            "release": release_name(r),
            "subjects": [{"name": n, "sha256": s} for n, s in r.subjects],
            "envelope_sha256": hashlib.sha256(r.line).hexdigest(),
            "leaf_hash": merkle.leaf_hash(r.line).hex(),
            "payload": json.dumps(r.payload, ensure_ascii=False, sort_keys=True)
            if r.payload is not None else None,
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("log_index", pa.int64()), ("kind", pa.string()), ("payload_type", pa.string()),
        ("predicate_type", pa.string()), ("keyid", pa.string()), ("signer_role", pa.string()),
        ("signer", pa.string()), ("signed_at", TIME), ("run_id", pa.string()),
        ("release", pa.string()), ("subjects", pa.list_(SUBJECT)),
        ("envelope_sha256", pa.string()), ("leaf_hash", pa.string()), ("payload", pa.string()),
    ]))


def current_outputs(records: Sequence[LogRecord]) -> frozenset[str]:
    """Every corpus's current files (lineage/corpus_state.py): its latest full run's, the
    append runs' since, less what rewrites replaced."""
    states = fold_statements(LoggedStatement(r.index, r.envelope, r.payload) for r in records
                             if r.envelope is not None and r.payload is not None)
    return frozenset(name for state in states.values() for name in state.current)


def runs_table(records: Sequence[LogRecord]) -> pa.Table:
    failed_rows: dict[str, int] = defaultdict(int)
    shard_count: dict[str, int] = defaultdict(int)
    for r in records:
        if r.kind == "residency" and r.run_id:
            shard_count[r.run_id] += len(r.subjects)
            if r.predicate.get("validationPassed") is False:
                failed_rows[r.run_id] += int((r.predicate.get("counts") or {}).get("rows", 0))
    current_files = current_outputs(records)
    rows = []
    for r in records:
        if r.kind != "provenance":
            continue
        predicate = r.predicate
        external = external_parameters(predicate)
        internal = internal_parameters(predicate)
        counts = conservation_counts(predicate)
        metadata = (predicate.get("runDetails") or {}).get("metadata") or {}
        rejected = count_pairs(counts.get("rejected"))
        duplicates = count_pairs(counts.get("duplicates"))
        withheld = dict(rejected).get(RESIDUAL_PII_CHECK, 0)
        rows.append({
            "run_id": r.run_id,
            "corpus_id": external.get("corpusId"),
            "member": external.get("member"),
            "site": internal.get("siteId"),
            "runner": external.get("runner"),
            "workers": external.get("workers"),
            "started_at": timestamp(metadata.get("startedOn")),
            "finished_at": timestamp(metadata.get("finishedOn")),
            "signed_at": timestamp(internal.get("signedAt")),
            "read": counts.get("read"),
            "written": counts.get("written"),
            "rejected": sum(n for _, n in rejected),
            "duplicates": sum(n for _, n in duplicates),
            "quarantined": withheld + failed_rows.get(r.run_id or "", 0),
            "rejected_by_step": rejected,
            "duplicates_by_kind": duplicates,
            "shards": shard_count.get(r.run_id or "", 0),
            "current": any(name in current_files for name, _ in r.subjects),
            "kura_version": internal.get("kuraVersion"),
            "manifest_sha256": external.get("manifestSha256"),
            "policy_digest": internal.get("policyDigest"),
            "log_index": r.index,
            "envelope_sha256": hashlib.sha256(r.line).hexdigest(),
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("run_id", pa.string()), ("corpus_id", pa.string()), ("member", pa.string()),
        ("site", pa.string()), ("runner", pa.string()), ("workers", pa.int64()),
        ("started_at", TIME), ("finished_at", TIME), ("signed_at", TIME),
        ("read", pa.int64()), ("written", pa.int64()), ("rejected", pa.int64()),
        ("duplicates", pa.int64()), ("quarantined", pa.int64()),
        ("rejected_by_step", COUNT_MAP), ("duplicates_by_kind", COUNT_MAP),
        ("shards", pa.int64()), ("current", pa.bool_()), ("kura_version", pa.string()),
        ("manifest_sha256", pa.string()), ("policy_digest", pa.string()),
        ("log_index", pa.int64()), ("envelope_sha256", pa.string()),
    ]))


LOCATION_FIELDS = [("provider", pa.string()), ("country", pa.string()), ("region", pa.string()),
                   ("claim_source", pa.string())]


def _location(value: Any) -> dict[str, Any]:
    loc = value if isinstance(value, dict) else {}
    return {"provider": loc.get("provider"), "country": loc.get("country"),
            "region": loc.get("region"), "claim_source": loc.get("claimSource")}


def sources_table(records: Sequence[LogRecord]) -> pa.Table:
    rows = []
    for r in records:
        if r.kind != "provenance":
            continue
        corpus = external_parameters(r.predicate).get("corpusId")
        for dep in (r.predicate.get("buildDefinition") or {}).get("resolvedDependencies") or []:
            annotations = dep.get("annotations") or {}
            if not isinstance(annotations.get("location"), dict):
                continue  # Kura itself (pkg:pypi/kura@...), not an input
            rows.append({
                "run_id": r.run_id, "corpus_id": corpus, "source_uri": dep.get("uri"),
                "sha256": (dep.get("digest") or {}).get("sha256"),
                "encoding": annotations.get("encoding"), "bytes": annotations.get("bytes"),
                "records": annotations.get("records"), "status": annotations.get("status"),
                **_location(annotations["location"]), "log_index": r.index,
            })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("run_id", pa.string()), ("corpus_id", pa.string()), ("source_uri", pa.string()),
        ("sha256", pa.string()), ("encoding", pa.string()), ("bytes", pa.int64()),
        ("records", pa.int64()), ("status", pa.string()), *LOCATION_FIELDS,
        ("log_index", pa.int64()),
    ]))


def shards_table(records: Sequence[LogRecord],
                 footers: Mapping[str, tuple[str | None, str | None]]) -> pa.Table:
    """`footers`: store name -> (license, sensitivity) read from the shard file on disk now."""
    corpora = run_corpora(records)
    latest_record: dict[str, int] = {}
    for r in records:
        if r.kind == "residency":
            for name, _ in r.subjects:
                latest_record[name] = r.index
    current_files = current_outputs(records)
    certified = certified_pairs(records)
    rows = []
    for r in records:
        if r.kind != "residency":
            continue
        counts = r.predicate.get("counts") or {}
        for name, sha in r.subjects:
            current = latest_record[name] == r.index and name in current_files
            license, sensitivity = footers.get(name, (None, None)) if current else (None, None)
            rows.append({
                "name": name, "corpus_id": corpus_of(r, corpora), "run_id": r.run_id,
                "sha256": sha, "rows": counts.get("rows"), "bytes": counts.get("bytes"),
                "site": (r.predicate.get("site") or {}).get("siteId"),
                "signed_at": timestamp(r.signed_at),
                "validation_passed": r.predicate.get("validationPassed"),
                "validation_digest": r.predicate.get("validationDigest"),
                "current": current, "certified": (name, sha) in certified,
                "quarantined": name.startswith(QUARANTINE_PREFIX),
                "license": license, "sensitivity": sensitivity,
                "log_index": r.index, "envelope_sha256": hashlib.sha256(r.line).hexdigest(),
            })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("name", pa.string()), ("corpus_id", pa.string()), ("run_id", pa.string()),
        ("sha256", pa.string()), ("rows", pa.int64()), ("bytes", pa.int64()),
        ("site", pa.string()), ("signed_at", TIME), ("validation_passed", pa.bool_()),
        ("validation_digest", pa.string()), ("current", pa.bool_()), ("certified", pa.bool_()),
        ("quarantined", pa.bool_()), ("license", pa.string()), ("sensitivity", pa.string()),
        ("log_index", pa.int64()), ("envelope_sha256", pa.string()),
    ]))


def shard_sources_table(records: Sequence[LogRecord]) -> pa.Table:
    rows = []
    for r in records:
        if r.kind != "residency":
            continue
        for name, sha in r.subjects:
            for item in r.predicate.get("inputs") or []:
                rows.append({
                    "shard": name, "shard_sha256": sha, "run_id": r.run_id,
                    "source_uri": item.get("uri"), "sha256": item.get("sha256"),
                    **_location(item.get("location")),
                    "attestation_digest": item.get("attestationDigest"), "log_index": r.index,
                })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("shard", pa.string()), ("shard_sha256", pa.string()), ("run_id", pa.string()),
        ("source_uri", pa.string()), ("sha256", pa.string()), *LOCATION_FIELDS,
        ("attestation_digest", pa.string()), ("log_index", pa.int64()),
    ]))


def releases_table(records: Sequence[LogRecord]) -> pa.Table:
    corpora = run_corpora(records)
    shard_corpus = {name: corpus_of(r, corpora)
                    for r in records if r.kind == "residency" for name, _ in r.subjects}
    rows = []
    for r in records:
        if r.kind != "certification":
            continue
        verifier = str((r.predicate.get("verifier") or {}).get("id", ""))
        for name, sha in r.subjects:
            rows.append({
                "release": release_name(r), "certifier": verifier.removeprefix(
                    CERTIFIER_URI_PREFIX), "signed_at": timestamp(r.signed_at),
                "verification_result": r.predicate.get("verificationResult"),
                "policy_uri": (r.predicate.get("policy") or {}).get("uri"),
                "shard": name, "sha256": sha, "corpus_id": shard_corpus.get(name),
                "log_index": r.index, "envelope_sha256": hashlib.sha256(r.line).hexdigest(),
            })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("release", pa.string()), ("certifier", pa.string()), ("signed_at", TIME),
        ("verification_result", pa.string()), ("policy_uri", pa.string()),
        ("shard", pa.string()), ("sha256", pa.string()), ("corpus_id", pa.string()),
        ("log_index", pa.int64()), ("envelope_sha256", pa.string()),
    ]))


def release_corpora_table(records: Sequence[LogRecord]) -> pa.Table:
    """One row per release x corpus: the certifier's `corpusFacts` (member, license,
    sensitivity), or for a release certified before those were recorded, the corpora of its
    shards with the facts left null."""
    shards = releases_table(records)
    corpora_of: dict[int, list[str]] = defaultdict(list)
    for index, corpus in zip(shards.column("log_index").to_pylist(),
                             shards.column("corpus_id").to_pylist(), strict=True):
        if corpus and corpus not in corpora_of[index]:
            corpora_of[index].append(corpus)
    rows = []
    for r in records:
        if r.kind != "certification":
            continue
        facts = r.predicate.get("corpusFacts")
        if not isinstance(facts, list):
            facts = [{"corpusId": c} for c in sorted(corpora_of.get(r.index, []))]
        for fact in facts:
            rows.append({
                "release": release_name(r), "corpus_id": fact.get("corpusId"),
                "member": fact.get("member"), "license": fact.get("license"),
                "sensitivity": fact.get("sensitivity"), "facts_from": fact.get("factsFrom"),
                "allow_restricted": fact.get("allowRestricted"), "log_index": r.index,
            })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("release", pa.string()), ("corpus_id", pa.string()), ("member", pa.string()),
        ("license", pa.string()), ("sensitivity", pa.string()), ("facts_from", pa.string()),
        ("allow_restricted", pa.bool_()), ("log_index", pa.int64()),
    ]))


def _claims(record: LogRecord) -> list[tuple[str, str | None, Any]]:
    """(claim, uri, location) of every place a record claims: the same places verify judges."""
    predicate = record.predicate
    if record.kind == "residency":
        found: list[tuple[str, str | None, Any]] = [
            ("site", None, {**(predicate.get("site") or {}), "claimSource": "policy"})]
        found += [("input", i.get("uri"), i.get("location")) for i in predicate.get("inputs") or []]
        found += [("processing", (loc or {}).get("uri"), loc)
                  for loc in predicate.get("processingLocations") or []]
        output = predicate.get("outputLocation")
        found.append(("output", (output or {}).get("uri"), output))
        return found
    if record.kind == "provenance":
        deps = (predicate.get("buildDefinition") or {}).get("resolvedDependencies") or []
        return [("input", d.get("uri"), (d.get("annotations") or {}).get("location"))
                for d in deps if isinstance((d.get("annotations") or {}).get("location"), dict)]
    return []


def residency_table(records: Sequence[LogRecord], keys: Mapping[str, Signer]) -> pa.Table:
    rows = []
    for r in records:
        claims = _claims(r)
        if not claims:
            continue
        site = r.predicate.get("site") or {}
        site_id = site.get("siteId") or internal_parameters(r.predicate).get("siteId")
        subjects = r.subjects
        for claim, uri, location in claims:
            rows.append({
                "log_index": r.index, "kind": r.kind, "run_id": r.run_id,
                "shard": subjects[0][0] if r.kind == "residency" and subjects else None,
                "site": site_id, "keyid": signing_keyid(r, keys),
                "signed_at": timestamp(r.signed_at), "claim": claim, "uri": uri,
                **_location(location),
            })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("log_index", pa.int64()), ("kind", pa.string()), ("run_id", pa.string()),
        ("shard", pa.string()), ("site", pa.string()), ("keyid", pa.string()),
        ("signed_at", TIME), ("claim", pa.string()), ("uri", pa.string()), *LOCATION_FIELDS,
    ]))


@dataclass(frozen=True)
class CheckpointRow:
    name: str
    tree_size: int
    root_hash: str
    timestamp: str
    policy_digest: str | None
    keyid: str | None


def checkpoints_table(rows: Sequence[CheckpointRow]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"file": c.name, "tree_size": c.tree_size, "root_hash": c.root_hash,
          "timestamp": timestamp(c.timestamp), "policy_digest": c.policy_digest,
          "keyid": c.keyid} for c in rows],
        schema=pa.schema([("file", pa.string()), ("tree_size", pa.int64()),
                          ("root_hash", pa.string()), ("timestamp", TIME),
                          ("policy_digest", pa.string()), ("keyid", pa.string())]))

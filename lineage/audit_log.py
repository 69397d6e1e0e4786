"""The lineage log as the audit catalog and `trace` read it (pure: log lines in, values out):
each line's envelope and payload, who signed it, which run and corpus it belongs to, and which
Parquet files of the store the records name.

Lines that do not parse are kept as kind "unknown": `verify_store` names them, and the catalog is
only built from a store that verifies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lineage.dsse import Envelope, EnvelopeError
from lineage.policy import known_keys
from schemas.policy import TrustPolicy
from schemas.predicates import (
    CONSERVATION_BYPRODUCT,
    POLICY_PAYLOAD_TYPE,
    PROVENANCE_PREDICATE,
    RELEASE_URI_PREFIX,
    RESIDENCY_PREDICATE,
    VSA_PREDICATE,
    WITHDRAWAL_PREDICATE,
)

KINDS = {
    RESIDENCY_PREDICATE: "residency",
    PROVENANCE_PREDICATE: "provenance",
    VSA_PREDICATE: "certification",
    WITHDRAWAL_PREDICATE: "withdrawal",
}
QUARANTINE_PREFIX = "quarantine/"
WITHHELD_PREFIX = "documents-"  # quarantine/<corpus>/documents-*.parquet: the gate's rejects


@dataclass(frozen=True)
class LogRecord:
    """One log line as the catalog reads it: its envelope and decoded payload (a statement or a
    policy), or None for both when the line does not parse (verify names such a line)."""

    index: int
    line: bytes
    envelope: Envelope | None
    payload: dict[str, Any] | None

    @property
    def kind(self) -> str:
        if self.envelope is None or self.payload is None:
            return "unknown"
        if self.envelope.payload_type == POLICY_PAYLOAD_TYPE:
            return "policy"
        return KINDS.get(str(self.payload.get("predicateType")), "unknown")

    @property
    def predicate(self) -> dict[str, Any]:
        value = (self.payload or {}).get("predicate")
        return value if isinstance(value, dict) else {}

    @property
    def subjects(self) -> list[tuple[str, str | None]]:
        found = []
        for subject in (self.payload or {}).get("subject") or []:
            if isinstance(subject, dict) and subject.get("name"):
                found.append((str(subject["name"]), (subject.get("digest") or {}).get("sha256")))
        return found

    @property
    def run_id(self) -> str | None:
        if self.kind == "residency":
            return (self.predicate.get("run") or {}).get("runId")
        if self.kind == "provenance":
            return ((self.predicate.get("runDetails") or {}).get("metadata") or {}).get(
                "invocationId")
        return None

    @property
    def signed_at(self) -> str | None:
        predicate = self.predicate
        if self.kind == "residency":
            return predicate.get("signedAt")
        if self.kind == "provenance":
            return internal_parameters(predicate).get("signedAt")
        if self.kind == "certification":
            return predicate.get("timeVerified")
        if self.kind == "policy":
            return (self.payload or {}).get("issuedAt")
        return None


@dataclass(frozen=True)
class Signer:
    keyid: str
    role: str
    holder: str  # the site id, the certifier id, or "root"


@dataclass(frozen=True)
class StoreFile:
    """A Parquet file of the store as the latest record naming it describes it."""

    name: str  # store-relative path
    kind: str  # "shard" | "reject" | "duplicate"
    sha256: str
    run_id: str | None
    log_index: int

    @property
    def withheld(self) -> bool:
        """Documents the residual-PII gate withheld: reject rows kept in quarantine/."""
        return self.name.startswith(QUARANTINE_PREFIX) and self.kind == "reject"


def parse_log(lines: Sequence[bytes]) -> list[LogRecord]:
    records = []
    for index, line in enumerate(lines):
        try:
            envelope = Envelope.from_json(line)
            payload = json.loads(envelope.payload)
        except (EnvelopeError, json.JSONDecodeError, UnicodeDecodeError):
            records.append(LogRecord(index, line, None, None))
            continue
        records.append(LogRecord(index, line, envelope, payload if isinstance(payload, dict)
                                 else None))
    return records


def signers(policies: Iterable[TrustPolicy]) -> dict[str, Signer]:
    """Who holds each key of every verified policy version (oldest first; newer ones win)."""
    found: dict[str, Signer] = {}
    for policy in policies:
        for keyid, known in known_keys(policy).items():
            found[keyid] = Signer(keyid, known.entry.role, known.owner_id or "root")
    return found


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time a record states, as naive UTC; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def internal_parameters(predicate: Mapping[str, Any]) -> dict[str, Any]:
    return (predicate.get("buildDefinition") or {}).get("internalParameters") or {}


def external_parameters(predicate: Mapping[str, Any]) -> dict[str, Any]:
    return (predicate.get("buildDefinition") or {}).get("externalParameters") or {}


def conservation_counts(predicate: Mapping[str, Any]) -> dict[str, Any]:
    byproducts = (predicate.get("runDetails") or {}).get("byproducts") or []
    return next((b.get("annotations") or {} for b in byproducts
                 if isinstance(b, dict) and b.get("name") == CONSERVATION_BYPRODUCT), {})


def count_pairs(value: Any) -> list[tuple[str, int]]:
    if not isinstance(value, dict):
        return []
    return sorted((str(k), int(v)) for k, v in value.items() if isinstance(v, int | float))


def run_corpora(records: Sequence[LogRecord]) -> dict[str, str]:
    """run id -> corpus id, from the runs' provenance."""
    return {r.run_id: str(external_parameters(r.predicate).get("corpusId"))
            for r in records if r.kind == "provenance" and r.run_id
            and external_parameters(r.predicate).get("corpusId")}


def corpus_of(record: LogRecord, corpora: Mapping[str, str]) -> str | None:
    if record.run_id in corpora:
        return corpora[record.run_id]
    job = str((record.predicate.get("run") or {}).get("job", ""))
    return job.split(":", 1)[1] if ":" in job else None


def certified_pairs(records: Sequence[LogRecord]) -> set[tuple[str, str | None]]:
    return {subject for r in records if r.kind == "certification" for subject in r.subjects}


def store_files(records: Sequence[LogRecord]) -> dict[str, StoreFile]:
    """Every Parquet file a record names, as its latest record describes it: shards from the
    residency attestations, reject and duplicate files from the run provenance."""
    files: dict[str, StoreFile] = {}
    for record in records:
        if record.kind not in ("residency", "provenance"):
            continue
        for name, sha in record.subjects:
            kind = _file_kind(name, record.kind)
            if kind is None or not sha:
                continue
            if kind == "shard" and record.kind == "provenance" and name in files:
                continue  # the shard's own attestation already said it (same digest: verified)
            files[name] = StoreFile(name, kind, sha, record.run_id, record.index)
    return files


def _file_kind(name: str, record_kind: str) -> str | None:
    if not name.endswith(".parquet"):
        return None
    top, _, rest = name.partition("/")
    base = name.rsplit("/", 1)[-1]
    if record_kind == "residency":
        return "shard"
    if top == "rejects" or (top + "/" == QUARANTINE_PREFIX and base.startswith(WITHHELD_PREFIX)):
        return "reject"
    if top == "duplicates":
        return "duplicate"
    if top in ("shards", "quarantine") and rest:
        return "shard"
    return None


def release_name(record: LogRecord) -> str | None:
    """The release a certification record certifies."""
    if record.kind != "certification":
        return None
    uri = str(record.predicate.get("resourceUri", ""))
    return uri.removeprefix(RELEASE_URI_PREFIX) if uri.startswith(RELEASE_URI_PREFIX) else uri


def signing_keyid(record: LogRecord, keys: Mapping[str, Signer]) -> str | None:
    """The signature's key id that the policy knows (verify checked it), else the first."""
    if record.envelope is None:
        return None
    ids = [s.keyid for s in record.envelope.signatures]
    return next((k for k in ids if k in keys), ids[0] if ids else None)

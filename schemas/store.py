"""Where things live in a Kura store (a directory). Paths only: no I/O here.

    <store>/manifests/<corpus_id>.toml      the onboarded manifest, as given
    <store>/shards/<corpus_id>/*.parquet    curated documents
    <store>/rejects/<corpus_id>/*.parquet   rejected records, raw bytes quarantined
    <store>/quarantine/<corpus_id>/         withheld: documents that still held PII after
                                            scrubbing (documents-*.parquet, reject rows) and
                                            shards that failed their suite
    <store>/duplicates/<corpus_id>/*.parquet removed duplicates
    <store>/signatures/<corpus_id>/*.parquet MinHash signatures, for cross-corpus dedup
    <store>/pseudonyms/<corpus_id>/*.parquet  per shard of a pseudonym-mode corpus: sha256 of each
                                            pseudonym token in its text and the doc_id (hashes only)
    <store>/withdrawals/<corpus_id>/<id>.parquet  the documents a withdrawal took out: ids,
                                            sources and where each was (never text)
    <store>/runs/<run_id>.json              one run summary per run
    <store>/lineage/log.jsonl               the append-only log of DSSE envelopes
    <store>/lineage/checkpoints/            signed Merkle checkpoints
    <store>/keys/                           site and certifier keys, trust policy
    <store>/releases/                       certified releases
    <store>/tmp/<run_id>/                   a run's scratch space, removed when it ends
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoreLayout:
    root: Path

    def manifest(self, corpus_id: str) -> Path:
        return self.root / "manifests" / f"{corpus_id}.toml"

    def shards(self, corpus_id: str) -> Path:
        return self.root / "shards" / corpus_id

    def rejects(self, corpus_id: str) -> Path:
        return self.root / "rejects" / corpus_id

    def quarantine(self, corpus_id: str) -> Path:
        return self.root / "quarantine" / corpus_id

    def duplicates(self, corpus_id: str) -> Path:
        return self.root / "duplicates" / corpus_id

    def signatures(self, corpus_id: str | None = None) -> Path:
        base = self.root / "signatures"
        return base / corpus_id if corpus_id else base

    def pseudonyms(self, corpus_id: str) -> Path:
        return self.root / "pseudonyms" / corpus_id

    def withdrawals(self, corpus_id: str) -> Path:
        return self.root / "withdrawals" / corpus_id

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run_summary(self, run_id: str) -> Path:
        return self.runs / f"{run_id}.json"

    @property
    def lineage(self) -> Path:
        return self.root / "lineage"

    @property
    def log(self) -> Path:
        return self.lineage / "log.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.lineage / "checkpoints"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    def tmp(self, run_id: str) -> Path:
        return self.root / "tmp" / run_id

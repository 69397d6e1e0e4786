"""What a withdrawal takes out of a corpus: found in its current files, by ids only.

A withdrawal names sources (a path, URI or digest, matched as `kura audit trace --source`
matches them), every source of a corpus, or documents by id (`kura forget`). Scanning reads
only id columns (doc_id, source_uri, source_sha256, locator; the duplicates table's cluster
columns) of the corpus's current files (lineage/corpus_state.py):

    shards/<corpus>/*            documents: withdrawn ones are "kept" rows of the withdrawal
    duplicates/<corpus>/*        removed duplicates: withdrawn ones are "duplicate" rows; the
                                 survivors of a cluster whose kept document is withdrawn are
                                 the members to promote
    rejects/, quarantine/documents-*   a withdrawn source's rejected and withheld records
                                 ("reject", "withheld"), whose raw bytes must go too

Documents of other corpora that were removed as duplicates of a withdrawn one (store-wide
dedup) are found too: a withdrawal of one corpus cannot rewrite another, so they are reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lineage.audit_log import parse_log
from lineage.corpus_state import CorpusState, InputFact
from lineage.trace import TraceError, match_source, recorded_sources
from schemas.records import doc_id_for


class WithdrawScanError(ValueError):
    """A withdrawal that names nothing, or names something ambiguously; one line."""


@dataclass(frozen=True)
class Selection:
    """What a withdrawal takes: whole sources (by recorded uri), every source, or doc ids."""

    kind: str  # "source" | "all" | "forget"
    uris: frozenset[str] = frozenset()
    doc_ids: frozenset[str] = frozenset()

    def takes(self, source_uri: str, doc_id: str) -> bool:
        if self.kind == "all":
            return True
        return source_uri in self.uris or doc_id in self.doc_ids

    @property
    def whole_sources(self) -> bool:
        """Rejected records of the sources go too (a document list names no reject)."""
        return self.kind in ("source", "all")


@dataclass
class Found:
    """The corpus's files and rows a withdrawal touches (ids only)."""

    rows: list[dict[str, Any]] = field(default_factory=list)  # the withdrawals file's rows
    shards: dict[str, set[str]] = field(default_factory=dict)  # shard -> withdrawn doc ids
    duplicates: dict[str, set[str]] = field(default_factory=dict)  # file -> withdrawn ids
    records: dict[str, int] = field(default_factory=dict)  # rejects/withheld file -> rows taken
    kept: dict[str, str] = field(default_factory=dict)  # withdrawn kept doc id -> its shard
    # kept doc id -> the surviving duplicate rows of its cluster (to promote)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (corpus, doc_id, source_uri, kept_doc_id): other corpora's duplicates of a withdrawn one
    elsewhere: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return sorted({*self.shards, *self.duplicates, *self.records})

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if r["kind"] == kind)


def resolve_sources(store_root: Path, lines: list[bytes], corpus_id: str, query: str,
                    cwd: Path | None = None) -> list[tuple[str, str | None]]:
    """The recorded (uri, sha256) of the corpus's source that `query` names: as `audit trace
    --source` matches (exact recorded uri, local path or file:// URI on whole path segments, an
    existing file's sha256). Several candidates are listed in the error, never guessed."""
    records = parse_log(lines)
    corpus_runs = {r.run_id for r in records
                   if r.kind == "provenance" and _record_corpus(r.predicate) == corpus_id}
    recorded = [(r, uri, sha) for r, uri, sha in recorded_sources(records)
                if r.kind == "provenance" and r.run_id in corpus_runs]
    try:
        how, _digest = match_source(query, recorded, cwd)
    except TraceError as exc:
        raise WithdrawScanError(str(exc)) from None
    if not how:
        raise WithdrawScanError(f"--source {query}: no run of corpus {corpus_id} read this "
                                "source (`kura audit trace --source` shows which runs did)")
    strongest = next(m for m in ("uri", "path", "sha256") if any(m in h for h in how.values()))
    chosen = sorted(uri for uri, h in how.items() if strongest in h)
    if len(chosen) > 1:
        raise WithdrawScanError(f"--source {query} could be any of {len(chosen)} recorded "
                                f"sources of {corpus_id}: {', '.join(chosen)}; give one of them "
                                "exactly")
    uri = chosen[0]
    shas = sorted({sha for _, u, sha in recorded if u == uri and sha}) or [None]
    return [(uri, sha) for sha in shas]


def _record_corpus(predicate: Mapping[str, Any]) -> str | None:
    build = predicate.get("buildDefinition") or {}
    return (build.get("externalParameters") or {}).get("corpusId")


def _in(prefix: str, corpus_id: str, names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if n.startswith(f"{prefix}/{corpus_id}/"))


def _sha_of(inputs: Mapping[str, InputFact], uri: str) -> str | None:
    fact = inputs.get(uri)
    return fact.sha256 if fact else None


def scan(store_root: Path, state: CorpusState, selection: Selection,
         other_states: Mapping[str, CorpusState], inputs: Mapping[str, InputFact]) -> Found:
    """Every current file of the corpus that holds something the selection takes, and the
    members to promote. `inputs`: every input the corpus's runs recorded (uri -> fact), for
    the digest of a duplicate's source (the duplicates table keeps only its uri)."""
    store_root = Path(store_root)
    corpus = state.corpus_id
    found = Found()
    for name in _in("shards", corpus, state.current):
        table = pq.read_table(store_root / name,
                              columns=["doc_id", "source_uri", "source_sha256", "locator"])
        for row in table.to_pylist():
            if selection.takes(row["source_uri"], row["doc_id"]):
                found.shards.setdefault(name, set()).add(row["doc_id"])
                found.kept[row["doc_id"]] = name
                found.rows.append({**row, "corpus_id": corpus, "path": name, "kind": "kept"})
    survivors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name in _in("duplicates", corpus, state.current):
        for row in pq.read_table(store_root / name).to_pylist():
            if selection.takes(row["source_uri"], row["doc_id"]):
                found.duplicates.setdefault(name, set()).add(row["doc_id"])
                found.rows.append({"doc_id": row["doc_id"], "corpus_id": corpus,
                                   "source_uri": row["source_uri"],
                                   "source_sha256": _sha_of(inputs, row["source_uri"]),
                                   "locator": row["locator"], "path": name,
                                   "kind": "duplicate"})
            else:
                survivors[row["kept_doc_id"]].append({**row, "path": name})
    found.members = {kept: rows for kept, rows in survivors.items() if kept in found.kept}
    for rows in found.members.values():
        for row in rows:  # the file of a member to promote is rewritten too
            found.duplicates.setdefault(row["path"], set())
    if selection.whole_sources or selection.doc_ids:  # forget names rejected records by id
        records = [*_in("rejects", corpus, state.current),
                   *(n for n in _in("quarantine", corpus, state.current)
                     if n.split("/")[-1].startswith("documents-"))]
        for name in records:
            kind = "reject" if name.startswith("rejects/") else "withheld"
            table = pq.read_table(store_root / name,
                                  columns=["source_uri", "source_sha256", "locator"])
            for row in table.to_pylist():
                doc_id = doc_id_for(corpus, row["source_sha256"], row["locator"],
                                    row["source_uri"])
                if selection.takes(row["source_uri"], doc_id):
                    found.records[name] = found.records.get(name, 0) + 1
                    found.rows.append({"doc_id": doc_id, "corpus_id": corpus, **row,
                                       "path": name, "kind": kind})
    kept = set(found.kept)
    for other, other_state in sorted(other_states.items()):
        if other == corpus or not kept:
            continue
        for name in _in("duplicates", other, other_state.current):
            table = pq.read_table(store_root / name,
                                  columns=["doc_id", "source_uri", "kept_doc_id"])
            for row in table.to_pylist():
                if row["kept_doc_id"] in kept:
                    found.elsewhere.append((other, row["doc_id"], row["source_uri"],
                                            row["kept_doc_id"]))
    return found

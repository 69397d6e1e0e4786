"""Promotion: the survivors of a duplicate cluster whose kept document was withdrawn.

Each member is re-read from its source by locator (the file must have the digest the run
recorded, and give the same doc_id) and sent through the very document steps a run applies
(pipelines/stages.py `document_steps`, from the corpus's manifest), so its row is what a run
would write. The members are then deduplicated as a run would: among themselves and against
what the store keeps (`prior`: the corpus's signatures without the withdrawn documents, and with
scope "store" the other corpora's), the lowest doc_id heading each cluster. A member that comes
out kept is promoted into a shard; the others point at their new kept document.

A member that cannot be re-read (no file, other bytes, a missing pseudonym secret) is not
restored: it stays in the duplicates table as it was, and the caller says why. With forgotten
tokens (`kura forget`), a member whose scrubbed text holds one is withdrawn too: it mentions the
person as well, and promoting it would bring the name back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pipelines.stages import document_steps
from schemas.manifest import Manifest
from schemas.records import Document, Reject, RejectedRecord, rejected
from transforms.dedup import PriorIndex, deduplicate_keys
from transforms.ingest import read_source
from transforms.ingest_beam import open_regular_file
from transforms.ingest_stream import SourceChanged
from transforms.pii import PiiConfigError, check_secret

# A keyed pseudonym as transforms/pii.py `pseudonym` writes it into the text.
PSEUDONYM_TOKEN = re.compile(r"<[A-Z][A-Z_]*_[0-9a-f]{8,64}>")


@dataclass(frozen=True)
class Unrestored:
    doc_id: str
    source_uri: str
    reason: str  # names files and digests, never text


@dataclass
class Promotion:
    kept: list[Document] = field(default_factory=list)  # promoted, with dup_cluster set
    home: dict[str, str] = field(default_factory=dict)  # promoted doc -> old shard it joins
    duplicates: dict[str, dict[str, Any]] = field(default_factory=dict)  # doc_id -> new row
    rejects: list[tuple[str, RejectedRecord]] = field(default_factory=list)  # (doc_id, reject)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)  # forget: rows withdrawn too
    unrestored: list[Unrestored] = field(default_factory=list)
    signatures: dict[str, np.ndarray] = field(default_factory=dict)  # promoted doc -> signature

    @property
    def settled(self) -> set[str]:
        """Member ids whose duplicates row this promotion replaces (kept, re-pointed,
        rejected or withdrawn); an unrestored member keeps its row."""
        return ({d.doc_id for d in self.kept} | set(self.duplicates)
                | {r["doc_id"] for r in self.withdrawn} | {i for i, _ in self.rejects})


def token_hashes(text: str) -> set[str]:
    """sha256 hex of every pseudonym token in a scrubbed text (what `kura forget` matches)."""
    return {hashlib.sha256(t.encode()).hexdigest() for t in PSEUDONYM_TOKEN.findall(text)}


def _reread(rows: list[dict[str, Any]], source, expected_sha: str | None
            ) -> tuple[dict[str, Document], list[Unrestored]]:
    """The documents of `rows` (one source file), read again by locator."""
    by_locator = {int(r["locator"]): r for r in rows}
    lost = []
    if source is None:
        return {}, [Unrestored(r["doc_id"], r["source_uri"], "its source file was not found "
                               "(give --manifest, or run from the folder its recorded path is "
                               "relative to)") for r in rows]
    try:
        with open_regular_file(source.path) as handle:
            data = handle.read()
        verdict, items = read_source(source, data)
        if expected_sha and verdict.sha256 != expected_sha:
            return {}, [Unrestored(r["doc_id"], r["source_uri"],
                                   f"{source.path} changed since it was onboarded (sha256 now "
                                   f"{verdict.sha256[:16]}…, recorded {expected_sha[:16]}…)")
                        for r in rows]
        found: dict[str, Document] = {}
        for item in items:
            locator = getattr(item, "locator", None)
            if locator not in by_locator:
                continue
            row = by_locator.pop(locator)
            if isinstance(item, RejectedRecord):
                lost.append(Unrestored(row["doc_id"], row["source_uri"],
                                       f"record {locator} of {source.uri} no longer reads as a "
                                       f"document ({item.step})"))
            elif item.doc_id != row["doc_id"]:
                lost.append(Unrestored(row["doc_id"], row["source_uri"],
                                       f"record {locator} of {source.path} has doc_id "
                                       f"{item.doc_id}, not the recorded one: its name relative "
                                       "to the manifest differs (give --manifest)"))
            else:
                found[item.doc_id] = item
    except (OSError, SourceChanged) as exc:
        return {}, [Unrestored(r["doc_id"], r["source_uri"],
                               f"{source.path} cannot be read ({type(exc).__name__})")
                    for r in rows]
    lost += [Unrestored(r["doc_id"], r["source_uri"], f"{source.uri} has no record {loc}")
             for loc, r in by_locator.items()]
    return found, lost


def _processed(docs: Iterable[Document], manifest: Manifest, promotion: Promotion
               ) -> list[Document]:
    steps = document_steps(manifest)
    for step in steps:
        step.setup()
    out = []
    for doc in docs:
        result: Document | Reject = doc
        for step in steps:
            result = step(result)
            if isinstance(result, Reject):
                break
        if isinstance(result, Reject):
            raw = doc.text.encode("utf-8", "surrogatepass")
            promotion.rejects.append((doc.doc_id, rejected(doc, result, raw)))
        else:
            out.append(result)
    return out


def promote(members: Mapping[str, list[dict[str, Any]]], heads_shard: Mapping[str, str],
            manifest: Manifest, sources: Mapping[str, Any], source_sha: Mapping[str, str | None],
            own_ids: set[str], prior: PriorIndex | None,
            forgotten: frozenset[str] = frozenset()) -> Promotion:
    """Re-read, re-process and re-cluster `members` (withdrawn kept doc id -> the surviving
    duplicates rows of its cluster). `heads_shard`: the shard each withdrawn kept document was
    in (a promoted member takes its place there). `sources`: recorded uri -> SourceFile;
    `own_ids`: doc ids of this corpus's stored signatures (to tell its own clusters from
    cross-corpus ones)."""
    promotion = Promotion()
    rows = [r for group in members.values() for r in group]
    if not rows:
        return promotion
    head_of = {r["doc_id"]: r["kept_doc_id"] for r in rows}
    try:
        check_secret(manifest.pii)
    except PiiConfigError as exc:
        promotion.unrestored = [Unrestored(r["doc_id"], r["source_uri"], str(exc)) for r in rows]
        return promotion
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_source.setdefault(row["source_uri"], []).append(row)
    docs: dict[str, Document] = {}
    for uri, group in sorted(by_source.items()):
        found, lost = _reread(group, sources.get(uri), source_sha.get(uri))
        docs.update(found)
        promotion.unrestored += lost
    processed = _processed((docs[d] for d in sorted(docs)), manifest, promotion)
    if forgotten:
        still = []
        for doc in processed:
            if token_hashes(doc.text) & forgotten:
                promotion.withdrawn.append({
                    "doc_id": doc.doc_id, "corpus_id": doc.corpus_id,
                    "source_uri": doc.source_uri, "source_sha256": doc.source_sha256,
                    "locator": doc.locator, "kind": "duplicate"})
            else:
                still.append(doc)
        processed = still
    if not processed:
        return promotion
    ids = [d.doc_id for d in processed]
    result = deduplicate_keys(ids, [d.match_key for d in processed], manifest.dedup, prior=prior)
    verdicts = {v.doc_id: v for v in result.verdicts}
    signature_of = dict(zip(result.doc_ids, result.signatures, strict=True))
    for doc in processed:
        verdict = verdicts.get(doc.doc_id)
        clean = replace(doc, match_key="", tokens=None)
        if verdict is None or not verdict.removed:
            cluster = verdict.cluster_id if verdict is not None else None
            promotion.kept.append(replace(clean, dup_cluster=cluster))
            promotion.home[doc.doc_id] = heads_shard[head_of[doc.doc_id]]
            promotion.signatures[doc.doc_id] = signature_of[doc.doc_id]
            continue
        kind = verdict.kind
        if kind == "cross-corpus" and verdict.kept_doc_id in own_ids:
            # headed by a document this corpus keeps: a duplicate within the corpus
            kind = "exact" if verdict.estimated_jaccard >= 1.0 else "near"
        promotion.duplicates[doc.doc_id] = {
            "doc_id": doc.doc_id, "corpus_id": doc.corpus_id, "source_uri": doc.source_uri,
            "locator": doc.locator, "kind": kind, "cluster_id": verdict.cluster_id,
            "kept_doc_id": verdict.kept_doc_id,
            "estimated_jaccard": float(verdict.estimated_jaccard)}
    return promotion

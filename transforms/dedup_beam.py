"""The Beam wrapper of dedup: `docs | "Deduplicate" >> Deduplicate(...)` gives verdicts.

Only ids, hashes, bucket keys and signatures cross a shuffle, never text: the first step turns
each Document into a `SignedDoc` and the text goes no further. The graph:

    Sign (numpy batches) ─► band keys ─► GroupByKey buckets ─► candidate pairs
        ─► join both ends' signatures ─► estimated-Jaccard check ─► edges
    (scope "store") Sign ─► datasketch LSH over earlier corpora's signatures ─► cross edges
    edges ─► connected components (union-find on one worker, or large-star / small-star rounds)
        ─► join members' hashes and signatures ─► GroupByKey cluster ─► verdicts
    documents that stay ─► deterministic Parquet signature files in `signatures_dir`

Every step is a pure function of its inputs and every choice takes the minimum id, so the
verdicts do not depend on the runner, the number of workers, bundling or the input order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsSingleton, TaggedOutput

from schemas.dedup import DedupConfig
from schemas.records import Document
from transforms.dedup import (
    DedupVerdict,
    Member,
    PriorIndex,
    band_keys,
    candidate_pairs,
    cluster_verdicts,
    config_bands,
    connected_components,
    exact_key,
    is_stored,
    large_star_edges,
    small_star_edges,
    stored_node,
)
from transforms.minhash import MinHasher, estimated_jaccard, write_signatures

log = logging.getLogger(__name__)
STEP = "dedup"
Components = Literal["union-find", "distributed"]


@dataclass(frozen=True)
class SignedDoc:
    """What dedup keeps of a document: its id, the sha256 of its matching key, its signature."""

    doc_id: str
    exact: bytes
    signature: bytes  # the signature's values, little-endian


def _dtype(config: DedupConfig) -> np.dtype:
    return np.dtype("<u4" if config.scheme == "affine32" else "<u8")


class _SignBatch(beam.DoFn):
    def __init__(self, config: DedupConfig) -> None:
        self._config = config
        self._signed = Metrics.counter(STEP, "signed")

    def setup(self) -> None:
        self._hasher = MinHasher.from_config(self._config)
        self._dtype = _dtype(self._config)

    def process(self, batch: Sequence[Document]) -> Iterator[SignedDoc]:
        sigs = self._hasher.signatures([doc.match_key for doc in batch]).astype(self._dtype)
        for doc, sig in zip(batch, sigs, strict=True):
            self._signed.inc()
            yield SignedDoc(doc.doc_id, exact_key(doc.match_key), sig.tobytes())


def _bucket_entries(doc: SignedDoc, bands: int, rows: int, dtype: np.dtype):
    sig = np.frombuffer(doc.signature, dtype=dtype)
    return [(key, doc.doc_id) for key in band_keys(sig, bands, rows)]


def _bucket_pairs(kv: tuple[bytes, Iterable[str]]) -> Iterator[tuple[str, str]]:
    return candidate_pairs(kv[1])


def _attach_left_signature(kv) -> Iterator[tuple[str, tuple[str, bytes]]]:
    doc_id, grouped = kv
    sigs = list(grouped["sig"])
    if not sigs:
        return
    for right in sorted(set(grouped["pair"])):
        yield right, (doc_id, sigs[0])


class _CheckPairs(beam.DoFn):
    """Keeps the candidate pairs whose signatures' estimated Jaccard passes the check."""

    def __init__(self, config: DedupConfig) -> None:
        self._check = config.effective_check_threshold
        self._dtype = _dtype(config)
        self._candidates = Metrics.counter(STEP, "candidate_pairs")
        self._edges = Metrics.counter(STEP, "edges")

    def process(self, kv) -> Iterator[tuple[str, str]]:
        right_id, grouped = kv
        sigs = list(grouped["sig"])
        if not sigs:
            return
        right = np.frombuffer(sigs[0], dtype=self._dtype)
        for left_id, left_sig in sorted(set(grouped["left"])):
            self._candidates.inc()
            if estimated_jaccard(np.frombuffer(left_sig, dtype=self._dtype), right) >= self._check:
                self._edges.inc()
                yield left_id, right_id


class _MatchPrior(beam.DoFn):
    """Edges from this corpus's documents to earlier corpora's stored duplicates."""

    STORED = "stored"

    def __init__(self, config: DedupConfig, paths: Sequence[str]) -> None:
        self._config = config
        self._paths = list(paths)
        self._matched = Metrics.counter(STEP, "cross_corpus_matches")

    def setup(self) -> None:
        self._index = PriorIndex(self._config, [Path(p) for p in self._paths])
        self._dtype = _dtype(self._config)

    def process(self, doc: SignedDoc) -> Iterator[Any]:
        for stored_id, _ in self._index.matches(np.frombuffer(doc.signature, dtype=self._dtype)):
            self._matched.inc()
            node = stored_node(stored_id)
            stored_sig = self._index.signature(stored_id).astype(self._dtype).tobytes()
            yield TaggedOutput(self.STORED, (node, (b"", stored_sig)))
            yield node, doc.doc_id


def _union_find(kv) -> Iterator[tuple[str, str]]:
    return iter(sorted(connected_components(kv[1]).items()))


class _UnionFind(beam.PTransform):
    """All edges to one worker (ids only), union-find there: the default."""

    def expand(self, edges):
        return (edges
                | "OneKey" >> beam.Map(lambda e: (None, e))
                | "Gather" >> beam.GroupByKey()
                | "Components" >> beam.FlatMap(_union_find))


def _both_directions(edge: tuple[str, str]):
    return [edge, (edge[1], edge[0])]


def _large_star(kv):
    return large_star_edges(kv[0], kv[1])


def _small_star(kv):
    return small_star_edges(kv[0], kv[1])


def _roles(edge: tuple[str, str]):
    lo, hi = min(edge), max(edge)
    return [(lo, "centre"), (hi, "leaf")]


def _star_heads(edge: tuple[str, str], not_star_nodes: int):
    if not_star_nodes:
        return []
    lo, hi = min(edge), max(edge)
    return [(hi, lo), (lo, lo)]


class _StarComponents(beam.PTransform):
    """Unrolled large-star / small-star rounds, then a convergence check.

    If the edges are a star forest after `rounds` rounds, each leaf's head is its centre. If not
    (a graph deeper than the rounds allowed), the remaining edges, already much contracted, go to
    one worker for union-find: the answer is the same either way, only the cost differs.
    """

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self._rounds = rounds

    def expand(self, edges):
        for i in range(self._rounds):
            edges = (edges
                     | f"LargeStarKeys{i}" >> beam.FlatMap(_both_directions)
                     | f"LargeStarGroup{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMap(_large_star)
                     | f"SmallStarKeys{i}" >> beam.Map(lambda e: (max(e), min(e)))
                     | f"SmallStarGroup{i}" >> beam.GroupByKey()
                     | f"SmallStar{i}" >> beam.FlatMap(_small_star))
        not_star = (edges
                    | "Roles" >> beam.FlatMap(_roles)
                    | "RolesByNode" >> beam.GroupByKey()
                    | "BothRoles" >> beam.Map(lambda kv: int(len(set(kv[1])) > 1))
                    | "CountNotStar" >> beam.CombineGlobally(sum))
        stars = edges | "StarHeads" >> beam.FlatMap(_star_heads, AsSingleton(not_star))
        rest = (edges
                | "NotConverged" >> beam.Filter(_report_not_converged, AsSingleton(not_star))
                | "FinishOnOneWorker" >> _UnionFind())
        return (stars, rest) | "Heads" >> beam.Flatten()


_not_converged = Metrics.counter(STEP, "star_not_converged_edges")


def _report_not_converged(edge: tuple[str, str], not_star_nodes: int) -> bool:
    if not_star_nodes:
        _not_converged.inc()
    return bool(not_star_nodes)


class _RouteMembers(beam.DoFn):
    """Per node: a clustered one goes to its cluster; one that stays goes to the signature store."""

    KEEP = "keep"

    def __init__(self, signature_files: int) -> None:
        self._files = signature_files

    def process(self, kv) -> Iterator[Any]:
        node, grouped = kv
        infos = list(grouped["info"])
        if not infos:
            return
        exact, sig = infos[0]
        heads = set(grouped["head"])
        head = min(heads) if heads else None
        if head is not None:
            yield head, (node, exact, sig)
        if not is_stored(node) and (head is None or head == node):
            yield TaggedOutput(self.KEEP, (signature_file_of(node, self._files), (node, sig)))


def signature_file_of(doc_id: str, files: int) -> int:
    """Which of the corpus's `files` signature files holds a document (stable across runs)."""
    return int.from_bytes(hashlib.sha256(doc_id.encode()).digest()[:4], "big") % files


def signature_file_name(index: int, files: int) -> str:
    return f"signatures-{index:05d}-of-{files:05d}.parquet"


class _Verdicts(beam.DoFn):
    def __init__(self, config: DedupConfig) -> None:
        self._dtype = _dtype(config)
        self._check = config.effective_check_threshold
        self._counters = {}

    def process(self, kv) -> Iterator[DedupVerdict]:
        _, members = kv
        cluster = [Member(node, exact, np.frombuffer(sig, dtype=self._dtype))
                   for node, exact, sig in members]
        for verdict in cluster_verdicts(cluster, self._check):
            if verdict.kind not in self._counters:
                self._counters[verdict.kind] = Metrics.counter(STEP, verdict.kind)
            self._counters[verdict.kind].inc()
            yield verdict


class _WriteSignatureFile(beam.DoFn):
    def __init__(self, config: DedupConfig, directory: str, files: int) -> None:
        self._config = config
        self._directory = directory
        self._files = files

    def process(self, kv) -> Iterator[str]:
        index, grouped = kv
        rows = sorted(set(grouped["sig"]))
        dtype = _dtype(self._config)
        sigs = np.array([np.frombuffer(s, dtype=dtype) for _, s in rows], dtype=dtype)
        sigs = sigs.reshape(len(rows), self._config.num_perm)
        path = Path(self._directory) / signature_file_name(index, self._files)
        write_signatures(path, [doc_id for doc_id, _ in rows], sigs, self._config)
        yield str(path)


def duplicate_row(doc: Document, verdict: DedupVerdict) -> dict[str, Any]:
    """The duplicates-table row (schemas.records.DUPLICATE_SCHEMA) of a removed document."""
    return {"doc_id": doc.doc_id, "corpus_id": doc.corpus_id, "source_uri": doc.source_uri,
            "locator": doc.locator, "kind": verdict.kind, "cluster_id": verdict.cluster_id,
            "kept_doc_id": verdict.kept_doc_id, "estimated_jaccard": verdict.estimated_jaccard}


class Deduplicate(beam.PTransform):
    """Exact and near-duplicate detection over a PCollection of Documents with `match_key` set.

    Output: a PCollection of `DedupVerdict`, one per document in a cluster of two or more (the
    kept head included, kind "kept"); documents without duplicates get none.

    prior_signatures: signature files of OTHER corpora in the store (never this corpus's own
    earlier run), used when `config.scope == "store"`. signatures_dir: where this corpus's
    signatures of the documents that stay are written (`signature_files` files, every one
    written, sorted by doc_id): give it an empty directory. components: "union-find" on one
    worker, or "distributed" large-star / small-star with `star_rounds` unrolled rounds.
    """

    def __init__(self, config: DedupConfig, corpus_id: str,
                 prior_signatures: Sequence[str | Path] = (),
                 signatures_dir: str | Path | None = None,
                 components: Components = "union-find", star_rounds: int = 8,
                 signature_files: int = 4, batch_size: int = 512) -> None:
        super().__init__()
        if components not in ("union-find", "distributed"):
            raise ValueError(f"components: 'union-find' or 'distributed', not {components!r}")
        own = [str(p) for p in prior_signatures if Path(p).parent.name == corpus_id]
        if own:
            raise ValueError(f"prior_signatures include corpus {corpus_id}'s own signatures "
                             f"({own[0]}); pass only other corpora's files")
        self._config = config
        self._corpus_id = corpus_id
        self._prior = [str(p) for p in prior_signatures] if config.scope == "store" else []
        self._signatures_dir = str(signatures_dir) if signatures_dir is not None else None
        self._components = components
        self._star_rounds = star_rounds
        self._signature_files = signature_files
        self._batch_size = batch_size

    def expand(self, docs):
        config = self._config
        bands, rows = config_bands(config)
        signed = (docs
                  | "Batch" >> beam.BatchElements(min_batch_size=min(64, self._batch_size),
                                                  max_batch_size=self._batch_size)
                  | "Sign" >> beam.ParDo(_SignBatch(config)))
        pairs = (signed
                 | "BandKeys" >> beam.FlatMap(_bucket_entries, bands, rows, _dtype(config))
                 | "Buckets" >> beam.GroupByKey()
                 | "CandidatePairs" >> beam.FlatMap(_bucket_pairs))
        sig_by_id = signed | "SigById" >> beam.Map(lambda d: (d.doc_id, d.signature))
        left = ({"sig": sig_by_id, "pair": pairs}
                | "JoinLeft" >> beam.CoGroupByKey()
                | "AttachLeft" >> beam.FlatMap(_attach_left_signature))
        edges = ({"sig": sig_by_id, "left": left}
                 | "JoinRight" >> beam.CoGroupByKey()
                 | "Check" >> beam.ParDo(_CheckPairs(config)))
        infos = signed | "Infos" >> beam.Map(lambda d: (d.doc_id, (d.exact, d.signature)))
        if self._prior:
            prior = signed | "MatchPrior" >> beam.ParDo(
                _MatchPrior(config, self._prior)).with_outputs(_MatchPrior.STORED, main="edges")
            edges = (edges, prior.edges) | "AllEdges" >> beam.Flatten()
            infos = (infos, prior[_MatchPrior.STORED]) | "AllInfos" >> beam.Flatten()
        if self._components == "distributed":
            heads = edges | "StarComponents" >> _StarComponents(self._star_rounds)
        else:
            heads = edges | "UnionFind" >> _UnionFind()
        routed = ({"info": infos, "head": heads}
                  | "JoinMembers" >> beam.CoGroupByKey()
                  | "Route" >> beam.ParDo(_RouteMembers(self._signature_files)).with_outputs(
                      _RouteMembers.KEEP, main="members"))
        verdicts = (routed.members
                    | "Clusters" >> beam.GroupByKey()
                    | "Verdicts" >> beam.ParDo(_Verdicts(config)))
        if self._signatures_dir is not None:
            files = docs.pipeline | "SignatureFiles" >> beam.Create(
                [(i, None) for i in range(self._signature_files)])
            _ = ({"file": files, "sig": routed[_RouteMembers.KEEP]}
                 | "ByFile" >> beam.CoGroupByKey()
                 | "WriteSignatures" >> beam.ParDo(
                     _WriteSignatureFile(config, self._signatures_dir, self._signature_files)))
        return verdicts

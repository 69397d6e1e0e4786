"""Exact and near-duplicate detection: the pure core, with no Beam in it.

The pieces, in the order a run uses them:
- `exact_key`: sha256 of the matching key; equal keys are exact duplicates.
- `lsh_params` / `band_key_matrix`: bands x rows from datasketch's optimal-parameter routine,
  and one uint64 bucket key per band of each signature. Documents sharing a bucket
  (`shared_buckets`, found by sorting the keys) are candidate pairs (`candidate_pairs`).
- `estimated_jaccard` (transforms.minhash) checks each candidate before it becomes an edge.
- `connected_components` (union-find) or `star_components` (large-star / small-star rounds)
  turn edges into clusters; the head of a cluster is its lowest node.
- `cluster_verdicts`: what happens to each member of one cluster.
- `PriorIndex`: earlier corpora's stored signatures in datasketch `MinHashLSH`es, one per
  shingle hash they were made with: the in-process reference for store-wide dedup. The Beam
  path never builds one; it matches stored signatures through the same bucket groups as the
  run's own (transforms.lsh_buckets, transforms.dedup_beam), with the same candidates.
- `deduplicate_keys`: all of it in one process, for tests, benchmarks and small runs.

Nodes are doc ids. A stored document of an earlier corpus enters the graph as `stored_node(id)`,
which sorts before every doc id, so a cluster touching the store is headed by a stored document
and every member of this corpus in it is removed as "cross-corpus". An incremental (append) run
also matches the documents its own corpus already holds: `stored_node(id, earlier=True)` sorts
before those of other corpora, and the members it heads are removed as "earlier-run" (a
published shard keeps its documents; the new one is the duplicate).

Signatures compare only under the same shingle hash (transforms.signature_store). When the store
holds signatures of another hash than this run's, every document of the run also carries its
signature under that hash (`Member.other_signature`): stored documents of that hash are matched
and judged on it, everything else on the run's own signatures.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from schemas.dedup import DedupConfig
from transforms.minhash import MinHasher, estimated_jaccard
from transforms.signature_store import SignatureFileError, config_for_file, lean_minhashes

KINDS = ("kept", "exact", "near", "cross-corpus", "earlier-run")
_STORED = "\x00"  # sorts before any character of a doc id
_EARLIER = "\x01"  # after _STORED: a document an earlier run of this very corpus kept
# Buckets up to this size give all their pairs; larger ones (shared boilerplate) give each member
# a pair with the bucket's lowest id and with its next `_WINDOW` neighbours in id order, so a
# bucket of n documents costs O(n) pairs, not O(n^2).
MAX_ALL_PAIRS_BUCKET = 64
_WINDOW = 8


def exact_key(match_key: str) -> bytes:
    """sha256 of the matching key: equal digests are exact duplicates."""
    return hashlib.sha256(match_key.encode("utf-8", "surrogatepass")).digest()


# --- LSH banding -------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising datasketch's weighted false positive + negative areas.

    datasketch's own routine with its default weights (0.5, 0.5), so a datasketch `MinHashLSH`
    built with the same threshold and num_perm bands identically.
    """
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def catch_probability(jaccard: float, bands: int, rows: int) -> float:
    """P(a pair of Jaccard s shares at least one bucket) = 1 - (1 - s^r)^b: the S-curve."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


def config_bands(config: DedupConfig) -> tuple[int, int]:
    return lsh_params(config.effective_band_threshold, config.num_perm)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _fmix64(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's 64-bit finalizer: a bijection with full avalanche, applied in place.
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def band_key_matrix(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 bucket keys: one 64-bit hash of each band's values, per signature.

    Computed for a whole batch at once. Equal band values always give equal keys; unequal ones
    collide with probability about 2^-64, and a collision only adds a candidate pair, which the
    signature check then judges like any other.
    """
    sigs = np.atleast_2d(signatures)
    values = sigs.astype(np.uint64)
    keys = np.empty((len(sigs), bands), dtype=np.uint64)
    for band in range(bands):
        h = np.full(len(sigs), np.uint64(band + 1), dtype=np.uint64)
        h = _fmix64(h * _GOLDEN)
        for col in range(band * rows, (band + 1) * rows):
            h ^= values[:, col]
            h = _fmix64(h * _GOLDEN)
        keys[:, band] = h
    return keys


def band_keys(signature: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The `bands` bucket keys of one signature (a row of `band_key_matrix`)."""
    return band_key_matrix(signature, bands, rows)[0]


def shared_buckets(keys: np.ndarray) -> list[np.ndarray]:
    """Positions of `keys` grouped by equal key, for keys held two or more times.

    Grouping by sorting: no dict of every key, and singleton buckets cost nothing further. Each
    group is in ascending position order; groups are in ascending key order.
    """
    if len(keys) < 2:
        return []
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    ends = np.append(starts[1:], len(keys))
    return [order[s:e] for s, e in zip(starts, ends, strict=True) if e - s > 1]


def candidate_pairs(bucket: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Pairs (lower, higher) of the distinct ids of one bucket; nothing for a bucket of one."""
    ids = sorted(set(bucket))
    n = len(ids)
    if n <= MAX_ALL_PAIRS_BUCKET:
        for i in range(n):
            for j in range(i + 1, n):
                yield ids[i], ids[j]
        return
    for j in range(1, n):
        yield ids[0], ids[j]
        for i in range(max(1, j - _WINDOW), j):
            yield ids[i], ids[j]


# --- connected components ----------------------------------------------------------------------

def find_root(parent: dict[str, str], node: str) -> str:
    """The root of `node` in the union-find forest `parent`, compressing the path to it."""
    root = node
    while parent[root] != root:
        root = parent[root]
    while parent[node] != root:  # path compression
        parent[node], node = root, parent[node]
    return root


def union(parent: dict[str, str], u: str, v: str) -> None:
    """Join u's and v's components in place; the lower root wins, so a root is always its
    component's lowest node (the result does not depend on the order of the edges)."""
    parent.setdefault(u, u)
    parent.setdefault(v, v)
    ru, rv = find_root(parent, u), find_root(parent, v)
    if ru < rv:
        parent[rv] = ru
    elif rv < ru:
        parent[ru] = rv


def connected_components(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """node -> the lowest node of its component, for every node of an edge (union-find)."""
    parent: dict[str, str] = {}
    for u, v in edges:
        union(parent, u, v)
    return {node: find_root(parent, node) for node in parent}


def _ordered(u: str, v: str) -> tuple[str, str]:
    return (u, v) if u < v else (v, u)


def large_star_edges(node: str, neighbours: Iterable[str]) -> list[tuple[str, str]]:
    """Large-star at one node: link every larger neighbour to the lowest of node + neighbours."""
    nbrs = set(neighbours)
    low = min(nbrs | {node})
    return [_ordered(u, low) for u in nbrs if u > node]


def small_star_edges(node: str, smaller_neighbours: Iterable[str]) -> list[tuple[str, str]]:
    """Small-star at one node: link it and its smaller neighbours to the lowest of them."""
    group = set(smaller_neighbours) | {node}
    low = min(group)
    return [(low, u) for u in group if u != low]


def large_star(edges: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    adjacency: dict[str, set[str]] = defaultdict(set)
    for u, v in edges:
        adjacency[u].add(v)
        adjacency[v].add(u)
    return {e for node, nbrs in adjacency.items() for e in large_star_edges(node, nbrs)}


def small_star(edges: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    smaller: dict[str, set[str]] = defaultdict(set)
    for u, v in edges:
        lo, hi = _ordered(u, v)
        smaller[hi].add(lo)
    return {e for node, nbrs in smaller.items() for e in small_star_edges(node, nbrs)}


def is_star_forest(edges: Iterable[tuple[str, str]]) -> bool:
    """True when no node is both a centre (lower end) and a leaf (higher end) of an edge."""
    centres, leaves = set(), set()
    for u, v in edges:
        lo, hi = _ordered(u, v)
        centres.add(lo)
        leaves.add(hi)
    return not centres & leaves


def star_heads(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """node -> centre of a star forest (each centre maps to itself)."""
    heads: dict[str, str] = {}
    for u, v in edges:
        lo, hi = _ordered(u, v)
        heads[hi] = lo
        heads[lo] = lo
    return heads


class NotConverged(RuntimeError):
    """Large-star / small-star did not reach a star forest in the rounds allowed."""


def star_components(edges: Iterable[tuple[str, str]],
                    max_rounds: int = 64) -> tuple[dict[str, str], int]:
    """Connected components by alternating large-star and small-star (Kiveris et al., 2014).

    Returns (node -> lowest node of its component, rounds used). A round is one large-star and
    one small-star; it stops when a round changes nothing, which is the convergence check.
    """
    current = {_ordered(u, v) for u, v in edges if u != v}
    for rounds in range(1, max_rounds + 1):
        following = small_star(large_star(current))
        if following == current:
            return star_heads(current), rounds
        current = following
    raise NotConverged(f"no star forest after {max_rounds} rounds")


# --- cross-corpus nodes and verdicts -----------------------------------------------------------

def stored_node(doc_id: str, earlier: bool = False) -> str:
    """The graph node of a stored document; `earlier`: one of this corpus's earlier runs."""
    return _STORED + (_EARLIER if earlier else "") + doc_id


def is_stored(node: str) -> bool:
    return node.startswith(_STORED)


def is_earlier_run(node: str) -> bool:
    return node.startswith(_STORED + _EARLIER)


def node_doc_id(node: str) -> str:
    if is_earlier_run(node):
        return node[len(_STORED) + len(_EARLIER):]
    return node[len(_STORED):] if is_stored(node) else node


@dataclass(frozen=True)
class DedupVerdict:
    """What dedup decided for one document of a cluster of two or more.

    kind: "kept" (the cluster's lowest doc_id, written), "exact" (same matching key as the kept
    one), "near" (a near duplicate), "cross-corpus" (already held by an earlier corpus, whose
    document `kept_doc_id` is), "earlier-run" (already held by an earlier run of this corpus:
    an append run's document that duplicates a published one). estimated_jaccard is against
    the kept document's signature.
    """

    doc_id: str
    kind: str
    cluster_id: str
    kept_doc_id: str
    estimated_jaccard: float

    @property
    def removed(self) -> bool:
        return self.kind != "kept"


@dataclass(frozen=True)
class Member:
    """A clustered node and what its verdict needs: no text, only hashes and the signature.

    signature: under this run's shingle hash; None for a stored document signed with the
    store's other hash, whose signature is then `other_signature`. A document of this run has
    `other_signature` too when the store holds signatures of another hash.
    """

    node: str
    exact: bytes  # exact_key of the matching key; empty for a stored document
    signature: np.ndarray | None
    other_signature: np.ndarray | None = None


def _jaccards(head: Member, others: Sequence[Member]) -> np.ndarray:
    """Estimated Jaccard of each member with the head, under the head's shingle hash.

    A member without a signature under that hash is incomparable: -1, never joined.
    """
    own = head.signature is not None
    head_sig = head.signature if own else head.other_signature
    result = np.full(len(others), -1.0)
    rows = [i for i, m in enumerate(others)
            if (m.signature if own else m.other_signature) is not None]
    if rows and head_sig is not None:
        sigs = np.array([others[i].signature if own else others[i].other_signature
                         for i in rows])
        result[rows] = np.count_nonzero(sigs == head_sig, axis=1) / len(head_sig)
    return result


def cluster_verdicts(members: Iterable[Member], check: float = 0.0) -> list[DedupVerdict]:
    """Verdicts of one connected component's documents of this corpus, sorted by doc_id.

    Connected components are transitive: a chain a~b~c can join documents that do not resemble
    each other. So a component is split greedily: its lowest node heads a cluster of every member
    whose estimated Jaccard with it reaches `check`; the lowest remaining node heads the next, and
    so on. Every removed document then resembles its kept one. A cluster touching the store is
    headed by a stored document; a head signed with the store's other shingle hash is compared
    on the members' `other_signature`s. Members may repeat (a stored document seen through many
    matches).
    """
    unique = {m.node: m for m in members}
    remaining = sorted(unique)
    verdicts = []
    while len(remaining) > 1:
        head = unique[remaining[0]]
        others = remaining[1:]
        jaccards = _jaccards(head, [unique[n] for n in others])
        joined = [(n, float(j)) for n, j in zip(others, jaccards, strict=True) if j >= check]
        remaining = [n for n, j in zip(others, jaccards, strict=True) if j < check]
        verdicts.extend(_head_verdicts(head, [(unique[n], j) for n, j in joined]))
    return sorted(verdicts, key=lambda v: v.doc_id)


def _head_verdicts(head: Member, joined: list[tuple[Member, float]]) -> list[DedupVerdict]:
    current = [(m, j) for m, j in joined if not is_stored(m.node)]
    if not current:
        return []
    kept_id = node_doc_id(head.node)
    cluster_id = "c-" + kept_id
    verdicts = []
    if not is_stored(head.node):
        verdicts.append(DedupVerdict(kept_id, "kept", cluster_id, kept_id, 1.0))
    for member, jaccard in current:
        if is_stored(head.node):
            kind = "earlier-run" if is_earlier_run(head.node) else "cross-corpus"
        else:
            kind = "exact" if member.exact == head.exact else "near"
        verdicts.append(DedupVerdict(member.node, kind, cluster_id, kept_id, jaccard))
    return verdicts


class PriorIndex:
    """Earlier corpora's stored signatures, queried with datasketch's `MinHashLSH`.

    One LSH per shingle hash the files were made with (`hashes`); a query gives the document's
    signature under that hash. It holds every stored signature, so it serves one process
    (`deduplicate_keys`); matches are checked against the estimated Jaccard like any other
    candidate.
    """

    def __init__(self, config: DedupConfig, paths: Sequence[Path],
                 earlier: Sequence[Path] = ()) -> None:
        """`paths`: other corpora's signature files; `earlier`: this corpus's own current ones
        (an append run), whose documents are `is_earlier_run` nodes (`node`)."""
        from datasketch import MinHashLSH

        self._check = config.effective_check_threshold
        self._seed, self._scheme = config.seed, config.scheme
        self._own_hash = config.shingle_hash
        self._lsh: dict[str, MinHashLSH] = {}
        self._stored: dict[str, np.ndarray] = {}
        self._hash_of: dict[str, str] = {}
        self._earlier: set[str] = set()
        own = {Path(p) for p in earlier}
        for path in sorted({*(Path(p) for p in paths), *own}):
            file_config = config_for_file(config, path)
            name = file_config.shingle_hash
            if name not in self._lsh:
                self._lsh[name] = MinHashLSH(num_perm=config.num_perm,
                                             params=config_bands(config))
            for doc_id, lean in lean_minhashes(path, file_config):
                if doc_id not in self._stored:
                    self._lsh[name].insert(doc_id, lean, check_duplication=False)
                    self._stored[doc_id] = lean.hashvalues
                    self._hash_of[doc_id] = name
                    if path in own:
                        self._earlier.add(doc_id)
        self.hashes: tuple[str, ...] = tuple(sorted(self._lsh))

    def __len__(self) -> int:
        return len(self._stored)

    def signature(self, doc_id: str) -> np.ndarray:
        return self._stored[doc_id]

    def node(self, doc_id: str) -> str:
        """The graph node of a stored document (an earlier run's of this corpus, or not)."""
        return stored_node(doc_id, earlier=doc_id in self._earlier)

    def hash_of(self, doc_id: str) -> str:
        """The shingle hash of a stored document's signature."""
        return self._hash_of[doc_id]

    def matches(self, signature: np.ndarray,
                shingle_hash: str | None = None) -> list[tuple[str, float]]:
        """(stored doc_id, estimated Jaccard) of stored documents duplicating this signature.

        `signature` is made with `shingle_hash` (default: the config's); only stored signatures
        of that hash answer.
        """
        lsh = self._lsh.get(shingle_hash or self._own_hash)
        if lsh is None:
            return []
        from datasketch import LeanMinHash

        query = LeanMinHash(seed=self._seed, hashvalues=signature, scheme=self._scheme)
        found = []
        for doc_id in lsh.query(query):
            jaccard = estimated_jaccard(signature, self._stored[doc_id])
            if jaccard >= self._check:
                found.append((doc_id, jaccard))
        return sorted(found)


def other_hash(config: DedupConfig, prior_hashes: Iterable[str]) -> str | None:
    """The store's shingle hash other than this run's, if its signatures hold one."""
    others = sorted(set(prior_hashes) - {config.shingle_hash})
    if len(others) > 1:  # two hashes exist; a third would need a Member signature of its own
        raise SignatureFileError(f"stored signatures of {len(others)} other shingle hashes "
                                 f"({', '.join(others)}); onboard the older corpora again")
    return others[0] if others else None


# --- everything in one process -----------------------------------------------------------------

@dataclass(frozen=True)
class DedupResult:
    verdicts: list[DedupVerdict]
    doc_ids: list[str]
    signatures: np.ndarray  # one row per doc_ids entry

    def kept_signatures(self) -> tuple[list[str], np.ndarray]:
        """Documents that stay (no verdict, or kept): what the signature store records."""
        removed = {v.doc_id for v in self.verdicts if v.removed}
        rows = [i for i, d in enumerate(self.doc_ids) if d not in removed]
        return [self.doc_ids[i] for i in rows], self.signatures[rows]


def checked_edges(doc_ids: Sequence[str], signatures: np.ndarray,
                  config: DedupConfig) -> Iterator[tuple[str, str, float]]:
    """Candidate pairs from LSH buckets whose estimated Jaccard passes the check."""
    bands, rows = config_bands(config)
    check = config.effective_check_threshold
    keys = band_key_matrix(signatures, bands, rows)
    index = {doc_id: i for i, doc_id in enumerate(doc_ids)}
    seen: set[tuple[str, str]] = set()
    for members in (group for band in range(bands) for group in shared_buckets(keys[:, band])):
        for a, b in candidate_pairs(doc_ids[i] for i in members):
            if (a, b) in seen:
                continue
            seen.add((a, b))
            jaccard = estimated_jaccard(signatures[index[a]], signatures[index[b]])
            if jaccard >= check:
                yield a, b, jaccard


def deduplicate_keys(doc_ids: Sequence[str], match_keys: Sequence[str], config: DedupConfig,
                     prior: PriorIndex | None = None,
                     components: str = "union-find") -> DedupResult:
    """The whole dedup of one corpus in this process: verdicts of every clustered document."""
    if len(set(doc_ids)) != len(doc_ids):
        raise ValueError("doc_ids must be unique")
    signatures = MinHasher.from_config(config).signatures(match_keys)
    edges = [(a, b) for a, b, _ in checked_edges(doc_ids, signatures, config)]
    index = {doc_id: i for i, doc_id in enumerate(doc_ids)}
    other = other_hash(config, prior.hashes) if prior is not None else None
    other_sigs = (MinHasher.from_config(config.model_copy(update={"shingle_hash": other}))
                  .signatures(match_keys) if other else None)
    if prior is not None:
        for i, doc_id in enumerate(doc_ids):
            for name in prior.hashes:
                query = signatures[i] if name == config.shingle_hash else other_sigs[i]
                for stored_id, _ in prior.matches(query, name):
                    edges.append((prior.node(stored_id), doc_id))
    if components == "distributed":
        heads, _ = star_components(edges)
    else:
        heads = connected_components(edges)
    clusters: dict[str, list[Member]] = defaultdict(list)
    for node, head in heads.items():
        if is_stored(node):
            stored_id = node_doc_id(node)
            sig = prior.signature(stored_id)
            member = (Member(node, b"", sig) if prior.hash_of(stored_id) == config.shingle_hash
                      else Member(node, b"", None, sig))
        else:
            i = index[node]
            member = Member(node, exact_key(match_keys[i]), signatures[i],
                            other_sigs[i] if other_sigs is not None else None)
        clusters[head].append(member)
    check = config.effective_check_threshold
    verdicts = [v for members in clusters.values() for v in cluster_verdicts(members, check)]
    verdicts.sort(key=lambda v: v.doc_id)
    return DedupResult(verdicts, list(doc_ids), signatures)

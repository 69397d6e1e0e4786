"""The Beam wrapper of dedup: `docs | "Deduplicate" >> Deduplicate(...)` gives verdicts.

Dedup runs in datatrove's stages (signatures -> buckets -> clusters -> filter), each spread by
its own key, and nothing but ids and keys crosses a shuffle: the DirectRunner holds every
shuffled collection in memory at several times its bytes, and a signature (512 bytes) weighs
about as much as a short document's text. So what dedup knows of each document (id, exact key,
signature) is written once, batch by batch, to a scratch directory, and the graph carries
bucket keys, ids and where a signature is:

    signatures  Batch ─► Spill: sign (numpy), write one spilled batch ─► per bucket group,
                   one packed array of (band key, row) of the batch (transforms.lsh_buckets)
      (scope "store") each stored signature file, a row group per element, in parallel:
                   spill it as a batch of stored nodes ─► its band keys into the same groups
    buckets     GroupByKey (namespace, band, shard) ─► CheckBuckets, one group at a time: the
                   shared buckets' candidate pairs, checked against the members' signatures
                   read from their batches ─► edges, and where each end's signature is
    clusters    connected components (union-find on one worker, or large-star / small-star
                   rounds; transforms.dedup_components) ─► CoGroupByKey heads with locations
                   ─► GroupByKey cluster ─► members' signatures read from batches ─► verdicts
    signatures  CoGroupByKey per signature file: the rows each batch holds for it and the
      stored       removed ids ─► one writer per file, sorted by doc_id, a row group at a time
    then the scratch directory is removed.

A document of an earlier corpus is matched by the same shuffle as this run's documents: its
band keys meet theirs in the bucket groups, as a stored node, so no worker loads the store.
No side input holds a collection that grows with the corpus, and the only per-document element
that crosses a shuffle is a removed document's id. Every step is a pure function of its inputs
and every choice takes the minimum id, so the verdicts do not depend on the runner, the number
of workers, bundling or the input order. On a cluster, `scratch_dir` must be a directory every
worker sees (the run's tmp in the store).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from schemas.dedup import DedupConfig
from schemas.records import Document
from transforms.dedup import (
    DedupVerdict,
    Member,
    band_key_matrix,
    cluster_verdicts,
    config_bands,
    exact_key,
    other_hash,
    stored_node,
)
from transforms.dedup_components import StarComponents, UnionFind
from transforms.lsh_buckets import (
    OTHER_NAMESPACE,
    OWN_NAMESPACE,
    GroupKey,
    bucket_entries,
    bucket_pairs,
    grouped_members,
)
from transforms.minhash import MinHasher, estimated_jaccard
from transforms.signature_store import (
    SIGNATURE_ROW_GROUP,
    config_for_file,
    read_signature_row_group,
    signature_row_groups,
    write_sorted_signatures,
)
from transforms.spill import SpilledBatch, write_spilled_batch

# The star transform's old name, which tests and callers import from here.
_StarComponents = StarComponents

log = logging.getLogger(__name__)
STEP = "dedup"
Components = Literal["union-find", "distributed"]
# A spilled batch, as a small bytes value: a kind byte + the batch's 16-byte digest. Kinds: b"B"
# a batch of this run's documents; b"S" a batch of stored documents signed with this run's
# shingle hash; b"O" one of stored documents signed with the store's other hash.
# A Location adds the row (uint32, big-endian): where one node's signature is.
BatchRef = bytes
Location = bytes
_DIGEST = 16
RUN, STORED, STORED_OTHER = b"B", b"S", b"O"


def _ref(kind: bytes, name: str) -> BatchRef:
    return kind + bytes.fromhex(name[len("batch-") : len("batch-") + 2 * _DIGEST])


def batch_location(name: str, row: int, kind: bytes = RUN) -> Location:
    return _ref(kind, name) + row.to_bytes(4, "big")


def _name_of(ref: BatchRef) -> str:
    return f"batch-{ref[1 : 1 + _DIGEST].hex()}.spill"


def _batch_at(location: Location) -> tuple[str, int]:
    return _name_of(location[: 1 + _DIGEST]), int.from_bytes(location[1 + _DIGEST :], "big")


def _dtype(config: DedupConfig) -> np.dtype:
    return np.dtype("<u4" if config.scheme == "affine32" else "<u8")


def signature_file_of(doc_id: str, files: int) -> int:
    """Which of the corpus's `files` signature files holds a document (stable across runs)."""
    return int.from_bytes(hashlib.sha256(doc_id.encode()).digest()[:4], "big") % files


def signature_file_name(index: int, files: int) -> str:
    return f"signatures-{index:05d}-of-{files:05d}.parquet"


def spilled_batch_name(doc_ids: Iterable[str]) -> str:
    """A batch's file name, from its ids: a retried bundle rewrites the same file."""
    digest = hashlib.sha256("\n".join(sorted(doc_ids)).encode("utf-8", "surrogatepass"))
    return f"batch-{digest.hexdigest()[: 2 * _DIGEST]}.spill"


# --- signatures --------------------------------------------------------------------------------

class _SpillBatch(beam.DoFn):
    """Signs a batch and writes it to the scratch directory.

    Yields the batch's entries for each bucket group it has keys in, ((namespace, band, shard),
    (batch ref, packed entries)), and tagged (signature file, (batch name, packed rows)) for
    each signature file that holds some of its documents (FILES). With `other` (the store's
    other shingle hash) the batch is signed with it too, and those signatures' band keys go to
    the other namespace.
    """

    FILES = "files"

    def __init__(self, config: DedupConfig, scratch: str, signature_files: int, shards: int,
                 other: str | None) -> None:
        self._config = config
        self._scratch = scratch
        self._files = signature_files
        self._shards = shards
        self._other = other
        self._signed = Metrics.counter(STEP, "signed")

    def setup(self) -> None:
        self._hasher = MinHasher.from_config(self._config)
        self._dtype = _dtype(self._config)
        self._bands = config_bands(self._config)
        self._other_hasher = (MinHasher.from_config(
            self._config.model_copy(update={"shingle_hash": self._other}))
            if self._other else None)
        Path(self._scratch).mkdir(parents=True, exist_ok=True)

    def process(self, batch: Sequence[Document]) -> Iterator[Any]:
        doc_ids = [doc.doc_id for doc in batch]
        keys = [doc.match_key for doc in batch]
        sigs = self._hasher.signatures(keys).astype(self._dtype)
        other_sigs = (self._other_hasher.signatures(keys).astype(self._dtype)
                      if self._other_hasher is not None else None)
        exact = np.frombuffer(b"".join(exact_key(k) for k in keys), dtype=np.uint8)
        name = spilled_batch_name(doc_ids)
        band_keys = band_key_matrix(sigs, *self._bands)
        file_of = np.array([signature_file_of(d, self._files) for d in doc_ids],
                           dtype=np.uint16)
        write_spilled_batch(Path(self._scratch) / name, doc_ids, exact.reshape(len(batch), 32),
                            sigs, band_keys, file_of, other_sigs)
        self._signed.inc(len(batch))
        ref = _ref(RUN, name)
        for group, entries in bucket_entries(band_keys, self._shards, OWN_NAMESPACE):
            yield group, (ref, entries)
        if other_sigs is not None:
            other_keys = band_key_matrix(other_sigs, *self._bands)
            for group, entries in bucket_entries(other_keys, self._shards, OTHER_NAMESPACE):
                yield group, (ref, entries)
        for index in np.unique(file_of).tolist():
            rows = np.flatnonzero(file_of == index).astype("<u4")
            yield TaggedOutput(self.FILES, (index, (name, rows.tobytes())))


def _row_groups(stored: tuple[str, bool]) -> Iterator[tuple[str, int, bool]]:
    path, earlier = stored
    return ((path, i, earlier) for i in range(signature_row_groups(Path(path))))


class _SpillStored(beam.DoFn):
    """One row group of an earlier corpus's signature file, spilled as a batch of stored nodes.

    Yields the batch's bucket group entries: its signatures' band keys go to the namespace of
    the shingle hash they were made with, where this run's signatures of that hash meet them.
    """

    def __init__(self, config: DedupConfig, scratch: str, shards: int) -> None:
        self._config = config
        self._scratch = scratch
        self._shards = shards
        self._read = Metrics.counter(STEP, "stored_signatures_read")

    def setup(self) -> None:
        self._dtype = _dtype(self._config)
        self._bands = config_bands(self._config)
        Path(self._scratch).mkdir(parents=True, exist_ok=True)

    def process(self, element: tuple[str, int, bool]
                ) -> Iterator[tuple[GroupKey, tuple[bytes, bytes]]]:
        path, index, earlier = element  # earlier: a file of this corpus's own (append run)
        file_config = config_for_file(self._config, Path(path))
        doc_ids, sigs = read_signature_row_group(Path(path), index, file_config)
        if not doc_ids:
            return
        own = file_config.shingle_hash == self._config.shingle_hash
        nodes = [stored_node(d, earlier=earlier) for d in doc_ids]
        sigs = sigs.astype(self._dtype)
        band_keys = band_key_matrix(sigs, *self._bands)
        name = spilled_batch_name(nodes)
        write_spilled_batch(Path(self._scratch) / name, nodes,
                            np.zeros((len(nodes), 32), dtype=np.uint8), sigs, band_keys,
                            np.zeros(len(nodes), dtype=np.uint16))
        self._read.inc(len(nodes))
        ref = _ref(STORED if own else STORED_OTHER, name)
        namespace = OWN_NAMESPACE if own else OTHER_NAMESPACE
        for group, entries in bucket_entries(band_keys, self._shards, namespace):
            yield group, (ref, entries)


# --- buckets -----------------------------------------------------------------------------------

class _Batches:
    """Spilled batches of the scratch directory by reference, with their ids (a few at once)."""

    def __init__(self, scratch: str, cached: int = 64) -> None:
        self._scratch = Path(scratch)
        self._cached = cached
        self._open: OrderedDict[BatchRef, tuple[SpilledBatch, list[str]]] = OrderedDict()

    def get(self, ref: BatchRef) -> tuple[SpilledBatch, list[str]]:
        if ref in self._open:
            self._open.move_to_end(ref)
            return self._open[ref]
        batch = SpilledBatch(self._scratch / _name_of(ref))
        self._open[ref] = found = (batch, batch.doc_ids())
        if len(self._open) > self._cached:
            self._open.popitem(last=False)
        return found


class _CheckBuckets(beam.DoFn):
    """One bucket group: its shared buckets' candidate pairs, each checked on its signatures.

    Only the members of shared buckets have their ids and signatures read. Yields edges (lower
    node, higher node) that pass the check, and tagged (node, location) of their ends
    (LOCATED). A pair met in several bands is judged once per bundle.
    """

    LOCATED = "located"
    _JUDGED_PER_BUNDLE = 1_000_000  # pairs remembered; past it, a pair may be judged again

    def __init__(self, config: DedupConfig, scratch: str) -> None:
        self._check = config.effective_check_threshold
        self._scratch = scratch
        self._candidates = Metrics.counter(STEP, "candidate_pairs")
        self._edges = Metrics.counter(STEP, "edges")

    def start_bundle(self) -> None:
        self._batches = _Batches(self._scratch)
        self._judged: set[tuple[str, str]] = set()
        self._located: set[str] = set()

    def process(self, kv) -> Iterator[Any]:
        (namespace, _band, _shard), values = kv
        buckets = list(grouped_members(list(values)))
        if not buckets:
            return
        other = namespace == OTHER_NAMESPACE
        rows_of: dict[BatchRef, set[int]] = defaultdict(set)
        for bucket in buckets:
            for ref, row in bucket:
                rows_of[ref].add(row)
        node_at: dict[tuple[BatchRef, int], str] = {}
        where: dict[str, tuple[BatchRef, int]] = {}
        sig_of: dict[str, np.ndarray] = {}
        for ref, wanted in rows_of.items():
            batch, ids = self._batches.get(ref)
            rows = sorted(wanted)
            # the signatures under this namespace's hash: a run batch's second ones in "other"
            sigs = (batch.other_signatures(rows) if other and ref[:1] == RUN
                    else batch.rows(rows)[1])
            for row, sig in zip(rows, sigs, strict=True):
                node = ids[row]
                node_at[ref, row] = node
                where.setdefault(node, (ref, row))
                sig_of[node] = sig
        for bucket in buckets:
            nodes = [node_at[member] for member in bucket]
            for a, b in bucket_pairs(nodes, within=not other):
                if (a, b) in self._judged:
                    continue
                if len(self._judged) >= self._JUDGED_PER_BUNDLE:
                    self._judged.clear()
                self._judged.add((a, b))
                self._candidates.inc()
                if estimated_jaccard(sig_of[a], sig_of[b]) < self._check:
                    continue
                self._edges.inc()
                yield a, b
                for node in (a, b):
                    if node not in self._located:
                        self._located.add(node)
                        ref, row = where[node]
                        yield TaggedOutput(self.LOCATED, (node, ref + row.to_bytes(4, "big")))

    def finish_bundle(self) -> None:
        self._judged = set()
        self._located = set()


# --- clusters and verdicts ---------------------------------------------------------------------

class _RouteMembers(beam.DoFn):
    """Per clustered node: (its head, (node, location)) for the cluster's verdicts."""

    def process(self, kv) -> Iterator[tuple[str, tuple[str, Location]]]:
        node, grouped = kv
        locations = list(grouped["at"])
        heads = set(grouped["head"])
        if heads and locations:
            yield min(heads), (node, min(locations))


class _Verdicts(beam.DoFn):
    """A cluster's verdicts, its members' exact keys and signatures read from their batches."""

    def __init__(self, config: DedupConfig, scratch: str) -> None:
        self._check = config.effective_check_threshold
        self._scratch = scratch
        self._counters = {}

    def process(self, kv) -> Iterator[DedupVerdict]:
        _, members = kv
        by_batch: dict[BatchRef, list[tuple[str, int]]] = defaultdict(list)
        for node, location in set(members):
            by_batch[location[: 1 + _DIGEST]].append((node, _batch_at(location)[1]))
        cluster = []
        stored = [(ref, wanted) for ref, wanted in by_batch.items() if ref[:1] != RUN]
        for ref, wanted in stored:
            _, sigs = SpilledBatch(Path(self._scratch) / _name_of(ref)).rows(
                [r for _, r in wanted])
            own = ref[:1] == STORED
            cluster.extend(Member(node, b"", sig) if own else Member(node, b"", None, sig)
                           for (node, _), sig in zip(wanted, sigs, strict=True))
        # this run's documents need their other-hash signatures only against such a head
        other = any(ref[:1] == STORED_OTHER for ref, _ in stored)
        for ref, wanted in by_batch.items():
            if ref[:1] != RUN:
                continue
            batch = SpilledBatch(Path(self._scratch) / _name_of(ref))
            rows = [r for _, r in wanted]
            exact, sigs = batch.rows(rows)
            others = batch.other_signatures(rows) if other else [None] * len(rows)
            cluster.extend(Member(node, e, s, o) for (node, _), e, s, o
                           in zip(wanted, exact, sigs, others, strict=True))
        for verdict in cluster_verdicts(cluster, self._check):
            if verdict.kind not in self._counters:
                self._counters[verdict.kind] = Metrics.counter(STEP, verdict.kind)
            self._counters[verdict.kind].inc()
            yield verdict


# --- stored signatures of this run -------------------------------------------------------------

class _WriteSignatureFile(beam.DoFn):
    """One signature file: the documents that stay, sorted by doc_id, a row group at a time.

    Its input is the file's CoGroupByKey: the rows each batch holds for it ("rows": (batch
    name, packed uint32 rows)) and the ids of its removed documents ("removed").
    """

    def __init__(self, config: DedupConfig, directory: str, files: int, scratch: str) -> None:
        self._config = config
        self._directory = directory
        self._files = files
        self._scratch = scratch

    def process(self, kv) -> Iterator[str]:
        index, grouped = kv
        removed_ids = set(grouped["removed"])
        parts = sorted(set(grouped["rows"]))
        batches = [SpilledBatch(Path(self._scratch) / name) for name, _ in parts]
        rows: dict[str, tuple[int, int]] = {}  # doc_id -> (batch, row)
        for b, (batch, (_, packed)) in enumerate(zip(batches, parts, strict=True)):
            batch_ids = batch.doc_ids()
            for row in np.frombuffer(packed, dtype="<u4").tolist():
                if batch_ids[row] not in removed_ids:
                    rows.setdefault(batch_ids[row], (b, row))
        doc_ids = sorted(rows)

        def row_groups() -> Iterator[np.ndarray]:
            for start in range(0, len(doc_ids), SIGNATURE_ROW_GROUP):
                chunk = doc_ids[start : start + SIGNATURE_ROW_GROUP]
                sigs = np.empty((len(chunk), self._config.num_perm), dtype=_dtype(self._config))
                by_batch: dict[int, list[tuple[int, int]]] = defaultdict(list)
                for pos, doc_id in enumerate(chunk):
                    b, row = rows[doc_id]
                    by_batch[b].append((pos, row))
                for b, wanted in by_batch.items():
                    sigs[[p for p, _ in wanted]] = batches[b].rows([r for _, r in wanted])[1]
                yield sigs

        path = Path(self._directory) / signature_file_name(index, self._files)
        write_sorted_signatures(path, doc_ids, row_groups(), self._config)
        yield str(path)


def _remove_scratch(_: Any, scratch: str) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


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
    earlier run), used when `config.scope == "store"`; read a row group at a time, in parallel,
    and matched through the same bucket groups as this run's documents. signatures_dir: where
    this corpus's signatures of the documents that stay are written (`signature_files` files,
    every one written, sorted by doc_id): give it an empty directory. components: "union-find"
    on one worker, or "distributed" large-star / small-star with `star_rounds` unrolled rounds.
    scratch_dir: where signed batches are spilled during the run (about 700 bytes a document),
    removed at the end; default a fresh directory under the system temp directory.
    bucket_shards: shards of each band's bucket keys, so bands x shards groups share the
    buckets stage between workers. earlier_signatures: this corpus's own current signature
    files, for an append run (incremental onboarding), used whatever the scope: its documents
    that duplicate what the corpus holds are removed as "earlier-run".
    """

    def __init__(self, config: DedupConfig, corpus_id: str,
                 prior_signatures: Sequence[str | Path] = (),
                 signatures_dir: str | Path | None = None,
                 components: Components = "union-find", star_rounds: int = 8,
                 signature_files: int = 4, batch_size: int = 512,
                 scratch_dir: str | Path | None = None, bucket_shards: int = 4,
                 earlier_signatures: Sequence[str | Path] = ()) -> None:
        super().__init__()
        if components not in ("union-find", "distributed"):
            raise ValueError(f"components: 'union-find' or 'distributed', not {components!r}")
        if bucket_shards < 1:
            raise ValueError(f"bucket_shards must be at least 1, not {bucket_shards}")
        own = [str(p) for p in prior_signatures if Path(p).parent.name == corpus_id]
        if own:
            raise ValueError(f"prior_signatures include corpus {corpus_id}'s own signatures "
                             f"({own[0]}); pass only other corpora's files")
        foreign = [str(p) for p in earlier_signatures if Path(p).parent.name != corpus_id]
        if foreign:
            raise ValueError(f"earlier_signatures include another corpus's file ({foreign[0]}); "
                             f"pass only corpus {corpus_id}'s own")
        self._config = config
        self._corpus_id = corpus_id
        self._prior = ([str(p) for p in sorted(prior_signatures, key=str)]
                       if config.scope == "store" else [])
        self._earlier = [str(p) for p in sorted(earlier_signatures, key=str)]
        self._signatures_dir = str(signatures_dir) if signatures_dir is not None else None
        self._components = components
        self._star_rounds = star_rounds
        self._signature_files = signature_files
        self._batch_size = batch_size
        self._scratch_root = str(scratch_dir) if scratch_dir is not None else None
        self._shards = bucket_shards

    def expand(self, docs):
        config = self._config
        # one fresh directory per application, so two runs never share a scratch space
        root = self._scratch_root or tempfile.gettempdir()
        scratch = str(Path(root) / f"kura-dedup-{uuid.uuid4().hex}")
        # which shingle hashes the store holds: from the files' footers, so an unreadable or
        # incompatible file stops the launch rather than a worker
        other = other_hash(config, {config_for_file(config, Path(p)).shingle_hash
                                    for p in [*self._prior, *self._earlier]})
        spilled = (docs
                   | "Batch" >> beam.BatchElements(min_batch_size=min(64, self._batch_size),
                                                   max_batch_size=self._batch_size)
                   | "Spill" >> beam.ParDo(_SpillBatch(
                       config, scratch, self._signature_files, self._shards, other))
                   .with_outputs(_SpillBatch.FILES, main="entries"))
        entries = spilled.entries
        stored_files = [(p, False) for p in self._prior] + [(p, True) for p in self._earlier]
        if stored_files:
            stored = (docs.pipeline
                      | "StoredFiles" >> beam.Create(stored_files)
                      | "StoredRowGroups" >> beam.FlatMap(_row_groups)
                      | "SpreadRowGroups" >> beam.Reshuffle()
                      | "SpillStored" >> beam.ParDo(_SpillStored(config, scratch, self._shards)))
            entries = (entries, stored) | "AllEntries" >> beam.Flatten()
        checked = (entries
                   | "BucketGroups" >> beam.GroupByKey()
                   | "CheckBuckets" >> beam.ParDo(_CheckBuckets(config, scratch))
                   .with_outputs(_CheckBuckets.LOCATED, main="edges"))
        edges, located = checked.edges, checked[_CheckBuckets.LOCATED]
        if self._components == "distributed":
            heads = edges | "StarComponents" >> StarComponents(self._star_rounds)
        else:
            heads = edges | "UnionFind" >> UnionFind()
        verdicts = ({"at": located, "head": heads}
                    | "JoinMembers" >> beam.CoGroupByKey()
                    | "Route" >> beam.ParDo(_RouteMembers())
                    | "Clusters" >> beam.GroupByKey()
                    | "Verdicts" >> beam.ParDo(_Verdicts(config, scratch)))
        done = verdicts
        if self._signatures_dir is not None:
            files = self._signature_files
            removed = (verdicts
                       | "Removed" >> beam.Filter(lambda v: v.removed)
                       | "RemovedByFile" >> beam.Map(
                           lambda v: (signature_file_of(v.doc_id, files), v.doc_id)))
            every_file = (docs.pipeline
                          | "SignatureFiles" >> beam.Create([(i, None) for i in range(files)]))
            done = ({"rows": spilled[_SpillBatch.FILES], "removed": removed, "file": every_file}
                    | "JoinSignatureFiles" >> beam.CoGroupByKey()
                    | "WriteSignatures" >> beam.ParDo(_WriteSignatureFile(
                        config, self._signatures_dir, files, scratch)))
        _ = (done
             | "ScratchDone" >> beam.combiners.Count.Globally()
             | "RemoveScratch" >> beam.Map(_remove_scratch, scratch))
        return verdicts

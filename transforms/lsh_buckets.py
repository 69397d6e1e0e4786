"""LSH buckets spread across workers: the pure part of dedup's buckets stage, with no Beam in it.

Every band key of every document goes to one bucket group, `(namespace, band, shard)`, where the
shard is `key % shards`; documents sharing a bucket share its key, so they always meet in the
same group, and no group holds more than its share of one band. A batch sends each group one
packed array of (key, row) entries (`bucket_entries`): 12 bytes a document a band, and no
Python object per document, so the shuffle stays small on a runner that keeps it in memory.

Namespaces keep signatures of different shingle hashes apart (transforms.signature_store):
namespace 0 holds this run's signatures and stored ones of the same hash; namespace 1 holds
this run's second signatures under the store's other hash and the stored signatures of that
hash. In namespace 1 only (stored, this run's) pairs are candidates: this run's documents are
compared with each other on their own signatures, in namespace 0.

A bucket's candidate pairs (`bucket_pairs`) are the pure core's: this run's members pair as
`transforms.dedup.candidate_pairs` pairs them, and each stored member pairs with every member of
this run (what a datasketch `MinHashLSH` query of the store returns); two stored documents never
pair, since earlier runs judged them already.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from transforms.dedup import candidate_pairs, is_stored, shared_buckets

OWN_NAMESPACE = 0
OTHER_NAMESPACE = 1
ENTRY = np.dtype([("key", "<u8"), ("row", "<u4")])
GroupKey = tuple[int, int, int]  # (namespace, band, shard)


def bucket_entries(keys: np.ndarray, shards: int,
                   namespace: int = OWN_NAMESPACE) -> Iterator[tuple[GroupKey, bytes]]:
    """((namespace, band, shard), packed ENTRY array) of one batch's (n, bands) band keys.

    Rows are positions in the batch; a group that none of the batch's keys fall into gets
    nothing.
    """
    n, bands = keys.shape
    rows = np.arange(n, dtype="<u4")
    shard_of = keys % np.uint64(shards)
    for band in range(bands):
        for shard in range(shards):
            mask = shard_of[:, band] == shard
            if not mask.any():
                continue
            entries = np.empty(int(mask.sum()), dtype=ENTRY)
            entries["key"] = keys[mask, band]
            entries["row"] = rows[mask]
            yield (namespace, band, shard), entries.tobytes()


def grouped_members(packed: Sequence[tuple[bytes, bytes]]) -> Iterator[list[tuple[bytes, int]]]:
    """The shared buckets of one group: each a list of (batch reference, row), two or more.

    `packed` is the group's values, (batch reference, packed ENTRY array) per batch, in any
    order; buckets come out in key order, members in reference then row order, so the result
    does not depend on the order the values arrived in.
    """
    values = sorted(packed)
    arrays = [np.frombuffer(entries, dtype=ENTRY) for _, entries in values]
    if not arrays:
        return
    owners = np.repeat(np.arange(len(values), dtype=np.int64), [len(a) for a in arrays])
    entries = np.concatenate(arrays)
    for positions in shared_buckets(entries["key"]):
        yield [(values[owners[p]][0], int(entries["row"][p])) for p in positions]


def bucket_pairs(nodes: Iterable[str], within: bool = True) -> Iterator[tuple[str, str]]:
    """Candidate pairs (lower, higher) of one bucket whose members may include stored nodes.

    `within`: also pair this run's members with each other (namespace 0 only).
    """
    members = set(nodes)
    current = sorted(n for n in members if not is_stored(n))
    stored = sorted(n for n in members if is_stored(n))
    if within:
        yield from candidate_pairs(current)
    for s in stored:  # stored nodes sort before every doc id: (s, c) is (lower, higher)
        for c in current:
            yield s, c

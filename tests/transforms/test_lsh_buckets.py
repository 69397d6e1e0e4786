from __future__ import annotations

import itertools
import random

import numpy as np

from schemas.dedup import DedupConfig
from transforms.dedup import (
    MAX_ALL_PAIRS_BUCKET,
    band_key_matrix,
    candidate_pairs,
    config_bands,
    shared_buckets,
    stored_node,
)
from transforms.lsh_buckets import (
    OTHER_NAMESPACE,
    bucket_entries,
    bucket_pairs,
    grouped_members,
)
from transforms.minhash import MinHasher

KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろ"


def _keys(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    keys = []
    for i in range(n):
        key = "".join(rng.choice(KANA) for _ in range(120))
        keys.append(key)
        if i % 3 == 0:  # a light edit: shares most bands with its original
            keys.append(key[:-2] + "んん")
    return keys


def test_groups_from_scattered_batches_find_the_buckets_of_one_sorted_band() -> None:
    """Batches split a corpus anyhow and their values reach a group in any order; the shared
    buckets found per group are those a single sort of every key of the band finds."""
    config = DedupConfig()
    keys = _keys(1, 90)
    band_keys = band_key_matrix(MinHasher.from_config(config).signatures(keys),
                                *config_bands(config))
    cuts = [0, 17, 18, 64, len(keys)]
    groups: dict[tuple[int, int, int], list[tuple[bytes, bytes]]] = {}
    for b, (lo, hi) in enumerate(itertools.pairwise(cuts)):
        for group, packed in bucket_entries(band_keys[lo:hi], shards=3):
            groups.setdefault(group, []).append((bytes([b]), packed))
    found = set()
    rng = random.Random(2)
    for (namespace, band, _shard), values in groups.items():
        assert namespace == 0
        rng.shuffle(values)
        for bucket in grouped_members(values):
            found.add((band, tuple(sorted(cuts[ref[0]] + row for ref, row in bucket))))
    expected = {(band, tuple(sorted(int(p) for p in group)))
                for band in range(band_keys.shape[1])
                for group in shared_buckets(band_keys[:, band])}
    assert found == expected and expected


def test_every_key_goes_to_exactly_one_group_of_its_band_and_namespace() -> None:
    keys = np.arange(40, dtype=np.uint64).reshape(10, 4) * np.uint64(0x9E3779B97F4A7C15)
    seen = []
    for (namespace, band, shard), packed in bucket_entries(keys, shards=4,
                                                          namespace=OTHER_NAMESPACE):
        entries = np.frombuffer(packed, dtype=[("key", "<u8"), ("row", "<u4")])
        assert namespace == OTHER_NAMESPACE
        assert all(int(k) % 4 == shard for k in entries["key"])
        assert all(keys[r, band] == k for k, r in zip(entries["key"], entries["row"],
                                                        strict=True))
        seen += [(band, int(r)) for r in entries["row"]]
    assert sorted(seen) == sorted((band, row) for row in range(10) for band in range(4))


def test_bucket_pairs_pair_the_run_as_the_core_does_and_each_stored_node_with_all_of_it() -> None:
    run = [f"d{i:03d}" for i in range(MAX_ALL_PAIRS_BUCKET + 10)]  # a windowed bucket
    stored = [stored_node(f"old-{i}") for i in range(3)]
    pairs = list(bucket_pairs(run + stored + run[:5]))
    within = [p for p in pairs if p[0] in run]
    assert within == list(candidate_pairs(run))
    cross = {p for p in pairs if p[0] in stored}
    assert cross == {(s, d) for s in stored for d in run}
    assert len(pairs) == len(within) + len(cross)  # no pair twice, and never two stored nodes
    assert all(a < b for a, b in pairs)
    assert set(bucket_pairs(run + stored, within=False)) == cross
    assert list(bucket_pairs(stored)) == []

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.dedup import DedupConfig
from transforms.dedup import (
    MAX_ALL_PAIRS_BUCKET,
    Member,
    NotConverged,
    PriorIndex,
    band_key_matrix,
    band_keys,
    candidate_pairs,
    catch_probability,
    cluster_verdicts,
    config_bands,
    connected_components,
    deduplicate_keys,
    exact_key,
    lsh_params,
    shared_buckets,
    star_components,
    stored_node,
)
from transforms.minhash import MinHasher
from transforms.signature_store import write_signatures

KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろ"


def _text(rng: random.Random, n: int = 300) -> str:
    return "".join(rng.choice(KANA) for _ in range(n))


def _edit(rng: random.Random, text: str, changes: int) -> str:
    chars = list(text)
    for _ in range(changes):
        chars[rng.randrange(len(chars))] = rng.choice(KANA)
    return "".join(chars)


def _corpus(seed: int = 0) -> tuple[list[str], list[str]]:
    """Originals, exact copies and lightly edited copies, under shuffled ids."""
    rng = random.Random(seed)
    keys = []
    for i in range(60):
        base = _text(rng)
        keys.append(base)
        if i % 3 == 0:
            keys.append(base)
        if i % 4 == 0:
            keys.append(_edit(rng, base, 3))
    ids = [f"d{i:04d}" for i in range(len(keys))]
    rng.shuffle(ids)
    return ids, keys


def test_bands_come_from_datasketch_optimal_parameters() -> None:
    assert lsh_params(0.8, 128) == (9, 13)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    assert lsh_params(0.8, 128) == (lsh.b, lsh.r)
    # Kura bands for threshold - 0.15 so a pair at the threshold is almost always a candidate
    bands, rows = config_bands(DedupConfig())
    assert catch_probability(0.8, bands, rows) > 0.94
    assert catch_probability(0.5, bands, rows) < 0.1


def test_catch_probability_is_the_s_curve() -> None:
    assert catch_probability(0.0, 9, 13) == 0.0
    assert catch_probability(1.0, 9, 13) == 1.0
    assert catch_probability(0.8, 9, 13) == pytest.approx(1 - (1 - 0.8**13) ** 9)


def test_small_bucket_gives_all_pairs_and_large_bucket_linear_pairs() -> None:
    assert list(candidate_pairs(["c", "a", "b", "a"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert list(candidate_pairs(["x"])) == []
    big = [f"n{i:04d}" for i in range(MAX_ALL_PAIRS_BUCKET * 4)]
    pairs = list(candidate_pairs(big))
    assert len(pairs) < len(big) * 10
    assert connected_components(pairs) == {n: "n0000" for n in big}


def _chain(order: list[int]) -> list[tuple[str, str]]:
    return [(f"v{order[i]:04d}", f"v{order[i + 1]:04d}") for i in range(len(order) - 1)]


@pytest.mark.parametrize("shape", ["increasing", "decreasing", "shuffled", "zigzag"])
def test_star_components_agree_with_union_find_on_adversarial_chains(shape: str) -> None:
    n = 500
    order = list(range(n))
    if shape == "decreasing":
        order.reverse()
    elif shape == "shuffled":
        random.Random(4).shuffle(order)
    elif shape == "zigzag":  # lowest ids at both ends and the middle: long paths to the minimum
        order = order[::2] + order[1::2][::-1]
    edges = _chain(order)
    heads, rounds = star_components(edges)
    assert heads == connected_components(edges)
    assert set(heads.values()) == {"v0000"}
    assert rounds <= 20


def test_star_components_reports_no_convergence() -> None:
    order = list(range(300))
    random.Random(2).shuffle(order)
    with pytest.raises(NotConverged):
        star_components(_chain(order), max_rounds=1)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=80))
def test_star_components_equal_union_find_on_any_graph(pairs) -> None:
    edges = [(f"n{a:02d}", f"n{b:02d}") for a, b in pairs if a != b]
    heads, _ = star_components(edges)
    assert heads == connected_components(edges)


def test_union_find_head_is_lowest_node_whatever_the_edge_order() -> None:
    edges = [("e", "d"), ("b", "c"), ("d", "c"), ("x", "y")]
    for _ in range(5):
        random.shuffle(edges)
        assert connected_components(edges) == {
            "b": "b", "c": "b", "d": "b", "e": "b", "x": "x", "y": "x"}


def test_cluster_verdicts_keep_lowest_and_name_kinds() -> None:
    sig = np.arange(8, dtype=np.uint32)
    other = sig.copy()
    other[:2] = 99
    members = [Member("d3", b"k1", sig), Member("d1", b"k1", sig), Member("d2", b"k2", other)]
    verdicts = {v.doc_id: v for v in cluster_verdicts(members)}
    assert verdicts["d1"].kind == "kept" and verdicts["d1"].estimated_jaccard == 1.0
    assert verdicts["d3"].kind == "exact"
    assert verdicts["d2"].kind == "near" and verdicts["d2"].estimated_jaccard == 0.75
    assert {v.cluster_id for v in verdicts.values()} == {"c-d1"}
    assert {v.kept_doc_id for v in verdicts.values()} == {"d1"}


def test_cluster_touching_the_store_is_all_cross_corpus() -> None:
    sig = np.arange(8, dtype=np.uint32)
    members = [Member("a1", b"k", sig), Member(stored_node("zz"), b"", sig),
               Member("a0", b"k", sig), Member(stored_node("zz"), b"", sig)]
    verdicts = cluster_verdicts(members)
    assert [v.doc_id for v in verdicts] == ["a0", "a1"]
    assert {v.kind for v in verdicts} == {"cross-corpus"}
    assert {v.kept_doc_id for v in verdicts} == {"zz"}
    assert {v.cluster_id for v in verdicts} == {"c-zz"}


def test_a_chain_is_split_so_every_removed_document_resembles_its_kept_one() -> None:
    a = np.arange(10, dtype=np.uint32)
    b = a.copy()
    b[:3] = 100  # a~b 0.7
    c = b.copy()
    c[3:6] = 200  # b~c 0.7, a~c 0.4
    verdicts = {v.doc_id: v for v in cluster_verdicts(
        [Member("a", b"a", a), Member("b", b"b", b), Member("c", b"c", c)], check=0.7)}
    assert verdicts["b"].kept_doc_id == "a" and verdicts["b"].estimated_jaccard == 0.7
    assert "c" not in verdicts  # alone after the split: no duplicate left, no verdict
    chain = [Member(n, n.encode(), s) for n, s in (("a", a), ("c", c), ("d", c))]
    verdicts = {v.doc_id: v for v in cluster_verdicts(chain, check=0.7)}
    assert verdicts["d"].kept_doc_id == "c" and verdicts["c"].kind == "kept"
    assert "a" not in verdicts


def test_exact_key_is_sha256_of_the_matching_key() -> None:
    assert exact_key("abc").hex() == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


@pytest.mark.parametrize("components", ["union-find", "distributed"])
def test_dedup_finds_exact_and_near_copies_and_nothing_else(components: str) -> None:
    ids, keys = _corpus()
    result = deduplicate_keys(ids, keys, DedupConfig(), components=components)
    key_of = dict(zip(ids, keys, strict=True))
    removed = [v for v in result.verdicts if v.removed]
    assert len(removed) == 20 + 15  # every exact and every edited copy, no original
    for verdict in removed:
        same_key = key_of[verdict.doc_id] == key_of[verdict.kept_doc_id]
        assert (verdict.kind == "exact") == same_key
    for verdict in result.verdicts:
        cluster = [v.doc_id for v in result.verdicts if v.cluster_id == verdict.cluster_id]
        assert verdict.kept_doc_id == min(cluster)


def test_verdicts_do_not_depend_on_input_order() -> None:
    ids, keys = _corpus(seed=3)
    expected = deduplicate_keys(ids, keys, DedupConfig()).verdicts
    order = list(range(len(ids)))
    for seed in range(3):
        random.Random(seed).shuffle(order)
        shuffled = deduplicate_keys([ids[i] for i in order], [keys[i] for i in order],
                                    DedupConfig(), components="distributed")
        assert shuffled.verdicts == expected


def test_reonboarding_the_same_data_under_another_corpus_adds_nothing(tmp_path) -> None:
    config = DedupConfig()
    ids, keys = _corpus(seed=5)
    first = deduplicate_keys(ids, keys, config)
    kept_ids, kept_sigs = first.kept_signatures()
    path = tmp_path / "signatures" / "corpus-a" / "signatures-00000-of-00001.parquet"
    write_signatures(path, kept_ids, kept_sigs, config)
    prior = PriorIndex(config, [path])
    assert len(prior) == len(kept_ids)
    second_ids = ["b-" + d for d in ids]
    second = deduplicate_keys(second_ids, keys, config, prior=prior)
    assert {v.doc_id for v in second.verdicts if v.removed} == set(second_ids)
    assert {v.kind for v in second.verdicts} == {"cross-corpus"}
    assert {v.kept_doc_id for v in second.verdicts} <= set(kept_ids)


def test_no_prior_match_for_unrelated_documents(tmp_path) -> None:
    config = DedupConfig()
    rng = random.Random(8)
    path = tmp_path / "s.parquet"
    first = deduplicate_keys(["a1", "a2"], [_text(rng), _text(rng)], config)
    write_signatures(path, *first.kept_signatures(), config)
    second = deduplicate_keys(["b1"], [_text(rng)], config, prior=PriorIndex(config, [path]))
    assert second.verdicts == []


def test_band_keys_are_equal_exactly_when_band_values_are() -> None:
    rng = np.random.default_rng(5)
    sigs = rng.integers(0, 2**32, (50, 128), dtype=np.uint64).astype(np.uint32)
    twin = sigs[0].copy()
    twin[8:] = rng.integers(0, 2**32, 120, dtype=np.uint64).astype(np.uint32)  # band 0 kept
    keys = band_key_matrix(np.vstack([sigs, twin]), 16, 8)
    assert keys.shape == (51, 16) and keys.dtype == np.uint64
    assert keys[0, 0] == keys[50, 0]
    assert not np.any(keys[0, 1:] == keys[50, 1:])
    assert len(np.unique(keys[:50])) == 50 * 16  # no collision among unrelated bands
    assert np.array_equal(band_keys(sigs[3], 16, 8), keys[3])
    # the same values in another band are another bucket
    same = np.tile(sigs[0][:8], 16)
    assert len(set(band_keys(same, 16, 8).tolist())) == 16


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40))
def test_shared_buckets_group_equal_keys_held_twice_or_more(values: list[int]) -> None:
    keys = np.array(values, dtype=np.uint64)
    expected: dict[int, list[int]] = {}
    for position, value in enumerate(values):
        expected.setdefault(value, []).append(position)
    got = [group.tolist() for group in shared_buckets(keys)]
    assert got == [expected[v] for v in sorted(expected) if len(expected[v]) > 1]


# --- stores holding signatures of another shingle hash -----------------------------------------

OLD = DedupConfig(shingle_hash="sha1_hash32")


def _store_corpus(tmp_path, corpus: str, ids: list[str], keys: list[str], config: DedupConfig):
    """A corpus already in the store: its kept signatures, written with `config`'s hash."""
    path = tmp_path / "signatures" / corpus / "signatures-00000-of-00001.parquet"
    write_signatures(path, *deduplicate_keys(ids, keys, config).kept_signatures(), config)
    return path


def _b_corpus(rng: random.Random, a_keys: list[str]) -> tuple[list[str], list[str]]:
    """Near copies of A's first 15 documents, exact copies of the next 5, 20 new documents
    and near copies of 4 of those."""
    own = [_text(rng) for _ in range(20)]
    keys = ([_edit(rng, k, 3) for k in a_keys[:15]] + a_keys[15:20] + own
            + [_edit(rng, k, 2) for k in own[:4]])
    return [f"b{i:03d}" for i in range(len(keys))], keys


def _decisions(result) -> list[tuple[str, str, str, str]]:
    return [(v.doc_id, v.kind, v.cluster_id, v.kept_doc_id) for v in result.verdicts]


@pytest.mark.parametrize("components", ["union-find", "distributed"])
def test_an_old_store_of_sha1_signatures_still_dedups_a_new_run(components: str,
                                                                 tmp_path) -> None:
    rng = random.Random(21)
    a_keys = [_text(rng) for _ in range(40)]
    a_ids = [f"a{i:03d}" for i in range(40)]
    old_file = _store_corpus(tmp_path, "corpus-a", a_ids, a_keys, OLD)  # as Kura wrote it before
    b_ids, b_keys = _b_corpus(rng, a_keys)
    new = DedupConfig()
    prior = PriorIndex(new, [old_file])
    assert prior.hashes == ("sha1_hash32",)
    result = deduplicate_keys(b_ids, b_keys, new, prior=prior, components=components)
    cross = {v.doc_id: v.kept_doc_id for v in result.verdicts if v.kind == "cross-corpus"}
    assert cross == {b_ids[i]: a_ids[i] for i in range(20)}
    assert {v.doc_id for v in result.verdicts if v.kind == "near"} == set(b_ids[40:])
    # the same decisions as a run signing with the store's own hash
    same_hash = deduplicate_keys(b_ids, b_keys, OLD, prior=PriorIndex(OLD, [old_file]))
    assert _decisions(result) == _decisions(same_hash)
    # the run's own signatures are of its own hash, ready for the next run
    kept_ids, kept_sigs = result.kept_signatures()
    assert np.array_equal(kept_sigs, MinHasher.from_config(new).signatures(
        [b_keys[b_ids.index(d)] for d in kept_ids]))


def test_a_store_of_both_hashes_catches_duplicates_of_each(tmp_path) -> None:
    rng = random.Random(22)
    a_keys = [_text(rng) for _ in range(10)]
    c_keys = [_text(rng) for _ in range(10)] + [_edit(rng, a_keys[0], 1)]  # C holds a copy of a0
    files = [_store_corpus(tmp_path, "corpus-a", [f"a{i}" for i in range(10)], a_keys, OLD),
             _store_corpus(tmp_path, "corpus-c", [f"c{i:02d}" for i in range(11)], c_keys,
                           DedupConfig())]
    prior = PriorIndex(DedupConfig(), files)
    assert prior.hashes == ("murmur3_utf32", "sha1_hash32")
    d_keys = [_edit(rng, a_keys[3], 2), _edit(rng, c_keys[5], 2), _edit(rng, a_keys[0], 2),
              _text(rng)]
    result = deduplicate_keys(["d0", "d1", "d2", "d3"], d_keys, DedupConfig(), prior=prior)
    kept = {v.doc_id: v.kept_doc_id for v in result.verdicts if v.kind == "cross-corpus"}
    # d2 resembles a0 (old hash) and c10 (new hash): the lower stored id heads its cluster
    assert kept == {"d0": "a3", "d1": "c05", "d2": "a0"}


def test_a_head_of_the_other_hash_is_compared_on_other_signatures() -> None:
    own = np.arange(8, dtype=np.uint32)
    other = own + 100
    near = other.copy()
    near[:2] = 7  # 0.75 with `other`
    members = [Member(stored_node("s-old"), b"", None, other),
               Member(stored_node("t-new"), b"", own),
               Member("x", b"x", own, near), Member("y", b"y", own + 1, other)]
    verdicts = {v.doc_id: v for v in cluster_verdicts(members, check=0.7)}
    # the old-hash head takes x (0.75) and y (1.0) on their other-hash signatures; the
    # new-hash stored document cannot be compared with it and heads nothing left
    assert {d: (v.kind, v.kept_doc_id, v.estimated_jaccard) for d, v in verdicts.items()} == {
        "x": ("cross-corpus", "s-old", 0.75), "y": ("cross-corpus", "s-old", 1.0)}

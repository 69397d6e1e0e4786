from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

import transforms.minhash as minhash
from transforms.minhash import MinHasher, estimated_jaccard, shingles
from transforms.shingle_hash import murmur3_utf32, sha1_hash32

ALPHABET = "あいうえおかきくけこさしすせそたちつてとアイウエオ漢字文書重複検出〜ー-~ aXZ09。、\n"
HASHES = ["murmur3_utf32", "sha1_hash32"]
# datasketch's own hash functions, given to datasketch itself: what Kura must equal
DATASKETCH_HASHFUNC = {"murmur3_utf32": murmur3_utf32, "sha1_hash32": None}
MIXED = st.text(
    alphabet=st.sampled_from("あいうえおアイウエオ漢字文書〜ー。、 aZ09-~\n😀🇯🇵𠮷")
    | st.characters(exclude_categories=("Cs",)),
    max_size=30)


def _random_keys(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400))) for _ in range(n)]


def _datasketch(key: str, num_perm: int, seed: int, scheme: str,
                shingle_hash: str = "murmur3_utf32") -> MinHash:
    """datasketch's MinHash of the key's shingles: strings for murmur3_utf32 (its hashfunc
    takes them), UTF-8 bytes for datasketch's default sha1_hash32."""
    func = DATASKETCH_HASHFUNC[shingle_hash]
    if func is None:
        m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme)
        m.update_batch([s.encode("utf-8") for s in shingles(key, 5)])
    else:
        m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme, hashfunc=func)
        m.update_batch(list(shingles(key, 5)))
    return m


@pytest.mark.parametrize("shingle_hash", HASHES)
@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_batch_signatures_are_bit_identical_to_datasketch(scheme: str, shingle_hash: str) -> None:
    keys = _random_keys(300)
    sigs = MinHasher(128, 1, 5, scheme, shingle_hash).signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        expected = _datasketch(key, 128, 1, scheme, shingle_hash).hashvalues
        assert sig.dtype == expected.dtype
        assert np.array_equal(sig, expected)


def test_other_seed_and_num_perm_are_bit_identical_too() -> None:
    keys = _random_keys(20, seed=3)
    sigs = MinHasher(64, 42, 5).signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        assert np.array_equal(sig, _datasketch(key, 64, 42, "affine32").hashvalues)


@settings(max_examples=60, deadline=None)
@given(st.lists(MIXED, min_size=1, max_size=8), st.sampled_from(HASHES),
       st.sampled_from(["affine32", "legacy"]))
def test_any_batch_of_text_matches_datasketch(keys: list[str], shingle_hash: str,
                                              scheme: str) -> None:
    # short keys (one shingle, the key itself) and the empty key included
    keys = [*keys, "", "abc"]
    sigs = MinHasher(32, 1, 5, scheme, shingle_hash).signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        assert np.array_equal(sig, _datasketch(key, 32, 1, scheme, shingle_hash).hashvalues)


def test_datasketch_minhash_of_a_hasher_is_the_same_minhash() -> None:
    hasher = MinHasher(64, 5, 5, shingle_hash="murmur3_utf32")
    key = _random_keys(1, seed=4)[0]
    assert np.array_equal(hasher.datasketch(shingles(key, 5)).hashvalues,
                          hasher.signature(key))
    assert hasher.datasketch(shingles(key, 5)).hashfunc is murmur3_utf32
    assert MinHasher(shingle_hash="sha1_hash32").datasketch().hashfunc is sha1_hash32


@given(st.text(max_size=30), st.integers(min_value=1, max_value=8))
def test_shingles_cover_the_key(key: str, size: int) -> None:
    grams = shingles(key, size)
    if len(key) <= size:
        assert grams == {key}
    else:
        assert all(len(g) == size for g in grams)
        assert len(grams) <= len(key) - size + 1


@pytest.mark.parametrize("shingle_hash", HASHES)
def test_key_shorter_than_shingle_is_one_shingle(shingle_hash: str) -> None:
    assert shingles("abc", 5) == {"abc"}
    assert shingles("", 5) == {""}
    hasher = MinHasher(shingle_hash=shingle_hash)
    assert np.array_equal(hasher.signature("abc"), hasher.signature("abc"))
    assert estimated_jaccard(hasher.signature("abc"), hasher.signature("abd")) < 0.1


def test_batching_does_not_change_signatures() -> None:
    keys = _random_keys(50, seed=11)
    hasher = MinHasher()
    together = hasher.signatures(keys)
    one_by_one = np.array([hasher.signature(k) for k in keys])
    assert np.array_equal(together, one_by_one)


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_blocks_and_chunks_of_any_size_give_the_same_signatures(scheme: str,
                                                                monkeypatch) -> None:
    # one key of more distinct shingles than several blocks, and keys across chunks
    rng = np.random.default_rng(2)
    long_key = rng.integers(0x4E00, 0x9FFF, 3000, dtype=np.uint32).tobytes().decode("utf-32-le")
    keys = [*_random_keys(30, seed=12), long_key, "", "ab", *_random_keys(30, seed=13)]
    expected = MinHasher(64, 1, 5, scheme).signatures(keys)
    monkeypatch.setattr(minhash, "_BLOCK_HASHES", 97)
    monkeypatch.setattr(minhash, "_CHUNK_CHARS", 500)
    assert np.array_equal(MinHasher(64, 1, 5, scheme).signatures(keys), expected)
    assert np.array_equal(MinHasher(64, 1, 5, scheme).signature(long_key),
                          _datasketch(long_key, 64, 1, scheme).hashvalues)


def test_both_hashes_estimate_the_same_jaccard() -> None:
    # the same shingle sets: a pair's estimates under either hash scatter around its Jaccard
    rng = random.Random(5)
    errors = {name: [] for name in HASHES}
    for _ in range(40):
        a = "".join(rng.choice(ALPHABET) for _ in range(300))
        chars = list(a)
        for _ in range(rng.randint(1, 25)):
            chars[rng.randrange(len(chars))] = rng.choice(ALPHABET)
        b = "".join(chars)
        truth = len(shingles(a, 5) & shingles(b, 5)) / len(shingles(a, 5) | shingles(b, 5))
        for name in HASHES:
            sig_a, sig_b = MinHasher(shingle_hash=name).signatures([a, b])
            errors[name].append(estimated_jaccard(sig_a, sig_b) - truth)
    for name in HASHES:
        # standard error of a 128-permutation estimate is at most 0.044
        assert abs(np.mean(errors[name])) < 0.02, name
        assert np.sqrt(np.mean(np.square(errors[name]))) < 0.05, name


def test_store_names_stay_importable_from_minhash() -> None:
    from transforms import signature_store, spill

    assert minhash.write_signatures is signature_store.write_signatures
    assert minhash.SpilledBatch is spill.SpilledBatch
    with pytest.raises(AttributeError):
        _ = minhash.no_such_name


@pytest.mark.shared
@pytest.mark.parametrize("shingle_hash", HASHES)
def test_real_pages_match_datasketch(manpages_path, shingle_hash: str) -> None:
    with manpages_path.open(encoding="utf-8") as lines:
        keys = [json.loads(next(lines))["text"][:2000] for _ in range(200)]
    sigs = MinHasher(shingle_hash=shingle_hash).signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        assert np.array_equal(sig, _datasketch(key, 128, 1, "affine32", shingle_hash).hashvalues)

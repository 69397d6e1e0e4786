from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.shingle_hash import (
    HASHFUNCS,
    code_points,
    distinct_shingle_hashes,
    hashfunc,
    murmur3_utf32,
    murmur3_windows,
    sha1_hash32,
    shingles,
)

# Japanese, ASCII, emoji (astral code points) and, from st.characters, anything but surrogates
MIXED = st.text(
    alphabet=st.sampled_from("あいうえおアイウエオ漢字文書〜ー。、 aZ09-~\n😀🇯🇵𠮷")
    | st.characters(exclude_categories=("Cs",)),
    max_size=40)


@given(MIXED)
def test_murmur3_utf32_is_murmurhash3_of_the_utf32_bytes(shingle: str) -> None:
    mmh3 = pytest.importorskip("mmh3")  # an independent implementation of MurmurHash3_x86_32
    expected = mmh3.hash(shingle.encode("utf-32-le"), 0, signed=False)
    assert murmur3_utf32(shingle) == expected
    assert murmur3_utf32(shingle.encode("utf-8")) == expected


def test_murmur3_utf32_meets_murmurhash3_test_vectors() -> None:
    # MurmurHash3_x86_32, seed 0: the empty input hashes to 0; the four bytes 00 00 00 00 (code
    # point U+0000 as UTF-32-LE) to 0x2362F9DE
    assert murmur3_utf32("") == 0
    assert murmur3_utf32("\x00") == 0x2362F9DE


@settings(max_examples=80)
@given(MIXED, st.integers(min_value=1, max_value=8))
def test_every_window_hashes_as_its_shingle(text: str, size: int) -> None:
    got = murmur3_windows(code_points(text), size)
    assert got.tolist() == [murmur3_utf32(text[i : i + size])
                            for i in range(len(text) - size + 1)]


@settings(max_examples=60)
@given(st.lists(MIXED, max_size=12), st.integers(min_value=1, max_value=6),
       st.sampled_from(sorted(HASHFUNCS)))
def test_batch_hashes_are_each_keys_distinct_shingle_hashes(keys: list[str], size: int,
                                                            name: str) -> None:
    starts, hashes = distinct_shingle_hashes(keys, size, name)
    assert len(starts) == len(keys) and hashes.dtype == np.uint32
    ends = [*starts.tolist()[1:], len(hashes)][: len(keys)]
    for key, lo, hi in zip(keys, starts.tolist(), ends, strict=True):
        expected = {hashfunc(name)(s) for s in shingles(key, size)}
        assert sorted(set(hashes[lo:hi].tolist())) == sorted(expected)
        if name == "murmur3_utf32":  # distinct, sorted
            assert hashes[lo:hi].tolist() == sorted(expected)


def test_sha1_hash32_is_datasketchs() -> None:
    from datasketch.hashfunc import sha1_hash32 as theirs

    for shingle in ("", "abc", "日本語の文書", "😀😀😀😀😀"):
        assert sha1_hash32(shingle) == theirs(shingle.encode("utf-8"))
        assert sha1_hash32(shingle) == int.from_bytes(
            hashlib.sha1(shingle.encode()).digest()[:4], "little")


def test_a_lone_surrogate_hashes_as_its_code_point() -> None:
    key = "ab\ud800cdef"
    _, hashes = distinct_shingle_hashes([key], 5)
    assert sorted(hashes.tolist()) == sorted({murmur3_utf32(s) for s in shingles(key, 5)})


def test_unknown_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown shingle hash 'md5'"):
        distinct_shingle_hashes(["abcdef"], 5, "md5")

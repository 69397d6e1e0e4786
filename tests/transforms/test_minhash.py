from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasketch import LeanMinHash, MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.dedup import DedupConfig
from transforms.minhash import (
    SIGNATURE_ROW_GROUP,
    MinHasher,
    SignatureFileError,
    SpilledBatch,
    estimated_jaccard,
    lean_minhashes,
    read_signatures,
    shingles,
    write_signatures,
    write_sorted_signatures,
    write_spilled_batch,
)

ALPHABET = "あいうえおかきくけこさしすせそたちつてとアイウエオ漢字文書重複検出〜ー-~ aXZ09。、\n"


def _random_keys(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400))) for _ in range(n)]


def _datasketch(key: str, num_perm: int, seed: int, scheme: str) -> MinHash:
    m = MinHash(num_perm=num_perm, seed=seed, scheme=scheme)
    m.update_batch([s.encode("utf-8") for s in shingles(key, 5)])
    return m


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_batch_signatures_are_bit_identical_to_datasketch(scheme: str) -> None:
    keys = _random_keys(300)
    sigs = MinHasher(128, 1, 5, scheme).signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        expected = _datasketch(key, 128, 1, scheme).hashvalues
        assert sig.dtype == expected.dtype
        assert np.array_equal(sig, expected)


def test_other_seed_and_num_perm_are_bit_identical_too() -> None:
    keys = _random_keys(20, seed=3)
    sigs = MinHasher(64, 42, 5).signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        assert np.array_equal(sig, _datasketch(key, 64, 42, "affine32").hashvalues)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_text_signature_matches_datasketch(key: str) -> None:
    key = key.encode("utf-8", "replace").decode("utf-8", "replace")
    sig = MinHasher(32, 1, 5).signature(key)
    assert np.array_equal(sig, _datasketch(key, 32, 1, "affine32").hashvalues)


@given(st.text(max_size=30), st.integers(min_value=1, max_value=8))
def test_shingles_cover_the_key(key: str, size: int) -> None:
    grams = shingles(key, size)
    if len(key) <= size:
        assert grams == {key}
    else:
        assert all(len(g) == size for g in grams)
        assert len(grams) <= len(key) - size + 1


def test_key_shorter_than_shingle_is_one_shingle() -> None:
    assert shingles("abc", 5) == {"abc"}
    assert shingles("", 5) == {""}
    hasher = MinHasher()
    assert np.array_equal(hasher.signature("abc"), hasher.signature("abc"))
    assert estimated_jaccard(hasher.signature("abc"), hasher.signature("abd")) < 0.1


def test_batching_does_not_change_signatures() -> None:
    keys = _random_keys(50, seed=11)
    hasher = MinHasher()
    together = hasher.signatures(keys)
    one_by_one = np.array([hasher.signature(k) for k in keys])
    assert np.array_equal(together, one_by_one)


def test_stored_signatures_load_as_lean_minhash(tmp_path) -> None:
    config = DedupConfig()
    keys = _random_keys(40, seed=5)
    ids = [f"doc-{i:03d}" for i in reversed(range(len(keys)))]
    sigs = MinHasher.from_config(config).signatures(keys)
    path = tmp_path / "sigs.parquet"
    write_signatures(path, ids, sigs, config)
    loaded = dict(lean_minhashes(path, config))
    assert sorted(loaded) == sorted(ids)
    for doc_id, key in zip(ids, keys, strict=True):
        lean = loaded[doc_id]
        assert isinstance(lean, LeanMinHash)
        fresh = _datasketch(key, 128, 1, "affine32")
        assert lean == LeanMinHash(fresh)
        assert lean.jaccard(fresh) == 1.0


def test_signature_files_are_deterministic_and_sorted(tmp_path) -> None:
    config = DedupConfig()
    keys = _random_keys(30, seed=9)
    ids = [hashlib.sha256(k.encode()).hexdigest()[:8] + str(i) for i, k in enumerate(keys)]
    sigs = MinHasher.from_config(config).signatures(keys)
    order = list(range(len(ids)))
    random.Random(1).shuffle(order)
    write_signatures(tmp_path / "a.parquet", ids, sigs, config)
    write_signatures(tmp_path / "b.parquet", [ids[i] for i in order], sigs[order], config)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    read_ids, read_sigs = read_signatures(tmp_path / "a.parquet")
    assert read_ids == sorted(ids)
    assert np.array_equal(read_sigs[read_ids.index(ids[0])], sigs[0])


def test_signatures_of_other_parameters_are_refused(tmp_path) -> None:
    keys = _random_keys(3)
    path = tmp_path / "s.parquet"
    write_signatures(path, ["a", "b", "c"], MinHasher(128, 2).signatures(keys),
                     DedupConfig(seed=2))
    with pytest.raises(SignatureFileError, match="seed"):
        read_signatures(path, DedupConfig(seed=1))


@pytest.mark.shared
def test_real_pages_match_datasketch(manpages_path) -> None:
    with manpages_path.open(encoding="utf-8") as lines:
        keys = [json.loads(next(lines))["text"][:2000] for _ in range(200)]
    sigs = MinHasher().signatures(keys)
    for key, sig in zip(keys, sigs, strict=True):
        assert np.array_equal(sig, _datasketch(key, 128, 1, "affine32").hashvalues)


def test_streamed_row_groups_write_the_same_bytes_as_one_table(tmp_path) -> None:
    config = DedupConfig()
    rng = np.random.default_rng(3)
    n = SIGNATURE_ROW_GROUP * 2 + 5
    ids = sorted(f"d{i:06d}" for i in range(n))
    sigs = rng.integers(0, 2**32, (n, 128), dtype=np.uint64).astype(np.uint32)
    write_signatures(tmp_path / "whole.parquet", ids, sigs, config)
    chunks = (sigs[i : i + SIGNATURE_ROW_GROUP] for i in range(0, n, SIGNATURE_ROW_GROUP))
    write_sorted_signatures(tmp_path / "streamed.parquet", ids, chunks, config)
    assert (tmp_path / "whole.parquet").read_bytes() == (tmp_path / "streamed.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "whole.parquet").metadata.num_row_groups == 3
    write_signatures(tmp_path / "empty.parquet", [], sigs[:0], config)
    assert read_signatures(tmp_path / "empty.parquet", config)[0] == []


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_spilled_batch_gives_back_bands_rows_ids_and_files(scheme: str, tmp_path) -> None:
    rng = np.random.default_rng(11)
    ids = ["b", "é-文書", "a", "c" * 40]
    dtype = np.uint32 if scheme == "affine32" else np.uint64
    sigs = rng.integers(0, 2**32, (4, 64), dtype=np.uint64).astype(dtype)
    exact = rng.integers(0, 256, (4, 32), dtype=np.uint8)
    bands = rng.integers(0, 2**63, (4, 16), dtype=np.uint64)
    files = np.array([0, 3, 1, 3], dtype=np.uint16)
    write_spilled_batch(tmp_path / "x.spill", ids, exact, sigs, bands, files)
    batch = SpilledBatch(tmp_path / "x.spill")
    assert (batch.n, batch.num_perm, batch.bands) == (4, 64, 16)
    assert batch.doc_ids() == ids
    assert np.array_equal(batch.band(5), bands[:, 5])
    assert np.array_equal(batch.signature_files(), files)
    for rows in ([2], [3, 0], [0, 1, 2, 3]):  # few rows (pread each) and many (one read)
        got_exact, got_sigs = batch.rows(rows)
        assert got_exact == [exact[r].tobytes() for r in rows]
        assert np.array_equal(got_sigs, sigs[rows]) and got_sigs.dtype == np.dtype(dtype)
    assert not list(tmp_path.glob("*.tmp"))


def test_other_files_are_not_read_as_spilled_batches(tmp_path) -> None:
    (tmp_path / "x.spill").write_bytes(b"not a batch at all, really")
    with pytest.raises(SignatureFileError, match="spilled batch"):
        SpilledBatch(tmp_path / "x.spill")

from __future__ import annotations

import hashlib
import random

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasketch import LeanMinHash, MinHash

from schemas.dedup import DedupConfig
from transforms.minhash import MinHasher, shingles
from transforms.shingle_hash import murmur3_utf32
from transforms.signature_store import (
    SIGNATURE_ROW_GROUP,
    SignatureFileError,
    config_for_file,
    lean_minhashes,
    read_signatures,
    recorded_hash,
    write_signatures,
    write_sorted_signatures,
)

ALPHABET = "あいうえおかきくけこさしすせそたちつてとアイウエオ漢字文書重複検出〜ー-~ aXZ09。、\n"
OLD = DedupConfig(shingle_hash="sha1_hash32")


def _random_keys(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400))) for _ in range(n)]


@pytest.mark.parametrize("config", [DedupConfig(), OLD], ids=["murmur3_utf32", "sha1_hash32"])
def test_stored_signatures_load_as_lean_minhash(config: DedupConfig, tmp_path) -> None:
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
        if config.shingle_hash == "murmur3_utf32":
            fresh = MinHash(num_perm=128, seed=1, hashfunc=murmur3_utf32)
            fresh.update_batch(list(shingles(key, 5)))
        else:
            fresh = MinHash(num_perm=128, seed=1)
            fresh.update_batch([s.encode("utf-8") for s in shingles(key, 5)])
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
    with pytest.raises(SignatureFileError, match="hashfunc is murmur3_utf32, this run uses sha1"):
        read_signatures(path, DedupConfig(seed=2, shingle_hash="sha1_hash32"))


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


def test_files_record_the_shingle_hash_and_old_files_read_as_sha1(tmp_path) -> None:
    sigs = MinHasher(shingle_hash="sha1_hash32").signatures(["ある文書の鍵です", "もう一つ"])
    write_signatures(tmp_path / "old.parquet", ["a", "b"], sigs, OLD)
    # what every Kura before murmur3_utf32 wrote, key for key
    assert pq.read_schema(tmp_path / "old.parquet").metadata == {
        b"kura.schema": b"signatures", b"kura.schema_version": b"1",
        b"kura.minhash.num_perm": b"128", b"kura.minhash.seed": b"1",
        b"kura.minhash.scheme": b"affine32", b"kura.minhash.shingle_size": b"5",
        b"kura.minhash.hashfunc": b"sha1_hash32"}
    assert recorded_hash(tmp_path / "old.parquet") == "sha1_hash32"
    write_signatures(tmp_path / "new.parquet", ["a"], sigs[:1], DedupConfig())
    assert recorded_hash(tmp_path / "new.parquet") == "murmur3_utf32"
    # a file without the key holds sha1_hash32 signatures: the only hash there was
    table = pq.read_table(tmp_path / "old.parquet")
    meta = {k: v for k, v in table.schema.metadata.items() if k != b"kura.minhash.hashfunc"}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "bare.parquet")
    assert recorded_hash(tmp_path / "bare.parquet") == "sha1_hash32"
    assert read_signatures(tmp_path / "bare.parquet", OLD)[0] == ["a", "b"]
    with pytest.raises(SignatureFileError, match="hashfunc is sha1_hash32"):
        read_signatures(tmp_path / "bare.parquet", DedupConfig())


def test_config_for_a_file_takes_its_hash_and_refuses_an_unknown_one(tmp_path) -> None:
    sigs = MinHasher(shingle_hash="sha1_hash32").signatures(["ある文書の鍵です"])
    write_signatures(tmp_path / "old.parquet", ["a"], sigs, OLD)
    config = DedupConfig(threshold=0.7)
    assert config_for_file(config, tmp_path / "old.parquet") == config.model_copy(
        update={"shingle_hash": "sha1_hash32"})
    table = pq.read_table(tmp_path / "old.parquet")
    meta = {**table.schema.metadata, b"kura.minhash.hashfunc": b"xxh3_64"}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "future.parquet")
    with pytest.raises(SignatureFileError, match="unknown shingle hash 'xxh3_64'"):
        config_for_file(config, tmp_path / "future.parquet")
    pq.write_table(table.replace_schema_metadata({}), tmp_path / "plain.parquet")
    with pytest.raises(SignatureFileError, match="not a Kura signature file"):
        recorded_hash(tmp_path / "plain.parquet")

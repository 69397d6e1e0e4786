"""MinHash signatures of matching keys, computed in numpy batches, and their Parquet store.

The signatures are bit-identical to `datasketch.MinHash(num_perm, seed, scheme)` updated with the
same shingles encoded as UTF-8 (datasketch's default hash, `sha1_hash32`: the first four bytes of
SHA-1, little-endian), so stored signatures load as datasketch `LeanMinHash`es and later corpora
query them with datasketch's LSH. The speed comes from hashing each distinct shingle once and
applying all permutations to a whole batch of documents in one array operation.

Shingles are the character `size`-grams of the key. A key shorter than `size` (the empty key
included) is one shingle, the whole key: short documents still get a signature, and two short
keys match only when they are equal.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dedup import DedupConfig, Scheme, signatures_schema

_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH32 = np.uint64((1 << 32) - 1)
# Rows of the (shingles x permutations) matrix computed at once: bounds a batch's scratch memory
# (64k x 128 x 8 bytes = 64 MB at most) whatever the documents' lengths.
_CHUNK_SHINGLES = 65_536


def shingles(key: str, size: int) -> set[str]:
    """The distinct character `size`-grams of `key`; a shorter key is its own single shingle."""
    if len(key) <= size:
        return {key}
    return {key[i : i + size] for i in range(len(key) - size + 1)}


def shingle_hashes(key: str, size: int) -> np.ndarray:
    """datasketch's `sha1_hash32` of each distinct shingle (UTF-8), as uint32."""
    digests = b"".join(hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in shingles(key, size))
    return np.frombuffer(digests, dtype="<u4")


def _fmix32(hv: np.ndarray) -> np.ndarray:
    # MurmurHash3's 32-bit finalizer, as datasketch's affine32 scheme pre-mixes every input hash.
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def permutations(num_perm: int, seed: int, scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b), drawn the same way from RandomState(seed)."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        pairs = np.array(
            [(gen.randint(1, _MERSENNE_PRIME, dtype=np.uint64),
              gen.randint(0, _MERSENNE_PRIME, dtype=np.uint64)) for _ in range(num_perm)],
            dtype=np.uint64,
        ).T
        return pairs[0], pairs[1]
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class MinHasher:
    """Computes signatures for batches of matching keys. Cheap to build; holds no documents."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle_size: int = 5,
                 scheme: Scheme = "affine32") -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.shingle_size = shingle_size
        self.scheme: Scheme = scheme
        self.dtype = np.dtype(np.uint32 if scheme == "affine32" else np.uint64)
        self._a, self._b = permutations(num_perm, seed, scheme)

    @classmethod
    def from_config(cls, config: DedupConfig) -> MinHasher:
        return cls(config.num_perm, config.seed, config.shingle_size, config.scheme)

    def _permuted(self, hv: np.ndarray) -> np.ndarray:
        """(n,) input hashes -> (num_perm, n) permuted hashes, computed as datasketch does.

        Permutations run along rows so each document's shingles are contiguous for the min
        reduction: ten times faster than datasketch's (n, num_perm) layout.
        """
        a, b = self._a[:, None], self._b[:, None]
        if self.scheme == "legacy":
            # uint64 products wrap exactly as datasketch's do: that is part of bit-identity.
            return np.bitwise_and((a * hv.astype(np.uint64)[None, :] + b) % _MERSENNE_PRIME,
                                  _MAX_HASH32)
        permuted = a * _fmix32(hv)[None, :]
        permuted += b
        return permuted

    def signatures(self, keys: Sequence[str]) -> np.ndarray:
        """One row of `num_perm` hash values per key, in the order given."""
        out = np.empty((len(keys), self.num_perm), dtype=self.dtype)
        pending: list[np.ndarray] = []
        pending_rows: list[int] = []
        pending_size = 0
        for row, key in enumerate(keys):
            hv = shingle_hashes(key, self.shingle_size)
            pending.append(hv)
            pending_rows.append(row)
            pending_size += len(hv)
            if pending_size >= _CHUNK_SHINGLES:
                self._fill(out, pending, pending_rows)
                pending, pending_rows, pending_size = [], [], 0
        if pending:
            self._fill(out, pending, pending_rows)
        return out

    def _fill(self, out: np.ndarray, hashes: list[np.ndarray], rows: list[int]) -> None:
        lengths = np.fromiter((len(h) for h in hashes), dtype=np.int64, count=len(hashes))
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        permuted = self._permuted(np.concatenate(hashes))
        out[rows] = np.minimum.reduceat(permuted, starts, axis=1).T

    def signature(self, key: str) -> np.ndarray:
        return self.signatures([key])[0]


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """datasketch's estimate: the fraction of equal hash values."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


# --- the signature store -----------------------------------------------------------------------

def write_signatures(path: Path, doc_ids: Sequence[str], sigs: np.ndarray,
                     config: DedupConfig) -> None:
    """Write one signature file: rows sorted by doc_id, so equal inputs give equal bytes.

    Written to a temporary name and renamed, so a reader never sees half a file.
    """
    order = sorted(range(len(doc_ids)), key=doc_ids.__getitem__)
    schema = signatures_schema(config)
    value_type = schema.field("signature").type.value_type
    values = pa.array(np.ascontiguousarray(sigs[order]).reshape(-1), type=value_type)
    table = pa.table(
        {
            "doc_id": pa.array([doc_ids[i] for i in order], type=pa.string()),
            "signature": pa.FixedSizeListArray.from_arrays(values, config.num_perm),
        },
        schema=schema,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd", write_statistics=False,
                   row_group_size=65_536)
    os.replace(tmp, path)


class SignatureFileError(ValueError):
    """A stored signature file that cannot be compared with this run's signatures."""


def read_signatures(path: Path, config: DedupConfig | None = None) -> tuple[list[str], np.ndarray]:
    """Doc ids and signatures of one stored file; refuses a file made under other parameters."""
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    if meta.get(b"kura.schema") != b"signatures":
        raise SignatureFileError(f"{path}: not a Kura signature file")
    if config is not None:
        expected = signatures_schema(config).metadata
        for key in (b"kura.minhash.num_perm", b"kura.minhash.seed", b"kura.minhash.scheme",
                    b"kura.minhash.shingle_size"):
            if meta.get(key) != expected[key]:
                raise SignatureFileError(
                    f"{path}: {key.decode()} is {meta.get(key, b'?').decode()}, this run uses "
                    f"{expected[key].decode()}; re-sign that corpus or match [dedup]")
    num_perm = int(meta[b"kura.minhash.num_perm"])
    doc_ids = table.column("doc_id").to_pylist()
    flat = table.column("signature").combine_chunks().flatten().to_numpy()
    return doc_ids, flat.reshape(-1, num_perm) if doc_ids else flat.reshape(0, num_perm)


def lean_minhashes(path: Path, config: DedupConfig | None = None) -> Iterator[tuple[str, object]]:
    """(doc_id, datasketch LeanMinHash) for every stored signature of one file."""
    from datasketch import LeanMinHash

    meta = pq.read_schema(path).metadata or {}
    seed = int(meta.get(b"kura.minhash.seed", b"1"))
    scheme = meta.get(b"kura.minhash.scheme", b"affine32").decode()
    doc_ids, sigs = read_signatures(path, config)
    for doc_id, sig in zip(doc_ids, sigs, strict=True):
        yield doc_id, LeanMinHash(seed=seed, hashvalues=sig, scheme=scheme)

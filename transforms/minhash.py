"""MinHash signatures of matching keys, computed in numpy batches.

A signature is bit-identical to `datasketch.MinHash(num_perm, seed, hashfunc=h, scheme=scheme)`
updated with the key's shingles (transforms.shingle_hash), `h` the pure-Python form of the
configured shingle hash (`hashfunc(config.shingle_hash)`), so stored signatures load as
datasketch `LeanMinHash`es and later corpora query them with datasketch's LSH. The speed comes
from hashing every shingle of a batch in one numpy pass (murmur3_utf32), keeping each key's
distinct hashes, and applying all permutations to many documents' hashes in one array
operation, a bounded block of hashes at a time.

The signature store and spilled batches live in transforms.signature_store and
transforms.spill; their names stay importable from here for callers of the old module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from schemas.dedup import DEFAULT_SHINGLE_HASH, DedupConfig, Scheme, ShingleHash
from transforms.shingle_hash import (
    distinct_shingle_hashes,
    fmix32,
    hashfunc,
    shingle_hashes,
    shingles,
)

__all__ = ["MinHasher", "estimated_jaccard", "hashfunc", "permutations", "shingle_hashes",
           "shingles"]

_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH32 = np.uint64((1 << 32) - 1)
# Distinct shingle hashes permuted at once: the (num_perm x block) matrix is the transient
# memory of signing (128 x 8,192 x 4 bytes = 4 MB; twice that for "legacy"), whatever the
# documents' lengths, and a block that fits the CPU caches is faster than a larger one.
_BLOCK_HASHES = 8_192
# Code points of the keys hashed in one numpy pass (a longer key is one pass of its own): about
# 24 bytes of scratch each, so 6 MiB at most; larger chunks were no faster.
_CHUNK_CHARS = 1 << 18



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


def _key_chunks(keys: Sequence[str], chars: int) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive keys holding about `chars` code points together."""
    start, total = 0, 0
    for i, key in enumerate(keys):
        if total and total + len(key) > chars:
            yield start, i
            start, total = i, 0
        total += len(key)
    if start < len(keys):
        yield start, len(keys)


class MinHasher:
    """Computes signatures for batches of matching keys. Cheap to build; holds no documents."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle_size: int = 5,
                 scheme: Scheme = "affine32",
                 shingle_hash: ShingleHash = DEFAULT_SHINGLE_HASH) -> None:
        hashfunc(shingle_hash)  # an unknown name fails here, not in a worker
        self.num_perm = num_perm
        self.seed = seed
        self.shingle_size = shingle_size
        self.scheme: Scheme = scheme
        self.shingle_hash: ShingleHash = shingle_hash
        self.dtype = np.dtype(np.uint32 if scheme == "affine32" else np.uint64)
        self._a, self._b = permutations(num_perm, seed, scheme)

    @classmethod
    def from_config(cls, config: DedupConfig) -> MinHasher:
        return cls(config.num_perm, config.seed, config.shingle_size, config.scheme,
                   config.shingle_hash)

    def datasketch(self, grams: Iterable[str] = ()) -> Any:
        """A datasketch `MinHash` of the same parameters and hash, updated with `grams`.

        What a datasketch user does to compare a text with Kura's signatures.
        """
        from datasketch import MinHash

        m = MinHash(num_perm=self.num_perm, seed=self.seed, scheme=self.scheme,
                    hashfunc=hashfunc(self.shingle_hash))
        m.update_batch(list(grams))
        return m

    def _permuted(self, hv: np.ndarray) -> np.ndarray:
        """(n,) input hashes, pre-mixed -> (num_perm, n) permuted hashes, as datasketch's.

        Permutations run along rows so each document's shingles are contiguous for the min
        reduction: ten times faster than datasketch's (n, num_perm) layout.
        """
        a, b = self._a[:, None], self._b[:, None]
        if self.scheme == "legacy":
            # uint64 products wrap exactly as datasketch's do: that is part of bit-identity.
            return np.bitwise_and((a * hv[None, :] + b) % _MERSENNE_PRIME, _MAX_HASH32)
        permuted = a * hv[None, :]
        permuted += b
        return permuted

    def signatures(self, keys: Sequence[str]) -> np.ndarray:
        """One row of `num_perm` hash values per key, in the order given."""
        keys = list(keys)
        out = np.empty((len(keys), self.num_perm), dtype=self.dtype)
        for lo, hi in _key_chunks(keys, _CHUNK_CHARS):
            starts, hashes = distinct_shingle_hashes(keys[lo:hi], self.shingle_size,
                                                     self.shingle_hash)
            self._fill(out[lo:hi], starts, hashes)
        return out

    def _fill(self, out: np.ndarray, starts: np.ndarray, hashes: np.ndarray) -> None:
        """Each row of `out`: the minimum over its key's hashes of every permutation.

        The hashes go through the permutations one block of columns at a time; a key whose
        hashes span several blocks takes the smallest of its partial minima.
        """
        # datasketch's affine32 scheme pre-mixes every input hash with MurmurHash3's finalizer.
        hv = (fmix32(hashes.astype(np.uint32, copy=True)) if self.scheme == "affine32"
              else hashes.astype(np.uint64))
        out.fill(np.iinfo(self.dtype).max)
        for lo in range(0, len(hv), _BLOCK_HASHES):
            hi = min(lo + _BLOCK_HASHES, len(hv))
            # keys with a hash in [lo, hi): the one holding `lo`, and those starting before `hi`
            first = int(np.searchsorted(starts, lo, side="right")) - 1
            last = int(np.searchsorted(starts, hi, side="left"))
            local = np.maximum(starts[first:last], lo) - lo
            minima = np.minimum.reduceat(self._permuted(hv[lo:hi]), local, axis=1).T
            np.minimum(out[first:last], minima, out=out[first:last])

    def signature(self, key: str) -> np.ndarray:
        return self.signatures([key])[0]


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """datasketch's estimate: the fraction of equal hash values."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


# Moved to transforms.signature_store and transforms.spill; still importable from here.
_MOVED = {
    "SIGNATURE_ROW_GROUP": "transforms.signature_store",
    "SignatureFileError": "transforms.signature_store",
    "lean_minhashes": "transforms.signature_store",
    "read_signatures": "transforms.signature_store",
    "write_signatures": "transforms.signature_store",
    "write_sorted_signatures": "transforms.signature_store",
    "SpilledBatch": "transforms.spill",
    "write_spilled_batch": "transforms.spill",
}


def __getattr__(name: str) -> Any:
    # Lazy, so the hashing module does not import pyarrow for callers that only sign.
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

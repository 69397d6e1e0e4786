"""Shingles of a matching key and the 32-bit hash of each, the input of MinHash.

Shingles are the character `size`-grams of the key. A key shorter than `size` (the empty key
included) is one shingle, the whole key: short documents still get a signature, and two short
keys match only when they are equal.

Two shingle hashes, named as stored signatures record them (`DedupConfig.shingle_hash`, the
`kura.minhash.hashfunc` metadata of a signature file):

- "murmur3_utf32", the default: MurmurHash3_x86_32 (seed 0) of the shingle's code points as
  UTF-32-LE bytes, i.e. `mmh3.hash(shingle.encode("utf-32-le"), 0, signed=False)`. Every code
  point is exactly one 4-byte block, so the hash of every window of a batch is computed with
  numpy at once: each code point's block mix once, then one round per window position over all
  windows, then the finalizer. No Python call per shingle. `murmur3_utf32(shingle)` is the same
  function in pure Python, for datasketch: `MinHash(num_perm, seed, hashfunc=murmur3_utf32)`
  updated with the shingle strings gives the signature Kura computes, bit for bit.
- "sha1_hash32": datasketch's default hash, the first four bytes of SHA-1 of the UTF-8 shingle,
  little-endian. One hashlib call per distinct shingle (the MinHash cost before murmur3_utf32);
  kept because stores signed before it hold these signatures, and they still dedup new runs.

Both are 32-bit hashes of the same shingle sets, so they estimate the same Jaccard; only
signatures made with the same hash compare (transforms.signature_store says how a run does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import get_args

import numpy as np

from schemas.dedup import DEFAULT_SHINGLE_HASH, ShingleHash

SHINGLE_HASHES: tuple[str, ...] = get_args(ShingleHash)

_M32 = 0xFFFFFFFF
_C1, _C2 = 0xCC9E2D51, 0x1B873593
_ROUND_ADD = 0xE6546B64
_MURMUR_SEED = 0
_MURMUR_BLOCK = 65_536  # windows hashed together: fits the CPU caches


def shingles(key: str, size: int) -> set[str]:
    """The distinct character `size`-grams of `key`; a shorter key is its own single shingle."""
    if len(key) <= size:
        return {key}
    return {key[i : i + size] for i in range(len(key) - size + 1)}


# --- the hashes of one shingle, in pure Python (datasketch's `hashfunc`) ------------------------

def _fmix32_int(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def murmur3_utf32(shingle: str | bytes) -> int:
    """MurmurHash3_x86_32, seed 0, of the shingle's UTF-32-LE bytes (bytes are read as UTF-8).

    Lone surrogates hash as their own code points (what "surrogatepass" encodes).
    """
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8", "surrogatepass")
    h = _MURMUR_SEED
    for char in shingle:
        k = (ord(char) * _C1) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        h ^= (k * _C2) & _M32
        h = ((h << 13) | (h >> 19)) & _M32
        h = (h * 5 + _ROUND_ADD) & _M32
    return _fmix32_int(h ^ (4 * len(shingle)))


def sha1_hash32(shingle: str | bytes) -> int:
    """datasketch's `sha1_hash32` of the shingle's UTF-8 bytes."""
    data = shingle.encode("utf-8") if isinstance(shingle, str) else shingle
    return int.from_bytes(hashlib.sha1(data).digest()[:4], "little")


HASHFUNCS = {"murmur3_utf32": murmur3_utf32, "sha1_hash32": sha1_hash32}


def hashfunc(name: str):
    """The pure-Python hash of one shingle named `name`, as datasketch's `hashfunc` takes it."""
    try:
        return HASHFUNCS[name]
    except KeyError:
        raise ValueError(f"unknown shingle hash {name!r}; known: {', '.join(HASHFUNCS)}") from None


# --- every window of a batch at once, in numpy -------------------------------------------------

def _rotl(x: np.ndarray, r: int, scratch: np.ndarray) -> None:
    np.right_shift(x, np.uint32(32 - r), out=scratch)
    np.left_shift(x, np.uint32(r), out=x)
    np.bitwise_or(x, scratch, out=x)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer over a uint32 array, in place (and returned)."""
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def murmur3_windows(code_points: np.ndarray, size: int) -> np.ndarray:
    """`murmur3_utf32` of every window of `size` code points (len - size + 1 of them)."""
    windows = len(code_points) - size + 1
    if windows <= 0:
        return np.empty(0, dtype=np.uint32)
    # Each code point's block mix once, shared by the `size` windows it is part of; then the
    # rounds, a cache-sized block of windows at a time (3.5x faster than whole arrays).
    k = code_points.astype(np.uint32, copy=True)
    scratch = np.empty(min(len(k), _MURMUR_BLOCK), dtype=np.uint32)
    for lo in range(0, len(k), _MURMUR_BLOCK):
        mixed = k[lo : lo + _MURMUR_BLOCK]
        mixed *= np.uint32(_C1)
        _rotl(mixed, 15, scratch[: len(mixed)])
        mixed *= np.uint32(_C2)
    out = np.empty(windows, dtype=np.uint32)
    for lo in range(0, windows, _MURMUR_BLOCK):
        hi = min(lo + _MURMUR_BLOCK, windows)
        h = out[lo:hi]
        h[:] = _MURMUR_SEED
        for offset in range(size):
            h ^= k[lo + offset : hi + offset]
            _rotl(h, 13, scratch[: hi - lo])
            h *= np.uint32(5)
            h += np.uint32(_ROUND_ADD)
        h ^= np.uint32(4 * size)
        fmix32(h)
    return out


def code_points(text: str) -> np.ndarray:
    """The code points of `text` as uint32 (a lone surrogate as itself)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def distinct_shingle_hashes(keys: Sequence[str], size: int,
                            name: str = DEFAULT_SHINGLE_HASH) -> tuple[np.ndarray, np.ndarray]:
    """(starts, hashes): each key's distinct shingle hashes, key after key, as uint32.

    Key i's hashes are hashes[starts[i]:starts[i + 1]] (to the end for the last key); every key
    has at least one. murmur3_utf32 hashes the windows of all keys in one pass over their
    concatenated code points, drops the windows that cross from one key into the next, and
    finds each key's distinct hashes by sorting (key index << 32 | hash) once.
    """
    if name == "sha1_hash32":
        return _sha1_per_key(keys, size)
    if name != "murmur3_utf32":
        hashfunc(name)  # raises the one-line error
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    hashes = murmur3_windows(code_points("".join(keys)), size)
    # drop the windows that start in one key and end in the next: the last size - 1 window
    # starts before each key's end (all of a shorter key's)
    crossing = (np.cumsum(lengths)[:, None] - np.arange(1, size)[None, :]).ravel()
    within = np.ones(len(hashes), dtype=bool)
    within[crossing[(crossing >= 0) & (crossing < len(hashes))]] = False
    per_key = np.maximum(lengths - size + 1, 0)
    tagged = np.repeat(np.arange(len(keys), dtype=np.uint64) << np.uint64(32), per_key)
    tagged |= hashes[within]
    short = np.flatnonzero(lengths < size)
    if len(short):  # the whole key is its one shingle; a few code points, hashed in Python
        tags = np.array([murmur3_utf32(keys[i]) for i in short], dtype=np.uint64)
        tagged = np.concatenate((tagged, (short.astype(np.uint64) << np.uint64(32)) | tags))
    tagged.sort()  # sort + compare: numpy 2.4's np.unique took 80x longer on these
    first = np.ones(len(tagged), dtype=bool)
    np.not_equal(tagged[1:], tagged[:-1], out=first[1:])
    tagged = tagged[first]
    starts = np.searchsorted(tagged >> np.uint64(32), np.arange(len(keys), dtype=np.uint64))
    return starts, (tagged & np.uint64(_M32)).astype(np.uint32)


def _sha1_per_key(keys: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    per_key = [b"".join(hashlib.sha1(s.encode("utf-8")).digest()[:4] for s in shingles(k, size))
               for k in keys]
    lengths = np.fromiter((len(d) // 4 for d in per_key), dtype=np.int64, count=len(per_key))
    starts = np.zeros(len(keys), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts, np.frombuffer(b"".join(per_key), dtype="<u4").astype(np.uint32)


def shingle_hashes(key: str, size: int, name: str = DEFAULT_SHINGLE_HASH) -> np.ndarray:
    """The distinct shingle hashes of one key under the hash `name`, as uint32."""
    return distinct_shingle_hashes([key], size, name)[1]

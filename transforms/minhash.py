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
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
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

# Rows per row group of a signature file. Readers load whole files, so the size only bounds the
# writer's memory: 8,192 rows (4 MB of signatures) cost about 90 MB less at peak than 65,536.
SIGNATURE_ROW_GROUP = 8_192


def write_signatures(path: Path, doc_ids: Sequence[str], sigs: np.ndarray,
                     config: DedupConfig) -> None:
    """Write one signature file: rows sorted by doc_id, so equal inputs give equal bytes."""
    order = sorted(range(len(doc_ids)), key=doc_ids.__getitem__)
    ordered = np.ascontiguousarray(sigs[order]) if len(order) else sigs
    write_sorted_signatures(path, [doc_ids[i] for i in order],
                            (ordered[i : i + SIGNATURE_ROW_GROUP]
                             for i in range(0, len(order), SIGNATURE_ROW_GROUP)), config)


def write_sorted_signatures(path: Path, doc_ids: Sequence[str], chunks: Iterable[np.ndarray],
                            config: DedupConfig) -> None:
    """Write one signature file from doc ids already sorted and their signatures in row groups.

    `chunks` yields the signatures of `doc_ids` in order, SIGNATURE_ROW_GROUP rows at a time (the
    last chunk shorter), so a caller never holds more than one row group of signatures. Written
    to a temporary name and renamed, so a reader never sees half a file.
    """
    schema = signatures_schema(config)
    value_type = schema.field("signature").type.value_type
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # no dictionary: ids are unique and hash values random, so it only costs memory and bytes
    with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=False,
                          use_dictionary=False) as writer:
        start = 0
        for chunk in chunks:
            values = pa.array(np.ascontiguousarray(chunk).reshape(-1), type=value_type)
            ids = doc_ids[start : start + len(chunk)]
            start += len(chunk)
            writer.write_table(pa.table(
                {"doc_id": pa.array(ids, type=pa.string()),
                 "signature": pa.FixedSizeListArray.from_arrays(values, config.num_perm)},
                schema=schema), row_group_size=SIGNATURE_ROW_GROUP)
        if start != len(doc_ids):
            raise ValueError(f"{len(doc_ids)} doc ids but {start} signatures")
        if start == 0:
            writer.write_table(schema.empty_table())
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


# --- spilled batches: a run's scratch copy of what dedup knows of each document ------------------

_SPILL_MAGIC = b"KURASPL1"
_SPILL_HEADER = np.dtype([("n", "<u4"), ("num_perm", "<u4"), ("itemsize", "<u4"),
                          ("bands", "<u4"), ("pad", "<u4", 2)])


def write_spilled_batch(path: Path, doc_ids: Sequence[str], exact: np.ndarray,
                        sigs: np.ndarray, band_keys: np.ndarray, file_of: np.ndarray) -> None:
    """One batch of signed documents on disk, laid out for reading a column or a few rows.

    Dedup leaves each batch's signatures here instead of in the runner's memory (the
    DirectRunner holds every shuffled collection in memory, at several times its bytes), so only
    bucket keys of candidates and ids cross a shuffle. Fixed-width sections, little-endian:
    band keys band-major (n x uint64 per band), exact keys (n x 32 bytes), signatures, the
    signature file of each document (uint16), doc id offsets (uint32) and UTF-8 doc ids.
    Written to a temporary name and renamed: a reader sees the whole batch or nothing.
    """
    n, num_perm = sigs.shape
    encoded = [d.encode("utf-8") for d in doc_ids]
    offsets = np.zeros(n + 1, dtype="<u4")
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    header = np.array([(n, num_perm, sigs.dtype.itemsize, band_keys.shape[1], (0, 0))],
                      dtype=_SPILL_HEADER)
    sig_dtype = sigs.dtype.newbyteorder("<")
    parts = [_SPILL_MAGIC, header.tobytes(),
             np.ascontiguousarray(band_keys.T, dtype="<u8").tobytes(),
             np.ascontiguousarray(exact, dtype=np.uint8).tobytes(),
             np.ascontiguousarray(sigs, dtype=sig_dtype).tobytes(),
             np.ascontiguousarray(file_of, dtype="<u2").tobytes(),
             offsets.tobytes(), b"".join(encoded)]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(b"".join(parts))
    os.replace(tmp, path)


class SpilledBatch:
    """Reads sections or single rows of a file written by `write_spilled_batch`.

    Reads with pread, never a memory map: only what is asked for enters the process.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as f:
            head = f.read(len(_SPILL_MAGIC) + _SPILL_HEADER.itemsize)
        if head[: len(_SPILL_MAGIC)] != _SPILL_MAGIC:
            raise SignatureFileError(f"{path}: not a Kura spilled batch")
        header = np.frombuffer(head[len(_SPILL_MAGIC):], dtype=_SPILL_HEADER)[0]
        self.n, self.num_perm = int(header["n"]), int(header["num_perm"])
        self.bands = int(header["bands"])
        self.sig_dtype = np.dtype("<u4" if int(header["itemsize"]) == 4 else "<u8")
        self._sig_row = self.num_perm * self.sig_dtype.itemsize
        self._bands_at = len(head)
        self._exact_at = self._bands_at + self.bands * self.n * 8
        self._sigs_at = self._exact_at + self.n * 32
        self._files_at = self._sigs_at + self.n * self._sig_row
        self._offsets_at = self._files_at + self.n * 2
        self._ids_at = self._offsets_at + (self.n + 1) * 4

    def _read(self, offset: int, size: int) -> bytes:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return os.pread(fd, size, offset)
        finally:
            os.close(fd)

    def band(self, band: int) -> np.ndarray:
        """The n bucket keys of one band."""
        return np.frombuffer(self._read(self._bands_at + band * self.n * 8, self.n * 8), "<u8")

    def signature_files(self) -> np.ndarray:
        return np.frombuffer(self._read(self._files_at, self.n * 2), dtype="<u2")

    def doc_ids(self) -> list[str]:
        offsets = np.frombuffer(self._read(self._offsets_at, (self.n + 1) * 4), dtype="<u4")
        ids = self._read(self._ids_at, int(offsets[-1]))
        return [ids[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]

    def rows(self, rows: Sequence[int]) -> tuple[list[bytes], np.ndarray]:
        """Exact keys and signatures of the given rows, in that order."""
        sigs = np.empty((len(rows), self.num_perm), dtype=self.sig_dtype)
        exact = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if len(rows) * 8 >= self.n:  # many rows: one read of each section is cheaper
                all_sigs = np.frombuffer(os.pread(fd, self.n * self._sig_row, self._sigs_at),
                                         dtype=self.sig_dtype).reshape(self.n, self.num_perm)
                all_exact = os.pread(fd, self.n * 32, self._exact_at)
                sigs[:] = all_sigs[list(rows)]
                exact = [all_exact[r * 32 : r * 32 + 32] for r in rows]
            else:
                for i, r in enumerate(rows):
                    sigs[i] = np.frombuffer(
                        os.pread(fd, self._sig_row, self._sigs_at + r * self._sig_row),
                        dtype=self.sig_dtype)
                    exact.append(os.pread(fd, 32, self._exact_at + r * 32))
        finally:
            os.close(fd)
        return exact, sigs

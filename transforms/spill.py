"""Spilled batches: a dedup run's scratch copy of what it knows of each document, on disk.

Dedup leaves each batch's signatures here instead of in the runner's memory (the DirectRunner
holds every shuffled collection in memory, at several times its bytes), so only bucket keys,
ids and locations cross a shuffle (transforms.dedup_beam). A store-wide run spills each row group
of the store's signature files the same way, as a batch of stored nodes (their ids are
`transforms.dedup.stored_node`s, their exact keys zero). A file is read by section or by row
with pread, never whole.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from transforms.signature_store import SignatureFileError

_SPILL_MAGIC = b"KURASPL1"
# `other`: 1 when the batch also holds each document's signature under the store's other
# shingle hash (transforms.signature_store), 0 otherwise.
_SPILL_HEADER = np.dtype([("n", "<u4"), ("num_perm", "<u4"), ("itemsize", "<u4"),
                          ("bands", "<u4"), ("other", "<u4"), ("pad", "<u4")])


def write_spilled_batch(path: Path, doc_ids: Sequence[str], exact: np.ndarray,
                        sigs: np.ndarray, band_keys: np.ndarray, file_of: np.ndarray,
                        other_sigs: np.ndarray | None = None) -> None:
    """One batch of signed documents on disk, laid out for reading a column or a few rows.

    Fixed-width sections, little-endian: band keys band-major (n x uint64 per band), exact keys
    (n x 32 bytes), signatures, signatures under the other shingle hash (when given), the
    signature file of each document (uint16), doc id offsets (uint32) and UTF-8 doc ids.
    Written to a temporary name and renamed: a reader sees the whole batch or nothing.
    """
    n, num_perm = sigs.shape
    encoded = [d.encode("utf-8") for d in doc_ids]
    offsets = np.zeros(n + 1, dtype="<u4")
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    has_other = other_sigs is not None
    if has_other and other_sigs.shape != sigs.shape:
        raise ValueError(f"other signatures {other_sigs.shape}, signatures {sigs.shape}")
    header = np.array([(n, num_perm, sigs.dtype.itemsize, band_keys.shape[1], int(has_other),
                        0)], dtype=_SPILL_HEADER)
    sig_dtype = sigs.dtype.newbyteorder("<")
    parts = [_SPILL_MAGIC, header.tobytes(),
             np.ascontiguousarray(band_keys.T, dtype="<u8").tobytes(),
             np.ascontiguousarray(exact, dtype=np.uint8).tobytes(),
             np.ascontiguousarray(sigs, dtype=sig_dtype).tobytes()]
    if has_other:
        parts.append(np.ascontiguousarray(other_sigs, dtype=sig_dtype).tobytes())
    parts += [np.ascontiguousarray(file_of, dtype="<u2").tobytes(),
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
        self.has_other = bool(header["other"])
        self.sig_dtype = np.dtype("<u4" if int(header["itemsize"]) == 4 else "<u8")
        self._sig_row = self.num_perm * self.sig_dtype.itemsize
        self._bands_at = len(head)
        self._exact_at = self._bands_at + self.bands * self.n * 8
        self._sigs_at = self._exact_at + self.n * 32
        self._other_at = self._sigs_at + self.n * self._sig_row
        self._files_at = self._other_at + (self.n * self._sig_row if self.has_other else 0)
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
        exact: list[bytes] = []
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if len(rows) * 8 >= self.n:  # many rows: one read of the section is cheaper
                all_exact = os.pread(fd, self.n * 32, self._exact_at)
                exact = [all_exact[r * 32 : r * 32 + 32] for r in rows]
            else:
                exact = [os.pread(fd, 32, self._exact_at + r * 32) for r in rows]
            sigs = self._signature_rows(fd, self._sigs_at, rows)
        finally:
            os.close(fd)
        return exact, sigs

    def other_signatures(self, rows: Sequence[int]) -> np.ndarray:
        """Signatures under the store's other shingle hash of the given rows, in that order."""
        if not self.has_other:
            raise SignatureFileError(f"{self.path}: the batch holds no other-hash signatures")
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return self._signature_rows(fd, self._other_at, rows)
        finally:
            os.close(fd)

    def _signature_rows(self, fd: int, at: int, rows: Sequence[int]) -> np.ndarray:
        sigs = np.empty((len(rows), self.num_perm), dtype=self.sig_dtype)
        if len(rows) * 8 >= self.n:
            whole = np.frombuffer(os.pread(fd, self.n * self._sig_row, at),
                                  dtype=self.sig_dtype).reshape(self.n, self.num_perm)
            sigs[:] = whole[list(rows)]
        else:
            for i, r in enumerate(rows):
                sigs[i] = np.frombuffer(os.pread(fd, self._sig_row, at + r * self._sig_row),
                                        dtype=self.sig_dtype)
        return sigs

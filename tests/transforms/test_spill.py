from __future__ import annotations

import numpy as np
import pytest

from transforms.signature_store import SignatureFileError
from transforms.spill import SpilledBatch, write_spilled_batch


@pytest.mark.parametrize("other", [False, True], ids=["one-hash", "two-hashes"])
@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_spilled_batch_gives_back_bands_rows_ids_and_files(scheme: str, other: bool,
                                                           tmp_path) -> None:
    rng = np.random.default_rng(11)
    ids = ["b", "é-文書", "a", "c" * 40]
    dtype = np.uint32 if scheme == "affine32" else np.uint64
    sigs = rng.integers(0, 2**32, (4, 64), dtype=np.uint64).astype(dtype)
    other_sigs = rng.integers(0, 2**32, (4, 64), dtype=np.uint64).astype(dtype) if other else None
    exact = rng.integers(0, 256, (4, 32), dtype=np.uint8)
    bands = rng.integers(0, 2**63, (4, 16), dtype=np.uint64)
    files = np.array([0, 3, 1, 3], dtype=np.uint16)
    write_spilled_batch(tmp_path / "x.spill", ids, exact, sigs, bands, files, other_sigs)
    batch = SpilledBatch(tmp_path / "x.spill")
    assert (batch.n, batch.num_perm, batch.bands, batch.has_other) == (4, 64, 16, other)
    assert batch.doc_ids() == ids
    assert np.array_equal(batch.band(5), bands[:, 5])
    assert np.array_equal(batch.signature_files(), files)
    for rows in ([2], [3, 0], [0, 1, 2, 3]):  # few rows (pread each) and many (one read)
        got_exact, got_sigs = batch.rows(rows)
        assert got_exact == [exact[r].tobytes() for r in rows]
        assert np.array_equal(got_sigs, sigs[rows]) and got_sigs.dtype == np.dtype(dtype)
        if other:
            assert np.array_equal(batch.other_signatures(rows), other_sigs[rows])
    if not other:
        with pytest.raises(SignatureFileError, match="no other-hash signatures"):
            batch.other_signatures([0])
    assert not list(tmp_path.glob("*.tmp"))


def test_other_files_are_not_read_as_spilled_batches(tmp_path) -> None:
    (tmp_path / "x.spill").write_bytes(b"not a batch at all, really")
    with pytest.raises(SignatureFileError, match="spilled batch"):
        SpilledBatch(tmp_path / "x.spill")

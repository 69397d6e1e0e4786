"""The store's MinHash signatures: one Parquet file set per corpus, read back for store-wide dedup.

A signature file holds the doc ids and signatures of the documents a corpus kept, sorted by
doc_id, with what a reader needs in its schema metadata (schemas.dedup.signatures_schema):
num_perm, seed, datasketch scheme, shingle size and `kura.minhash.hashfunc`, the shingle hash
the signatures were made with (schemas.dedup.ShingleHash). They load as datasketch
`LeanMinHash`es (`lean_minhashes`).

Stores of different Kura versions hold different shingle hashes: every file before
murmur3_utf32 holds "sha1_hash32" (a file without the key is one of those). Signatures only
compare under the same hash, so the rule for a run is, per stored file:

- a file of the run's own hash (`DedupConfig.shingle_hash`) is compared with the run's
  signatures;
- a file of another hash is compared with a second signature of each of the run's documents,
  made with that file's hash (`MinHasher` of `config_for_file`), and the clusters that touch
  such a stored document are judged on those second signatures (transforms.dedup).

The run's own signatures are stored with its own hash. So an old store keeps catching every
duplicate of what it holds; a run against it pays for the old hash once more until its older
corpora are onboarded again (then the store holds one hash); `[dedup] shingle_hash =
"sha1_hash32"` keeps a store on the old hash instead. Parameters other than the hash
(num_perm, seed, scheme, shingle size) must match: `read_signatures` refuses a file of others.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import get_args

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dedup import LEGACY_SHINGLE_HASH, DedupConfig, ShingleHash, signatures_schema

# Rows per row group of a signature file. The writer holds one row group, and store-wide dedup
# reads one at a time (`read_signature_row_group`): 8,192 rows (4 MB of signatures) cost about
# 90 MB less at peak than 65,536.
SIGNATURE_ROW_GROUP = 8_192
_HASHFUNC = b"kura.minhash.hashfunc"
_COMPARED = (b"kura.minhash.num_perm", b"kura.minhash.seed", b"kura.minhash.scheme",
             b"kura.minhash.shingle_size", _HASHFUNC)


class SignatureFileError(ValueError):
    """A stored signature file that cannot be compared with this run's signatures."""


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


def _metadata(path: Path) -> dict[bytes, bytes]:
    meta = pq.read_schema(path).metadata or {}
    if meta.get(b"kura.schema") != b"signatures":
        raise SignatureFileError(f"{path}: not a Kura signature file")
    return meta


def recorded_hash(path: Path) -> str:
    """The shingle hash a signature file's signatures were made with."""
    return _metadata(path).get(_HASHFUNC, LEGACY_SHINGLE_HASH.encode()).decode()


def config_for_file(config: DedupConfig, path: Path) -> DedupConfig:
    """`config` with the shingle hash of the stored file: how to sign a run to compare with it."""
    stored = recorded_hash(path)
    if stored == config.shingle_hash:
        return config
    if stored not in get_args(ShingleHash):
        raise SignatureFileError(f"{path}: signatures made with the unknown shingle hash "
                                 f"{stored!r}; a newer Kura wrote them")
    return config.model_copy(update={"shingle_hash": stored})


def _check_compatible(path: Path, meta: dict[bytes, bytes], config: DedupConfig | None) -> None:
    """Refuse a file that is not a signature file, or one made under other parameters."""
    if meta.get(b"kura.schema") != b"signatures":
        raise SignatureFileError(f"{path}: not a Kura signature file")
    if config is None:
        return
    expected = signatures_schema(config).metadata
    found = dict(meta)
    found.setdefault(_HASHFUNC, LEGACY_SHINGLE_HASH.encode())
    for key in _COMPARED:
        if found.get(key) != expected[key]:
            raise SignatureFileError(
                f"{path}: {key.decode()} is {found.get(key, b'?').decode()}, this run uses "
                f"{expected[key].decode()}; re-sign that corpus or match [dedup]")


def _ids_and_signatures(table: pa.Table, num_perm: int) -> tuple[list[str], np.ndarray]:
    doc_ids = table.column("doc_id").to_pylist()
    flat = table.column("signature").combine_chunks().flatten().to_numpy()
    return doc_ids, flat.reshape(-1, num_perm) if doc_ids else flat.reshape(0, num_perm)


def read_signatures(path: Path, config: DedupConfig | None = None) -> tuple[list[str], np.ndarray]:
    """Doc ids and signatures of one stored file; refuses a file made under other parameters."""
    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    _check_compatible(path, meta, config)
    return _ids_and_signatures(table, int(meta[b"kura.minhash.num_perm"]))


def signature_row_groups(path: Path) -> int:
    """How many row groups a signature file has: the unit a store-wide dedup reads at once."""
    return pq.ParquetFile(path).num_row_groups


def read_signature_row_group(path: Path, index: int,
                             config: DedupConfig | None = None) -> tuple[list[str], np.ndarray]:
    """Doc ids and signatures of one row group of a stored file (at most SIGNATURE_ROW_GROUP
    rows, so a reader holds no more than that); refuses a file made under other parameters."""
    parquet = pq.ParquetFile(path)
    meta = parquet.schema_arrow.metadata or {}
    _check_compatible(path, meta, config)
    return _ids_and_signatures(parquet.read_row_group(index),
                               int(meta[b"kura.minhash.num_perm"]))


def lean_minhashes(path: Path, config: DedupConfig | None = None) -> Iterator[tuple[str, object]]:
    """(doc_id, datasketch LeanMinHash) for every stored signature of one file."""
    from datasketch import LeanMinHash

    meta = _metadata(path)
    seed = int(meta.get(b"kura.minhash.seed", b"1"))
    scheme = meta.get(b"kura.minhash.scheme", b"affine32").decode()
    doc_ids, sigs = read_signatures(path, config)
    for doc_id, sig in zip(doc_ids, sigs, strict=True):
        yield doc_id, LeanMinHash(seed=seed, hashvalues=sig, scheme=scheme)

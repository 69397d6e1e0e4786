"""The trainer's API: a certified release as a `pyarrow.dataset.Dataset`.

    from lineage.certified import open_release
    dataset = open_release("kura-store", "2026-q1", trust_root="root.pub.pem")
    for batch in dataset.to_batches(columns=["doc_id", "text"]): ...

`open_release` needs a pinned root (`trust_root`, else KURA_TRUST_ROOT; never the store's own).
It verifies the store as `audit verify` does and the release's record against that root (see
lineage/release.py), then reads every shard's
bytes once, checks their sha256 against the certified digest, and builds the dataset over those
in-memory bytes. A file changed on disk after the check is never read again, so no row of an
unverified shard can come out of the dataset. Shards of schema version 1 (`pii` as a map) are
read in the version 2 shape (a list of {entity, count} structs): the dataset's schema says so
and Arrow casts each v1 fragment as it is scanned, so a release mixing both reads as one.
The cost is memory: the release's Parquet bytes
(compressed) stay in memory while the dataset lives; for releases larger than memory, `kura pull`
them and read the pulled copy.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from lineage.policy import TrustRoot
from lineage.release import (
    ReleaseVerificationError,
    read_certified_shard,
    verify_release,
    withdrawn_note,
)
from schemas.records import upgraded_schema

log = logging.getLogger(__name__)


class CertifiedReadError(ReleaseVerificationError):
    """A release, or one of its shards, that fails verification: nothing of it is returned."""


def open_release(
    store: Path | str, name: str, trust_root: TrustRoot | None = None
) -> ds.Dataset:
    """The rows of every shard of release `name`, verified; raises CertifiedReadError (one line
    naming the record, key or shard at fault) if anything fails. `trust_root`: the root public
    key (PEM file) you pinned, else KURA_TRUST_ROOT; without either, UnpinnedRootError (a
    ReleaseError) saying how to pin."""
    store = Path(store)
    try:
        release = verify_release(store, name, trust_root)
        verified = [read_certified_shard(store, release, shard) for shard in release.shards]
    except ReleaseVerificationError as exc:
        raise CertifiedReadError(str(exc)) from None
    parquet = ds.ParquetFileFormat()
    fragments = [parquet.make_fragment(pa.BufferReader(data)) for data in verified]
    # Footer metadata differs per shard (version, corpus license); the dataset's schema is the
    # columns alone, with a v1 `pii` map read as the v2 list of structs.
    schema = pa.unify_schemas([upgraded_schema(f.physical_schema.remove_metadata())
                               for f in fragments])
    if (note := withdrawn_note(release)) is not None:
        log.warning(note)
    log.info("opened release %s: %d verified shards, %d bytes", name, len(fragments),
             sum(len(d) for d in verified))
    return ds.FileSystemDataset(fragments, schema, parquet)

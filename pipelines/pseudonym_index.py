"""The pseudonym index: for each shard of a pseudonym-mode corpus, one Parquet file
pseudonyms/<corpus>/<shard file> of (token_sha256, doc_id) rows, the sha256 of every `<ENTITY_hex>`
token in a document's text (transforms/pseudonym_tokens.py): hashes only, no text, no token.

Written for each new shard after validation (into the run's staging, so it is published with
the run, `index_run`), and built lazily by `kura forget` for any current shard without one or
with one made from other bytes (`lookup`). The index is derived data, not a record: nothing
signs it, a stale file is rebuilt from the shard, and `kura gc` drops the files of shards that
are no longer current (`prune_index`).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lineage.attest import bare_sha256
from schemas.manifest import Manifest
from schemas.run import RunSummary
from schemas.store import StoreLayout
from transforms.pseudonym_tokens import token_hashes

log = logging.getLogger(__name__)

INDEX_SCHEMA = pa.schema(
    [pa.field("token_sha256", pa.string(), nullable=False),
     pa.field("doc_id", pa.string(), nullable=False)],
    metadata={b"kura.schema": b"pseudonym-index", b"kura.index_version": b"1"},
)
SHARD_KEY = b"kura.shard"
SHARD_SHA256_KEY = b"kura.shard_sha256"
_SHARDS = "shards"


def index_path(store_root: Path, shard: str) -> Path:
    """Where the index of shard `shards/<corpus>/<file>` lives."""
    parts = PurePosixPath(shard).parts
    if len(parts) != 3 or parts[0] != _SHARDS:
        raise ValueError(f"{shard}: not a shard path (shards/<corpus>/<file>)")
    return StoreLayout(Path(store_root)).pseudonyms(parts[1]) / parts[2]


def index_table(doc_ids: Iterable[str], texts: Iterable[str], shard: str, sha256: str
                ) -> pa.Table:
    """The index rows of one shard, sorted so the same shard gives the same file (pure)."""
    rows = sorted({(h, doc_id) for doc_id, text in zip(doc_ids, texts, strict=True)
                   for h in token_hashes(text)})
    metadata = {**(INDEX_SCHEMA.metadata or {}), SHARD_KEY: shard.encode(),
                SHARD_SHA256_KEY: bare_sha256(sha256).encode()}
    return pa.table({"token_sha256": [r[0] for r in rows], "doc_id": [r[1] for r in rows]},
                    schema=INDEX_SCHEMA.with_metadata(metadata))


def build_index(root: Path, shard: str, sha256: str, target_root: Path | None = None,
                kura_version: str = "") -> Path:
    """Read shard `shard` under `root` and write its index under `target_root` (default:
    `root`); returns the index file."""
    table = pq.read_table(Path(root) / shard, columns=["doc_id", "text"])
    index = index_table(table.column("doc_id").to_pylist(), table.column("text").to_pylist(),
                        shard, sha256)
    path = index_path(target_root or root, shard)
    if kura_version:
        index = index.replace_schema_metadata({**(index.schema.metadata or {}),
                                               b"kura.version": kura_version.encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # never read as an index
    try:
        pq.write_table(index, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def index_run(staging: Path, summary: RunSummary, manifest: Manifest) -> list[Path]:
    """Index every shard a validated run staged, if its corpus is in pseudonym mode (the index
    is published with the run); quarantined shards are never released, so never indexed."""
    if manifest.pii.mode != "pseudonym":
        return []
    return [build_index(staging, shard.path, shard.sha256, kura_version=summary.kura_version)
            for shard in summary.shards if PurePosixPath(shard.path).parts[0] == _SHARDS]


def _indexed_sha256(path: Path) -> str | None:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = metadata.get(SHARD_SHA256_KEY)
    return value.decode() if value else None


def lookup(store_root: Path, shards: Mapping[str, str], hashes: Collection[str]
           ) -> tuple[dict[str, list[str]], list[str]]:
    """The doc_ids of each shard (path -> attested sha256) whose text holds any of `hashes`;
    builds the index of a shard that has none, or one made from other bytes. Returns (shard ->
    doc_ids, the shards whose index was built now)."""
    store_root = Path(store_root)
    wanted = pa.array(sorted(set(hashes)), pa.string())
    found: dict[str, list[str]] = {}
    built: list[str] = []
    for shard, sha256 in sorted(shards.items()):
        path = index_path(store_root, shard)
        if _indexed_sha256(path) != bare_sha256(sha256):
            build_index(store_root, shard, sha256)
            built.append(shard)
        table = pq.read_table(path, filters=pc.is_in(pc.field("token_sha256"),
                                                     value_set=wanted))
        doc_ids = sorted(set(table.column("doc_id").to_pylist()))
        if doc_ids:
            found[shard] = doc_ids
    return found, built


def prune_index(store_root: Path, current: Mapping[str, Collection[str]]) -> list[str]:
    """Remove the index files of shards that are not current (superseded or withdrawn): no
    lookup reads them, and a withdrawn person's hashes should not outlive the shard."""
    base = Path(store_root) / "pseudonyms"
    removed = []
    if not base.is_dir():
        return removed
    for path in sorted(base.glob("*/*.parquet")):
        corpus = path.parent.name
        if f"{_SHARDS}/{corpus}/{path.name}" not in current.get(corpus, ()):
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(store_root)))
    return removed

"""A tiny real store for lineage tests: keys, a few Parquet shards and their run summary.

Every test gets its own Kura config folder (where `init` puts the root private key, outside the
store) and no KURA_TRUST_ROOT from the environment; `root_key` is the root private key's path
and `pinned_root` the root public key a reader pins, copied out of the store as a user would.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lineage.keys import SiteContext, ensure_local_site
from schemas.manifest import Location
from schemas.run import Counts, InputFile, RunSummary, StoredFile

JP_TOKYO = Location(provider="onprem", country="JP", region="jp-tokyo")
GCP_TOKYO = Location(provider="gcp", country="JP", region="asia-northeast1")


def write_stored_file(store: Path, rel: str, table: pa.Table) -> StoredFile:
    """Write `table` at `rel` in the store; its run-summary entry."""
    path = store / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    data = path.read_bytes()
    return StoredFile(path=rel, sha256=hashlib.sha256(data).hexdigest(), rows=table.num_rows,
                      bytes=len(data))


def write_run(
    store: Path,
    run_id: str = "run-1",
    shards: int = 3,
    rows_per_shard: int = 4,
    corpus: str = "acme-news",
    source_location: Location = GCP_TOKYO,
) -> RunSummary:
    """Write `shards` tiny shards and a reject file; return the run's summary (balanced)."""
    shard_files = []
    for n in range(shards):
        ids = [f"{run_id}-{n}-{i}" for i in range(rows_per_shard)]
        table = pa.table({"doc_id": ids, "text": [f"文書{i}です。" for i in range(rows_per_shard)]})
        rel = f"shards/{corpus}/{run_id}-part-{n:05d}.parquet"
        shard_files.append(write_stored_file(store, rel, table))
    rejects = [write_stored_file(store, f"rejects/{corpus}/{run_id}-rejects.parquet",
                                 pa.table({"step": ["quality.length"], "reason": ["{}"]}))]
    written = shards * rows_per_shard
    return RunSummary(
        run_id=run_id,
        corpus_id=corpus,
        member="acme",
        manifest_sha256="0" * 64,
        kura_version="0.1.0",
        runner="direct",
        workers=1,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:01:00Z",
        parameters={"steps": {"normalize": {"version": "1", "parameters": {"nfc": True}}}},
        inputs=[
            InputFile(uri=f"gs://acme-raw-tokyo/{corpus}/a.jsonl", sha256="a" * 64, bytes=100,
                      encoding="utf-8", records=written + 3, status="ok",
                      location=source_location),
        ],
        counts=Counts(read=written + 3, written=written, rejected={"quality.length": 1},
                      duplicates={"exact": 2}),
        shards=shard_files,
        rejects=rejects,
        output_location=JP_TOKYO,
    )


@pytest.fixture(autouse=True)
def _own_config_dir(tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("KURA_CONFIG_DIR", str(tmp_path_factory.mktemp("kura-config")))
    monkeypatch.delenv("KURA_TRUST_ROOT", raising=False)


@pytest.fixture
def site(tmp_path: Path) -> SiteContext:
    return ensure_local_site(tmp_path / "store")


@pytest.fixture
def root_key(site: SiteContext) -> Path:
    assert site.root_key_path is not None
    return site.root_key_path


@pytest.fixture
def pinned_root(site: SiteContext, tmp_path: Path) -> Path:
    pinned = tmp_path / "pinned-root.pub.pem"
    pinned.write_text(site.policy.root_keys[0].public_key)
    return pinned


@pytest.fixture
def store(site: SiteContext) -> Path:
    return site.store_root


@pytest.fixture
def pin_env(pinned_root: Path, monkeypatch) -> Path:
    """Readers of this test pin the store's root through KURA_TRUST_ROOT, as a trainer would."""
    monkeypatch.setenv("KURA_TRUST_ROOT", str(pinned_root))
    return pinned_root

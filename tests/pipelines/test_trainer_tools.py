"""Issue 13, trainer-ready output, end to end on the demo: a pulled release loads with the tools
trainers already use (pyarrow.dataset, HF datasets offline, DuckDB) with every column, its
dataset card parses back, a restricted corpus needs its flag, v1 shards still read, and no
steward's absolute path reaches a shard, a reject, a duplicate, the run summary or the log."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import typer
import yaml
from typer.testing import CliRunner

from lineage.certified import open_release
from lineage.release import read_release
from pipelines.cli_release import pull, release_app
from schemas.records import DOCUMENT_SCHEMA, PII_COUNTS_TYPE
from tests.conftest import DemoStore
from tests.lineage.test_release_support import record_document_run

pytestmark = pytest.mark.slow

app = typer.Typer()
app.add_typer(release_app, name="release")
app.command("pull")(pull)


def _kura(*args: str, trust_root: Path) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"], env={"KURA_TRUST_ROOT": str(trust_root)})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_pulled_demo_release_loads_in_pyarrow_hf_datasets_and_duckdb(
        demo_store: DemoStore, tmp_path: Path, monkeypatch) -> None:
    dest = demo_store.pulled  # what `kura demo` pulled
    release = read_release(demo_store.store, demo_store.release)
    rows = sum(s.rows for s in release.shards)
    assert rows > 0
    assert sorted(p.name for p in dest.iterdir()) == ["__kura", "acme-business-docs"]

    table = ds.dataset(dest).to_table()
    assert table.num_rows == rows and table.schema.names == DOCUMENT_SCHEMA.names
    assert table.schema.field("pii").type == PII_COUNTS_TYPE

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    loaded = datasets.load_dataset("parquet", data_dir=str(dest), split="train",
                                   cache_dir=str(tmp_path / "hf-cache"))
    assert loaded.num_rows == rows and loaded.column_names == DOCUMENT_SCHEMA.names
    pii = [cell for cell in loaded["pii"] if cell]
    assert pii and all(set(entry) == {"entity", "count"} for cell in pii for entry in cell)

    found = duckdb.sql(f"SELECT * FROM read_parquet('{dest}/**/*.parquet')")
    assert found.columns == DOCUMENT_SCHEMA.names
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{dest}/**/*.parquet')").fetchall() \
        == [(rows,)]

    card = (dest / "__kura" / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(re.match(r"^---\n(.*?)\n---\n", card, re.S).group(1))
    assert (meta["license"], meta["license_name"]) == ("other", "consortium-internal")
    assert meta["language"] == ["ja"] and meta["size_categories"] == ["n<1K"]
    assert meta["pretty_name"] == f"Kura release {demo_store.release}"
    kura = meta["kura"]
    assert (kura["release"], kura["logIndex"], kura["envelopeSha256"], kura["rows"]) == (
        demo_store.release, release.log_index, release.envelope_digest, rows)
    assert kura["corpora"] == [{"corpusId": "acme-business-docs", "member": "acme",
                                "license": "consortium-internal",
                                "sensitivity": "confidential", "factsFrom": "shard-metadata"}]
    assert f"kura release show {demo_store.release} --trust-root" in card
    for column in DOCUMENT_SCHEMA.names:
        assert f"| `{column}` |" in card


def test_restricted_data_and_v1_shards_in_a_copy_of_the_demo_store(
        demo_store: DemoStore, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store.store, store)
    record_document_run(store, "acme-hr", rows=3, run_id="run-hr", sensitivity="restricted")
    record_document_run(store, "legacy-news", rows=4, run_id="run-old", v1=True)
    root = demo_store.trust_root

    refused = CliRunner().invoke(app, ["release", "create", "r2", "--store", str(store)],
                                 env={"KURA_TRUST_ROOT": str(root)})
    assert refused.exit_code == 2
    assert "corpus acme-hr is restricted: add --allow-restricted acme-hr" in refused.stderr
    assert not (store / "releases" / "r2.json").exists()

    created = _kura("release", "create", "r2", "--allow-restricted", "acme-hr",
                    "--store", str(store), trust_root=root)
    facts = {f["corpusId"]: f for f in created["corpusFacts"]}
    assert facts["acme-hr"]["allowRestricted"] is True
    assert facts["legacy-news"]["factsFrom"] == "store-manifest"
    assert facts["acme-business-docs"]["factsFrom"] == "shard-metadata"
    shown = _kura("release", "show", "r2", "--store", str(store), trust_root=root)
    assert shown["verified"] and shown["corpusFacts"] == created["corpusFacts"]

    dataset = open_release(store, "r2", trust_root=root)  # v1 and v2 shards, one dataset
    demo_rows = sum(s.rows for s in read_release(store, demo_store.release).shards)
    assert dataset.count_rows() == demo_rows + 3 + 4
    assert dataset.schema.field("pii").type == PII_COUNTS_TYPE
    legacy = dataset.to_table(filter=ds.field("corpus_id") == "legacy-news")
    assert legacy.num_rows == 4 and legacy.schema.field("pii").type == PII_COUNTS_TYPE

    pulled = _kura("pull", "r2", "--dest", str(tmp_path / "r2"), "--store", str(store),
                   trust_root=root)
    assert pulled["v1Shards"] == 1


def _log_statements(store: Path) -> list[dict]:
    lines = (store / "lineage" / "log.jsonl").read_text().splitlines()
    return [json.loads(base64.b64decode(json.loads(line)["payload"])) for line in lines]


def test_the_demo_run_records_source_uris_relative_to_its_root(demo_store: DemoStore) -> None:
    store, corpus = demo_store.store, demo_store.corpus_dir

    def relative_and_real(uris: set[str]) -> None:
        assert uris
        for uri in uris:
            assert not uri.startswith(("file:", "/")) and str(corpus) not in uri, uri
            assert (corpus / uri).is_file(), uri

    for kind in ("shards", "rejects", "duplicates"):
        files = list((store / kind).glob("*/*.parquet"))
        assert files, kind
        relative_and_real({uri for f in files
                           for uri in pq.read_table(f, columns=["source_uri"])
                           .column("source_uri").to_pylist()})
    [summary] = [json.loads(p.read_text()) for p in (store / "runs").glob("*.json")]
    relative_and_real({i["uri"] for i in summary["inputs"]}
                      | {s["uri"] for s in summary["sources"]})
    inputs, dependencies = set(), set()
    for statement in _log_statements(store):
        predicate = statement.get("predicate") or {}
        inputs |= {i["uri"] for i in predicate.get("inputs") or []}
        build = predicate.get("buildDefinition") or {}
        dependencies |= {d["uri"] for d in build.get("resolvedDependencies") or []
                         if not d["uri"].startswith("pkg:")}
    relative_and_real(inputs)
    relative_and_real(dependencies)
    assert str(corpus) not in (store / "lineage" / "log.jsonl").read_text()

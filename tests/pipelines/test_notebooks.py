"""The audit, steward and trainer notebooks, executed cell by cell with nbclient on the demo store.

One kernel (ipykernel, installed as a kernel spec of THIS interpreter into a private
JUPYTER_PATH) runs the three notebooks one after the other; each starts from an empty namespace
(`%reset -f`), so none can lean on another's variables, while the imports stay warm.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pyarrow.parquet as pq
import pytest
from nbformat.v4 import new_code_cell

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ("audit", "steward", "trainer")
KERNEL = "kura-test-python"
CELL_TIMEOUT_S = 120


def test_committed_notebooks_are_valid_and_hold_no_outputs() -> None:
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert code, name
        for cell in code:
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: {cell.id}"
        source = "\n".join(cell.source for cell in code)
        assert 'os.environ.get("KURA_STORE"' in source, name
        assert "log line" not in source.lower(), name  # positions are 0-based log indexes


@pytest.fixture(scope="module")
def kernel(demo_store, tmp_path_factory) -> Iterator[object]:
    """A running kernel of this venv's python, with KURA_STORE and KURA_TRUST_ROOT set."""
    from ipykernel.kernelspec import install
    from jupyter_client import KernelManager

    prefix = tmp_path_factory.mktemp("jupyter")
    install(kernel_name=KERNEL, prefix=str(prefix))
    spec = json.loads((prefix / "share/jupyter/kernels" / KERNEL / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    work = tmp_path_factory.mktemp("notebook-cwd")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        env.setenv("IPYTHONDIR", str(prefix / "ipython"))
        env.setenv("HF_HOME", str(prefix / "huggingface"))
        env.setenv("HF_DATASETS_OFFLINE", "1")
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("KURA_STORE", str(demo_store.store))
        env.setenv("KURA_TRUST_ROOT", str(demo_store.trust_root))
        env.setenv("TMPDIR", str(work))  # the trainer notebook pulls into a temporary folder
        env.delenv("KURA_CORPUS", raising=False)
        km = KernelManager(kernel_name=KERNEL)
        km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(work))
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


def _execute(km, name: str) -> str:
    """Run a notebook in the shared kernel; everything its cells printed or displayed, as text
    (an error in any cell fails the test with its traceback)."""
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.cells.insert(0, new_code_cell("%reset -f"))
    NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, allow_errors=False).execute()
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            elif "data" in output:
                texts.append(output.data.get("text/plain", ""))
    return "\n".join(texts)


@pytest.mark.slow
def test_audit_notebook_answers_from_the_verified_catalog(kernel, demo_store) -> None:
    out = _execute(kernel, "audit")
    log_size = len((demo_store.store / "lineage" / "log.jsonl").read_bytes().splitlines())
    assert re.search(rf"{log_size} log records verified in [\d.]+ s against trust anchor "
                     r"sha256:[0-9a-f]{64} \(pinned\)", out)
    for view in ("records", "runs", "sources", "shards", "releases", "rejects", "duplicates",
                 "residency"):
        assert re.search(rf"^{view}\s+\d+ rows", out, re.MULTILINE), view
    assert re.search(r"<- residency attestation at log index \d+, inclusion proof verified in "
                     rf"the checkpoint of tree size {log_size}", out)
    assert f"-> release {demo_store.release}, certified by" in out
    assert re.search(r"^source \S+\n  -> run \S+ at site jp-local-1", out, re.MULTILINE)
    assert "claims outside Japan: 0" in out
    release = json.loads((demo_store.store / "releases" / f"{demo_store.release}.json")
                         .read_text())
    assert re.search(rf"release {demo_store.release}: \d+ source file\(s\)", out)
    assert re.search(r"\d+ reject\(s\) of \S+:\n\s+locator\s+step\s+reason", out)
    assert re.search(r"\d+ document\(s\) of \S+ are in shards", out)
    assert (f"log index {release['logIndex']} in the checkpoint of tree size {log_size}") in out
    assert (f"verified independently: log index {release['logIndex']} is leaf") in out


@pytest.mark.slow
def test_steward_notebook_shows_the_latest_run(kernel, demo_store) -> None:
    out = _execute(kernel, "steward")
    summary = json.loads(max((demo_store.store / "runs").glob("*.json")).read_text())
    assert f"latest run {summary['run_id']}: corpus {summary['corpus_id']}" in out
    assert "conservation (read = written + rejected + duplicates): holds" in out
    assert re.search(rf"\bread\s+{summary['counts']['read']}\b", out)
    for step, count in summary["counts"]["rejected"].items():
        assert re.search(rf"{re.escape(step)}\s+{count}\b", out), step
    examples = out.split("examples (two per step):\n")[1].splitlines()
    assert examples[0].split() == ["source_uri", "locator", "step", "reason"]  # never raw
    assert len(examples) > len(summary["counts"]["rejected"])
    empty = [s for s in summary["sources"] if s["written"] == 0 and not any(
        s["duplicates"].values())]
    assert f"sources that yielded nothing: {len(empty)}" in out
    clusters = {(d["kind"], d["cluster_id"]) for f in summary["duplicates"]
                for d in pq.read_table(demo_store.store / f["path"]).to_pylist()}
    assert f"{len(clusters)} clusters; examples:" in out
    assert re.search(r"kind\s+kept_doc_id\s+removed\s+min_similarity\s+removed_doc_ids", out)
    for entity, count in summary["pii"].items():
        assert re.search(rf"{entity}\s+{count}\b", out), entity
    passed = sum(1 for v in summary["validation"].values() if v["passed"])
    assert f"shard suites: {passed} passed, {len(summary['validation']) - passed} failed" in out
    assert "tables only" in out or "Figure" in out


@pytest.mark.slow
def test_trainer_notebook_reads_a_verified_release_with_every_tool(kernel, demo_store) -> None:
    out = _execute(kernel, "trainer")
    release = json.loads((demo_store.store / "releases" / f"{demo_store.release}.json").read_text())
    rows = sum(s["rows"] for s in release["shards"])
    assert f"release {demo_store.release} verified: {rows} documents" in out
    assert f"{rows} rows x " in out
    assert "num_rows: " + str(rows) in out
    assert "pii feature: List(" in out
    assert re.search(rf"duckdb: [\w-]+: {rows} documents", out)
    assert f"pulled {len(release['shards'])} verified shard(s)" in out
    assert f"pyarrow.dataset.dataset(DEST): {rows} rows" in out
    assert f"datasets.load_dataset('parquet', data_dir=DEST): {rows} rows" in out
    assert f"duckdb read_parquet(DEST/**/*.parquet): {rows} rows" in out

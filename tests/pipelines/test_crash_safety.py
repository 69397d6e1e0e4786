"""The store survives kill -9, concurrent runs and a user's mistakes: nothing lost, nothing stuck.

`kura onboard` and `kura release create` run as the user runs them, in subprocesses. Kills come
two ways: from outside at many moments of a run (reading, dedup, writing, validating,
publishing), and from inside at the exact steps where a half-done write could hurt (between
moving files and signing; after a log line, before its checkpoint; after a release's record,
before its file) by a driver that patches that one step to SIGKILL its own process.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.democorpus import generate_demo_corpus

pytestmark = pytest.mark.slow

DOCUMENTS = 80


def kura(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600
         ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def new_store(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "store"
    done = kura("keys", "init", "--store", str(store), "--site", "tokyo-1", "--country", "JP",
                "--region", "jp-tokyo", cwd=folder)
    assert done.returncode == 0, done.stderr
    return store


def shard_digests(store: Path, corpus: str) -> dict[str, str]:
    folder = store / "shards" / corpus
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("*.parquet"))}


def latest_summary(store: Path, corpus: str) -> dict:
    summaries = [json.loads(p.read_text()) for p in (store / "runs").glob("*.json")]
    mine = sorted((s for s in summaries if s["corpus_id"] == corpus),
                  key=lambda s: s["finished_at"])
    return mine[-1]


def counts(store: Path, corpus: str) -> dict:
    return latest_summary(store, corpus)["counts"]


def verify(store: Path, folder: Path) -> None:
    checked = kura("audit", "verify", "--store", str(store), cwd=folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """Corpus A (the demo generator's) and corpus B: half of A's JSONL lines again, plus its own."""
    base = tmp_path_factory.mktemp("corpora")
    a = generate_demo_corpus(base / "a", documents=DOCUMENTS)
    b_dir = base / "b"
    (b_dir / "data").mkdir(parents=True)
    shared = []
    for path in sorted((a.manifest_path.parent / "jsonl").glob("*.jsonl")):
        for line in path.read_bytes().splitlines()[::2]:
            try:
                shared.append(json.loads(line)["text"])
            except (ValueError, KeyError, TypeError):
                continue
    own = [f"第{i}回の定例報告です。今月は新しい検査装置の導入を進め、現場の作業手順を改めて"
           f"見直しました。来月は教育計画{i}号を実施する予定です。" for i in range(20)]
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                   for t in [*shared, *own] if isinstance(t, str))
    (b_dir / "data" / "b.jsonl").write_text(body, encoding="utf-8")
    manifest = b_dir / "manifest.toml"
    manifest.write_text(textwrap.dedent("""\
        [corpus]
        id = "beta-reports"
        member = "beta"
        license = "consortium-internal"
        sensitivity = "internal"

        [[sources]]
        uri = "data/b.jsonl"
        format = "jsonl"
        location = { provider = "onprem", country = "JP", region = "jp-tokyo" }
        """), encoding="utf-8")
    return {"a": a.manifest_path, "b": manifest}


@pytest.fixture(scope="module")
def baseline(corpora, tmp_path_factory) -> dict:
    """Uninterrupted runs: A alone, then B after A (what every crash must still end in)."""
    folder = tmp_path_factory.mktemp("baseline")
    store = new_store(folder)
    started = time.monotonic()
    first = kura("onboard", str(corpora["a"]), "--store", str(store), cwd=folder)
    seconds = time.monotonic() - started
    assert first.returncode in (0, 4), first.stderr  # the demo corpus holds an empty file
    a_corpus = latest_summary(store, "acme-business-docs")["corpus_id"]
    second = kura("onboard", str(corpora["b"]), "--store", str(store), cwd=folder)
    assert second.returncode == 0, second.stderr
    return {"seconds": seconds, "a": shard_digests(store, a_corpus),
            "a_counts": counts(store, a_corpus), "b": shard_digests(store, "beta-reports"),
            "b_counts": counts(store, "beta-reports"), "corpus": a_corpus}


def assert_recovered(store: Path, folder: Path, corpora, baseline) -> None:
    """After a crash: the next runs give the uninterrupted runs' shards and counts."""
    again = kura("onboard", str(corpora["a"]), "--store", str(store), cwd=folder)
    assert again.returncode in (0, 4), again.stderr
    assert "Traceback" not in again.stderr
    assert shard_digests(store, baseline["corpus"]) == baseline["a"]
    assert counts(store, baseline["corpus"]) == baseline["a_counts"]
    assert not (store / "staging").exists() or not any((store / "staging").iterdir())
    verify(store, folder)


@pytest.mark.parametrize("fraction", [0.15, 0.35, 0.55, 0.75, 0.9])
def test_kill_9_at_any_moment_of_an_onboard_changes_nothing_later(
        fraction, corpora, baseline, tmp_path) -> None:
    store = new_store(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "onboard", str(corpora["a"]), "--store",
         str(store)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(baseline["seconds"] * fraction)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert_recovered(store, tmp_path, corpora, baseline)
    if fraction == 0.55:  # and a second, overlapping corpus loses nothing afterwards
        b = kura("onboard", str(corpora["b"]), "--store", str(store), cwd=tmp_path)
        assert b.returncode == 0, b.stderr
        assert shard_digests(store, "beta-reports") == baseline["b"]
        assert counts(store, "beta-reports") == baseline["b_counts"]


DRIVER = """
import importlib, os, signal, sys
module_name, _, path = {target!r}.partition(":")
owner = importlib.import_module(module_name)
*parents, name = path.split(".")
for parent in parents:
    owner = getattr(owner, parent)

def dying(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

setattr(owner, name, dying)
from pipelines.cli import main
sys.argv = ["kura", *sys.argv[1:]]
main()
"""


def killed_at(folder: Path, target: str, args: list[str]) -> None:
    """Run `kura ARGS` with `target` ("module:function" or "module:Class.method") patched to
    SIGKILL the process the moment it is called."""
    script = folder / "driver.py"
    script.write_text(DRIVER.format(target=target))
    result = subprocess.run([sys.executable, str(script), *args], cwd=folder,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.parametrize("target", [
    "pipelines.store:_replace_signatures",  # files moved into place, signatures not yet
    "pipelines.store:record_run",  # published files, nothing signed yet
    "lineage.log:TransparencyLog.checkpoint_locked",  # log lines appended, no checkpoint
])
def test_kill_9_while_publishing_is_completed_by_the_next_command(
        target, corpora, baseline, tmp_path) -> None:
    store = new_store(tmp_path)
    killed_at(tmp_path, target, ["onboard", str(corpora["a"]), "--store", str(store)])
    repaired = kura("store", "repair", "--store", str(store), cwd=tmp_path)
    assert repaired.returncode == 0, repaired.stderr
    assert "interrupted" in repaired.stderr
    verify(store, tmp_path)
    assert shard_digests(store, baseline["corpus"]) == baseline["a"]
    assert_recovered(store, tmp_path, corpora, baseline)


@pytest.fixture
def onboarded_store(corpora, tmp_path) -> Path:
    store = new_store(tmp_path)
    done = kura("onboard", str(corpora["a"]), "--store", str(store), cwd=tmp_path)
    assert done.returncode in (0, 4), done.stderr
    return store


def test_release_create_killed_before_its_checkpoint_completes_on_rerun(
        onboarded_store, tmp_path) -> None:
    store = onboarded_store
    killed_at(tmp_path, "lineage.log:TransparencyLog.checkpoint_locked",
              ["release", "create", "r1", "--store", str(store)])
    assert not (store / "releases" / "r1.json").exists()
    again = kura("release", "create", "r1", "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "release r1: completed" in again.stdout
    verify(store, tmp_path)
    assert kura("release", "create", "r2", "--store", str(store), cwd=tmp_path).returncode == 0


def test_release_create_killed_mid_line_leaves_a_store_the_next_command_repairs(
        onboarded_store, tmp_path) -> None:
    store = onboarded_store
    script = tmp_path / "driver.py"  # the log's append writes half its line, then dies
    script.write_text(textwrap.dedent("""
        import os, signal, sys
        import lineage.log as target
        original_open = open

        class Dying:
            def __init__(self, handle):
                self.handle = handle
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                return False
            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                os.fsync(self.handle.fileno())
                os.kill(os.getpid(), signal.SIGKILL)

        def dying_open(path, mode="r", *args, **kwargs):
            handle = original_open(path, mode, *args, **kwargs)
            return Dying(handle) if str(path).endswith("log.jsonl") and "a" in mode else handle

        target.open = dying_open
        from pipelines.cli import main
        sys.argv = ["kura", *sys.argv[1:]]
        main()
        """))
    result = subprocess.run([sys.executable, str(script), "release", "create", "r1", "--store",
                             str(store)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == -signal.SIGKILL, result.stderr
    again = kura("release", "create", "r1", "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "incomplete last line" in again.stderr
    verify(store, tmp_path)


def test_concurrent_overlapping_onboards_equal_the_same_onboards_in_sequence(
        corpora, baseline, tmp_path) -> None:
    store = new_store(tmp_path)
    runs = [subprocess.Popen([sys.executable, "-m", "pipelines.cli", "onboard",
                              str(corpora[name]), "--store", str(store)], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("a", "b")]
    outs = [run.communicate(timeout=900) for run in runs]
    assert [r.returncode in (0, 4) for r in runs] == [True, True], outs
    order = sorted(["a", "b"], key=lambda n: latest_summary(
        store, baseline["corpus"] if n == "a" else "beta-reports")["started_at"])
    sequential = new_store(tmp_path / "sequential")
    for name in order:
        kura("onboard", str(corpora[name]), "--store", str(sequential), cwd=tmp_path)
    for corpus in (baseline["corpus"], "beta-reports"):
        assert shard_digests(store, corpus) == shard_digests(sequential, corpus)
        assert counts(store, corpus) == counts(sequential, corpus)
    # Nothing was certified twice: no text is in both corpora's shards.
    texts = [set(pq.read_table(p, columns=["text"]).column("text").to_pylist())
             for corpus in (baseline["corpus"], "beta-reports")
             for p in (store / "shards" / corpus).glob("*.parquet")]
    assert not set.intersection(*texts) if len(texts) == 2 else True
    verify(store, tmp_path)


def test_another_member_cannot_take_over_a_corpus_id(corpora, tmp_path) -> None:
    store = new_store(tmp_path)
    first = kura("onboard", str(corpora["b"]), "--store", str(store), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = shard_digests(store, "beta-reports")
    other = corpora["b"].parent / "other-member.toml"
    other.write_text(corpora["b"].read_text().replace('member = "beta"', 'member = "gamma"'))
    taken = kura("onboard", str(other), "--store", str(store), cwd=tmp_path)
    assert taken.returncode == 2
    lines = [line for line in taken.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "belongs to member beta" in lines[0]
    assert shard_digests(store, "beta-reports") == before
    assert len(list((store / "runs").glob("*.json"))) == 1


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_demo_never_touches_a_store_it_did_not_create(corpora, tmp_path) -> None:
    store = new_store(tmp_path)
    assert kura("onboard", str(corpora["b"]), "--store", str(store), cwd=tmp_path
                ).returncode == 0
    before = tree_digest(store)
    demo = kura("demo", "--documents", "60", cwd=tmp_path, env={"KURA_STORE": str(store)})
    assert demo.returncode == 0, demo.stderr
    assert tree_digest(store) == before
    assert (tmp_path / "kura-demo" / "store" / "releases").is_dir()
    refused = kura("demo", "--store", str(store), "--documents", "60", cwd=tmp_path)
    assert refused.returncode == 2
    assert "not a demo store" in refused.stderr
    assert tree_digest(store) == before
    again = kura("demo", "--documents", "60", "--json", cwd=tmp_path)  # its own: replaced
    assert again.returncode == 0, again.stderr
    made = json.loads(again.stdout)  # --json: one document, the narrative is not printed
    assert 0 < made["rows"] <= made["counts"]["written"]
    assert Path(tmp_path / made["datasetCard"]).is_file()


def test_release_create_killed_before_its_file_is_written_completes_under_the_same_name(
        onboarded_store, tmp_path) -> None:
    store = onboarded_store
    killed_at(tmp_path, "lineage.certify:write_release_file",
              ["release", "create", "r1", "--store", str(store)])
    again = kura("release", "create", "r1", "--store", str(store), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (store / "releases" / "r1.json").is_file()
    verify(store, tmp_path)

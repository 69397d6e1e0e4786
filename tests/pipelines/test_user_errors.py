"""Every user error is one line and a non-zero exit, never a traceback; an interrupted run
leaves nothing behind; a run with no records still leaves a store that verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MANIFEST = """
[corpus]
id = "errors"
member = "acme"
license = "consortium-internal"
sensitivity = "internal"

[[sources]]
uri = "data/*.jsonl"
format = "jsonl"
location = {{ provider = "onprem", country = "JP", region = "jp-tokyo" }}
{extra}
"""
TEXT = "会議の資料を準備しました。来週の打ち合わせでは、新しい装置の導入計画について説明します。"


def kura(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=600)


def one_line(result: subprocess.CompletedProcess, status: int = 2) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def corpus(folder: Path, extra: str = "", lines: int = 3) -> Path:
    (folder / "data").mkdir(exist_ok=True)
    body = "".join(f'{{"text": "{TEXT}第{i}号"}}\n' for i in range(lines))
    (folder / "data" / "a.jsonl").write_text(body, encoding="utf-8")
    manifest = folder / "manifest.toml"
    manifest.write_text(MANIFEST.format(extra=extra), encoding="utf-8")
    return manifest


@pytest.fixture
def store(tmp_path: Path) -> Path:
    done = kura("keys", "init", "--store", "store", "--site", "tokyo-1", "--country", "JP",
                "--region", "jp-tokyo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "store"


def test_a_bad_site_id_is_one_line_and_leaves_no_key_behind(tmp_path: Path) -> None:
    line = one_line(kura("keys", "init", "--store", "s", "--site", "../../x", "--country", "JP",
                         "--region", "jp-tokyo", cwd=tmp_path))
    assert "--site '../../x'" in line
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.pem"))


def test_a_missing_pseudonym_secret_is_one_line(tmp_path: Path, store: Path) -> None:
    manifest = corpus(tmp_path, '[pii]\nmode = "pseudonym"\nsecret_env = "KURA_TEST_NO_SECRET"')
    line = one_line(kura("onboard", str(manifest), "--store", str(store), cwd=tmp_path,
                         env={"KURA_TEST_NO_SECRET": ""}))
    assert "KURA_TEST_NO_SECRET" in line


def test_a_folder_given_as_the_manifest_is_one_line(tmp_path: Path, store: Path) -> None:
    corpus(tmp_path)
    assert "folder" in one_line(kura("onboard", "data", "--store", str(store), cwd=tmp_path))


def test_a_runner_after_the_double_dash_is_one_line(tmp_path: Path, store: Path) -> None:
    manifest = corpus(tmp_path)
    line = one_line(kura("onboard", str(manifest), "--store", str(store), "--",
                         "--runner=DataflowRunner", cwd=tmp_path))
    assert "--runner" in line


@pytest.mark.slow
def test_a_source_with_no_records_still_leaves_a_store_that_verifies(tmp_path: Path,
                                                                      store: Path) -> None:
    manifest = corpus(tmp_path, lines=0)
    result = kura("onboard", str(manifest), "--store", str(store), cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    verified = kura("audit", "verify", "--store", str(store), cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_says_so_and_leaves_nothing(sent, tmp_path: Path,
                                                       store: Path) -> None:
    manifest = corpus(tmp_path, lines=400)
    run = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "onboard", str(manifest),
                            "--store", str(store)], cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (store / "staging").is_dir() and time.monotonic() < deadline:
        time.sleep(0.05)  # interrupt once the run has begun writing
    run.send_signal(sent)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert not any((store / "staging").iterdir()) if (store / "staging").exists() else True
    assert not (store / "shards").exists()

"""What every `kura` command promises a script: --version, quiet stderr by default and -v for
more, one JSON document with --json, tables never cut when piped, and a progress line that
names its stage and never moves backwards."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from rich.console import Console

from pipelines.cli_progress import DEDUPLICATING, READING, RunProgress
from tests.pipelines.test_cli import kura

DOCUMENT = ("会議は十時から第二会議室で行います。資料は前日までに共有してください。"
            "議題は新しい製造ラインの品質管理と、来期の保守計画についてです。{n}")

MANIFEST = """
[corpus]
id = "conventions"
member = "acme"
license = "consortium-internal"
sensitivity = "confidential"

[[sources]]
uri = "data/*.jsonl"
format = "jsonl"
location = { provider = "onprem", country = "JP", region = "jp-tokyo" }
"""


def test_version_names_kura_and_the_shard_schema(tmp_path: Path) -> None:
    result = kura("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"kura \S+ \(shard schema \d+\)\n", result.stdout)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("conventions")
    (folder / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    (folder / "data").mkdir()
    lines = [json.dumps({"text": DOCUMENT.format(n=n)}, ensure_ascii=False) for n in range(8)]
    (folder / "data" / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert kura("keys", "init", "--site", "jp-test-1", "--region", "jp-tokyo", "--store",
                "store", cwd=folder).returncode == 0
    return folder


@pytest.mark.slow
def test_onboard_is_quiet_by_default_and_json_is_the_whole_stdout(small_corpus: Path) -> None:
    result = kura("onboard", "manifest.toml", "--store", "store", "--json", cwd=small_corpus)
    document = json.loads(result.stdout)  # nothing else on stdout
    assert document["status"] == result.returncode == 0, result.stderr
    assert document["summary"]["counts"]["read"] == 8
    assert Path(small_corpus / document["report"]).is_file()
    # No library's INFO line (great-expectations announced a temporary folder on every run).
    assert not [line for line in result.stderr.splitlines() if line.startswith("INFO")], (
        result.stderr)


@pytest.mark.slow
def test_verbose_names_each_stage_and_still_hides_library_chatter(small_corpus: Path) -> None:
    # --full: an earlier test onboarded this corpus, and an unchanged one is not read again
    result = kura("-v", "onboard", "manifest.toml", "--store", "store", "--full",
                  cwd=small_corpus)
    assert result.returncode == 0, result.stderr
    stages = [line for line in result.stderr.splitlines() if "pipelines.cli_progress" in line]
    assert any(READING in line for line in stages), result.stderr
    assert "great_expectations" not in result.stderr
    very = kura("-vv", "keys", "show", "--store", "store", cwd=small_corpus)
    assert very.returncode == 0


def test_piped_tables_are_not_cut_at_80_columns(small_corpus: Path) -> None:
    result = kura("keys", "show", "--store", "store", cwd=small_corpus)
    assert result.returncode == 0, result.stderr
    assert re.search(r"sha256:[0-9a-f]{64}", result.stdout), result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) > 80
    assert "…" not in result.stdout


def _terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=120)


def test_progress_never_moves_backwards_and_names_the_next_stage(tmp_path: Path) -> None:
    markers = tmp_path / "progress"
    markers.mkdir()
    progress = RunProgress(_terminal(), "acme")
    with progress, progress.watching_reads(markers, total_bytes=100):
        task = progress._progress.tasks[-1]
        assert task.description == f"acme: {READING}"
        (markers / "a.done").write_text("60")
        _wait_for(lambda: task.completed == 60)
        (markers / "a.done").unlink()  # the staging folder went away: no step back
        time.sleep(0.6)
        assert task.completed == 60
        (markers / "a.done").write_text("60")
        (markers / "b.done").write_text("40")
        _wait_for(lambda: progress._progress.tasks[-1].description
                  == f"acme: {DEDUPLICATING}")
        assert [t.visible for t in progress._progress.tasks] == [False, False, True]
        # Beam says nothing finer about dedup: a pulse, not a bar going back to empty.
        assert progress._progress.tasks[-1].total is None


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)

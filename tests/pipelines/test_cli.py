"""The `kura` command as a user meets it: help, and one-line errors with no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MANIFEST = """
[corpus]
id = "cli-test"
member = "acme"
license = "consortium-internal"
sensitivity = "confidential"

[[sources]]
uri = "{uri}"
format = "jsonl"
location = {{ provider = "{provider}", country = "JP", region = "{region}" }}
"""


def kura(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and "apitools" not in line]
    assert len(lines) == 1, lines
    return lines[0]


def write_manifest(folder: Path, uri: str = "data/*.jsonl", provider: str = "onprem",
                   region: str = "jp-tokyo") -> Path:
    path = folder / "manifest.toml"
    path.write_text(MANIFEST.format(uri=uri, provider=provider, region=region), encoding="utf-8")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "a.jsonl").write_text('{"text": "会議は十時からです。"}\n', encoding="utf-8")
    return path


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = kura("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("onboard", "demo", "keys", "audit", "schema"):
        assert command in result.stdout
    onboard_help = kura("onboard", "--help", cwd=tmp_path)
    assert "--workers" in onboard_help.stdout and "--runner" in onboard_help.stdout


def test_a_missing_manifest_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(kura("onboard", "nope.toml", cwd=tmp_path))
    assert "nope.toml" in line and "no such manifest" in line


def test_a_bad_field_names_the_field(tmp_path: Path) -> None:
    path = write_manifest(tmp_path)
    path.write_text(path.read_text().replace('format = "jsonl"', 'format = "xml"'))
    line = one_line_error(kura("onboard", str(path), cwd=tmp_path))
    assert "sources[0].format" in line


@pytest.mark.slow
def test_multi_threading_with_two_workers_is_refused(tmp_path: Path) -> None:
    path = write_manifest(tmp_path)
    kura("keys", "init", "--site", "jp-t", "--country", "JP", "--region", "jp-tokyo",
         "--store", "store", cwd=tmp_path)
    line = one_line_error(kura("onboard", str(path), "--store", "store", "--workers", "2",
                               "--running-mode", "multi_threading", cwd=tmp_path))
    assert "multi_threading" in line and "refused" in line
    assert not (tmp_path / "store" / "shards").exists()


@pytest.mark.slow
def test_a_source_outside_japan_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, uri="s3://acme-raw/manuals/*.jsonl", provider="aws",
                          region="us-east-1")
    kura("keys", "init", "--site", "jp-t", "--country", "JP", "--region", "jp-tokyo",
         "--store", "store", cwd=tmp_path)
    line = one_line_error(kura("onboard", str(path), "--store", "store", cwd=tmp_path))
    assert "sources[0]" in line and "us-east-1" in line
    assert not (tmp_path / "store" / "shards").exists()
    assert not (tmp_path / "store" / "runs").exists()


def test_onboarding_without_keys_says_how_to_make_them(tmp_path: Path) -> None:
    path = write_manifest(tmp_path)
    line = one_line_error(kura("onboard", str(path), "--store", "store", cwd=tmp_path))
    assert "kura keys init" in line

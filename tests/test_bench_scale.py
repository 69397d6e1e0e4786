"""bench.scale, issue 14's scale harness: its corpora are distinct documents, deterministic for
a seed, and a whole run on a tiny corpus reports every column and a measured process tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.scale import COLUMNS, RawRate, pooled, raw_fugashi
from bench.scale_corpus import build_corpus, iter_texts, near_duplicates

REPO = Path(__file__).resolve().parents[1]


def _bytes(info) -> bytes:
    return b"".join((Path(info.folder) / name).read_bytes() for name in info.files)


def test_corpus_is_deterministic_for_a_seed_and_reused_from_the_cache(manpages_path, tmp_path):
    first = build_corpus(manpages_path, tmp_path / "a", 0.05, seed=3)
    again = build_corpus(manpages_path, tmp_path / "b", 0.05, seed=3)
    other = build_corpus(manpages_path, tmp_path / "a", 0.05, seed=4)
    cached = build_corpus(manpages_path, tmp_path / "a", 0.05, seed=3)
    assert _bytes(first) == _bytes(again) != _bytes(other)
    assert cached.reused and not first.reused and cached.documents == first.documents
    assert first.bytes >= 0.05e6 and first.documents > 3


def test_near_duplicate_check_finds_a_planted_twin(manpages_path, tmp_path):
    texts = list(iter_texts(build_corpus(manpages_path, tmp_path, 0.05, seed=1)))
    assert near_duplicates(texts)["nearDuplicatePairs"] == 0
    twin = texts[0][:-10] + "違う終わりです。"  # one small edit: still Jaccard > 0.8
    found = near_duplicates([*texts, twin])
    assert found["nearDuplicatePairs"] == 1 and found["maxCandidateJaccard"] >= 0.8


def test_raw_fugashi_reads_at_most_its_sample_and_pooling_adds_the_times(manpages_path,
                                                                          tmp_path):
    info = build_corpus(manpages_path, tmp_path, 0.05, seed=1)
    sample = raw_fugashi(info, max_chars=5000)
    assert sample.passes == (sample.chars_per_second,) and sample.chars_per_second > 0
    both = pooled([RawRate(1.0, 2.0, (1.0,)), RawRate(3.0, 2.0, (3.0,))])
    assert both.chars_per_second == pytest.approx(1.5)  # 2 units of work over 1 + 1/3 seconds
    assert both.chars_per_cpu_second == pytest.approx(2.0) and both.passes == (1.0, 3.0)


@pytest.mark.slow
def test_scale_harness_on_a_tiny_corpus_reports_every_column(manpages_path, tmp_path):
    out = tmp_path / "scale.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--sizes", "0.05", "--sample", "50",
         "--source", str(manpages_path), "--work", str(tmp_path / "work"), "--json", str(out),
         "--reference-every", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    header = next(line for line in result.stdout.splitlines() if "size MB" in line)
    assert all(column in header for column in COLUMNS)
    assert "targets of issue 14" in result.stdout
    document = json.loads(out.read_text())
    corpus, run = document["corpora"][0], document["runs"][0]
    texts = list(iter_texts(build_corpus(manpages_path, tmp_path / "work", 0.05, seed=1)))
    assert len(set(texts)) == len(texts) == corpus["documents"]
    assert corpus["sampleCheck"]["nearDuplicateFraction"] == 0
    # The run was paused for raw fugashi at least once; those rates are the size's reference.
    assert run["referenceRates"] and run["pausedSeconds"] > 0
    assert corpus["rawFugashi"]["passes"] == run["referenceRates"]
    # The pipeline itself read every document and found no near-duplicate among them.
    assert run["counts"]["read"] == corpus["documents"] and run["counts"]["duplicates"] == 0
    assert run["exitCode"] in (0, 3) and run["peakRssBytes"] > 100e6 and run["samples"] >= 2
    assert 0 < run["ratioToRawFugashi"] < 1 and run["shards"]

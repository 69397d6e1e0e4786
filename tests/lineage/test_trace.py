"""`trace`: shard -> run -> sources -> releases, and source (a path or URI, as its user names
it) -> runs -> shards -> releases."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lineage.record import record_run
from lineage.trace import TraceError, trace_shard, trace_source
from tests.lineage.audit_helpers import certify, local_source, record_local_run
from tests.lineage.conftest import write_run


def test_shard_traces_to_its_run_sources_and_checkpoint(store):
    summary = write_run(store, run_id="run-1", shards=3)
    recorded = record_run(store, summary)
    shard = summary.shards[1].path
    trace = trace_shard(store, str(store / shard))  # a path on disk works as well as a name
    assert trace.shard == shard
    assert trace.sha256 == recorded.shards[1].sha256
    assert (trace.run_id, trace.runner, trace.site) == ("run-1", "direct", "jp-local-1")
    assert trace.log_index == 2  # after policy v1 and the first shard
    assert trace.provenance_index == recorded.provenance_index
    assert [s.uri for s in trace.sources] == ["gs://acme-raw-tokyo/acme-news/a.jsonl"]
    assert trace.sources[0].location == "gcp JP asia-northeast1 (claimed by manifest)"
    assert set(trace.siblings) == {summary.shards[0].path, summary.shards[2].path}
    assert trace.included_in_checkpoint == recorded.tree_size
    assert trace.releases == ()


def test_source_traces_to_every_run_and_shard(store):
    one = write_run(store, run_id="run-1", shards=2)
    two = write_run(store, run_id="run-2", shards=1)
    record_run(store, one)
    record_run(store, two)
    trace = trace_source(store, "gs://acme-raw-tokyo/acme-news/a.jsonl")
    assert trace.matches == (("gs://acme-raw-tokyo/acme-news/a.jsonl", ("uri",)),)
    assert [r.run_id for r in trace.runs] == ["run-1", "run-2"]
    assert [s.name for s in trace.runs[0].shards] == [s.path for s in one.shards]
    assert [s.name for s in trace.runs[1].shards] == [s.path for s in two.shards]
    assert trace.runs[0].corpus_id == "acme-news" and trace.runs[0].site == "jp-local-1"


def test_unknown_shard_or_source_says_so(store):
    record_run(store, write_run(store))
    with pytest.raises(TraceError, match="no residency attestation"):
        trace_shard(store, "shards/none.parquet")
    with pytest.raises(TraceError, match="no run in the log read this source"):
        trace_source(store, "gs://nowhere/x")
    with pytest.raises(TraceError, match="no run in the log read this source"):
        trace_source(store, "gs://acme-raw-tokyo/acme-news")  # a prefix is not the source


@pytest.fixture
def local_runs(store: Path, tmp_path: Path) -> dict:
    """run-1 recorded `manuals/a.jsonl` relative to its corpus root, plus an older-style
    file:// uri for mail/b.jsonl; its shards are in release r1."""
    corpus = tmp_path / "corpus"
    manual, manual_sha = local_source(corpus, "manuals/a.jsonl", '{"text": "マニュアル"}\n')
    mail, mail_sha = local_source(corpus, "mail/b.jsonl", '{"text": "メール"}\n')
    run = record_local_run(store, "run-1", [("manuals/a.jsonl", manual_sha),
                                            (mail.resolve().as_uri(), mail_sha)])
    release_index = certify(store, "r1", [(s.path, s.sha256) for s in run.shards])
    return {"corpus": corpus, "manual": manual, "manual_sha": manual_sha, "mail": mail,
            "shards": [s.path for s in run.shards], "release_index": release_index}


def _shards_and_releases(trace) -> list[tuple[str, list[str]]]:
    return [(s.name, [r.release for r in s.releases]) for run in trace.runs for s in run.shards]


def test_a_relative_path_matches_a_recorded_relative_uri_and_shows_releases(store, local_runs):
    trace = trace_source(store, "manuals/a.jsonl", cwd=local_runs["corpus"])
    assert trace.matches == (("manuals/a.jsonl", ("uri", "sha256")),)
    assert _shards_and_releases(trace) == [(name, ["r1"]) for name in local_runs["shards"]]
    release = trace.runs[0].shards[0].releases[0]
    assert (release.log_index, release.certifier) == (local_runs["release_index"],
                                                      "certifier@jp-local-1")
    # From another folder, a relative path that ends with the recorded one still matches.
    here = trace_source(store, "corpus/manuals/a.jsonl", cwd=local_runs["corpus"].parent)
    assert here.matches == (("manuals/a.jsonl", ("path", "sha256")),)
    assert here.runs[0].same_bytes is True


def test_an_absolute_path_matches_on_whole_segments_only(store, local_runs, tmp_path):
    trace = trace_source(store, str(local_runs["manual"]))
    assert trace.matches == (("manuals/a.jsonl", ("path", "sha256")),)
    elsewhere = tmp_path / "xmanuals" / "a.jsonl"  # not on a `/` boundary: no match
    elsewhere.parent.mkdir()
    elsewhere.write_text("other bytes\n")
    with pytest.raises(TraceError, match="no run in the log read this source"):
        trace_source(store, str(elsewhere))


def test_an_old_absolute_file_uri_matches_its_path_and_its_uri(store, local_runs):
    mail = local_runs["mail"]
    uri = mail.resolve().as_uri()
    by_uri = trace_source(store, uri)
    by_path = trace_source(store, str(mail))
    assert by_uri.matches == ((uri, ("uri", "sha256")),)
    assert by_path.matches == ((uri, ("path", "sha256")),)
    assert _shards_and_releases(by_uri) == _shards_and_releases(by_path)


def test_a_moved_file_is_found_by_its_digest(store, local_runs, tmp_path):
    moved = tmp_path / "elsewhere" / "renamed.jsonl"
    moved.parent.mkdir()
    shutil.copyfile(local_runs["manual"], moved)
    trace = trace_source(store, str(moved))
    assert trace.matches == (("manuals/a.jsonl", ("sha256",)),)
    assert trace.file_sha256 == local_runs["manual_sha"]
    assert _shards_and_releases(trace) == [(name, ["r1"]) for name in local_runs["shards"]]


def test_a_changed_file_still_matches_by_path_and_says_the_bytes_differ(store, local_runs):
    local_runs["manual"].write_text('{"text": "改訂版"}\n', encoding="utf-8")
    trace = trace_source(store, str(local_runs["manual"]))
    assert trace.matches == (("manuals/a.jsonl", ("path",)),)
    assert trace.runs[0].same_bytes is False


def test_ambiguous_paths_are_listed_not_guessed(store, tmp_path):
    one, one_sha = local_source(tmp_path / "one", "a.jsonl", '{"text": "一"}\n')
    _, two_sha = local_source(tmp_path / "two", "a.jsonl", '{"text": "二"}\n')
    record_local_run(store, "run-1", [("a.jsonl", one_sha)], pii_versions=(2,))
    record_local_run(store, "run-2", [("one/a.jsonl", one_sha), ("two/a.jsonl", two_sha)],
                     pii_versions=(2,))
    ambiguous = r"could be any of 2 recorded sources: a\.jsonl, one/a\.jsonl; give one of them"
    with pytest.raises(TraceError, match=ambiguous):  # no file: nothing tells them apart
        trace_source(store, str(tmp_path / "gone" / "one" / "a.jsonl"))
    other = tmp_path / "other" / "one" / "a.jsonl"
    other.parent.mkdir(parents=True)
    other.write_text("other bytes\n")
    with pytest.raises(TraceError, match=ambiguous):  # a file whose bytes neither recorded
        trace_source(store, str(other))
    # The file itself: both names recorded exactly its bytes, so both are it.
    trace = trace_source(store, str(one))
    assert trace.matches == (("a.jsonl", ("path", "sha256")), ("one/a.jsonl", ("path", "sha256")))
    assert [(r.run_id, r.uri) for r in trace.runs] == [("run-1", "a.jsonl"),
                                                       ("run-2", "one/a.jsonl")]
    assert trace_source(store, "two/a.jsonl").matches == (("two/a.jsonl", ("uri",)),)


def test_trace_reads_paths_relative_to_the_current_folder(store, local_runs, monkeypatch):
    monkeypatch.chdir(local_runs["corpus"] / "manuals")
    trace = trace_source(store, "a.jsonl")
    assert trace.matches == (("manuals/a.jsonl", ("path", "sha256")),)
    assert os.getcwd().endswith("manuals")

"""`trace`: shard -> run -> sources, and source -> runs -> shards."""

from __future__ import annotations

import pytest

from lineage.record import record_run
from lineage.trace import TraceError, trace_shard, trace_source
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


def test_source_traces_to_every_run_and_shard(store):
    one = write_run(store, run_id="run-1", shards=2)
    two = write_run(store, run_id="run-2", shards=1)
    record_run(store, one)
    record_run(store, two)
    trace = trace_source(store, "gs://acme-raw-tokyo/acme-news/a.jsonl")
    assert [r.run_id for r in trace.runs] == ["run-1", "run-2"]
    assert list(trace.runs[0].shards) == [s.path for s in one.shards]
    assert list(trace.runs[1].shards) == [s.path for s in two.shards]


def test_unknown_shard_or_source_says_so(store):
    record_run(store, write_run(store))
    with pytest.raises(TraceError, match="no residency attestation"):
        trace_shard(store, "shards/none.parquet")
    with pytest.raises(TraceError, match="no run in the log read this source"):
        trace_source(store, "gs://nowhere/x")

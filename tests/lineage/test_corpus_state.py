"""The corpus state fold over signed runs: full, append and rewrite runs, and withdrawals."""

from __future__ import annotations

import json

from lineage.certify import latest_residency, select_certified
from lineage.corpus_state import CorpusState, InputFact, corpus_states, fold_withdrawal
from lineage.dsse import Envelope
from lineage.log import TransparencyLog
from lineage.record import record_run
from lineage.statements import LoggedStatement, logged_statements
from schemas.predicates import PROVENANCE_PREDICATE, WITHDRAWAL_PREDICATE
from schemas.run import InputFile, RunSummary
from tests.lineage.conftest import write_run


def _lines(store) -> list[bytes]:
    return TransparencyLog(store).read().lines


def _outputs(summary: RunSummary) -> set[str]:
    return {f.path for f in [*summary.shards, *summary.rejects, *summary.duplicates]} | {
        f"runs/{summary.run_id}.json"}


def _record(store, summary: RunSummary) -> int:
    """Record a run as publishing does (its summary file attested too); its provenance index."""
    path = store / "runs" / f"{summary.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(summary.model_dump_json())
    passed = {s.path: True for s in summary.shards}
    recorded = record_run(store, summary, validation_digests={p: "d" * 64 for p in passed},
                          validation_passed=passed, also_attest=(f"runs/{summary.run_id}.json",))
    return recorded.provenance_index


def _with_input(summary: RunSummary, name: str, sha: str, mtime_ns: int | None) -> RunSummary:
    item = summary.inputs[0].model_copy(update={
        "uri": f"data/{name}.jsonl", "sha256": sha * 64, "mtime_ns": mtime_ns})
    return summary.model_copy(update={"inputs": [item]})


def _latest_run_outputs(lines: list[bytes]) -> dict[str, frozenset[str]]:
    """The rule before runs had modes: a corpus's files are its last provenance's subjects."""
    outputs: dict[str, frozenset[str]] = {}
    for record in logged_statements(lines, PROVENANCE_PREDICATE):
        corpus = record.predicate["buildDefinition"]["externalParameters"]["corpusId"]
        outputs[corpus] = frozenset(s["name"] for s in record.statement["subject"])
    return outputs


def test_a_store_of_full_runs_gives_the_latest_runs_files(store) -> None:
    _record(store, write_run(store, run_id="run-1"))
    second = write_run(store, run_id="run-2", shards=2)
    _record(store, second)
    _record(store, write_run(store, run_id="run-3", corpus="acme-mail", shards=1))
    lines = _lines(store)
    states = corpus_states(lines)
    assert {c: s.current for c, s in states.items()} == _latest_run_outputs(lines)
    assert states["acme-news"].current == _outputs(second)
    assert [mode for _, mode in states["acme-news"].runs] == ["full", "full"]


def test_a_full_runs_provenance_carries_no_mode_and_an_append_run_says_so(store) -> None:
    full = _record(store, write_run(store, run_id="run-1"))
    append = _record(store, write_run(store, run_id="run-2").model_copy(update={"mode": "append"}))
    records = {r.index: r for r in logged_statements(_lines(store), PROVENANCE_PREDICATE)}
    external = records[full].predicate["buildDefinition"]["externalParameters"]
    assert not {"mode", "replaces", "withdrawal"} & set(external)
    external = records[append].predicate["buildDefinition"]["externalParameters"]
    assert (external["mode"], external["replaces"], external["withdrawal"]) == ("append", [], None)


def test_an_append_run_adds_its_files_and_inputs_to_the_corpus(store) -> None:
    first = _with_input(write_run(store, run_id="run-1"), "a", "a", 1_700_000_000_000_000_001)
    first_index = _record(store, first)
    added = _with_input(write_run(store, run_id="run-2", shards=1), "c", "c", 42)
    added_index = _record(store, added.model_copy(update={"mode": "append"}))
    state = corpus_states(_lines(store))["acme-news"]
    assert state.current == _outputs(first) | _outputs(added)
    assert state.last_run_index == added_index and state.last_full_index == first_index
    assert state.inputs == {
        "data/a.jsonl": InputFact("data/a.jsonl", "a" * 64, 100, 1_700_000_000_000_000_001,
                                  first.inputs[0].records, first_index),
        "data/c.jsonl": InputFact("data/c.jsonl", "c" * 64, 100, 42, added.inputs[0].records,
                                  added_index),
    }
    # both runs' shards are certified together
    selection = select_certified(latest_residency(_lines(store)), ["acme-news"],
                                 current={"acme-news": state.current})
    assert {s.name for s in selection.certified} == {
        s.path for s in [*first.shards, *added.shards]}
    assert selection.left_out == ()


def test_a_full_run_after_appends_is_the_whole_corpus_again(store) -> None:
    _record(store, write_run(store, run_id="run-1"))
    _record(store, write_run(store, run_id="run-2", shards=1).model_copy(
        update={"mode": "append"}))
    again = _with_input(write_run(store, run_id="run-3", shards=2), "b", "b", None)
    again_index = _record(store, again)
    state = corpus_states(_lines(store))["acme-news"]
    assert state.current == _outputs(again)
    assert state.last_full_index == again_index
    assert list(state.inputs) == ["data/b.jsonl"] and state.inputs["data/b.jsonl"].mtime_ns is None


def test_a_rewrite_replaces_only_the_files_it_names(store) -> None:
    first = write_run(store, run_id="run-1", shards=3)
    _record(store, first)
    replaced = first.shards[0].path
    rewrite = write_run(store, run_id="run-2", shards=1).model_copy(
        update={"mode": "rewrite", "replaces": [replaced], "withdrawal": 7})
    _record(store, rewrite)
    state = corpus_states(_lines(store))["acme-news"]
    assert state.current == (_outputs(first) - {replaced}) | _outputs(rewrite)
    assert list(state.inputs) == [first.inputs[0].uri]  # a rewrite reads no new source
    selection = select_certified(latest_residency(_lines(store)), ["acme-news"],
                                 current={"acme-news": state.current})
    assert (replaced, "superseded by a later run of its corpus") in selection.left_out


def _withdrawal(index: int, kind: str, uris: list[str]) -> LoggedStatement:
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [],
                 "predicateType": WITHDRAWAL_PREDICATE,
                 "predicate": {"corpusId": "acme-news", "kind": kind,
                               "sources": [{"uri": u, "sha256": "a" * 64} for u in uris]}}
    envelope = Envelope("application/vnd.in-toto+json", json.dumps(statement).encode(), ())
    return LoggedStatement(index, envelope, statement)


def test_a_withdrawn_source_no_longer_feeds_the_corpus_but_forget_keeps_it() -> None:
    fact = InputFact("data/a.jsonl", "a" * 64, 10, 5, 3, 1)
    other = InputFact("data/b.jsonl", "b" * 64, 10, 5, 3, 1)
    state = CorpusState("acme-news", frozenset({"shards/acme-news/x.parquet"}), 1,
                        {fact.uri: fact, other.uri: other})
    withdrawn = fold_withdrawal(state, _withdrawal(9, "source", ["data/a.jsonl"]))
    assert list(withdrawn.inputs) == ["data/b.jsonl"]
    assert withdrawn.withdrawn_sources == {"data/a.jsonl": 9}
    assert withdrawn.current == state.current  # the rewrite that enacts it changes the files
    assert fold_withdrawal(state, _withdrawal(9, "forget", ["data/a.jsonl"])) == state


def test_an_input_without_mtime_is_signed_as_before(store) -> None:
    summary = write_run(store, run_id="run-1")
    assert isinstance(summary.inputs[0], InputFile) and summary.inputs[0].mtime_ns is None
    index = _record(store, summary)
    record = next(r for r in logged_statements(_lines(store), PROVENANCE_PREDICATE)
                  if r.index == index)
    annotations = record.predicate["buildDefinition"]["resolvedDependencies"][0]["annotations"]
    assert set(annotations) == {"location", "bytes", "records", "encoding", "status"}

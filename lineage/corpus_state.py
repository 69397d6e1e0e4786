"""What a corpus holds now, folded from the signed log: its current files and their inputs.

A corpus changes only through signed run provenance records (and withdrawal records), so its
state is a left fold over the log in order. By the run's `mode` (externalParameters; absent on
records made before runs had modes, which were all full runs):

- "full":    current = the run's outputs; the inputs are the run's inputs;
- "append":  current |= outputs; the run's inputs join the others (an incremental onboard read
             only sources the corpus did not hold yet);
- "rewrite": current = (current - replaces) | outputs, `replaces` being the store paths the
             run rewrote (a withdrawal); a rewrite reads shards, not sources, so it adds none.

A withdrawal record of a whole source ("source", "all") takes that source out of the inputs
from its log position on: the corpus no longer holds data from it, whether or not the rewrite
that enacts it has run yet. An unknown mode is folded as "full": a state never holds more files
than some signed run wrote, so an unknown record can only make a release smaller.

`current` is every file a current run wrote (shards, rejects, duplicates, summaries), exactly
as the latest run's subjects were for stores of full runs. The configuration digest of the latest
full run is recomputed from its signed parameters, so `kura onboard` can tell whether a new
run of the same manifest may append to it (pipelines/increment.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lineage.statements import LoggedStatement, logged_statements_of
from schemas.predicates import PROVENANCE_PREDICATE, WITHDRAWAL_PREDICATE

RUN_MODES = ("full", "append", "rewrite")
STATE_PREDICATES = (PROVENANCE_PREDICATE, WITHDRAWAL_PREDICATE)  # the records a state folds
SOURCE_WITHDRAWALS = ("source", "all")  # kinds that withdraw whole sources ("forget": documents)


@dataclass(frozen=True)
class InputFact:
    """One input of a current run, as its provenance record signed it."""

    uri: str
    sha256: str | None
    bytes: int
    mtime_ns: int | None  # None: recorded before runs kept it; such an input forces a full run
    records: int
    log_index: int  # the provenance record of the run that read it
    status: str = "ok"
    settings_sha256: str | None = None  # digest of the manifest source settings it was read with


@dataclass(frozen=True)
class CorpusState:
    corpus_id: str
    current: frozenset[str]
    last_run_index: int
    inputs: Mapping[str, InputFact]
    last_full_index: int = -1  # the full run the current appends and rewrites build on
    config_digest: str | None = None  # of that full run (see `configuration_digest`)
    # uri -> log index of the withdrawal record that took the source out of the corpus
    withdrawn_sources: Mapping[str, int] = field(default_factory=dict)
    runs: tuple[tuple[int, str], ...] = ()  # (log index, mode) of every run folded, in order


def configuration_digest(parameters: Mapping[str, Any], kura_version: str) -> str:
    """sha256 of what shapes a run's outputs besides its sources: the manifest without its
    sources (as a run records it in `parameters`), less `corpus.root` and the launch placement
    (neither changes what a document becomes), plus Kura's version. Shard names include it."""
    config = {k: v for k, v in parameters.items() if k not in ("launch", "steps")}
    corpus = config.get("corpus")
    if isinstance(corpus, Mapping):
        config["corpus"] = {k: v for k, v in corpus.items() if k != "root"}
    config["kura_version"] = kura_version
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def run_mode(record: LoggedStatement) -> str:
    """A provenance record's mode: "full" when absent (records made before modes existed)."""
    mode = _external(record).get("mode", "full")
    return mode if mode in RUN_MODES else "full"


def run_corpus(record: LoggedStatement) -> str | None:
    corpus = _external(record).get("corpusId")
    return corpus if isinstance(corpus, str) else None


def _external(record: LoggedStatement) -> dict[str, Any]:
    build = record.predicate.get("buildDefinition") or {}
    external = build.get("externalParameters")
    return external if isinstance(external, dict) else {}


def _outputs(record: LoggedStatement) -> frozenset[str]:
    return frozenset(s.get("name") for s in record.statement.get("subject") or []
                     if isinstance(s, dict) and s.get("name"))


def _int_or(value: Any, default: int | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def run_inputs(record: LoggedStatement) -> dict[str, InputFact]:
    """The sources a run read, from its resolvedDependencies (Kura itself left out)."""
    build = record.predicate.get("buildDefinition") or {}
    found: dict[str, InputFact] = {}
    for dep in build.get("resolvedDependencies") or []:
        if not isinstance(dep, dict) or dep.get("name") == "kura" or not dep.get("uri"):
            continue
        notes = dep.get("annotations") or {}
        found[dep["uri"]] = InputFact(
            uri=dep["uri"],
            sha256=(dep.get("digest") or {}).get("sha256"),
            bytes=_int_or(notes.get("bytes"), 0) or 0,
            mtime_ns=_int_or(notes.get("mtimeNs"), None),
            records=_int_or(notes.get("records"), 0) or 0,
            log_index=record.index,
            status=str(notes.get("status", "ok")),
            settings_sha256=notes.get("settingsSha256"),
        )
    return found


def _run_config_digest(record: LoggedStatement) -> str | None:
    build = record.predicate.get("buildDefinition") or {}
    parameters = _external(record).get("parameters")
    version = (build.get("internalParameters") or {}).get("kuraVersion")
    if not isinstance(parameters, dict) or not isinstance(version, str):
        return None
    return configuration_digest(parameters, version)


def fold_run(state: CorpusState | None, record: LoggedStatement) -> CorpusState:
    """The state after one more run of the corpus (pure)."""
    corpus = run_corpus(record) or ""
    mode = run_mode(record)
    outputs = _outputs(record)
    if state is None or mode == "full":
        return CorpusState(
            corpus_id=corpus, current=outputs, last_run_index=record.index,
            inputs=run_inputs(record), last_full_index=record.index,
            config_digest=_run_config_digest(record),
            withdrawn_sources=dict(state.withdrawn_sources) if state else {},
            runs=(*(state.runs if state else ()), (record.index, mode)),
        )
    if mode == "append":
        current = state.current | outputs
        inputs = {**state.inputs, **run_inputs(record)}
    else:  # rewrite
        replaces = _external(record).get("replaces") or []
        current = (state.current - frozenset(r for r in replaces if isinstance(r, str))) | outputs
        inputs = dict(state.inputs)
    return CorpusState(
        corpus_id=corpus, current=current, last_run_index=record.index, inputs=inputs,
        last_full_index=state.last_full_index, config_digest=state.config_digest,
        withdrawn_sources=state.withdrawn_sources, runs=(*state.runs, (record.index, mode)),
    )


def fold_withdrawal(state: CorpusState, record: LoggedStatement) -> CorpusState:
    """The state after a withdrawal record: a withdrawn source no longer feeds the corpus."""
    predicate = record.predicate
    if predicate.get("kind") not in SOURCE_WITHDRAWALS:
        return state
    uris = {s.get("uri") for s in predicate.get("sources") or []
            if isinstance(s, dict) and isinstance(s.get("uri"), str)}
    if not uris:
        return state
    return CorpusState(
        corpus_id=state.corpus_id, current=state.current, last_run_index=state.last_run_index,
        inputs={uri: fact for uri, fact in state.inputs.items() if uri not in uris},
        last_full_index=state.last_full_index, config_digest=state.config_digest,
        withdrawn_sources={**state.withdrawn_sources, **dict.fromkeys(sorted(uris), record.index)},
        runs=state.runs,
    )


def corpus_states(lines: Iterable[bytes]) -> dict[str, CorpusState]:
    """Every corpus's state after the whole log. Lines that do not parse are skipped:
    `verify_store` reports them, and nothing is certified from a store that does not verify."""
    return fold_statements(logged_statements_of(lines, STATE_PREDICATES))


def fold_statements(records: Iterable[LoggedStatement]) -> dict[str, CorpusState]:
    """Every corpus's state after `records` (in log order; other predicate types are ignored),
    for readers that have parsed the log already."""
    states: dict[str, CorpusState] = {}
    for record in records:
        kind = record.statement.get("predicateType")
        if kind not in STATE_PREDICATES:
            continue
        if kind == PROVENANCE_PREDICATE:
            corpus = run_corpus(record)
            if corpus is not None:
                states[corpus] = fold_run(states.get(corpus), record)
            continue
        corpus = record.predicate.get("corpusId")
        if isinstance(corpus, str) and corpus in states:
            states[corpus] = fold_withdrawal(states[corpus], record)
    return states


def corpus_state(lines: Iterable[bytes], corpus_id: str) -> CorpusState | None:
    return corpus_states(lines).get(corpus_id)

"""Incremental onboarding: whether `kura onboard` may read only a corpus's new sources.

A run may append to what a corpus holds (mode "append") only when nothing that shaped the
corpus's current files has changed since:

- the configuration digest (the manifest less its sources, plus Kura's version) is that of the
  corpus's latest full run, recomputed from the signed record (lineage/corpus_state.py);
- every source that fed the current files is still in the manifest, with the size and
  modification time the run recorded and the same source settings (format, text field,
  encoding, location);
- the corpus's signatures are in the store, so the new documents are deduplicated against it.

Then only the other files are read. Otherwise the run is full, as before, and the note says
why in one line. A file is trusted unchanged on its size and mtime (a listing, no read): that is
what makes skipping it cheap, and `--full` is the way to re-read everything.

Pure: a plan and a state in, a decision out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Literal

from lineage.corpus_state import CorpusState, InputFact
from pipelines.plan import CurationPlan, PlannedFile
from schemas.manifest import ManifestError
from schemas.run import RunSummary, SkippedInput
from transforms.shards import shard_count

Mode = Literal["full", "append", "none"]


@dataclass(frozen=True)
class RunDecision:
    mode: Mode  # "none": every source unchanged, nothing to read
    read: tuple[PlannedFile, ...]  # the files the run reads
    skipped: tuple[SkippedInput, ...] = ()  # append: the corpus's unchanged sources
    note: str | None = None  # one line for the steward; None for a corpus's first run
    appends_to: int | None = None  # append: log index of the run whose state it extends


def _changed(fact: InputFact, planned: PlannedFile) -> str | None:
    """Why a source the corpus holds cannot be skipped, or None."""
    if fact.mtime_ns is None:
        return "was recorded without its modification time"
    if planned.size != fact.bytes or planned.mtime_ns != fact.mtime_ns:
        return "changed (size or modification time)"
    if fact.settings_sha256 is None or fact.settings_sha256 != planned.settings_sha256:
        return "is read with other manifest settings (format, text_field, encoding, location)"
    return None


def _refuse_withdrawn(files: tuple[PlannedFile, ...], state: CorpusState) -> None:
    for planned in files:
        index = state.withdrawn_sources.get(planned.source.uri)
        if index is not None:
            raise ManifestError(
                f"sources[{planned.source_index}].uri: {planned.source.uri} was withdrawn from "
                f"corpus {state.corpus_id} (log index {index}); take it out of the manifest: a "
                "withdrawn source is not onboarded again")


def decide_run(files: tuple[PlannedFile, ...], config_digest: str, state: CorpusState | None,
               has_signatures: bool, full: bool = False) -> RunDecision:
    """Full or append, for a plan's `files` and configuration digest and the corpus's `state`
    (None: never onboarded). `has_signatures`: the store holds the corpus's signatures.
    A file of a source withdrawn from the corpus is refused (ManifestError) in either mode."""
    if state is None:
        return RunDecision("full", files)
    _refuse_withdrawn(files, state)
    since = state.last_full_index
    if full:
        return RunDecision("full", files, note="--full: every source is read again")
    if state.config_digest is None or state.config_digest != config_digest:
        return RunDecision("full", files, note=(
            f"the configuration (manifest settings or Kura version) changed since the full run "
            f"at log index {since}: full run"))
    planned_by_uri = {f.source.uri: f for f in files}
    held = {uri: fact for uri, fact in state.inputs.items()
            if fact.status != "unreadable"}  # an unreadable file fed nothing: read it again
    for uri, fact in sorted(held.items()):
        planned = planned_by_uri.get(uri)
        if planned is None:
            return RunDecision("full", files, note=(
                f"source {uri} (read at log index {fact.log_index}) is no longer in the "
                f"manifest: full run; to take a source out of the corpus, use `kura withdraw "
                f"--corpus {state.corpus_id} --source {uri}`"))
        why = _changed(fact, planned)
        if why:
            return RunDecision("full", files, note=(
                f"source {uri} {why} since log index {fact.log_index}: full run"))
    new = tuple(f for f in files if f.source.uri not in held)
    skipped = tuple(SkippedInput(uri=uri, sha256=fact.sha256, log_index=fact.log_index)
                    for uri, fact in sorted(held.items()))
    if new and not has_signatures and any(f.startswith("shards/") for f in state.current):
        return RunDecision("full", files, note=(
            f"the store holds no signatures of corpus {state.corpus_id} to deduplicate new "
            "sources against: full run"))
    if not new:
        return RunDecision("none", (), skipped, note=(
            f"corpus {state.corpus_id} is up to date: its {len(skipped)} sources are unchanged "
            f"since log index {state.last_run_index}; nothing to read (--full reads them again)"))
    return RunDecision("append", new, skipped, note=(
        f"incremental: reading {len(new)} new source{'s' if len(new) != 1 else ''}, "
        f"skipping {len(skipped)} unchanged since log index {since} (--full reads every one)"),
        appends_to=state.last_run_index)


class UpToDate(Exception):  # not an error: the corpus already holds its sources
    """Every source of the corpus is unchanged since it was read: nothing to onboard."""

    def __init__(self, corpus_id: str, note: str) -> None:
        super().__init__(note)
        self.corpus_id = corpus_id


def plan_reading(plan: CurationPlan, decision: RunDecision) -> CurationPlan:
    """The plan of the run the decision makes: its files, and shards sized for them. An append
    run's file names derive from its configuration, its inputs and the state it extends (what
    it was deduplicated against), so no later full run of the same files reuses them."""
    if decision.mode != "append":
        return plan
    total = sum(f.size for f in decision.read)
    naming = hashlib.sha256(
        f"{plan.config_digest}\nappends-to:{decision.appends_to}".encode()).hexdigest()
    return replace(plan, files=decision.read, config_digest=naming,
                   shards=shard_count(total, plan.manifest.shards.target_bytes))


def with_decision(summary: RunSummary, decision: RunDecision) -> RunSummary:
    """The run summary, saying whether the run appended and which sources it skipped."""
    if decision.mode == "append":
        return summary.model_copy(update={"mode": "append", "skipped": list(decision.skipped),
                                          "mode_note": decision.note})
    return summary.model_copy(update={"mode_note": decision.note})

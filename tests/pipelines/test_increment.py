"""Whether an onboard may append: decide_run over real plans and folded corpus states."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lineage.corpus_state import CorpusState, InputFact, configuration_digest
from pipelines.increment import decide_run, plan_reading
from pipelines.plan import CurationPlan, plan_run
from schemas.manifest import Location, ManifestError, load_manifest

MANIFEST = """\
[corpus]
id = "acme-inc"
member = "acme"
license = "consortium-internal"
sensitivity = "internal"
language = "ja"

[[sources]]
uri = "data/*.jsonl"
format = "jsonl"
text_field = "{field}"
location = {{ provider = "onprem", country = "JP", region = "jp-tokyo" }}
"""
HERE = Location(provider="onprem", country="JP", region="jp-tokyo")


def _plan(folder: Path, field: str = "text", **dedup: str) -> CurationPlan:
    manifest = folder / "manifest.toml"
    extra = "".join(f'\n[dedup]\n{k} = "{v}"\n' for k, v in dedup.items())
    manifest.write_text(MANIFEST.format(field=field) + extra, encoding="utf-8")
    return plan_run(load_manifest(manifest), manifest, folder / "store", HERE)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    for name in ("a", "b"):
        (tmp_path / "data" / f"{name}.jsonl").write_text('{"text": "x"}\n' * 3)
    return tmp_path


def _state(plan: CurationPlan, **changes) -> CorpusState:
    """The state a full run of `plan` leaves (log index 4), with `changes` applied."""
    inputs = {f.source.uri: InputFact(f.source.uri, "a" * 64, f.size, f.mtime_ns, 3, 4,
                                      settings_sha256=f.settings_sha256) for f in plan.files}
    fields = dict(corpus_id="acme-inc", current=frozenset({"shards/acme-inc/s.parquet"}),
                  last_run_index=4, inputs=inputs, last_full_index=4,
                  config_digest=plan.config_digest)
    return CorpusState(**{**fields, **changes})


def _add(folder: Path, name: str) -> None:
    (folder / "data" / f"{name}.jsonl").write_text('{"text": "y"}\n')


def test_a_new_corpus_is_a_full_run_without_a_note(folder) -> None:
    plan = _plan(folder)
    decision = decide_run(plan.files, plan.config_digest, None, has_signatures=False)
    assert (decision.mode, decision.note, decision.read) == ("full", None, plan.files)


def test_an_added_source_is_read_alone_and_the_others_are_skipped(folder) -> None:
    state = _state(_plan(folder))
    _add(folder, "c")
    plan = _plan(folder)
    decision = decide_run(plan.files, plan.config_digest, state, has_signatures=True)
    assert decision.mode == "append"
    assert [f.source.uri for f in decision.read] == ["data/c.jsonl"]
    assert [(s.uri, s.log_index) for s in decision.skipped] == [
        ("data/a.jsonl", 4), ("data/b.jsonl", 4)]
    assert "reading 1 new source, skipping 2" in (decision.note or "")
    narrowed = plan_reading(plan, decision)
    assert narrowed.files == decision.read and narrowed.total_bytes == decision.read[0].size
    # its files are named apart from those of a full run of the same new file
    assert decision.appends_to == 4 and narrowed.config_digest != plan.config_digest


def test_nothing_new_runs_nothing(folder) -> None:
    plan = _plan(folder)
    decision = decide_run(plan.files, plan.config_digest, _state(plan), has_signatures=True)
    assert (decision.mode, decision.read) == ("none", ())
    assert "up to date" in (decision.note or "")


CHANGED = "source data/a.jsonl changed (size or modification time) since log index 4: full run"


@pytest.mark.parametrize("change, why", [
    ("mtime", CHANGED),
    ("size", CHANGED),
    ("removed", "source data/a.jsonl (read at log index 4) is no longer in the manifest: full "
                "run; to take a source out of the corpus, use `kura withdraw --corpus acme-inc "
                "--source data/a.jsonl`"),
])
def test_a_changed_or_removed_source_means_a_full_run_and_says_which(folder, change,
                                                                     why) -> None:
    state = _state(_plan(folder))
    source = folder / "data" / "a.jsonl"
    if change == "mtime":
        stat = source.stat()
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    elif change == "size":
        source.write_text('{"text": "x"}\n' * 4)
    else:
        source.unlink()
    _add(folder, "c")
    plan = _plan(folder)
    decision = decide_run(plan.files, plan.config_digest, state, has_signatures=True)
    assert (decision.mode, decision.note, decision.read) == ("full", why, plan.files)


def test_other_settings_configuration_or_a_missing_mtime_mean_a_full_run(folder) -> None:
    plan = _plan(folder)
    state = _state(plan)
    _add(folder, "c")
    field = _plan(folder, field="body")  # text_field is a source setting
    assert "other manifest settings" in (decide_run(
        field.files, field.config_digest, state, has_signatures=True).note or "")
    scope = _plan(folder, scope="corpus")
    assert scope.config_digest != plan.config_digest
    assert "configuration" in (decide_run(
        scope.files, scope.config_digest, state, has_signatures=True).note or "")
    plan = _plan(folder)
    old = _state(plan, inputs={u: InputFact(u, f.sha256, f.bytes, None, 3, 4)
                               for u, f in state.inputs.items()})
    assert "without its modification time" in (decide_run(
        plan.files, plan.config_digest, old, has_signatures=True).note or "")
    assert decide_run(plan.files, plan.config_digest, state, has_signatures=True,
                      full=True).note == "--full: every source is read again"
    assert "no signatures" in (decide_run(
        plan.files, plan.config_digest, state, has_signatures=False).note or "")


def test_an_unreadable_source_is_read_again_in_an_append_run(folder) -> None:
    plan = _plan(folder)
    state = _state(plan)
    unreadable = {**state.inputs, "data/b.jsonl": InputFact(
        "data/b.jsonl", None, 0, None, 0, 4, status="unreadable")}
    decision = decide_run(plan.files, plan.config_digest, _state(plan, inputs=unreadable),
                          has_signatures=True)
    assert decision.mode == "append"
    assert [f.source.uri for f in decision.read] == ["data/b.jsonl"]


def test_a_withdrawn_source_still_in_the_manifest_is_refused(folder) -> None:
    plan = _plan(folder)
    state = _state(plan, inputs={}, withdrawn_sources={"data/b.jsonl": 9})
    with pytest.raises(ManifestError, match=r"sources\[0\]\.uri: data/b.jsonl was withdrawn "
                                            r"from corpus acme-inc \(log index 9\)"):
        decide_run(plan.files, plan.config_digest, state, has_signatures=True, full=True)


def test_the_digest_recomputed_from_a_runs_parameters_is_the_plans(folder) -> None:
    plan = _plan(folder)
    # what curate records as the run's parameters, and the signed Kura version
    recorded = {**plan.manifest.model_dump(mode="json", exclude={"sources"}),
                "launch": {"runner": "DirectRunner"}}
    assert configuration_digest(recorded, plan.kura_version) == plan.config_digest
    moved = {**recorded, "corpus": {**recorded["corpus"], "root": "/elsewhere"}}
    assert configuration_digest(moved, plan.kura_version) == plan.config_digest
    assert configuration_digest(recorded, "9.9.9") != plan.config_digest


def test_an_append_runs_signatures_join_the_corpus_folder_and_a_repeat_finishes_it(
        tmp_path) -> None:
    from pipelines.store import _add_signatures

    staged = tmp_path / "staging" / "signatures" / "acme-inc"
    held = tmp_path / "store" / "signatures" / "acme-inc"
    staged.mkdir(parents=True)
    held.mkdir(parents=True)
    (held / "signatures-00000-of-00001.parquet").write_bytes(b"held")
    for n in range(2):
        (staged / f"signatures-0000{n}-of-00002.parquet").write_bytes(b"new%d" % n)
    # a publish that died after moving the first file: the next command moves the rest
    (staged / "signatures-00000-of-00002.parquet").rename(
        held / "run-2-signatures-00000-of-00002.parquet")
    _add_signatures(tmp_path / "staging", tmp_path / "store", "acme-inc", "run-2")
    _add_signatures(tmp_path / "staging", tmp_path / "store", "acme-inc", "run-2")
    assert sorted(p.name for p in held.iterdir()) == [
        "run-2-signatures-00000-of-00002.parquet", "run-2-signatures-00001-of-00002.parquet",
        "signatures-00000-of-00001.parquet"]
    assert (held / "run-2-signatures-00001-of-00002.parquet").read_bytes() == b"new1"
    assert not staged.exists()

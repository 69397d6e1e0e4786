"""gc's fold of provenance records: which files left their corpus's current files, when and
why (pure: statements in, departures out), and that it agrees with lineage/corpus_state.py."""

from __future__ import annotations

import pytest

from lineage.corpus_state import fold_run
from lineage.gc import GcError, fold_provenance
from lineage.statements import LoggedStatement
from lineage.tombstone import Tombstone, removal_summary
from schemas.predicates import TombstonePredicate


def run(corpus: str, outputs: list[str], signed_at: str, **external) -> dict:
    """A provenance statement as record_run writes it (the fields the folds read)."""
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://slsa.dev/provenance/v1",
        "subject": [{"name": name, "digest": {"sha256": "0" * 64}} for name in outputs],
        "predicate": {"buildDefinition": {
            "externalParameters": {"corpusId": corpus, **external},
            "internalParameters": {"signedAt": signed_at}}},
    }


A1, A2, B1 = "shards/a/a-1.parquet", "shards/a/a-2.parquet", "shards/b/b-1.parquet"
REJ1, REJ2 = "rejects/a/r-1.parquet", "rejects/a/r-2.parquet"


def test_a_full_run_supersedes_every_file_of_the_run_before() -> None:
    fold = fold_provenance([
        (1, run("a", [A1, REJ1, "runs/1.json"], "2026-01-01T00:00:00Z")),
        (2, run("b", [B1], "2026-01-02T00:00:00Z")),
        (3, run("a", [A2, REJ2], "2026-01-03T00:00:00Z")),
    ])
    assert fold.current == {"a": frozenset({A2, REJ2}), "b": frozenset({B1})}
    assert set(fold.departed) == {A1, REJ1, "runs/1.json"}
    departure = fold.departed[A1]
    assert (departure.left_at, departure.left_at_time, departure.reason) == (
        3, "2026-01-03T00:00:00Z", "superseded")


def test_append_keeps_and_rewrite_replaces_only_what_it_names() -> None:
    fold = fold_provenance([
        (1, run("a", [A1], "t1")),
        (2, run("a", [A2], "t2", mode="append")),
        (5, run("a", ["shards/a/a-1b.parquet"], "t5", mode="rewrite", replaces=[A1],
                withdrawal=4)),
    ])
    assert fold.current["a"] == {A2, "shards/a/a-1b.parquet"}
    assert set(fold.departed) == {A1}
    assert (fold.departed[A1].reason, fold.departed[A1].withdrawal) == ("withdrawn", 4)


def test_a_file_written_again_under_its_name_is_current_again() -> None:
    fold = fold_provenance([(1, run("a", [A1], "t1")), (2, run("a", [A2], "t2")),
                            (3, run("a", [A1], "t3"))])
    assert fold.current["a"] == {A1} and set(fold.departed) == {A2}


def test_an_unknown_run_mode_stops_gc() -> None:
    with pytest.raises(GcError, match="run mode 'merge' is unknown"):
        fold_provenance([(1, run("a", [A1], "t1")), (2, run("a", [A2], "t2", mode="merge"))])


def test_the_fold_agrees_with_corpus_state() -> None:
    records = [(1, run("a", [A1, REJ1], "t1")), (2, run("a", [A2], "t2", mode="append")),
               (3, run("a", [B1], "t3", mode="rewrite", replaces=[A1, REJ1], withdrawal=2)),
               (4, run("a", [REJ2], "t4", mode="append"))]
    state = None
    for index, statement in records:
        state = fold_run(state, LoggedStatement(index, None, statement))  # type: ignore[arg-type]
    assert fold_provenance(records).current["a"] == state.current


def test_removal_summary_says_how_many_when_and_why() -> None:
    def stone(reason: str, at: str) -> Tombstone:
        return Tombstone(A1, "0" * 64, 9, TombstonePredicate(
            reason=reason, superseded_by=3, superseded_at="t", retention_days=0, bytes=1,
            removed_at=at, site_id="s", policy_digest="sha256:x"))

    assert removal_summary([]) == ""
    assert removal_summary([stone("withdrawn", "T1"), stone("superseded", "T2"),
                            stone("withdrawn", "T1")]) == (
        "3 file(s) removed by gc between T1 and T2 (superseded 1, withdrawn 2)")

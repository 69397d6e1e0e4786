"""Tombstones: the signed record that `kura gc` removed a file's bytes, and what readers make of
it.

A tombstone is an in-toto Statement (predicateType TOMBSTONE_PREDICATE) signed by the site key,
one per removed file: its subject is the file (store-relative name, the sha256 last attested
for it), its predicate says why it went (schemas/predicates.py `TombstonePredicate`). gc appends
the tombstone first and unlinks the file after, so a gc killed in between leaves a file whose
latest record is its tombstone: `audit verify` holds (the bytes still match), and the next gc
finishes the removal. A later record of the same path (a re-run that writes the same
deterministic shard name again) supersedes the tombstone, as any later claim does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lineage.dsse import Envelope, EnvelopeError
from lineage.statements import logged_statements
from schemas.predicates import TOMBSTONE_PREDICATE, Statement, Subject, TombstonePredicate


@dataclass(frozen=True)
class Tombstone:
    """A logged tombstone of one file."""

    name: str  # store-relative path
    sha256: str
    log_index: int
    predicate: TombstonePredicate

    def describe(self) -> str:
        """One clause for people: when, why, under which record (never any data)."""
        why = {"superseded": "superseded by the run at log index",
               "withdrawn": "withdrawn by the rewrite at log index",
               "replaced": "replaced by the rewrite at log index"}[self.predicate.reason]
        withdrawal = (f" (withdrawal record at log index {self.predicate.withdrawal})"
                      if self.predicate.withdrawal is not None else "")
        return (f"removed by `kura gc` at {self.predicate.removed_at} (tombstone at log index "
                f"{self.log_index}): {why} {self.predicate.superseded_by}{withdrawal}")


def tombstone_statement(name: str, sha256: str, predicate: TombstonePredicate) -> dict:
    """The in-toto statement of one tombstone (pure)."""
    return Statement(
        subject=[Subject(name=name, digest={"sha256": sha256})],
        predicate_type=TOMBSTONE_PREDICATE,
        predicate=predicate.to_json_dict(),
    ).to_json_dict()


def logged_tombstones(lines: Iterable[bytes]) -> list[Tombstone]:
    """Every tombstone of the log, in log order (lines that do not parse are skipped:
    `verify_store` reports them)."""
    found = []
    for record in logged_statements(lines, TOMBSTONE_PREDICATE):
        try:
            predicate = TombstonePredicate.model_validate(record.predicate)
        except ValueError:
            continue
        for subject in record.statement.get("subject") or []:
            name, sha = subject.get("name"), (subject.get("digest") or {}).get("sha256")
            if name and sha:
                found.append(Tombstone(name, sha, record.index, predicate))
    return found


def latest_claims(lines: Iterable[bytes]) -> dict[str, tuple[int, str]]:
    """The log index of the latest record naming each subject path, and its predicate type."""
    latest: dict[str, tuple[int, str]] = {}
    for index, line in enumerate(lines):
        try:
            statement = json.loads(Envelope.from_json(line).payload)
        except (EnvelopeError, ValueError, UnicodeDecodeError):
            continue
        if not isinstance(statement, dict):
            continue
        kind = statement.get("predicateType", "")
        for subject in statement.get("subject") or []:
            if isinstance(subject, dict) and subject.get("name"):
                latest[subject["name"]] = (index, kind)
    return latest


def standing_tombstones(lines: list[bytes]) -> dict[str, Tombstone]:
    """The tombstones that are the latest record of their path: those files are gone (or, after
    an interrupted gc, still to be unlinked)."""
    latest = latest_claims(lines)
    return {t.name: t for t in logged_tombstones(lines)
            if latest.get(t.name, (-1, ""))[0] == t.log_index}


def removal_summary(tombstones: Iterable[Tombstone]) -> str:
    """"N files removed by gc between T1 and T2 (superseded 3, withdrawn 2)", or ""."""
    stones = list(tombstones)
    if not stones:
        return ""
    reasons = Counter(t.predicate.reason for t in stones)
    times = sorted(t.predicate.removed_at for t in stones)
    when = f"at {times[0]}" if times[0] == times[-1] else f"between {times[0]} and {times[-1]}"
    why = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
    return f"{len(stones)} file(s) removed by gc {when} ({why})"


def removal_note(lines: list[bytes], name: str) -> str | None:
    """Why `name` is gone, if a standing tombstone says so (for `release show` and `pull`)."""
    stone = standing_tombstones(lines).get(name)
    return stone.describe() if stone is not None else None

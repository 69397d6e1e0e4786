"""`kura gc`: remove the bytes of files that left their corpus's current files, once older than
the retention, leaving a signed tombstone per file (lineage/tombstone.py).

What leaves (folding provenance records in log order, the rules of lineage/corpus_state.py):
a full run makes its outputs the corpus's current files, so the earlier run's shards, rejects,
duplicates and quarantine files are superseded; a rewrite (mode "rewrite") takes the files it
`replaces` out, withdrawn when it enacts a withdrawal record. Only data files go (shards/,
rejects/, duplicates/, quarantine/); run summaries and reports stay. The retention is counted
from the signedAt of the record that took the file out.

Order: every tombstone is appended (one log append, one checkpoint) before any file is
unlinked. A gc killed in between leaves files whose latest record is their tombstone: `audit
verify` holds (their bytes still match), and the next gc unlinks them without a new record.
A file is tombstoned only if its bytes are the ones last attested for it: a file that differs
is left alone and named (`audit verify` fails on it anyway).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from lineage.clock import format_time, parse_time, utc_now
from lineage.code import file_sha256
from lineage.dsse import canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.policy import role_allows
from lineage.statements import logged_statements
from lineage.tombstone import standing_tombstones, tombstone_statement
from schemas.predicates import (
    IN_TOTO_PAYLOAD_TYPE,
    PROVENANCE_PREDICATE,
    RELEASE_URI_PREFIX,
    RESIDENCY_PREDICATE,
    TOMBSTONE_PREDICATE,
    VSA_PREDICATE,
    TombstonePredicate,
    TombstoneReason,
)

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30.0
# The store folders whose files gc may remove: curated data and its by-products, never records.
REMOVABLE_PREFIXES = ("shards/", "rejects/", "duplicates/", "quarantine/")


class GcError(ValueError):
    """gc cannot run as asked; one line saying what to change. Nothing was removed."""


@dataclass(frozen=True)
class Departure:
    """A file that left its corpus's current files: when, why and under which record."""

    name: str
    corpus: str
    left_at: int  # log index of the provenance record that took it out
    left_at_time: str  # that record's signedAt
    reason: TombstoneReason
    withdrawal: int | None = None


@dataclass(frozen=True)
class Fold:
    current: dict[str, frozenset[str]]  # corpus -> its current files
    departed: dict[str, Departure]  # store path -> why it is no longer current


def fold_departures(lines: Iterable[bytes]) -> Fold:
    """Fold every provenance record in log order into each corpus's current files, remembering
    for every file that left them the record that took it out (pure over the log lines)."""
    return fold_provenance((r.index, r.statement)
                           for r in logged_statements(lines, PROVENANCE_PREDICATE))


def fold_provenance(records: Iterable[tuple[int, dict]]) -> Fold:
    """`fold_departures` over (log index, provenance statement) pairs, in log order."""
    current: dict[str, frozenset[str]] = {}
    departed: dict[str, Departure] = {}
    for index, statement in records:
        predicate = statement.get("predicate") or {}
        build = predicate.get("buildDefinition") or {}
        external = build.get("externalParameters") or {}
        corpus = external.get("corpusId")
        if not isinstance(corpus, str):
            continue
        signed_at = str((build.get("internalParameters") or {}).get("signedAt", ""))
        outputs = frozenset(s["name"] for s in statement.get("subject") or []
                            if isinstance(s, dict) and s.get("name"))
        before = current.get(corpus, frozenset())
        mode = external.get("mode") or "full"
        withdrawal = external.get("withdrawal")
        reason: TombstoneReason = "superseded"
        if mode == "full":
            after, leaving = outputs, before - outputs
        elif mode == "append":
            after, leaving = before | outputs, frozenset()
        elif mode == "rewrite":
            replaces = frozenset(external.get("replaces") or ())
            after = (before - replaces) | outputs
            leaving = (before & replaces) - outputs
            reason = "withdrawn" if isinstance(withdrawal, int) else "replaced"
        else:
            raise GcError(f"log index {index}: run mode {mode!r} is unknown to this "
                          "version of kura; nothing was removed")
        for name in leaving:
            departed[name] = Departure(name, corpus, index, signed_at, reason,
                                       withdrawal if isinstance(withdrawal, int) else None)
        for name in after:
            departed.pop(name, None)  # written again under the same name: current once more
        current[corpus] = after
    return Fold(current, departed)


def _check_against_corpus_states(lines: list[bytes], fold: Fold) -> None:
    """gc and certification must agree on what is current: compare with the shared fold."""
    try:
        from lineage.corpus_state import corpus_states
    except ImportError:  # a tree without it: this module's fold follows the same rules
        return
    for corpus, state in corpus_states(lines).items():
        mine = fold.current.get(corpus, frozenset())
        if frozenset(state.current) != mine:
            odd = sorted(set(state.current) ^ mine)
            raise GcError(f"corpus {corpus}: gc's reading of the log disagrees with the "
                          f"certifier's on {odd[0] if odd else '?'} ({len(odd)} files); "
                          "nothing was removed")


def releases_holding(lines: Iterable[bytes]) -> dict[str, list[str]]:
    """Store path -> the releases whose certification names it."""
    held: dict[str, list[str]] = defaultdict(list)
    for record in logged_statements(lines, VSA_PREDICATE):
        release = str(record.predicate.get("resourceUri", "")).removeprefix(RELEASE_URI_PREFIX)
        for subject in record.statement.get("subject") or []:
            if isinstance(subject, dict) and subject.get("name"):
                held[subject["name"]].append(release)
    return held


@dataclass(frozen=True)
class GcItem:
    """One file gc looked at, and what it does (or would do) with it."""

    name: str
    action: str  # "remove", "keep" (within retention), "finish" (tombstoned, still on disk),
    #              "missing" (gone without a tombstone: left alone), "differs" (left alone)
    departure: Departure
    bytes: int = 0
    sha256: str = ""
    retained_until: str = ""
    releases: tuple[str, ...] = ()
    tombstone_index: int | None = None

    def to_json(self) -> dict:
        data = {"path": self.name, "action": self.action, "corpus": self.departure.corpus,
                "reason": self.departure.reason, "supersededBy": self.departure.left_at,
                "supersededAt": self.departure.left_at_time, "bytes": self.bytes,
                "releases": list(self.releases)}
        if self.departure.withdrawal is not None:
            data["withdrawal"] = self.departure.withdrawal
        if self.retained_until:
            data["retainedUntil"] = self.retained_until
        if self.tombstone_index is not None:
            data["tombstoneIndex"] = self.tombstone_index
        return data


@dataclass(frozen=True)
class GcPlan:
    retention_days: float
    now: str
    items: tuple[GcItem, ...]
    current: dict[str, frozenset[str]] = field(default_factory=dict)

    def by_action(self, action: str) -> list[GcItem]:
        return [item for item in self.items if item.action == action]


def _attested_digests(lines: list[bytes]) -> dict[str, str]:
    """The sha256 last attested for each path by a record other than a tombstone."""
    digests: dict[tuple[int, str], str] = {}
    for kind in (PROVENANCE_PREDICATE, RESIDENCY_PREDICATE):
        for record in logged_statements(lines, kind):
            for subject in record.statement.get("subject") or []:
                sha = (subject.get("digest") or {}).get("sha256") if isinstance(
                    subject, dict) else None
                if sha and subject.get("name"):
                    digests[(record.index, subject["name"])] = sha
    latest: dict[str, tuple[int, str]] = {}
    for (index, name), sha in digests.items():
        if name not in latest or index >= latest[name][0]:
            latest[name] = (index, sha)
    return {name: sha for name, (_, sha) in latest.items()}


def plan_gc(store_root: Path, lines: list[bytes], retention_days: float,
            now: datetime | None = None) -> GcPlan:
    """What gc would do now: every departed data file, with its action (reads file sizes and
    hashes the ones due for removal; writes nothing)."""
    if retention_days < 0:
        raise GcError(f"--retention {retention_days:g}: a retention is 0 days or more")
    store_root = Path(store_root)
    moment = now or parse_time(utc_now())
    fold = fold_departures(lines)
    _check_against_corpus_states(lines, fold)
    stones = standing_tombstones(lines)
    held = releases_holding(lines)
    attested = _attested_digests(lines)
    retention = timedelta(days=retention_days)
    items = []
    for name, departure in sorted(fold.departed.items()):
        if not name.startswith(REMOVABLE_PREFIXES):
            continue
        path = store_root / name
        releases = tuple(held.get(name, ()))
        stone = stones.get(name)
        if stone is not None:
            if path.is_file():
                items.append(GcItem(name, "finish", departure, path.stat().st_size,
                                    stone.sha256, releases=releases,
                                    tombstone_index=stone.log_index))
            continue  # removed earlier: nothing to do or say
        if not path.is_file():
            items.append(GcItem(name, "missing", departure, releases=releases))
            continue
        size = path.stat().st_size
        due = parse_time(departure.left_at_time) + retention if departure.left_at_time else moment
        if due > moment:
            items.append(GcItem(name, "keep", departure, size, retained_until=format_time(due),
                                releases=releases))
            continue
        expected = attested.get(name, "")
        actual = file_sha256(path)
        action = "remove" if actual == expected else "differs"
        items.append(GcItem(name, action, departure, size, actual, releases=releases))
    return GcPlan(retention_days, format_time(moment), tuple(items), fold.current)


@dataclass(frozen=True)
class GcResult:
    plan: GcPlan
    removed: tuple[GcItem, ...]  # tombstoned now and unlinked
    finished: tuple[GcItem, ...]  # tombstoned by an interrupted gc, unlinked now
    first_tombstone: int | None = None
    checkpoint: str | None = None

    @property
    def bytes_freed(self) -> int:
        return sum(item.bytes for item in (*self.removed, *self.finished))


def collect(store_root: Path, retention_days: float = DEFAULT_RETENTION_DAYS,
            now: datetime | None = None) -> GcResult:
    """Plan, sign and append a tombstone per file due, then unlink them (and the files an
    interrupted gc tombstoned). The caller holds the store lock, so no run publishes meanwhile;
    the log lock is held from reading the log to appending the tombstones."""
    store_root = Path(store_root)
    tlog = TransparencyLog(store_root)
    with tlog.lock:
        lines = tlog.read().lines
        plan = plan_gc(store_root, lines, retention_days, now)
        due = plan.by_action("remove")
        first = None
        checkpoint = None
        if due:
            context = load_site_context(store_root)  # fresh: the current key and policy
            if not role_allows(context.policy, "site", TOMBSTONE_PREDICATE):
                raise GcError(f"trust policy v{context.policy.version} does not let site keys "
                              f"sign tombstones ({TOMBSTONE_PREDICATE}): it predates gc; run "
                              "`kura keys grant-defaults --root-key ROOT_KEY` (a root-signed "
                              "policy change) first. Nothing was removed")
            removed_at = utc_now()
            envelopes = [
                sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(tombstone_statement(
                    item.name, item.sha256, TombstonePredicate(
                        reason=item.departure.reason,
                        superseded_by=item.departure.left_at,
                        superseded_at=item.departure.left_at_time,
                        withdrawal=item.departure.withdrawal,
                        retention_days=retention_days,
                        bytes=item.bytes,
                        removed_at=removed_at,
                        site_id=context.site_id,
                        policy_digest=context.signed_policy.digest,
                    ))), context.site_key)
                for item in due
            ]
            result = tlog.append([e.to_json_line() for e in envelopes], context.site_key,
                                 context.log_origin)
            first = result.first_index
            checkpoint = result.checkpoint.path.name if result.checkpoint and \
                result.checkpoint.path else None
            due = [GcItem(**{**item.__dict__, "tombstone_index": first + i})
                   for i, item in enumerate(due)]
    # Only now the bytes go: every removal below is covered by a tombstone already in the log.
    failed = []
    for item in (*due, *plan.by_action("finish")):
        try:
            _unlink(store_root / item.name)
        except OSError as exc:
            failed.append(f"{item.name} ({exc.strerror})")
    if failed:
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        raise GcError(f"cannot remove {failed[0]}{more}: its tombstone is logged, so the store "
                      "still verifies; fix the permissions and run `kura gc` again to finish")
    log.info("gc: %d files tombstoned and removed, %d interrupted removals finished",
             len(due), len(plan.by_action("finish")))
    return GcResult(plan, tuple(due), tuple(plan.by_action("finish")), first, checkpoint)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:  # make the removal durable before anyone relies on it
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_files(lines: list[bytes]) -> dict[str, frozenset[str]]:
    """Each corpus's current files (gc's fold; equal to corpus_states' by construction)."""
    return fold_departures(lines).current


__all__ = ["DEFAULT_RETENTION_DAYS", "Departure", "GcError", "GcItem", "GcPlan", "GcResult",
           "collect", "current_files", "fold_departures", "plan_gc",
           "releases_holding"]

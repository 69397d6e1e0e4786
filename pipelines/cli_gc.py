"""`kura gc`: remove the bytes of superseded and withdrawn files after the retention, each with
a signed tombstone (lineage/gc.py). Holds the store lock, so no run publishes meanwhile, and
first finishes what interrupted commands left (as `kura store repair` does)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lineage.gc import DEFAULT_RETENTION_DAYS, GcError, GcItem, GcPlan, collect, plan_gc
from lineage.keys import KeyStoreError
from lineage.log import TransparencyLog
from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    fail,
    need_store,
    note_line,
    print_json,
)
from pipelines.pseudonym_index import prune_index
from pipelines.store import recover, store_lock

_ACTIONS = {
    "remove": "removed",
    "finish": "removed (its tombstone was logged by an interrupted gc)",
    "keep": "kept: within the retention",
    "missing": "missing without a tombstone: left alone (`kura audit verify` reports it)",
    "differs": "bytes differ from the attested ones: left alone (`kura audit verify` reports it)",
}


def gc(
    retention: Annotated[float, typer.Option(
        "--retention", help="Days a superseded or withdrawn file is kept, counted from the "
        "signed time of the record that took it out.", metavar="DAYS")] = DEFAULT_RETENTION_DAYS,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be removed and why; change nothing.")] = False,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Remove the bytes of shards, rejects, duplicates and quarantine files that a later run
    superseded or a withdrawal replaced, once older than the retention; each removal leaves a
    signed tombstone, so `kura audit verify` still holds and says what went, when and why."""
    need_store(store)
    started = time.perf_counter()
    try:
        if dry_run:
            plan = plan_gc(store, TransparencyLog(store).read().lines, retention)
            pruned: list[str] = []
            removed = finished = ()
            first = None
        else:
            with store_lock(store, "gc", note_line):
                for line in recover(store):
                    note_line(line)
                result = collect(store, retention)
                pruned = prune_index(store, result.plan.current)
            plan, removed, finished, first = (result.plan, result.removed, result.finished,
                                              result.first_tombstone)
    except (GcError, KeyStoreError) as exc:
        raise fail(str(exc)) from None
    seconds = time.perf_counter() - started
    done = {item.name for item in (*removed, *finished)}
    if json_output:
        print_json(_json(store, plan, dry_run, done, first, pruned, seconds))
        return
    _print(plan, dry_run, done, first, pruned, seconds)


def _json(store, plan: GcPlan, dry_run: bool, done: set[str], first: int | None,
          pruned: list[str], seconds: float) -> dict:
    return {
        "store": str(store), "dryRun": dry_run, "retentionDays": plan.retention_days,
        "now": plan.now, "files": [item.to_json() for item in plan.items],
        "removed": len(done), "bytesFreed": sum(i.bytes for i in plan.items if i.name in done),
        "firstTombstone": first, "prunedIndexFiles": pruned, "seconds": round(seconds, 3),
    }


def _print(plan: GcPlan, dry_run: bool, done: set[str], first: int | None, pruned: list[str],
           seconds: float) -> None:
    if not plan.items:
        console.print(f"nothing to collect: no file left its corpus's current files "
                      f"({seconds:.2f} s)")
        return
    table = Table("file", "why", "since", "bytes", "held by releases",
                  "would be" if dry_run else "outcome")
    for item in plan.items:
        table.add_row(escape(item.name), _why(item), item.departure.left_at_time[:19],
                      f"{item.bytes:,}", ", ".join(item.releases) or "-", _outcome(item, dry_run))
    console.print(table)
    due = plan.by_action("remove") + plan.by_action("finish")
    if dry_run:
        console.print(f"dry run: {len(due)} file(s), {sum(i.bytes for i in due):,} bytes would be "
                      f"removed with a tombstone each (retention {plan.retention_days:g} days); "
                      "nothing was changed")
        return
    tombstones = f" (tombstones from log index {first})" if first is not None else ""
    console.print(f"removed {len(done)} file(s), {sum(i.bytes for i in due):,} bytes"
                  f"{tombstones}; {len(plan.by_action('keep'))} kept within the retention of "
                  f"{plan.retention_days:g} days; {len(pruned)} stale pseudonym index file(s) "
                  f"dropped ({seconds:.2f} s)")
    held = sorted({r for item in due for r in item.releases})
    if held:
        console.print(f"releases {', '.join(held)} held removed files: they can no longer be "
                      "pulled (`kura release show` names the files)")


def _why(item: GcItem) -> str:
    departure = item.departure
    if departure.reason == "withdrawn":
        return (f"withdrawn (withdrawal at log index {departure.withdrawal}, rewrite at "
                f"{departure.left_at})")
    if departure.reason == "replaced":
        return f"replaced by the rewrite at log index {departure.left_at}"
    return f"superseded by the run at log index {departure.left_at}"


def _outcome(item: GcItem, dry_run: bool) -> str:
    if item.action == "keep":
        return f"kept until {item.retained_until[:19]}"
    if dry_run and item.action in ("remove", "finish"):
        return "removed"
    return _ACTIONS[item.action]

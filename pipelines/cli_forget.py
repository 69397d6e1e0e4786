"""`kura forget`: withdraw every current document that mentions a person (pipelines/forget.py).

The value never reaches stdout, stderr, a log line or the store: only counts, document ids and
the sha256 of its keyed pseudonyms do. `--value -` reads it from stdin, so it stays out of the
shell history and the process list.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lineage.policy import PolicyError
from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    err_console,
    fail,
    need_store,
    note_line,
    print_json,
)

if TYPE_CHECKING:
    from pipelines.forget import ForgetOutcome

# A withdrawal happened, but not everything asked could be done: a corpus that could not be
# searched, or duplicates the withdrawal could not restore (the withdraw command's code).
EXIT_INCOMPLETE = 3


def _read_value(value: str) -> str:
    if value != "-":
        return value
    data = sys.stdin.read()
    return data.rstrip("\r\n")


def forget_command(
    value: Annotated[str, typer.Option(
        "--value", help="The name or value to forget; `-` reads it from stdin (keeps it out "
        "of the shell history and the process list).")],
    reason: Annotated[str, typer.Option(
        "--reason", help="Why, recorded as given in the signed log: must not contain the "
        "value.")],
    corpus: Annotated[list[str] | None, typer.Option(
        "--corpus", help="Search only this corpus (repeat for more); default: every corpus "
        "the store keeps a manifest of.")] = None,
    trust_root: Annotated[str | None, typer.Option(
        "--trust-root", envvar="KURA_TRUST_ROOT",
        help="The pinned root public key (PEM) the store is verified against.")] = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Withdraw every current document that mentions a person, found through the keyed
    pseudonyms of corpora scrubbed in pseudonym mode (the secret must be available); later
    releases leave them out. Placeholder-mode corpora cannot be searched: the command says
    what to do instead."""
    from pipelines.forget import ForgetError, forget  # presidio and Beam: only when forgetting

    need_store(store)
    secret_value = _read_value(value)
    try:
        outcome = forget(store, secret_value, reason, corpus or (), trust_root=trust_root,
                         announce=note_line)
    except (ForgetError, PolicyError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        if type(exc).__name__ in ("WithdrawalError", "WithdrawScanError"):  # user errors
            raise fail(str(exc)) from None
        raise
    finally:
        del secret_value
    incomplete = bool(outcome.unsearched) or any(
        getattr(w, "status", 0) for w in outcome.withdrawals.values())
    if json_output:
        print_json(_json(outcome))
    else:
        _print(outcome)
    if incomplete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _json(outcome: ForgetOutcome) -> dict[str, Any]:
    return {
        "corpora": [s.to_json() for s in outcome.searches],
        "documents": sum(len(s.doc_ids) for s in outcome.searches),
        "withdrawals": {c: w.to_json() for c, w in outcome.withdrawals.items()},
        "prunedIndexFiles": list(outcome.pruned),
        "complete": not outcome.unsearched,
    }


def _print(outcome: ForgetOutcome) -> None:
    for found in outcome.searches:
        if not found.searchable:
            err_console.print(f"kura: not searched: {found.why_not}", soft_wrap=True)
            continue
        built = f" (index built now for {found.indexed_now})" if found.indexed_now else ""
        console.print(f"corpus {found.corpus_id}: {len(found.doc_ids)} document(s) mention the "
                      f"value in {len(found.matches)} of {found.shards} current shard(s)"
                      f"{built}")
        withdrawal = outcome.withdrawals.get(found.corpus_id)
        if withdrawal is not None:
            console.print(f"  withdrawn (kind forget) by the signed record at log index "
                          f"{withdrawal.log_index}, enacted by rewrite run {withdrawal.run_id}: "
                          "later releases leave them out")
            for line in withdrawal.notes:
                err_console.print(f"kura: {line}", soft_wrap=True)
    if not any(s.doc_ids for s in outcome.searches):
        console.print("no current document mentions the value: nothing was withdrawn")

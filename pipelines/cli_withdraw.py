"""`kura withdraw`: take a source (or every source) back out of a corpus, with a signed reason.

    app.command("withdraw")(withdraw)

Exit status: 0 withdrawn; 3 withdrawn, but some duplicates the withdrawn documents stood for
could not be restored (each named with why); 2 a user error, nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    error_line,
    need_store,
    note_line,
    print_json,
)
from pipelines.cli_common import fail as _fail


def withdraw(
    corpus: Annotated[str, typer.Option("--corpus", metavar="ID",
                                        help="the corpus to withdraw from")],
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="why the data leaves, recorded as given in the signed "
        "withdrawal (e.g. 'licence for this source ended 2026-11-30')")],
    source: Annotated[list[str] | None, typer.Option(
        "--source", metavar="PATH|URI", help="a source to withdraw (repeatable): a local path "
        "(relative or absolute), a file://, gs:// or s3:// URI, or the uri a run recorded, "
        "matched as `kura audit trace --source` matches")] = None,
    all_sources: Annotated[bool, typer.Option(
        "--all", help="withdraw every source of the corpus")] = False,
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", help="the corpus manifest, to find the sources of duplicates that take "
        "a withdrawn document's place (default: paths relative to the --source path given, "
        "else to the current folder)")] = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Withdraw a source from a corpus: sign a withdrawal record (certifier key) naming the
    sources, documents and files affected, then rewrite those files without them as a new
    signed run. Later releases cannot include the documents; earlier releases that hold them
    are flagged by `release show` and `audit trace`. A duplicate that a withdrawn document
    stood for takes its place, re-read from its source."""
    from lineage.keys import KeyStoreError
    from lineage.log import LogError
    from lineage.policy import PolicyError
    from lineage.record import RecordError
    from lineage.trace import TraceError
    from lineage.withdraw import WithdrawalError
    from pipelines.store import StoreBusy
    from pipelines.withdraw import WithdrawScanError, withdraw_documents

    if bool(source) == all_sources:
        raise _fail("give --source PATH|URI (repeatable) or --all, not both")
    need_store(store)
    try:
        outcome = withdraw_documents(
            store, corpus, reason=reason, kind="all" if all_sources else "source",
            sources=tuple(source or ()), announce=note_line, manifest_path=manifest)
    except (WithdrawalError, WithdrawScanError, TraceError, KeyStoreError, PolicyError,
            LogError, StoreBusy, RecordError) as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json(outcome.to_json())
    else:
        _print(outcome)
    for lost in outcome.unrestored:
        error_line(f"duplicate {lost.doc_id} ({lost.source_uri}) not restored: {lost.reason}")
    for other, doc_id, uri, kept in outcome.elsewhere:
        error_line(f"duplicate {doc_id} of corpus {other} ({uri}) stood for withdrawn {kept}: "
                   f"not restored (a withdrawal rewrites only {outcome.corpus_id}); onboard "
                   f"{other} again to keep it")
    for path in outcome.quarantined:
        error_line(f"rewritten shard {path} failed its suite and is in quarantine")
    if outcome.status:
        raise typer.Exit(outcome.status)


def _print(outcome) -> None:
    sources = ", ".join(uri for uri, _ in outcome.sources) or "every source"
    kinds = ", ".join(f"{n} {k}" for k, n in outcome.by_kind.items())
    console.print(f"withdrew {outcome.documents} documents ({kinds}) of {escape(sources)} from "
                  f"corpus {outcome.corpus_id}")
    console.print(f"  withdrawal record at log index {outcome.log_index} (certifier key); "
                  f"documents: {outcome.documents_file}")
    console.print(f"  rewrite run {outcome.run_id}: provenance at log index "
                  f"{outcome.provenance_index}; replaces {len(outcome.affected)} file(s), wrote "
                  f"{len(outcome.new_files)}")
    for path in outcome.new_files:
        console.print(f"    {path}")
    if outcome.promoted:
        console.print(f"  {len(outcome.promoted)} duplicate(s) promoted in place of a withdrawn "
                      f"document, {outcome.repointed} re-pointed at their new kept document")
    console.print(f"  earlier releases keep their bytes until `kura gc`; `kura release show` "
                  f"flags them ({outcome.seconds:.2f} s)")

"""What a run's outcome is, for the person who ran it: the summary table and the exit status.

`kura onboard` exits 0 only when every written document is certified. The other statuses:

| status | meaning |
|---|---|
| 2 | a user error (bad manifest, flag, key or location); nothing was run |
| 3 | documents withheld: quarantined by the residual-PII gate, or in a shard failing its suite |
| 4 | a source yielded no document at all (empty, unreadable, or every record rejected) |

3 wins over 4 when both hold. Everything here reads the run summary: names, counts and doc_ids,
never a value from the text.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from schemas.run import RunSummary

EXIT_CERTIFIED = 0
EXIT_WITHHELD = 3
EXIT_EMPTY_SOURCE = 4
SHOWN_DOC_IDS = 5


@dataclass(frozen=True)
class Outcome:
    status: int
    lines: tuple[str, ...]  # one per problem, for stderr


def _ids(doc_ids: list[str]) -> str:
    shown = ", ".join(doc_ids[:SHOWN_DOC_IDS])
    more = f" (+{len(doc_ids) - SHOWN_DOC_IDS} more in the run summary)" if len(
        doc_ids) > SHOWN_DOC_IDS else ""
    return f"{shown}{more}" if shown else "see the run summary"


def quarantine_lines(summary: RunSummary) -> list[str]:
    """One line per check that withheld documents: check, column, count, doc_ids, where."""
    lines = []
    for q in summary.quarantined:
        entities = ", ".join(f"{e} {n}" for e, n in q.entities.items())
        what = f" ({entities})" if entities else ""
        lines.append(
            f"withheld {q.documents} document(s): {q.check} on column {q.column or '-'}{what}; "
            f"doc_ids {_ids(q.doc_ids)}; in {q.path}"
        )
    return lines


def outcome(summary: RunSummary) -> Outcome:
    lines = quarantine_lines(summary)
    for source in summary.empty_sources():
        why = ", ".join(f"{step} {n}" for step, n in source.rejected.items())
        lines.append(f"source {source.uri} yielded no document: read {source.read}"
                     + (f", rejected {why}" if why else ""))
    if summary.withheld_documents():
        status = EXIT_WITHHELD
    elif summary.empty_sources():
        status = EXIT_EMPTY_SOURCE
    else:
        status = EXIT_CERTIFIED
    return Outcome(status, tuple(lines))


def summary_table(summary: RunSummary) -> Table:
    table = Table(title=f"run {summary.run_id} · corpus {summary.corpus_id}", show_lines=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    counts = summary.counts
    table.add_row("records read", f"{counts.read:,}")
    table.add_row("documents written", f"{counts.written:,}")
    for kind, n in counts.duplicates.items():
        table.add_row(f"duplicates: {kind}", f"{n:,}")
    for step, n in counts.rejected.items():
        table.add_row(f"rejected: {step}", f"{n:,}")
    for entity, n in summary.pii.items():
        table.add_row(f"PII found: {entity}", f"{n:,}")
    table.add_row("shards", f"{len(summary.shards):,}")
    for q in summary.quarantined:
        table.add_row(f"withheld: {q.check} ({q.column or '-'})", f"{q.documents:,}")
    withheld = summary.withheld_documents()
    table.add_row("documents certifiable", f"{counts.written - _withheld_written(summary):,}")
    if withheld:
        table.add_row("documents withheld", f"{withheld:,}")
    balanced = "yes" if counts.balanced() else "NO"
    table.add_row("read = written + rejected + duplicates", balanced)
    return table


def _withheld_written(summary: RunSummary) -> int:
    """Written documents in shards that failed their suite (gate rejects were never written)."""
    return sum(s.rows for s in summary.shards if s.path.startswith("quarantine/"))

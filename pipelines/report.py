"""The steward's report of a run: one self-contained HTML page beside the run summary.

What was read, kept, deduplicated, scrubbed and rejected, and why. It is built from the run
summary and the id and reason columns of the rejects and duplicates tables only: no document
text and no raw record bytes, so no personal value can reach it.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path

import pyarrow.parquet as pq

from schemas.run import RunSummary

MAX_LISTED_REJECTS = 200

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #186a3b; } .bad { color: #a93226; font-weight: bold; }
code { font-size: 0.9em; }
"""


def _table(headers: list[str] | None, rows: list[list[object]],
           numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers or [])
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{v:,}</td>' if i in numeric and isinstance(v, int)
            else f"<td>{escape(str(v))}</td>" for i, v in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def _reject_rows(store_root: Path, summary: RunSummary) -> list[dict]:
    columns = ["source_uri", "locator", "step", "reason"]
    rows: list[dict] = []
    for stored in summary.rejects:
        rows.extend(pq.read_table(store_root / stored.path, columns=columns).to_pylist())
    return sorted(rows, key=lambda r: (r["step"], r["source_uri"], r["locator"]))


def _duplicate_clusters(store_root: Path, summary: RunSummary) -> int:
    clusters: set[str] = set()
    for stored in summary.duplicates:
        table = pq.read_table(store_root / stored.path, columns=["cluster_id"])
        clusters.update(table.column("cluster_id").to_pylist())
    return len(clusters)


def render_report(store_root: Path, summary: RunSummary) -> str:
    counts = summary.counts
    balanced = counts.balanced()
    rejects = _reject_rows(store_root, summary)
    reasons = Counter((r["step"], _reason_shape(r["reason"])) for r in rejects)
    parts = [
        f"<h1>Kura run report · {escape(summary.corpus_id)}</h1>",
        _table(None, [
            ["member", summary.member], ["run", summary.run_id],
            ["runner", f"{summary.runner} × {summary.workers}"],
            ["started", summary.started_at], ["finished", summary.finished_at],
            ["Kura", summary.kura_version], ["manifest sha256", summary.manifest_sha256],
            ["output location", f"{summary.output_location.provider} "
                                f"{summary.output_location.country} "
                                f"{summary.output_location.region}"],
        ]),
        "<h2>Conservation</h2>",
        f'<p class="{"ok" if balanced else "bad"}">read {counts.read:,} = written '
        f"{counts.written:,} + rejected {sum(counts.rejected.values()):,} + duplicates "
        f"{sum(counts.duplicates.values()):,}: {'holds' if balanced else 'DOES NOT HOLD'}</p>",
        "<h2>Withheld from certification</h2>",
        _withheld_section(summary),
        "<h2>Per source</h2>",
        _table(["source", "read", "written", "duplicates", "rejected", "rejected by step"], [
            [src.uri, src.read, src.written, sum(src.duplicates.values()),
             sum(src.rejected.values()),
             ", ".join(f"{step} {n:,}" for step, n in src.rejected.items()) or "-"]
            for src in summary.sources
        ], numeric={1, 2, 3, 4}),
        "<h2>Inputs</h2>",
        _table(["status", "encoding", "files", "records"], [
            [status, encoding, len(group), sum(i.records for i in group)]
            for (status, encoding), group in sorted(_inputs_by_kind(summary).items())
        ], numeric={2, 3}),
        f"<details><summary>all {len(summary.inputs):,} input files</summary>",
        _table(["source", "status", "encoding", "records", "bytes", "sha256"], [
            [i.uri, i.status, i.encoding or "", i.records, i.bytes, (i.sha256 or "")[:16]]
            for i in summary.inputs
        ], numeric={3, 4}),
        "</details>",
        "<h2>Rejected, by step</h2>",
        _table(["step", "records"], [[k, v] for k, v in counts.rejected.items()], numeric={1}),
        "<h3>Reasons</h3>",
        _table(["step", "reason (parameters)", "records"],
               [[step, shape, n] for (step, shape), n in sorted(reasons.items())], numeric={2}),
        f"<h3>Rejected records (first {MAX_LISTED_REJECTS}; raw bytes are quarantined in "
        f"<code>rejects/</code>)</h3>",
        _table(["source", "record", "step", "reason"], [
            [r["source_uri"], r["locator"], r["step"], r["reason"]]
            for r in rejects[:MAX_LISTED_REJECTS]
        ], numeric={1}),
        "<h2>Duplicates removed</h2>",
        _table(["kind", "documents"], [[k, v] for k, v in counts.duplicates.items()],
               numeric={1}),
        f"<p>{_duplicate_clusters(store_root, summary):,} clusters; each kept its lowest "
        "document id. Every removed document is listed in <code>duplicates/</code>.</p>",
        "<h2>Personal data found (values are never recorded)</h2>",
        _table(["entity", "found"], [[k, v] for k, v in summary.pii.items()], numeric={1}),
        "<h2>Shards</h2>",
        _table(["shard", "rows", "bytes", "validation"], [
            [s.path, s.rows, s.bytes, _validation_text(summary, s.path)] for s in summary.shards
        ], numeric={1, 2}),
    ]
    body = "\n".join(parts)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Kura run {escape(summary.run_id)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>\n")


def _withheld_section(summary: RunSummary) -> str:
    withheld = summary.withheld_documents()
    if not withheld:
        return '<p class="ok">none: every written document is certifiable</p>'
    return (
        f'<p class="bad">{withheld:,} document(s) withheld; they are in '
        "<code>quarantine/</code> and in no release</p>"
        + _table(["check", "column", "documents", "residual PII", "doc_ids", "where"], [
            [q.check, q.column or "-", q.documents,
             ", ".join(f"{e} {n}" for e, n in q.entities.items()) or "-",
             " ".join(q.doc_ids) or "-", q.path]
            for q in summary.quarantined
        ], numeric={2})
    )


def _inputs_by_kind(summary: RunSummary) -> dict[tuple[str, str], list]:
    groups: dict[tuple[str, str], list] = {}
    for item in summary.inputs:
        groups.setdefault((item.status, item.encoding or "-"), []).append(item)
    return groups


def _reason_shape(reason: str) -> str:
    """A reason without its observed value, so equal causes group together."""
    fields = json.loads(reason)
    fields.pop("step", None)
    fields.pop("value", None)
    fields.pop("doc_id", None)
    return ", ".join(f"{k}={v}" for k, v in sorted(fields.items())) or "-"


def _validation_text(summary: RunSummary, path: str) -> str:
    check = summary.validation.get(path)
    if check is None:
        return "not validated"
    if check.passed:
        return "passed"
    return "FAILED: " + ", ".join(check.failed_expectations)


def write_report(store_root: Path, summary: RunSummary) -> Path:
    path = store_root / "runs" / f"{summary.run_id}.html"
    path.write_text(render_report(store_root, summary), encoding="utf-8")
    return path

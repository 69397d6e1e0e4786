"""The steward's report of a run: one self-contained HTML page beside the run summary,
`runs/<run_id>.html`.

What was read, kept, deduplicated, scrubbed, quarantined and rejected, and why: the funnel,
each source's share, the withheld documents with their check, example duplicate clusters, PII
by type and the length of what was written, with charts. It is built from the run summary and
the id, reason and length columns of the run's files (`pipelines.report_gather`): no document
text and no raw record bytes, so no personal value can reach it. It loads nothing, so it opens
offline and prints.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from pipelines.report_charts import counts_chart, funnel_chart, length_chart
from pipelines.report_data import ClusterExample, ReportData, ordered_kinds
from pipelines.report_gather import MAX_LISTED_REJECTS, gather
from pipelines.report_html import (
    Html,
    code,
    facts,
    figure,
    lines,
    number,
    page,
    section,
    table,
)
from schemas.run import RunSummary

MAX_SOURCE_ROWS = 1000  # a corpus of many small files: the rest are in the run summary
CONTENTS = (
    ("funnel", "Funnel"), ("charts", "Charts"), ("sources", "Per source"),
    ("withheld", "Quarantined"), ("duplicates", "Duplicates"), ("rejects", "Rejects"),
    ("pii", "Personal data"), ("inputs", "Inputs"), ("shards", "Shards"),
)


def _header(data: ReportData) -> Html:
    s = data.summary
    corpus = s.parameters.get("corpus")
    corpus = corpus if isinstance(corpus, dict) else {}  # older summaries may lack it
    withheld = s.withheld_documents()
    empty = s.empty_sources()
    if withheld:
        verdict = (f'<p class="verdict bad">{number(withheld)} document(s) withheld from '
                   'certification: see <a href="#withheld">Quarantined</a></p>')
    elif not s.counts.written:
        verdict = '<p class="verdict bad">No document was written.</p>'
    else:
        verdict = '<p class="verdict ok">Every written document is certified.</p>'
    if empty:
        verdict += (f'<p class="verdict bad">{number(len(empty))} source(s) yielded no '
                    'document: see <a href="#sources">Per source</a></p>')
    location = s.output_location
    return Html(
        f"<header><h1>Kura run report · {code(s.corpus_id)}</h1>{verdict}"
        + facts([
            ("member", s.member), ("run", code(s.run_id)),
            ("runner", f"{s.runner} × {s.workers}"),
            ("started", s.started_at), ("finished", s.finished_at),
            ("license", corpus.get("license", "-")),
            ("sensitivity", corpus.get("sensitivity", "-")),
            ("Kura", s.kura_version), ("manifest sha256", code(s.manifest_sha256)),
            ("output location", f"{location.provider} {location.country} {location.region}"),
            ("mode", _mode_text(s)),
        ])
        + '<nav aria-label="Contents"><ol>'
        + "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in CONTENTS)
        + "</ol></nav></header>"
    )


def _mode_text(summary: RunSummary) -> str:
    """Full, incremental or rewrite, and why (the counts of an append run are its new sources')."""
    if summary.mode == "append":
        text = (f"append (incremental): read only new sources; {len(summary.skipped):,} the "
                "corpus holds unchanged were skipped (see Inputs); the counts are this run's")
    elif summary.mode == "rewrite":
        text = f"rewrite of {len(summary.replaces):,} file(s)" + (
            f" (withdrawal at log index {summary.withdrawal})"
            if summary.withdrawal is not None else "")
    else:
        text = "full"
    return f"{text}. {summary.mode_note}" if summary.mode_note else text


def _funnel(data: ReportData) -> Html:
    counts = data.summary.counts
    balanced = counts.balanced()
    conservation = (
        f'<p class="{"ok" if balanced else "bad"}">read {counts.read:,} = written '
        f"{counts.written:,} + rejected {sum(counts.rejected.values()):,} + duplicates "
        f"{sum(counts.duplicates.values()):,}: {'holds' if balanced else 'DOES NOT HOLD'}"
        "</p><p class=\"muted\">Rejected includes the documents the residual-PII gate "
        "quarantined; each record leaves the funnel at exactly one row.</p>")
    return section(
        "funnel", "Funnel", conservation, '<div class="side">',
        figure(funnel_chart(data.funnel), "From records read to documents certified",
               "Blue: documents in the run; orange: what each step took out; green: "
               "certified (in shards that passed their validation suite)."),
        table(["stage", "documents", "remaining"],
              [[st.label, st.count, st.remaining] for st in data.funnel], numeric=(1, 2)),
        "</div>",
    )


def _charts(data: ReportData) -> Html:
    lengths = data.lengths
    length_note = (
        f"{lengths.documents:,} documents written: shortest {lengths.shortest:,}, mean "
        f"{lengths.mean:,.0f}, longest {lengths.longest:,} characters (the shards' "
        "char_count)." if lengths.documents else "No document was written.")
    return section(
        "charts", "Charts",
        '<div class="charts">',
        figure(counts_chart("rejects", "Rejected records by step", data.rejected_by_step,
                            tone="loss"), "Rejected records, by step",
               "The residual-PII gate's documents are under Quarantined, not here."),
        figure(counts_chart("pii", "Personal data found, by type", data.pii_by_type),
               "Personal data found, by type",
               "Entities found and scrubbed; the values are never recorded."),
        figure(length_chart(lengths), "Document length (characters)", length_note),
        "</div>",
    )


def _sources(data: ReportData) -> Html:
    kinds = ordered_kinds({"exact", "near", *data.summary.counts.duplicates})
    headers = ["source", "status", "read", "written",
               *[f"duplicates: {k}" for k in kinds], "rejected", "rejected by step",
               "quarantined"]
    numeric = (2, 3, *range(4, 5 + len(kinds)), 6 + len(kinds))
    rows, classes = [], []
    for src in data.sources[:MAX_SOURCE_ROWS]:
        rows.append([
            src.uri, lines([src.status, *(["yielded no document"] if src.yielded_nothing
                                          else [])]),
            src.read, src.written, *[src.duplicates.get(k, 0) for k in kinds],
            sum(src.rejected.values()),
            Html('<span class="nw">' + lines([f"{step} {n:,}" for step, n
                                              in src.rejected.items()] or ["-"]) + "</span>"),
            src.quarantined,
        ])
        classes.append("bad" if src.yielded_nothing else "")
    foot = ["all sources", "", sum(s.read for s in data.sources),
            sum(s.written for s in data.sources),
            *[sum(s.duplicates.get(k, 0) for s in data.sources) for k in kinds],
            sum(sum(s.rejected.values()) for s in data.sources), "",
            sum(s.quarantined for s in data.sources)]
    if not rows:
        return section("sources", "Per source", '<p class="muted">none: no source</p>')
    listed = (f"the first {MAX_SOURCE_ROWS:,} of {len(data.sources):,} sources (all are in "
              f"runs/{data.summary.run_id}.json); the totals are over all. "
              if len(data.sources) > MAX_SOURCE_ROWS else "")
    return section("sources", "Per source",
                   table(headers, rows, numeric=numeric, uri=(0,), foot=foot,
                         row_classes=classes,
                         caption=f"{listed}For every source: read = written + duplicates + "
                                 "rejected + quarantined by the residual-PII gate."))


def _withheld(data: ReportData) -> Html:
    s = data.summary
    if not s.quarantined:
        return section("withheld", "Quarantined documents",
                       '<p class="ok">none: every written document is certifiable</p>')
    checks = table(
        ["check", "column", "documents", "residual PII", "where"],
        [[q.check, q.column or "-", q.documents,
          lines([f"{e} {n:,}" for e, n in q.entities.items()] or ["-"]), q.path]
         for q in s.quarantined], numeric=(2,), uri=(4,))
    listed = len(data.quarantined)
    shown = (f"all {data.quarantined_total:,}" if listed == data.quarantined_total
             else f"{listed:,} of {data.quarantined_total:,}")
    documents = table(
        ["doc_id", "check", "column", "residual PII by type", "where"],
        [[code(d.doc_id), d.check, d.column,
          lines([f"{e} {n:,}" for e, n in d.entities.items()] or ["-"]), d.path]
         for d in data.quarantined], uri=(4,),
        caption=f"Withheld documents ({shown}): ids, checks and counts, never values.")
    return section(
        "withheld", "Quarantined documents",
        f'<p class="bad">{s.withheld_documents():,} document(s) withheld; they are in '
        "<code>quarantine/</code> and in no release.</p>", checks, documents)


def _cluster_row(cluster: ClusterExample) -> list[object]:
    return [
        ", ".join(cluster.kinds), code(cluster.kept_doc_id),
        lines([code(r.doc_id) for r in cluster.removed]),
        lines([r.kind for r in cluster.removed]),
        lines([f"{r.estimated_jaccard:.4f}" for r in cluster.removed]),
        cluster.note or "-",
    ]


def _duplicates(data: ReportData) -> Html:
    counts = data.summary.counts.duplicates
    kinds = table(["kind", "documents removed"],
                  [[k, counts[k]] for k in ordered_kinds(counts)], numeric=(1,))
    if not data.cluster_count:
        return section("duplicates", "Duplicates removed",
                       '<p class="muted">none: no duplicate was found</p>')
    examples = table(
        ["kind", "kept doc_id", "removed doc_id", "kind", "estimated Jaccard", "why shown"],
        [_cluster_row(c) for c in data.clusters], numeric=(4,),
        caption=f"Example clusters ({len(data.clusters)} of {data.cluster_count:,}): ids and "
                "similarity only. Exact duplicates have Jaccard 1; a cross-corpus duplicate's "
                "kept document is in a corpus the store already held, an earlier-run one's in "
                "this corpus's current shards.")
    return section(
        "duplicates", "Duplicates removed", kinds,
        f"<p>{data.cluster_count:,} clusters; each kept its lowest document id. Every removed "
        "document is listed in <code>duplicates/</code>.</p>", examples)


def _rejects(data: ReportData) -> Html:
    by_step = data.summary.counts.rejected
    if not by_step:
        return section("rejects", "Rejected records", '<p class="muted">none</p>')
    return section(
        "rejects", "Rejected records",
        table(["step", "records"], [[k, v] for k, v in by_step.items()], numeric=(1,)),
        "<h3>Reasons</h3>",
        table(["step", "reason (parameters)", "records"],
              [[r.step, r.shape, r.count] for r in data.reasons], numeric=(2,)),
        f"<h3>Rejected records (first {MAX_LISTED_REJECTS}; their raw bytes are kept in "
        "<code>rejects/</code>, the residual-PII gate's in <code>quarantine/</code>)</h3>",
        table(["source", "record", "step", "reason"],
              [[r.source_uri, r.locator, r.step,
                Html(f'<code class="reason">{escape(r.reason)}</code>')] for r in data.rejects],
              numeric=(1,), uri=(0,)),
    )


def _pii(data: ReportData) -> Html:
    found = data.pii_by_type
    body = (table(["entity", "found"], [[k, v] for k, v in found.items()], numeric=(1,))
            if found else '<p class="muted">none</p>')
    return section("pii", "Personal data found (values are never recorded)", body)


def _inputs(data: ReportData) -> Html:
    s = data.summary
    groups: dict[tuple[str, str], list] = {}
    for item in s.inputs:
        groups.setdefault((item.status, item.encoding or "-"), []).append(item)
    return section(
        "inputs", "Inputs",
        table(["status", "encoding", "files", "records"],
              [[st, enc, len(g), sum(i.records for i in g)]
               for (st, enc), g in sorted(groups.items())], numeric=(2, 3)),
        f"<details><summary>all {len(s.inputs):,} input files</summary>",
        table(["source", "status", "encoding", "records", "bytes", "sha256"],
              [[i.uri, i.status, i.encoding or "", i.records, i.bytes, (i.sha256 or "")[:16]]
               for i in s.inputs], numeric=(3, 4), uri=(0, 5)),
        "</details>",
        _skipped(s),
    )


def _skipped(summary: RunSummary) -> str:
    """An append run's sources it did not read: the corpus holds them from earlier runs."""
    if not summary.skipped:
        return ""
    return (f"<h3>Skipped: {len(summary.skipped):,} source(s) the corpus holds unchanged</h3>"
            + table(["source", "sha256", "read by the run at log index"],
                    [[k.uri, (k.sha256 or "")[:16], k.log_index] for k in summary.skipped],
                    numeric=(2,), uri=(0, 1)))


def _validation_text(summary: RunSummary, path: str) -> str:
    check = summary.validation.get(path)
    if check is None:
        return "not validated"
    if check.passed:
        return "passed"
    return "FAILED: " + ", ".join(check.failed_expectations)


def _shards(data: ReportData) -> Html:
    s = data.summary
    if not s.shards:
        return section("shards", "Shards", '<p class="muted">none: no shard was written</p>')
    return section("shards", "Shards", table(
        ["shard", "rows", "bytes", "validation"],
        [[sh.path, sh.rows, sh.bytes, _validation_text(s, sh.path)] for sh in s.shards],
        numeric=(1, 2), uri=(0,)))


def render_page(data: ReportData) -> str:
    """The page, from gathered values only (no file is read here)."""
    s = data.summary
    body = "".join([
        _header(data), "<main>", _funnel(data), _charts(data), _sources(data), _withheld(data),
        _duplicates(data), _rejects(data), _pii(data), _inputs(data), _shards(data), "</main>",
        f"<footer>Kura {code(s.kura_version)} · run summary "
        f"{code(f'runs/{s.run_id}.json')} · this page holds ids, counts and reasons, never "
        "document text.</footer>",
    ])
    return page(f"Kura run {s.run_id} · {s.corpus_id}", body)


def render_report(store_root: Path, summary: RunSummary) -> str:
    return render_page(gather(store_root, summary))


def write_report(store_root: Path, summary: RunSummary) -> Path:
    path = Path(store_root) / "runs" / f"{summary.run_id}.html"
    path.write_text(render_report(store_root, summary), encoding="utf-8")
    return path

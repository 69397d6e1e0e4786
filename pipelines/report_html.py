"""The HTML pieces of the steward's report: escaping, tables, the page frame and its style.

Every value goes through `escape` unless it is `Html` that this package built from escaped
parts, so a source path or corpus id holding `<script>` is shown as text and never runs. The
page loads nothing: its Content-Security-Policy forbids every fetch and every script, and allows
only its own stylesheet, by hash.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from html import escape


class Html(str):
    """Markup built here from escaped parts: put into the page as it is."""


Cell = object
NUMERIC = ' class="n"'

STYLE = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --total: #2f6fab; --loss: #c4532d; --kept: #2b7a4b; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0 auto; padding: 1.5em 2em 3em; max-width: 78em; }
h1 { font-size: 1.6em; margin: 0 0 0.2em; }
h2 { font-size: 1.25em; margin: 1.8em 0 0.4em; padding-bottom: 0.2em;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
nav ol { display: flex; flex-wrap: wrap; gap: 0.2em 1.2em; padding: 0; margin: 0.8em 0;
  list-style: none; }
nav a, a { color: var(--total); }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; }
caption { text-align: left; color: var(--muted); padding: 0.2em 0; }
th, td { border: 1px solid var(--line); padding: 0.22em 0.55em; text-align: left;
  vertical-align: top; }
thead th { background: #f3f5f7; }
tfoot td, tfoot th { font-weight: 600; background: #f8f9fa; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
td.uri, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.86em; overflow-wrap: break-word; }
td.uri { min-width: 18em; }
.nw { white-space: nowrap; }
code.reason { overflow-wrap: anywhere; }
tr.bad td { background: #fdf0ec; }
.ok { color: var(--kept); font-weight: 600; } .bad { color: #a93226; font-weight: 600; }
.muted { color: var(--muted); }
.verdict { font-size: 1.1em; margin: 0.3em 0 0.8em; }
figure { margin: 0.6em 0 1.2em; break-inside: avoid; }
figcaption { margin-bottom: 0.4em; }
figcaption .title { display: block; font-weight: 600; }
figcaption .note { display: block; color: var(--muted); font-size: 0.9em; }
dl.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(17em, 1fr));
  gap: 0.3em 1.5em; margin: 0.6em 0; }
dl.facts dt { color: var(--muted); font-size: 0.85em; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.side { display: flex; flex-wrap: wrap; gap: 0.5em 2.5em; align-items: flex-start; }
.side figure { flex: 1 1 28em; min-width: 0; } .side table { flex: 0 0 auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30em, 1fr));
  gap: 0.5em 2em; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", sans-serif;
  fill: var(--ink); }
svg.chart text.none { fill: var(--muted); font-style: italic; }
svg.chart .axis { stroke: #8c959f; stroke-width: 1; }
svg.chart .bar-total { fill: var(--total); } svg.chart .bar-loss { fill: var(--loss); }
svg.chart .bar-kept { fill: var(--kept); }
footer { margin-top: 2.5em; color: var(--muted); font-size: 0.9em; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  h2 { break-after: avoid; } tr, figure { break-inside: avoid; }
  tfoot { display: table-row-group; }  /* the totals once, at the end, not on every page */
  .charts { grid-template-columns: 1fr 1fr; }
}
@page { margin: 12mm; }
"""


def csp(style: str) -> str:
    """No fetch of any kind, no script, no inline style attribute: only this stylesheet."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def cell(value: Cell) -> str:
    return value if isinstance(value, Html) else escape(str(value))


def number(value: int) -> str:
    return f"{value:,}"


def code(value: str) -> Html:
    return Html(f"<code>{escape(value)}</code>")


def lines(parts: Sequence[str]) -> Html:
    """Several values in one cell, one per line (each escaped unless already Html)."""
    return Html("<br>".join(cell(p) for p in parts))


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], numeric: Sequence[int] = (),
          caption: str = "", foot: Sequence[Cell] | None = None, uri: Sequence[int] = (),
          row_classes: Sequence[str] | None = None) -> Html:
    """A table; `numeric` columns are right-aligned numbers, `uri` columns monospaced."""

    def td(i: int, value: Cell) -> str:
        if i in numeric:
            shown = number(value) if isinstance(value, int) else cell(value)
            return f"<td{NUMERIC}>{shown}</td>"
        if i in uri and not isinstance(value, Html):
            # A path may break after any slash, not inside a name.
            return f'<td class="uri">{escape(str(value)).replace("/", "/<wbr>")}</td>'
        return f"<td>{cell(value)}</td>"

    head = "".join(
        f'<th scope="col"{NUMERIC if i in numeric else ""}>{escape(h)}</th>'
        for i, h in enumerate(headers))
    classes = row_classes or [""] * len(rows)
    body = "".join(
        (f'<tr class="{escape(k)}">' if k else "<tr>")
        + "".join(td(i, v) for i, v in enumerate(row)) + "</tr>"
        for row, k in zip(rows, classes, strict=True))
    footer = ("<tfoot><tr>" + "".join(f"<td>{cell(v)}</td>" if i not in numeric else td(i, v)
                                      for i, v in enumerate(foot)) + "</tr></tfoot>"
              if foot else "")
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Html(f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                f"{footer}</table>")


def figure(svg: str, title: str, note: str) -> Html:
    """A chart under its visible title, with what it shows in a line below."""
    return Html(f'<figure><figcaption><span class="title">{escape(title)}</span>'
                f'<span class="note">{escape(note)}</span></figcaption>{svg}</figure>')


def facts(rows: Sequence[tuple[str, Cell]]) -> Html:
    """Names and values laid out in columns: the run's identity, compact above the fold."""
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{cell(v)}</dd></div>" for k, v in rows)
    return Html(f'<dl class="facts">{items}</dl>')


def section(anchor: str, title: str, *parts: str) -> Html:
    return Html(f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>'
                + "".join(parts) + "</section>")


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(STYLE)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )

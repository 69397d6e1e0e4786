"""Inline SVG bar charts for the steward's report, drawn in Python: no script, no library, no font
or file to load, so the page renders offline and prints.

Each chart is one `<svg role="img">` whose `<title>` names it and whose `<desc>` lists every
value (what a screen reader reads); every bar has its number printed beside it and its own
`<title>` (a tooltip). Colours come from the page's CSS classes (`bar-total`, `bar-loss`,
`bar-kept`), never from inline styles, so the page's Content-Security-Policy can forbid those.
A chart with nothing to show says "none".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from pipelines.report_data import Stage
from pipelines.report_lengths import LengthStats

Tone = Literal["total", "loss", "kept"]

ROW_HEIGHT = 22
BAR_HEIGHT = 14
PAD = 8
BAR_AREA = 320  # the longest bar, in px of the viewBox
VALUE_AREA = 72
MAX_LABEL_CHARS = 40
EMPTY_WIDTH, EMPTY_HEIGHT = 320, 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    start: int = 0  # where the bar begins on the axis: a waterfall's losses start above 0
    tone: Tone = "total"
    shown: str = ""  # the text beside the bar; default: the value with thousands separators

    @property
    def text(self) -> str:
        return self.shown or f"{self.value:,}"


def _id(chart_id: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", chart_id.lower())


def text_width(text: str) -> float:
    """A generous estimate of `text`'s width at 12px system-ui (no font is measured here):
    labels must never be clipped, whatever font the reader's machine has."""
    width = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            width += 12.5
        elif ch.isupper() or ch.isdigit() or ch in "mwMW_%@":
            width += 8.6
        else:
            width += 7.0
    return width


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def _svg_open(cid: str, width: float, height: float, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-labelledby="{cid}-title {cid}-desc">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(desc)}</desc>'
    )


def empty_chart(chart_id: str, title: str, empty: str = "none") -> str:
    cid = _id(chart_id)
    return (
        _svg_open(cid, EMPTY_WIDTH, EMPTY_HEIGHT, title, f"{title}: {empty}")
        + f'<text class="none" x="{PAD}" y="{EMPTY_HEIGHT / 2:.0f}" '
        f'dominant-baseline="central">{escape(empty)}</text></svg>'
    )


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], empty: str = "none") -> str:
    """Horizontal bars, one row each, labels on the left and numbers on the right."""
    if not bars or not any(b.value for b in bars):
        return empty_chart(chart_id, title, empty)
    cid = _id(chart_id)
    label_width = PAD + max(text_width(_short(b.label)) for b in bars)
    axis = label_width + 6
    width = axis + BAR_AREA + VALUE_AREA
    height = 2 * PAD + len(bars) * ROW_HEIGHT
    top = max(b.start + b.value for b in bars)
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars)
    parts = [_svg_open(cid, width, height, title, desc),
             f'<line class="axis" x1="{axis:.1f}" y1="{PAD}" x2="{axis:.1f}" '
             f'y2="{height - PAD}"/>']
    for i, bar in enumerate(bars):
        middle = PAD + i * ROW_HEIGHT + ROW_HEIGHT / 2
        x = axis + bar.start / top * BAR_AREA
        # A non-zero value is never drawn thinner than a pixel: small counts stay visible.
        length = max(bar.value / top * BAR_AREA, 1.0) if bar.value else 0.0
        parts.append(
            f'<g class="row"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
            f'<text class="label" x="{label_width:.1f}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="central">{escape(_short(bar.label))}</text>'
            f'<rect class="bar bar-{bar.tone}" x="{x:.1f}" y="{middle - BAR_HEIGHT / 2:.1f}" '
            f'width="{length:.1f}" height="{BAR_HEIGHT}"/>'
            f'<text class="value" x="{x + length + 4:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="central">{escape(bar.text)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(stages: Sequence[Stage]) -> str:
    """A waterfall: running totals from 0, and each loss drawn where it leaves the total."""
    bars = [
        Bar(s.label, s.count, start=s.remaining, tone="loss",
            shown=f"−{s.count:,}" if s.count else "0")
        if s.tone == "loss" else Bar(s.label, s.count, tone=s.tone)
        for s in stages
    ]
    return bar_chart("funnel", "Funnel: what happened to every record read", bars,
                     empty="none: no record was read")


def counts_chart(chart_id: str, title: str, counts: dict[str, int], tone: Tone = "total") -> str:
    return bar_chart(chart_id, title, [Bar(k, v, tone=tone) for k, v in counts.items()])


def length_chart(lengths: LengthStats) -> str:
    scale = f"({lengths.scale} bins)" if lengths.bins else ""
    return bar_chart("lengths", f"Document length in characters {scale}".strip(),
                     [Bar(b.label, b.count) for b in lengths.bins],
                     empty="none: no document was written")

"""Document lengths for the steward's report: a histogram of the shards' `char_count`, counted
batch by batch so memory does not grow with the corpus.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

# Document lengths: about this many bins of a round width when the lengths span less than
# LINEAR_SPAN (max / min); beyond it the bins follow a 1-2-5 scale, so a skewed corpus stays
# readable instead of piling into the first bin.
LENGTH_BINS = 12
LINEAR_SPAN = 20

LengthScale = Literal["linear", "1-2-5", "none"]


@dataclass(frozen=True)
class LengthBin:
    low: int
    high: int  # exclusive
    count: int

    @property
    def label(self) -> str:
        return f"{self.low:,}–{self.high - 1:,}"


@dataclass(frozen=True)
class LengthStats:
    documents: int
    shortest: int
    longest: int
    mean: float
    bins: tuple[LengthBin, ...]
    scale: LengthScale


def _round_step(raw: float) -> int:
    """The smallest of 1, 2, 5 x 10^k that is at least `raw` (at least 1)."""
    magnitude = 1
    while True:
        for m in (1, 2, 5):
            if m * magnitude >= raw:
                return m * magnitude
        magnitude *= 10


def length_edges(shortest: int, longest: int) -> tuple[tuple[int, ...], LengthScale]:
    """Bin edges (each bin [edge, next edge)) covering shortest..longest, and their scale."""
    if longest < shortest:
        return (), "none"
    if shortest > 0 and longest <= LINEAR_SPAN * shortest:
        step = _round_step((longest - shortest + 1) / LENGTH_BINS)
        low = shortest // step * step
        count = (longest - low) // step + 1
        return tuple(low + i * step for i in range(count + 1)), "linear"
    series = [0]
    magnitude = 1
    while series[-1] <= longest:
        series += [m * magnitude for m in (1, 2, 5)]
        magnitude *= 10
    first = max(i for i, edge in enumerate(series) if edge <= shortest)
    last = min(i for i, edge in enumerate(series) if edge > longest)
    return tuple(series[first:last + 1]), "1-2-5"


@dataclass
class LengthTally:
    """Document lengths counted into bins one batch at a time (bounded memory). Two passes:
    `span` first, to choose the bins from the shortest and longest, then `add`."""

    shortest: int | None = None
    longest: int | None = None
    counts: np.ndarray | None = None
    edges: tuple[int, ...] = ()
    scale: LengthScale = "none"
    total: int = 0

    def span(self, lengths: Iterable[int] | np.ndarray) -> None:
        values = np.asarray(lengths, dtype=np.int64)
        if values.size:
            low, high = int(values.min()), int(values.max())
            self.shortest = low if self.shortest is None else min(self.shortest, low)
            self.longest = high if self.longest is None else max(self.longest, high)

    def add(self, lengths: Iterable[int] | np.ndarray) -> None:
        if self.counts is None:
            if self.shortest is None or self.longest is None:
                raise ValueError("LengthTally.add before span saw any length")
            self.edges, self.scale = length_edges(self.shortest, self.longest)
            self.counts = np.zeros(len(self.edges) - 1, np.int64)
        values = np.asarray(lengths, dtype=np.int64)
        if values.size:
            slots = np.searchsorted(self.edges, values, side="right") - 1
            self.counts += np.bincount(slots, minlength=len(self.counts))[:len(self.counts)]
            self.total += int(values.sum())

    def stats(self) -> LengthStats:
        if self.counts is None or not self.counts.sum():
            return LengthStats(0, 0, 0, 0.0, (), "none")
        documents = int(self.counts.sum())
        bins = tuple(LengthBin(self.edges[i], self.edges[i + 1], int(n))
                     for i, n in enumerate(self.counts))
        return LengthStats(documents, self.shortest or 0, self.longest or 0,
                           self.total / documents, bins, self.scale)


def length_stats(lengths: Iterable[int]) -> LengthStats:
    values = list(lengths)
    tally = LengthTally()
    tally.span(values)
    if values:
        tally.add(values)
    return tally.stats()

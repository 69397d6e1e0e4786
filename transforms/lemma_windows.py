"""The lemmas of a few tokens, exactly as a whole-text analysis gives them, from a few lines.

The analysis stage keeps POS (from context ids) but no lemmas: only the tokens around a PII
finding are ever read with their lemma (one generated man-page document in thirteen, a handful of
tokens each). `window_lemmas` tags the whole lines around those tokens with the lemma tagger
and keeps the lemma of every token it can prove is the one the whole-text analysis chose.

Why a token's lemma is settled by a window (MeCab's Viterbi, with these dictionary facts): the
words that could be a token t (same start, same length, same left context id) reach t's start
at the same cost C(id), so their path costs differ only by their own word cost. The token after
t, R, picks among them by word cost plus the connection cost from each one's right id to R's left
id; ties go to the first in lattice order, which is the dictionary's order at t's start. So
t's word, and its lemma, depend only on (t's start, end and id, R's id): if a window's analysis
holds t with the same start, end and id, and R with the same start and id (or t ends the piece
in both), t's lemma is the whole analysis's. The candidates are the same in both lattices: the
dictionary lookup at t's start reads only t's characters, and an unknown word's character run
ends at a line end, which the window's edges are.

Where the proof fails for the token asked for, the whole piece is tagged again: the same input
as the analysis, so the same output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# Lines are added around the token until the window holds this many characters on each side:
# the enhancer reads up to five content tokens before a finding and two after.
WINDOW_MARGIN = 240


@dataclass(frozen=True)
class Piece:
    """The characters [start, end) of the analysed text tagged as one piece, and its tokens'
    index range [first, stop) in the table."""

    start: int
    end: int
    first: int
    stop: int


class Tagged(NamedTuple):
    """Tokens as columns: offsets into the whole text, each token's id field (its context id,
    or an unknown word's id and POS), and, from the lemma tagger, each token's lemma field."""

    starts: np.ndarray
    ends: np.ndarray
    ids: Sequence[str]
    lemmas: Sequence[str] = ()


def window_bounds(text: str, piece: Piece, token_start: int, token_end: int,
                  margin: int = WINDOW_MARGIN) -> tuple[int, int]:
    """Whole lines of `piece` around [token_start, token_end), at least `margin` characters
    on each side where the piece has them."""
    cut = text.rfind("\n", piece.start, max(piece.start, token_start - margin))
    start = cut + 1 if cut >= 0 else piece.start
    cut = text.find("\n", min(piece.end, token_end + margin), piece.end)
    end = cut + 1 if cut >= 0 else piece.end
    return start, end


def window_lemmas(text: str, whole: Tagged, piece: Piece, bounds: tuple[int, int],
                  tag: Callable[[int, int], Tagged]) -> dict[int, str]:
    """{token index: lemma} for the tokens of `whole` (the analysis's columns) inside the
    window `bounds` of `piece` whose lemma the window proves (see the module's docstring).

    `tag(start, end)` tags text[start:end] with the lemma tagger (offsets into the text)."""
    start, end = bounds
    window = tag(start, end)
    first = max(int(np.searchsorted(whole.starts, start, side="left")), piece.first)
    # The window's tokens and the one after (the next token's id settles a lemma).
    stop = min(piece.stop, int(np.searchsorted(whole.starts, end, side="left")) + 1)
    starts, ends = whole.starts[first:stop].tolist(), whole.ends[first:stop].tolist()
    at = np.searchsorted(window.starts, whole.starts[first:stop], side="left").tolist()
    w_starts, w_ends = window.starts.tolist(), window.ends.tolist()
    last = len(w_starts) - 1
    proven: dict[int, str] = {}
    for k, j in enumerate(at):
        i = first + k
        if ends[k] > end:
            break
        if j > last or w_starts[j] != starts[k] or w_ends[j] != ends[k] \
                or window.ids[j] != whole.ids[i]:
            continue
        if i + 1 == piece.stop:  # t ends the piece: it must end the window, at the piece's end
            if end != piece.end or j != last:
                continue
        elif j == last or w_starts[j + 1] != starts[k + 1] \
                or window.ids[j + 1] != whole.ids[i + 1]:
            continue
        proven[i] = window.lemmas[j] or text[starts[k]:ends[k]]
    return proven

"""MeCab analysis (fugashi + unidic-lite): tokens with character offsets, UniDic POS and lemma.

`analyze(text, tagger)` returns a `TokenTable`: a `Sequence[Token]` (schemas.records.Token:
start, end, pos, lemma) over the text, computed once so later stages (quality, PII) never
tokenize again. `AnalyzeStep` is the pipeline step ("analyze").

Why it looks like this (measured on manpages-ja, 6.7 M characters, 2.8 M tokens):
- Iterating fugashi nodes and building one `Token` per token from Python costs more than MeCab
  itself. So the tagger prints every token through a MeCab output format in one `parse()` call
  per piece, and the columns come from numpy passes over that string (`mecab_output.py`).
- Reading features costs MeCab a CSV split per token, a quarter of the analysis: the tagger
  prints context ids instead, which give POS through UniDic's `left-id.def`. Lemmas are read
  for the few tokens around a PII finding only, by tagging their lines again and keeping what
  provably matches (`lemma_windows.py`).
- The table builds `Token`s only when a reader iterates (the PII stage, for documents where a
  recognizer fires), once, then caches them. The person-name rules read POS through a
  `PosColumn` (`mecab_output.py`): a token's POS is sliced off the output when asked, and the
  tokens of a POS are found by one search of it; splitting the whole output for every token's
  POS cost a sixth of MeCab's parse on the documents those rules read.
- Long texts are cut on line boundaries into pieces of at most `max_piece_chars` (100 k) so
  MeCab's lattice stays small; offsets stay relative to the whole text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import repeat
from typing import Any, overload

import numpy as np

from schemas.records import Document, Reject, Token
from transforms.lemma_windows import Piece, Tagged, window_bounds, window_lemmas
from transforms.mecab_output import (
    ID_FIELD,
    ID_FIELDS,
    LEMMA_FIELDS,
    POS_OF_ID_FIELD,
    SEPARATOR,
    AnalysisError,
    IdFields,
    PosColumn,
    build_tagger,
    lemma_tagger,
    output_has_pos,
    parse_output,
    safe_text,
)

__all__ = ["SEPARATOR", "AnalysisError", "AnalyzeStep", "TokenTable", "analyze", "build_tagger",
           "split_pieces"]

MAX_PIECE_CHARS = 100_000


def split_pieces(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[tuple[int, str]]:
    """Cut text into (offset, piece) of at most max_chars, after a newline where there is one."""
    if len(text) <= max_chars:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > max_chars:
        cut = text.rfind("\n", start, start + max_chars)
        cut = start + max_chars if cut <= start else cut + 1  # a line longer than a piece
        pieces.append((start, text[start:cut]))
        start = cut
    pieces.append((start, text[start:]))
    return pieces


def _tag_lemmas(text: str, start: int, end: int) -> Tagged:
    """text[start:end] through the lemma tagger (offsets into `text`)."""
    safe = safe_text(text[start:end])
    starts, ends, body = parse_output(lemma_tagger().parse(safe), safe, start, LEMMA_FIELDS)
    fields = body.split(SEPARATOR)
    return Tagged(starts, ends, fields[ID_FIELD::LEMMA_FIELDS],
                  fields[ID_FIELD + 1::LEMMA_FIELDS])


class TokenTable(Sequence[Token]):
    """The tokens of one text as columns; indexing and iteration give `Token`s.

    `starts` and `ends` are numpy int64 arrays of character offsets, usable without building a
    Token. The POS column is read from the id tagger's output on first use, then cached; a
    lemma is found when first read (`lemma(i)`, or all of them by `lemmas()`), then cached.
    Equal to any sequence of the same Tokens (a tuple of Token included).
    """

    __slots__ = ("_columns", "_fields", "_ids", "_lemmas", "_pieces", "_pos", "_spans", "_text",
                 "_tokens", "ends", "starts")

    def __init__(self, starts: np.ndarray, ends: np.ndarray, fields: str, text: str,
                 pieces: tuple[Piece, ...]) -> None:
        self.starts = starts
        self.ends = ends
        self._fields = fields  # the id tagger's output: ID_FIELDS fields per token
        self._text = text  # the analysed text: lemmas are read by tagging parts of it again
        self._pieces = pieces
        self._ids: list[str] | None = None
        self._lemmas: dict[int, str] = {}
        self._columns: tuple[list[int], list[int], list[str]] | None = None
        self._pos: PosColumn | None = None
        self._spans: tuple[list[int], list[int]] | None = None
        self._tokens: tuple[Token, ...] | None = None

    @classmethod
    def empty(cls) -> TokenTable:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), "", "", ())

    def _id_fields(self) -> list[str]:
        if self._ids is None:
            self._ids = self._fields.split(SEPARATOR)[ID_FIELD::ID_FIELDS]
        return self._ids

    def _span_lists(self) -> tuple[list[int], list[int]]:
        if self._spans is None:
            self._spans = (self.starts.tolist(), self.ends.tolist())
        return self._spans

    def spans_and_pos(self) -> tuple[list[int], list[int], list[str]]:
        """(starts, ends, pos) as Python lists, built once, then cached."""
        if self._columns is None:
            pos = list(map(POS_OF_ID_FIELD.__getitem__, self._id_fields()))
            self._columns = (*self._span_lists(), pos)
        return self._columns

    def pos_column(self) -> PosColumn:
        """Each token's POS, read only where asked (`PosColumn`), then the column is cached."""
        if self._pos is None:
            self._pos = PosColumn(IdFields.of_output(self._fields))
        return self._pos

    def spans_and_pos_column(self) -> tuple[list[int], list[int], Sequence[str]]:
        """(starts, ends, pos): what the person-name recognizer reads. The POS are the full
        list where it was built already, else a `PosColumn` that reads a token's when asked."""
        if self._columns is not None:
            return self._columns
        return (*self._span_lists(), self.pos_column())

    def columns(self) -> tuple[list[int], list[int], list[str], list[str]]:
        """(starts, ends, pos, lemmas) as Python lists (every lemma: the text is tagged again)."""
        return (*self.spans_and_pos(), self.lemmas())

    def lemma(self, index: int) -> str:
        """Token `index`'s lemma (its surface where UniDic has none)."""
        found = self._lemmas.get(index)
        if found is None:
            self._find_lemma(index)
            found = self._lemmas[index]
        return found

    def lemmas(self) -> list[str]:
        """Every token's lemma: each piece not yet read is tagged again whole, as analysed."""
        if len(self._lemmas) < len(self):
            for piece in self._pieces:
                if any(i not in self._lemmas for i in range(piece.first, piece.stop)):
                    self._tag_piece(piece)
        return [self._lemmas[i] for i in range(len(self))]

    def _find_lemma(self, index: int) -> None:
        piece = next(p for p in self._pieces if p.first <= index < p.stop)
        bounds = window_bounds(self._text, piece, int(self.starts[index]),
                               int(self.ends[index]))
        if bounds != (piece.start, piece.end):
            ids = self._ids if self._ids is not None else self.pos_column().fields
            whole = Tagged(self.starts, self.ends, ids)
            self._lemmas.update(window_lemmas(
                self._text, whole, piece, bounds,
                lambda start, end: _tag_lemmas(self._text, start, end)))
        if index not in self._lemmas:  # unproven by the window: the piece, as analysed
            self._tag_piece(piece)

    def _tag_piece(self, piece: Piece) -> None:
        again = _tag_lemmas(self._text, piece.start, piece.end)
        first, stop = piece.first, piece.stop
        if not (np.array_equal(again.starts, self.starts[first:stop])
                and again.ids == self._id_fields()[first:stop]):
            raise AnalysisError("the lemma tagger's tokens differ from the analysis's")
        starts, ends = again.starts.tolist(), again.ends.tolist()
        text = self._text
        for k, lemma in enumerate(again.lemmas):
            self._lemmas[first + k] = lemma or text[starts[k]:ends[k]]

    def token(self, index: int) -> Token:
        """One token, built from the columns alone."""
        if self._tokens is not None:
            return self._tokens[index]
        starts, ends, pos = self.spans_and_pos_column()
        return Token(starts[index], ends[index], pos[index], self.lemma(index))

    def tokens(self) -> tuple[Token, ...]:
        """All tokens as a tuple (built once, then cached)."""
        if self._tokens is None:
            # tuple.__new__ over zip builds the NamedTuples in C: Token(...) per token is a
            # Python-level call and costs several times more.
            self._tokens = tuple(map(tuple.__new__, repeat(Token), zip(*self.columns(),
                                                                        strict=True)))
        return self._tokens

    def pos_contains(self, fragment: str) -> bool:
        """Whether any token's POS holds `fragment` (e.g. "人名"), without building Tokens.

        The PII stage asks this before it reads person-name tokens: most documents have none.
        """
        return output_has_pos(self._fields, fragment)

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> Token: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Token, ...]: ...
    def __getitem__(self, index: int | slice) -> Token | tuple[Token, ...]:
        if isinstance(index, slice):
            return self.tokens()[index]
        if not -len(self) <= index < len(self):
            raise IndexError("token index out of range")
        return self.token(index % len(self))

    def __iter__(self) -> Iterator[Token]:
        return iter(self.tokens())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TokenTable):
            return self.tokens() == other.tokens()
        if isinstance(other, Sequence) and not isinstance(other, str):
            return self.tokens() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TokenTable({len(self)} tokens)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self.starts, self.ends, self._fields, self._text, self._pieces,
                           self._lemmas))


def _restore(starts: np.ndarray, ends: np.ndarray, fields: str, text: str,
             pieces: tuple[Piece, ...], lemmas: dict[int, str]) -> TokenTable:
    table = TokenTable(starts, ends, fields, text, pieces)
    table._lemmas.update(lemmas)
    return table


def analyze(text: str, tagger: Any, max_piece_chars: int = MAX_PIECE_CHARS) -> TokenTable:
    """The MeCab tokens of `text` (offsets into `text`), from a tagger made by build_tagger()."""
    parts: list[tuple[np.ndarray, np.ndarray, str]] = []
    pieces: list[Piece] = []
    count = 0
    for offset, piece in split_pieces(text, max_piece_chars):
        if not piece:
            continue
        safe = safe_text(piece)
        part = parse_output(tagger.parse(safe), safe, offset, ID_FIELDS)
        pieces.append(Piece(offset, offset + len(piece), count, count + len(part[0])))
        count += len(part[0])
        parts.append(part)
    if not parts:
        return TokenTable.empty()
    if len(parts) == 1:
        return TokenTable(*parts[0], text, tuple(pieces))
    starts, ends, fields = zip(*parts, strict=True)
    return TokenTable(np.concatenate(starts), np.concatenate(ends), "".join(fields), text,
                      tuple(pieces))


class AnalyzeStep:
    """Step "analyze": Document.tokens becomes the text's TokenTable, token_count its length.

    Picklable until setup(); the tagger (which cannot be pickled) is built in setup(), once per
    worker.
    """

    name = "analyze"

    def __init__(self, max_piece_chars: int = MAX_PIECE_CHARS) -> None:
        self.max_piece_chars = max_piece_chars
        self._tagger: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_tagger": None}

    def setup(self) -> None:
        if self._tagger is None:
            self._tagger = build_tagger()

    def __call__(self, doc: Document) -> Document | Reject:
        if self._tagger is None:
            raise RuntimeError("AnalyzeStep.setup() must run before the step is applied")
        tokens = analyze(doc.text, self._tagger, self.max_piece_chars)
        return replace(doc, tokens=tokens, token_count=len(tokens))

"""MeCab analysis (fugashi + unidic-lite): tokens with character offsets, UniDic POS and lemma.

`analyze(text, tagger)` returns a `TokenTable`: a `Sequence[Token]` (schemas.records.Token:
start, end, pos, lemma) over the text, computed once so later stages (quality, PII) never
tokenize again. `AnalyzeStep` is the pipeline step ("analyze").

Why it looks like this (measured on manpages-ja, 6.7 M characters, 2.8 M tokens):
- Iterating fugashi nodes and reading `feature_raw` costs 1.3x bare tokenization, and building
  one `Token` tuple per token from Python costs as much again: the per-token Python objects, not
  MeCab, dominate. So the tagger prints every token through a MeCab output format,
  `%M SEP %m SEP pos SEP lemma SEP`, in one `parse()` call per piece (as fast as bare
  `tagger(text)`), and the offsets come from one numpy pass over the separator positions: `%M` is
  the surface with the whitespace MeCab skipped before it, so the cumulative sum of its lengths
  is each token's end, and end minus the surface length its start. No per-token Python work.
- The table keeps that output string and materializes `Token`s only when a reader iterates
  (the PII stage, for documents where a recognizer fires), once, then caches them.
- MeCab reads a C string: a NUL would end the text, and SEP (BEL) would shift the fields, so
  both are replaced by a space before tagging; one character for one, offsets unchanged.
- MeCab prints "*" features as empty; POS fields are restored to "*" (UniDic's spelling, e.g.
  "助詞,格助詞,*,*") and an empty lemma becomes the surface.
- Long texts are cut on line boundaries into pieces of at most `max_piece_chars` (100 k) so
  MeCab's lattice stays small; offsets stay relative to the whole text.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import repeat
from typing import Any, overload

import numpy as np

from schemas.records import Document, Reject, Token

SEPARATOR = "\x07"
MAX_PIECE_CHARS = 100_000
_FIELDS = 4  # %M, %m, pos, lemma
# fugashi strips whitespace off the output, which would eat the first token's leading
# whitespace: a BOS marker (the separator itself) keeps the output's start intact.
_NODE_FORMAT = f"%M{SEPARATOR}%m{SEPARATOR}%f[0],%f[1],%f[2],%f[3]{SEPARATOR}%f[7]{SEPARATOR}"
# Unknown words have only the POS and conjugation fields: their lemma is their surface.
_UNK_FORMAT = f"%M{SEPARATOR}%m{SEPARATOR}%f[0],%f[1],%f[2],%f[3]{SEPARATOR}%m{SEPARATOR}"
_UNSAFE = {0: " ", ord(SEPARATOR): " "}


class AnalysisError(RuntimeError):
    """MeCab's output did not line up with its input (a bug, never document content)."""


def build_tagger() -> Any:
    """A fugashi tagger over unidic-lite that prints tokens in Kura's field format."""
    import fugashi  # heavy: imported where the tagger is built (a worker's setup)
    import unidic_lite

    dicdir = unidic_lite.DICDIR
    # -O '' overrides unidic-lite's dicrc (output-format-type = unidic), which would win over
    # --node-format.
    args = (
        f"-r '{os.path.join(dicdir, 'mecabrc')}' -d '{dicdir}' -O ''"
        f" --node-format='{_NODE_FORMAT}' --unk-format='{_UNK_FORMAT}'"
        f" --bos-format='{SEPARATOR}' --eos-format=''"
    )
    return fugashi.GenericTagger(args)


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


class _PosTable(dict):
    """MeCab's "助詞,格助詞,," -> UniDic's "助詞,格助詞,*,*", interned (a few hundred values)."""

    def __missing__(self, key: str) -> str:
        value = ",".join(field or "*" for field in key.split(","))
        self[key] = value
        return value


_POS = _PosTable()


class TokenTable(Sequence[Token]):
    """The tokens of one text as columns; indexing and iteration give `Token`s.

    `starts` and `ends` are numpy int64 arrays of character offsets, usable without building a
    Token. The POS and lemma columns are parsed from MeCab's output on first use, then cached.
    Equal to any sequence of the same Tokens (a tuple of Token included).
    """

    __slots__ = ("_columns", "_fields", "_tokens", "ends", "starts")

    def __init__(self, starts: np.ndarray, ends: np.ndarray, fields: str) -> None:
        self.starts = starts
        self.ends = ends
        self._fields = fields  # MeCab output: _FIELDS separated fields per token
        self._tokens: tuple[Token, ...] | None = None
        self._columns: tuple[list[int], list[int], list[str], list[str]] | None = None

    @classmethod
    def empty(cls) -> TokenTable:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), "")

    def columns(self) -> tuple[list[int], list[int], list[str], list[str]]:
        """(starts, ends, pos, lemmas) as Python lists, parsed once, then cached.

        A reader that needs a few tokens (the person-name recognizer looks only near evidence)
        reads these and `token(i)`, rather than building every Token.
        """
        if self._columns is None:
            fields = self._fields.split(SEPARATOR)
            surfaces, pos, lemmas = fields[1::_FIELDS], fields[2::_FIELDS], fields[3::_FIELDS]
            if "" in lemmas:  # rare: a "*" lemma
                lemmas = [lemma or surface for lemma, surface in zip(lemmas, surfaces, strict=True)]
            self._columns = (self.starts.tolist(), self.ends.tolist(),
                             list(map(_POS.__getitem__, pos)), lemmas)
        return self._columns

    def token(self, index: int) -> Token:
        """One token, built from the columns alone."""
        if self._tokens is not None:
            return self._tokens[index]
        starts, ends, pos, lemmas = self.columns()
        return Token(starts[index], ends[index], pos[index], lemmas[index])

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
        return fragment in self._fields

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
        return (TokenTable, (self.starts, self.ends, self._fields))


def _analyze_piece(tagger: Any, piece: str, offset: int) -> tuple[np.ndarray, np.ndarray, str]:
    safe = piece.translate(_UNSAFE) if "\x00" in piece or SEPARATOR in piece else piece
    out = tagger.parse(safe)
    if not out.startswith(SEPARATOR):
        raise AnalysisError("MeCab output lacks the BOS marker")
    body = out[1:]
    codes = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    separators = np.flatnonzero(codes == ord(SEPARATOR))
    if len(separators) % _FIELDS:
        raise AnalysisError("MeCab output has a partial token")
    separators = separators.reshape(-1, _FIELDS)
    # Each token's %M field starts right after the previous token's last separator.
    field_starts = np.empty(len(separators), dtype=np.int64)
    field_starts[:1] = 0
    field_starts[1:] = separators[:-1, _FIELDS - 1] + 1
    with_space = separators[:, 0] - field_starts
    surface = separators[:, 1] - separators[:, 0] - 1
    ends = np.cumsum(with_space, dtype=np.int64)
    consumed = int(ends[-1]) if len(ends) else 0
    # Whatever MeCab did not print must be trailing whitespace: else the offsets are off.
    if consumed > len(piece) or (consumed < len(piece) and not safe[consumed:].isspace()):
        raise AnalysisError("MeCab output does not cover its input")
    ends += offset
    return ends - surface, ends, body


def analyze(text: str, tagger: Any, max_piece_chars: int = MAX_PIECE_CHARS) -> TokenTable:
    """The MeCab tokens of `text` (offsets into `text`), from a tagger made by build_tagger()."""
    parts = [
        _analyze_piece(tagger, piece, offset)
        for offset, piece in split_pieces(text, max_piece_chars)
        if piece
    ]
    if not parts:
        return TokenTable.empty()
    if len(parts) == 1:
        return TokenTable(*parts[0])
    starts, ends, fields = zip(*parts, strict=True)
    return TokenTable(np.concatenate(starts), np.concatenate(ends), "".join(fields))


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

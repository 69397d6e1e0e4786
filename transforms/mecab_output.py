"""MeCab (fugashi + unidic-lite) taggers that print Kura's field formats, and their parsing.

Two taggers share one dictionary and differ only in what they print per token, so their
lattices, and the tokens they choose, are identical:
- the *id tagger* (`build_tagger`) prints the surface with the whitespace MeCab skipped before
  it (`%M`), the surface (`%m`), an empty field and the token's left context id (`%phl`).
  UniDic's `left-id.def` names the four POS fields of every context id of a dictionary word,
  so POS needs no feature parsing. An unknown word's context id may be a dictionary word's of
  another POS (5129 is a 名詞,普通名詞,サ変可能 and an unknown 記号,一般 such as "-"), so
  unknown words print their own POS after the id: "5129,記号,一般,,".
- the *lemma tagger* (`lemma_tagger`) prints the same and then UniDic's lemma, `%f[7]`.

Why: printing any feature makes MeCab split the token's 26-field CSV. Measured on man pages
(interleaved, one process), `parse()` with the id format costs 0.72x bare `tagger(text)`, with
the former `pos SEP lemma` format 0.87x, and the whole analysis 0.80x against 0.98x. Only the
person-name rules read POS (about half the text) and only the tokens around a PII finding are
read with a lemma (a few windows per hundred documents: `transforms/lemma_windows.py`).

`parse_output` gives the offsets with no per-token Python work: `%M` lengths give each token's
end by a cumulative sum, `%m` lengths its start. The fields are split only when read;
`output_has_pos` answers "any token of this POS?" by searching the output itself.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any, overload

import numpy as np

SEPARATOR = "\x07"
# The id field comes after an empty field: two separators in a row occur nowhere else (a
# surface is never empty and never holds SEP), so a search can find ids without a parse.
ID_NODE_FORMAT = f"%M{SEPARATOR}%m{SEPARATOR}{SEPARATOR}%phl{SEPARATOR}"
ID_UNK_FORMAT = f"%M{SEPARATOR}%m{SEPARATOR}{SEPARATOR}%phl,%f[0],%f[1],%f[2],%f[3]{SEPARATOR}"
ID_FIELDS = 4  # %M, %m, "", id
ID_FIELD = 3
# Unknown words have no lemma field: their lemma is their surface.
LEMMA_NODE_FORMAT = f"{ID_NODE_FORMAT}%f[7]{SEPARATOR}"
LEMMA_UNK_FORMAT = f"{ID_UNK_FORMAT}%m{SEPARATOR}"
LEMMA_FIELDS = 5
_UNSAFE = {0: " ", ord(SEPARATOR): " "}


class AnalysisError(RuntimeError):
    """MeCab's output did not line up with its input (a bug, never document content)."""


def _tagger(node_format: str, unk_format: str) -> Any:
    import fugashi  # heavy: imported where a tagger is built (a worker's setup)
    import unidic_lite

    dicdir = unidic_lite.DICDIR
    # -O '' overrides unidic-lite's dicrc (output-format-type = unidic), which would win over
    # --node-format. fugashi strips whitespace off the output, which would eat the first
    # token's leading whitespace: a BOS marker (the separator itself) keeps the start intact.
    return fugashi.GenericTagger(
        f"-r '{os.path.join(dicdir, 'mecabrc')}' -d '{dicdir}' -O ''"
        f" --node-format='{node_format}' --unk-format='{unk_format}'"
        f" --bos-format='{SEPARATOR}' --eos-format=''"
    )


def build_tagger() -> Any:
    """The id tagger: surfaces and context ids (POS of unknown words), no lemma."""
    return _tagger(ID_NODE_FORMAT, ID_UNK_FORMAT)


_PER_THREAD = threading.local()


def lemma_tagger() -> Any:
    """The lemma tagger of this thread, built on first use (most workers never need one).

    A MeCab tagger parses into its own lattice, so it is never shared between threads: the
    portable runner's SDK worker runs bundles on several."""
    tagger = getattr(_PER_THREAD, "lemma_tagger", None)
    if tagger is None:
        tagger = _PER_THREAD.lemma_tagger = _tagger(LEMMA_NODE_FORMAT, LEMMA_UNK_FORMAT)
    return tagger


class _PosTable(dict):
    """MeCab's "助詞,格助詞,," -> UniDic's "助詞,格助詞,*,*", interned (a few hundred values)."""

    def __missing__(self, key: str) -> str:
        value = ",".join(field or "*" for field in key.split(","))
        self[key] = value
        return value


POS_SPELLING = _PosTable()


@cache
def pos_by_context_id() -> tuple[str, ...]:
    """The four UniDic POS fields of each context id of a dictionary word (`left-id.def`)."""
    import unidic_lite

    table: dict[int, str] = {}
    with open(os.path.join(unidic_lite.DICDIR, "left-id.def"), encoding="utf-8") as handle:
        for line in handle:
            number, _, features = line.rstrip("\n").partition(" ")
            table[int(number)] = POS_SPELLING[",".join(features.split(",")[:4])]
    return tuple(table[i] for i in range(len(table)))


class _PosOfIdField(dict):
    """An id field's POS, interned: "4787" through `left-id.def`; an unknown word's
    "5129,記号,一般,," from its own fields (its context id may name another POS)."""

    def __missing__(self, field: str) -> str:
        number, comma, own = field.partition(",")
        value = POS_SPELLING[own] if comma else pos_by_context_id()[int(number)]
        self[field] = value
        return value


POS_OF_ID_FIELD = _PosOfIdField()


@cache
def _known_ids_search(fragment: str) -> re.Pattern[str] | None:
    """A search for the id field of a dictionary word whose POS holds `fragment`."""
    ids = "|".join(str(i) for i, pos in enumerate(pos_by_context_id()) if fragment in pos)
    return re.compile(f"{SEPARATOR}{SEPARATOR}(?:{ids}){SEPARATOR}") if ids else None


def output_has_pos(body: str, fragment: str) -> bool:
    """Whether the id tagger's output `body` holds a token whose POS holds `fragment` (e.g.
    "人名"), without parsing a token: a dictionary word's id field among the ids whose POS
    holds it, or the fragment inside an unknown word's id field (the field after two
    separators: a surface holding the fragment is after one)."""
    known = _known_ids_search(fragment)
    if known is not None and known.search(body) is not None:
        return True
    at = body.find(fragment)
    while at >= 0:
        field = body.rfind(SEPARATOR, 0, at)
        if field > 0 and body[field - 1] == SEPARATOR:
            return True
        at = body.find(fragment, at + 1)
    return False


@cache
def _id_fields_starting(prefix: str) -> re.Pattern[str]:
    """A search for the id fields of tokens whose POS may start with `prefix` (no "*"): a
    dictionary word's id of such a POS, or an unknown word's id field whose own POS fields,
    as MeCab printed them, start with it (group 1: that field, for the exact test)."""
    ids = "|".join(str(i) for i, pos in enumerate(pos_by_context_id()) if pos.startswith(prefix))
    known = f"(?:{ids}){SEPARATOR}|" if ids else ""
    return re.compile(f"{SEPARATOR}{SEPARATOR}(?:{known}"
                      f"([0-9]+,{re.escape(prefix)}[^{SEPARATOR}]*){SEPARATOR})")


def id_field_ends_starting(body: str, prefix: str) -> list[int]:
    """Where the id fields of the tokens whose POS starts with `prefix` end in the id tagger's
    output `body` (the separator after each), in order; `prefix` holds no "*".

    One search over the output, which stops only at each token's id field. MeCab prints an
    unknown word's empty POS field as empty where UniDic spells "*", so the two spellings agree
    up to the first empty field: the spelled POS starts with a prefix free of "*" exactly
    where the printed one does, which the search finds and `POS_OF_ID_FIELD` confirms.
    """
    return [m.end() - 1 for m in _id_fields_starting(prefix).finditer(body)
            if m.group(1) is None or POS_OF_ID_FIELD[m.group(1)].startswith(prefix)]


class _LazyColumn(Sequence[str]):
    """A column of strings computed per item when read; a slice gives a list."""

    __slots__ = ()

    def _item(self, index: int) -> str:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        return self._item(index)


class IdFields(_LazyColumn):
    """Each token's id field, sliced off the id tagger's output only for the tokens asked for:
    splitting the whole output makes three strings per token that nobody reads."""

    __slots__ = ("body", "ends", "starts")

    def __init__(self, body: str, starts: np.ndarray, ends: np.ndarray) -> None:
        self.body = body
        self.starts = starts  # where each token's id field starts in `body`
        self.ends = ends  # and ends: the separator after it

    @classmethod
    def of_output(cls, body: str) -> IdFields:
        """The fields of an id tagger's output (`ID_FIELDS` fields per token, no BOS marker)."""
        codes = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        separators = np.flatnonzero(codes == ord(SEPARATOR)).reshape(-1, ID_FIELDS)
        return cls(body, separators[:, ID_FIELD - 1] + 1, separators[:, ID_FIELD])

    def __len__(self) -> int:
        return len(self.starts)

    def _item(self, index: int) -> str:
        return self.body[self.starts[index]:self.ends[index]]

    def without(self, indices: Sequence[int]) -> IdFields:
        """The fields with the tokens at `indices` left out."""
        return IdFields(self.body, np.delete(self.starts, indices), np.delete(self.ends, indices))


class PosColumn(_LazyColumn):
    """Each token's POS, read off the id tagger's output only for the tokens asked for.

    The person-name rules read POS near evidence and search for a few POS among all tokens;
    splitting the whole output and mapping every id cost a sixth of MeCab's own parse on the
    documents they read. `indices_starting` searches the output itself instead."""

    __slots__ = ("fields",)

    def __init__(self, fields: IdFields) -> None:
        self.fields = fields

    def __len__(self) -> int:
        return len(self.fields)

    def _item(self, index: int) -> str:
        return POS_OF_ID_FIELD[self.fields._item(index)]

    def indices_starting(self, prefix: str) -> list[int]:
        """The sorted indices of the tokens whose POS starts with `prefix`."""
        if not prefix or "*" in prefix:
            return [i for i in range(len(self)) if self[i].startswith(prefix)]
        found = id_field_ends_starting(self.fields.body, prefix)
        if not found:
            return []
        # A field found is a token's of this column unless `without` left that token out.
        ends = self.fields.ends
        at = np.searchsorted(ends, found)
        inside = at < len(ends)
        at = at[inside]
        return at[ends[at] == np.asarray(found)[inside]].tolist()

    def without(self, indices: Sequence[int]) -> PosColumn:
        """The column with the tokens at `indices` left out."""
        return PosColumn(self.fields.without(indices))


def safe_text(text: str) -> str:
    """MeCab reads a C string: a NUL would end it and SEP would shift the fields. Each becomes
    a space, one character for one, so offsets do not move."""
    return text.translate(_UNSAFE) if "\x00" in text or SEPARATOR in text else text


def parse_output(out: str, safe_piece: str, offset: int, fields: int
                 ) -> tuple[np.ndarray, np.ndarray, str]:
    """(starts, ends, body) of a tagger's output for `safe_piece`: offsets into the whole text
    (`offset` is the piece's), and the output without its BOS marker, `fields` per token."""
    if not out.startswith(SEPARATOR):
        raise AnalysisError("MeCab output lacks the BOS marker")
    body = out[1:]
    codes = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    separators = np.flatnonzero(codes == ord(SEPARATOR))
    if len(separators) % fields:
        raise AnalysisError("MeCab output has a partial token")
    separators = separators.reshape(-1, fields)
    # Each token's %M field starts right after the previous token's last separator.
    field_starts = np.empty(len(separators), dtype=np.int64)
    field_starts[:1] = 0
    field_starts[1:] = separators[:-1, fields - 1] + 1
    with_space = separators[:, 0] - field_starts
    surface = separators[:, 1] - separators[:, 0] - 1
    ends = np.cumsum(with_space, dtype=np.int64)
    consumed = int(ends[-1]) if len(ends) else 0
    # Whatever MeCab did not print must be trailing whitespace: else the offsets are off.
    if consumed > len(safe_piece) or (consumed < len(safe_piece)
                                      and not safe_piece[consumed:].isspace()):
        raise AnalysisError("MeCab output does not cover its input")
    ends += offset
    return ends - surface, ends, body

"""Quality signals of a stored text, and the filters that reject documents on them.

`quality_signals(text, top_ngram_n)` computes every signal of `schemas.records.QUALITY_SIGNALS`
(they become shard columns); `first_failure(...)` applies the `[quality]` thresholds of
`schemas.quality.QualityConfig`; `QualityStep` ("quality") does both on a Document.

Definitions (all fractions are in [0, 1]; "content" means non-whitespace characters):
- hiragana / katakana / kanji / ascii_letter / digit / symbol _fraction: the share of content
  characters in that class. Katakana includes ー; kanji includes 々 〆 〇 and the supplementary
  ideograph planes; digits are Unicode decimal digits; symbols are Unicode punctuation (P*) and
  symbols (S*). japanese_fraction is kana + kanji.
- mean_sentence_chars: content characters (the stops themselves excluded) per sentence,
  sentences ending at 。！？!? or a newline (a line without a full stop is a sentence; empty
  ones are not counted).
- duplicate_line_fraction / duplicate_paragraph_fraction: Gopher's "duplicate line (paragraph)
  character fraction": characters of lines (paragraphs, separated by blank lines) that already
  occurred earlier in the document, over the characters of all non-blank lines (paragraphs);
  lines are compared with surrounding whitespace stripped.
- top_ngram_fraction: Gopher's top n-gram repetition on characters (Japanese has no spaces to
  make words): the share of content characters covered by occurrences of the most frequent
  character n-gram of the content characters.

Speed: one numpy pass classifies every character through a code-point table (no per-character
Python), n-grams are polynomial hashes counted by bucket (np.bincount), repeated lines are the
characters a set of the lines does not hold.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

import numpy as np

from schemas.quality import QualityConfig
from schemas.records import Document, Reject

# Character classes of the code-point table.
_OTHER, _HIRAGANA, _KATAKANA, _KANJI, _LETTER, _DIGIT, _SYMBOL, _STOP, _SPACE, _NEWLINE = range(10)
_N_CLASSES = 10
SENTENCE_ENDS = "。！？!?"
_HASH_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-64 prime: odd, mixes 21-bit code points


@cache
def _class_table() -> np.ndarray:
    """uint8 class of every code point (1.1 MB, built once per process in ~50 ms)."""
    table = np.full(0x110000, _OTHER, dtype=np.uint8)
    for cp in range(0x10000):
        category = unicodedata.category(chr(cp))
        if category[0] in "PS":
            table[cp] = _SYMBOL
        elif category == "Nd":
            table[cp] = _DIGIT
        elif category[0] == "Z" or chr(cp).isspace():
            table[cp] = _SPACE
    table[0x1F000:0x1FC00] = _SYMBOL  # emoji and pictographs
    table[ord("A") : ord("Z") + 1] = _LETTER
    table[ord("a") : ord("z") + 1] = _LETTER
    for first, last, cls in (
        (0x3041, 0x3096, _HIRAGANA),
        (0x309D, 0x309F, _HIRAGANA),
        (0x30A1, 0x30FA, _KATAKANA),
        (0x30FC, 0x30FF, _KATAKANA),  # ー ヽ ヾ ヿ
        (0x31F0, 0x31FF, _KATAKANA),
        (0xFF66, 0xFF9D, _KATAKANA),  # half-width (the stored text has none)
        (0x3005, 0x3007, _KANJI),  # 々 〆 〇
        (0x3400, 0x4DBF, _KANJI),
        (0x4E00, 0x9FFF, _KANJI),
        (0xF900, 0xFAFF, _KANJI),
        (0x20000, 0x3FFFF, _KANJI),
    ):
        table[first : last + 1] = cls
    for char in SENTENCE_ENDS:
        table[ord(char)] = _STOP
    table[ord("\n")] = _NEWLINE
    return table


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


# What the sentence count reads of each class: 1 a content character that is not a full stop,
# 2 a sentence end (full stop or newline), 0 whitespace (neither splits nor fills a sentence).
_SENTENCE_ROLE = np.ones(_N_CLASSES, dtype=np.uint8)
_SENTENCE_ROLE[[_STOP, _NEWLINE]] = 2
_SENTENCE_ROLE[_SPACE] = 0


def _mean_sentence_chars(classes: np.ndarray, content_chars: int) -> float:
    """Content characters (full stops excluded) per sentence: `content_chars` over the runs of
    such characters that no sentence end separates (whitespace does not)."""
    if not content_chars:
        return 0.0
    roles = _SENTENCE_ROLE[classes]
    roles = roles[roles != 0]
    # A sentence starts at a content character that follows an end (2 then 1), or at the first.
    sentences = int(np.count_nonzero(roles[:-1] > roles[1:])) + int(roles[0] == 1)
    return content_chars / sentences


def _duplicate_fraction(units: list[str]) -> float:
    """Characters of units seen earlier in the list, over the characters of all units."""
    total = sum(map(len, units))
    if not total:
        return 0.0
    # Every unit but the first of its text is a repeat: all characters minus the distinct ones.
    return (total - sum(map(len, set(units)))) / total


def _most_frequent(values: np.ndarray) -> tuple[int, np.uint64]:
    """(count, value) of the most frequent of `values` (the smallest among equals).

    np.unique(return_counts=True) then argmax, without its ~20 µs of Python per call: this
    runs twice a document on a few hundred values.
    """
    ordered = np.sort(values)
    # edges: where each run of equal values starts, and the end
    change = np.empty(len(ordered) + 1, dtype=bool)
    change[0] = change[-1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=change[1:-1])
    edges = change.nonzero()[0]
    counts = edges[1:] - edges[:-1]
    top = int(counts.argmax())
    return int(counts[top]), ordered[edges[top]]


def top_ngram(codes: np.ndarray, n: int) -> tuple[int, float]:
    """(count, covered share) of the most frequent n-gram of `codes`; (0, 0.0) if none repeats.

    The covered share is the fraction of `codes` inside one of its occurrences.
    """
    windows = len(codes) - n + 1
    if windows < 2:
        return 0, 0.0
    wide = codes.astype(np.uint64)
    hashes = wide[:windows].copy()
    for k in range(1, n):  # polynomial hash mod 2**64; numpy arrays wrap without warnings
        hashes *= _HASH_MULTIPLIER
        hashes += wide[k : k + windows]
    # Count hashes in ~4 buckets per window (bincount, linear) instead of sorting them all. A
    # bucket's count bounds the count of every n-gram in it, so after counting the fullest
    # bucket exactly, only buckets fuller than that count can hold a more frequent n-gram.
    bits = max(8, (4 * windows - 1).bit_length())
    buckets = (hashes >> np.uint64(64 - bits)).astype(np.intp)
    bucket_counts = np.bincount(buckets, minlength=1 << bits)
    best_count, best_hash = _most_frequent(hashes[buckets == int(bucket_counts.argmax())])
    contenders = bucket_counts[buckets] > best_count
    if contenders.any():
        # ties: the smallest hash, so the result is deterministic
        count, value = _most_frequent(hashes[contenders])
        if count > best_count:
            best_count, best_hash = count, value
    if best_count < 2:  # no n-gram occurs twice
        return 0, 0.0
    positions = (hashes == best_hash).nonzero()[0]
    # Overlapping occurrences (in a run of one character) cover each character once.
    covered = int(np.minimum(positions[1:] - positions[:-1], n).sum()) + n
    return best_count, covered / len(codes)


def quality_signals(text: str, top_ngram_n: int = 5) -> dict[str, float]:
    """Every signal of QUALITY_SIGNALS for a stored text (see the module's definitions)."""
    codes = _code_points(text)
    classes = _class_table()[codes]
    counts = np.bincount(classes, minlength=_N_CLASSES).tolist()
    content = classes < _SPACE
    n_content = sum(counts[:_SPACE])
    per = 1.0 / n_content if n_content else 0.0

    stripped = list(map(str.strip, text.split("\n")))
    lines = list(filter(None, stripped))
    line_fraction = _duplicate_fraction(lines)
    # A repeated paragraph repeats its lines: with no line repeated, no paragraph is.
    paragraph_fraction = 0.0
    if line_fraction:
        # Blank lines (whitespace only) separate paragraphs: they are "" once stripped.
        paragraphs = list(filter(None, map(str.strip, "\n".join(stripped).split("\n\n"))))
        paragraph_fraction = _duplicate_fraction(paragraphs)
    return {
        "hiragana_fraction": counts[_HIRAGANA] * per,
        "katakana_fraction": counts[_KATAKANA] * per,
        "kanji_fraction": counts[_KANJI] * per,
        "ascii_letter_fraction": counts[_LETTER] * per,
        "digit_fraction": counts[_DIGIT] * per,
        "symbol_fraction": (counts[_SYMBOL] + counts[_STOP]) * per,
        "japanese_fraction": (counts[_HIRAGANA] + counts[_KATAKANA] + counts[_KANJI]) * per,
        "mean_sentence_chars": _mean_sentence_chars(classes, n_content - counts[_STOP]),
        "duplicate_line_fraction": line_fraction,
        "duplicate_paragraph_fraction": paragraph_fraction,
        "top_ngram_fraction": top_ngram(codes[content], top_ngram_n)[1],
    }


@dataclass(frozen=True)
class QualityRule:
    """One threshold: `signal` must be >= (min) or <= (max) `threshold`."""

    name: str  # the name `disable` uses
    signal: str  # the value tested: a signal, "char_count" or "token_count"
    bound: Literal["min", "max"]
    threshold: float
    japanese_only: bool = False
    extra: Mapping[str, float] | None = None  # further parameters, for the reject reason

    def passes(self, value: float) -> bool:
        return value >= self.threshold if self.bound == "min" else value <= self.threshold

    def reject(self, value: float) -> Reject:
        number = round(value, 4) if isinstance(value, float) else value
        return Reject(
            f"quality.{self.signal}", {self.bound: self.threshold, **(self.extra or {}),
                                       "value": number}
        )


def quality_rules(config: QualityConfig) -> tuple[QualityRule, ...]:
    """The enabled rules of a config, in the order they are checked."""
    rules = (
        QualityRule("char_count", "char_count", "min", config.min_chars),
        QualityRule("token_count", "token_count", "min", config.min_tokens),
        QualityRule("japanese_fraction", "japanese_fraction", "min",
                    config.min_japanese_fraction, japanese_only=True),
        QualityRule("hiragana_fraction", "hiragana_fraction", "min",
                    config.min_hiragana_fraction, japanese_only=True),
        QualityRule("symbol_fraction", "symbol_fraction", "max", config.max_symbol_fraction),
        QualityRule("digit_fraction", "digit_fraction", "max", config.max_digit_fraction),
        QualityRule("mean_sentence_chars_min", "mean_sentence_chars", "min",
                    config.min_mean_sentence_chars),
        QualityRule("mean_sentence_chars_max", "mean_sentence_chars", "max",
                    config.max_mean_sentence_chars),
        QualityRule("duplicate_line_fraction", "duplicate_line_fraction", "max",
                    config.max_duplicate_line_fraction),
        QualityRule("duplicate_paragraph_fraction", "duplicate_paragraph_fraction", "max",
                    config.max_duplicate_paragraph_fraction),
        QualityRule("top_ngram_fraction", "top_ngram_fraction", "max",
                    config.max_top_ngram_fraction, extra={"n": config.top_ngram_n}),
    )
    return tuple(rule for rule in rules if rule.name not in config.disable)


def is_japanese(lang: str) -> bool:
    """"ja", "ja-JP", "ja_JP" and "JA" are Japanese."""
    return lang.replace("_", "-").split("-")[0].lower() == "ja"


def first_failure(
    rules: tuple[QualityRule, ...], values: Mapping[str, float], lang: str
) -> Reject | None:
    """The Reject of the first rule `values` fail, or None if they pass every rule."""
    japanese = is_japanese(lang)
    for rule in rules:
        if rule.japanese_only and not japanese:
            continue
        value = values[rule.signal]
        if not rule.passes(value):
            return rule.reject(value)
    return None


class QualityStep:
    """Step "quality": Document.signals gets every quality signal; failing documents are rejects.

    Needs the analysis stage first (it reads Document.token_count): a document without tokens
    is an error, quarantined by ApplyStep, not silently passed or rejected on a zero count.
    """

    name = "quality"

    def __init__(self, config: QualityConfig | None = None) -> None:
        self.config = config or QualityConfig()
        self._rules = quality_rules(self.config)

    def setup(self) -> None:
        _class_table()  # build the code-point table once per worker, not on the first document

    def __call__(self, doc: Document) -> Document | Reject:
        if doc.tokens is None:
            raise ValueError("the quality step needs the analysis step's tokens")
        signals = quality_signals(doc.text, self.config.top_ngram_n)
        values = {**signals, "char_count": len(doc.text), "token_count": doc.token_count}
        failure = first_failure(self._rules, values, doc.lang)
        return failure or replace(doc, signals=signals)

"""quality_signals against the definitions it was sped up from, kept here as the reference.

The reference computes each signal the way transforms/quality.py did before the speed work:
sentences from a cumulative count of ends, duplicates with a Counter, every paragraph split,
and the top n-gram chosen through np.unique (the fullest hash bucket first, then any bucket
fuller than its best count). The signals are shard columns: they must not move by a bit.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from transforms.quality import (
    _DIGIT,
    _HASH_MULTIPLIER,
    _HIRAGANA,
    _KANJI,
    _KATAKANA,
    _LETTER,
    _N_CLASSES,
    _NEWLINE,
    _SPACE,
    _STOP,
    _SYMBOL,
    _class_table,
    _code_points,
    quality_signals,
    top_ngram,
)


def reference_top_ngram(codes: np.ndarray, n: int) -> tuple[int, float]:
    windows = len(codes) - n + 1
    if windows < 2:
        return 0, 0.0
    wide = codes.astype(np.uint64)
    hashes = wide[:windows].copy()
    for k in range(1, n):
        hashes *= _HASH_MULTIPLIER
        hashes += wide[k : k + windows]
    bits = max(8, (4 * windows - 1).bit_length())
    buckets = (hashes >> np.uint64(64 - bits)).astype(np.intp)
    bucket_counts = np.bincount(buckets, minlength=1 << bits)
    values, counts = np.unique(hashes[buckets == int(np.argmax(bucket_counts))],
                               return_counts=True)
    top = int(np.argmax(counts))
    best_count, best_hash = int(counts[top]), values[top]
    contenders = bucket_counts[buckets] > best_count
    if contenders.any():
        values, counts = np.unique(hashes[contenders], return_counts=True)
        top = int(np.argmax(counts))
        if counts[top] > best_count:
            best_count, best_hash = int(counts[top]), values[top]
    if best_count < 2:
        return 0, 0.0
    positions = np.flatnonzero(hashes == best_hash)
    covered = int(np.minimum(np.diff(positions), n).sum()) + n
    return best_count, covered / len(codes)


def reference_mean_sentence_chars(classes: np.ndarray, content: np.ndarray) -> float:
    ends = (classes == _STOP) | (classes == _NEWLINE)
    sentence_of = np.cumsum(ends)[content & (classes != _STOP)]
    if not len(sentence_of):
        return 0.0
    return len(sentence_of) / (1 + int(np.count_nonzero(np.diff(sentence_of))))


def reference_duplicate_fraction(units: list[str]) -> float:
    total = sum(map(len, units))
    if not total:
        return 0.0
    return sum(len(u) * (c - 1) for u, c in Counter(units).items() if c > 1) / total


def reference_signals(text: str, n: int) -> dict[str, float]:
    codes = _code_points(text)
    classes = _class_table()[codes]
    counts = np.bincount(classes, minlength=_N_CLASSES).tolist()
    content = classes < _SPACE
    n_content = sum(counts[:_SPACE])
    per = 1.0 / n_content if n_content else 0.0
    stripped = [line.strip() for line in text.split("\n")]
    lines = [line for line in stripped if line]
    paragraphs = [p.strip() for p in "\n".join(stripped).split("\n\n") if p.strip()]
    return {
        "hiragana_fraction": counts[_HIRAGANA] * per,
        "katakana_fraction": counts[_KATAKANA] * per,
        "kanji_fraction": counts[_KANJI] * per,
        "ascii_letter_fraction": counts[_LETTER] * per,
        "digit_fraction": counts[_DIGIT] * per,
        "symbol_fraction": (counts[_SYMBOL] + counts[_STOP]) * per,
        "japanese_fraction": (counts[_HIRAGANA] + counts[_KATAKANA] + counts[_KANJI]) * per,
        "mean_sentence_chars": reference_mean_sentence_chars(classes, content),
        "duplicate_line_fraction": reference_duplicate_fraction(lines),
        "duplicate_paragraph_fraction": reference_duplicate_fraction(paragraphs),
        "top_ngram_fraction": reference_top_ngram(codes[content], n)[1],
    }


# Few distinct characters, so n-grams, lines and paragraphs repeat and counts tie often.
_ALPHABET = "あいア漢a1。！？!?、 \u3000\t\n\r\x1c"
texts = st.text(alphabet=st.sampled_from(_ALPHABET), max_size=120)


@settings(max_examples=600, deadline=None)
@given(texts, st.integers(min_value=1, max_value=6))
@example("", 5)
@example("\n\n", 5)
@example("あ\n\nあ\n\n\nあ", 1)
@example("。あ。 \n い", 5)
def test_signals_equal_the_reference_definitions(text: str, n: int) -> None:
    assert quality_signals(text, n) == reference_signals(text, n)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4), max_size=400),
       st.integers(min_value=1, max_value=6))
def test_top_ngram_breaks_ties_as_the_reference(values: list[int], n: int) -> None:
    codes = np.array(values, dtype=np.uint32) + np.uint32(0x3041)
    assert top_ngram(codes, n) == reference_top_ngram(codes, n)


def test_signals_of_man_pages_equal_the_reference(manpages_path) -> None:
    with manpages_path.open(encoding="utf-8") as f:
        pages = [json.loads(line)["text"] for line in islice(f, 300)]
    for page in pages:
        assert quality_signals(page) == reference_signals(page, 5)

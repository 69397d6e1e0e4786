"""The manifest's `[quality]` section: thresholds of the quality filters.

    [quality]
    min_chars = 200
    max_symbol_fraction = 0.3
    disable = ["mean_sentence_chars_max"]   # turn rules off by name

Every default was chosen on real Japanese technical prose: the 1,784 pages of manpages-ja (lots
of ASCII, option tables, code, short lines). With these defaults the filters reject 24 pages
(1.35 %), all by `japanese_fraction`: man pages left untranslated in English and character-set
tables (koi8-r, iso_8859-*) whose rows are English character names; every other rule rejects
none, each sitting above the corpus's extreme (the corpus's maxima: symbols 0.38, digits 0.39,
mean sentence 156 chars, duplicate lines 0.23, duplicate paragraphs 0.06, top 5-gram 0.24;
minima: 89 chars, 42 tokens, mean sentence 10.9 chars). Signal definitions are in
`transforms/quality.py`. Rules marked "ja" apply only to documents whose language is Japanese.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The rule names `disable` accepts; a reject's step is "quality." + the signal it tested.
QualityRuleName = Literal[
    "char_count",
    "token_count",
    "japanese_fraction",
    "hiragana_fraction",
    "symbol_fraction",
    "digit_fraction",
    "mean_sentence_chars_min",
    "mean_sentence_chars_max",
    "duplicate_line_fraction",
    "duplicate_paragraph_fraction",
    "top_ngram_fraction",
]


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_chars: int = Field(
        50, ge=0, description="minimum length of the stored text in characters"
    )
    min_tokens: int = Field(10, ge=0, description="minimum number of MeCab tokens")
    min_japanese_fraction: float = Field(
        0.1, ge=0.0, le=1.0,
        description="ja only: minimum share of kana and kanji among non-space characters",
    )
    min_hiragana_fraction: float = Field(
        0.02, ge=0.0, le=1.0,
        description="ja only: minimum share of hiragana among non-space characters (running "
        "Japanese prose needs particles and endings; noun lists and tables have few)",
    )
    max_symbol_fraction: float = Field(
        0.5, ge=0.0, le=1.0,
        description="maximum share of punctuation and symbols among non-space characters",
    )
    max_digit_fraction: float = Field(
        0.5, ge=0.0, le=1.0, description="maximum share of digits among non-space characters"
    )
    min_mean_sentence_chars: float = Field(
        5.0, ge=0.0,
        description="minimum mean sentence length in characters (sentences end at 。！？!? "
        "and newlines)",
    )
    max_mean_sentence_chars: float = Field(
        500.0, ge=0.0,
        description="maximum mean sentence length in characters (unpunctuated run-on text)",
    )
    max_duplicate_line_fraction: float = Field(
        0.3, ge=0.0, le=1.0,
        description="maximum share of line characters in lines seen earlier in the document "
        "(Gopher-style, by characters)",
    )
    max_duplicate_paragraph_fraction: float = Field(
        0.2, ge=0.0, le=1.0,
        description="maximum share of paragraph characters in paragraphs seen earlier in the "
        "document (Gopher-style, by characters)",
    )
    max_top_ngram_fraction: float = Field(
        0.3, ge=0.0, le=1.0,
        description="maximum share of non-space characters covered by the most frequent "
        "character n-gram (Gopher-style repetition)",
    )
    top_ngram_n: int = Field(
        5, ge=2, le=32, description="n of the character n-grams of top_ngram_fraction"
    )
    disable: frozenset[QualityRuleName] = Field(
        frozenset(), description="rules to skip, by name; their signals are still computed"
    )

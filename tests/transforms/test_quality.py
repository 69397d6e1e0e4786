from __future__ import annotations

import json
import pickle
from collections import Counter

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.quality import QualityConfig
from schemas.records import QUALITY_SIGNALS, Document, Reject
from transforms.quality import (
    QualityStep,
    first_failure,
    is_japanese,
    quality_rules,
    quality_signals,
    top_ngram,
)
from transforms.steps import ApplyStep

GOOD_JAPANESE = (
    "このコマンドは、指定されたファイルの内容を標準出力に書き出す。"
    "ファイルが指定されない場合は、標準入力から読み込む。\n\n"
    "オプション -n を付けると、各行の先頭に行番号を付ける。"
    "終了状態は、成功した場合に 0 となり、エラーが起きた場合には 0 以外となる。"
)


def doc(text: str, locator: int = 0, lang: str = "ja", tokens: int = 100) -> Document:
    return Document(doc_id=str(locator), corpus_id="c", member="m", source_uri="file:///s",
                    source_sha256="0" * 64, locator=locator, text=text, lang=lang,
                    token_count=tokens, tokens=())


def test_character_class_fractions_count_non_space_characters():
    signals = quality_signals("あい ウエ\n漢字 ab 12 !、")
    assert set(signals) == set(QUALITY_SIGNALS)
    content = 12  # あいウエ漢字ab12!、: spaces and newlines do not count
    assert signals["hiragana_fraction"] == pytest.approx(2 / content)
    assert signals["katakana_fraction"] == pytest.approx(2 / content)
    assert signals["kanji_fraction"] == pytest.approx(2 / content)
    assert signals["ascii_letter_fraction"] == pytest.approx(2 / content)
    assert signals["digit_fraction"] == pytest.approx(2 / content)
    assert signals["symbol_fraction"] == pytest.approx(2 / content)
    assert signals["japanese_fraction"] == pytest.approx(6 / content)


def test_long_vowel_mark_is_katakana_and_iteration_mark_is_kanji():
    signals = quality_signals("ーー々")
    assert signals["katakana_fraction"] == pytest.approx(2 / 3)
    assert signals["kanji_fraction"] == pytest.approx(1 / 3)


def test_empty_and_blank_texts_have_zero_signals():
    for text in ("", " \n\u3000 "):
        assert set(quality_signals(text).values()) == {0.0}


def test_mean_sentence_chars_splits_on_stops_and_newlines():
    # sentences: あいう / えお / かき ; the ！？ pair and the blank line make no sentence
    signals = quality_signals("あいう。えお！？\n\nかき")
    assert signals["mean_sentence_chars"] == pytest.approx(7 / 3)
    assert quality_signals("one line without a stop")["mean_sentence_chars"] == 19  # no spaces


def test_duplicate_line_fraction_counts_characters_of_repeated_lines():
    signals = quality_signals("abc\n  abc \nxyz\nabc")
    assert signals["duplicate_line_fraction"] == pytest.approx(6 / 12)


def test_duplicate_paragraph_fraction_counts_characters_of_repeated_paragraphs():
    signals = quality_signals("aa\nbb\n\ncc\n \naa\nbb")
    assert signals["duplicate_paragraph_fraction"] == pytest.approx(5 / 12)
    assert signals["duplicate_line_fraction"] == pytest.approx(4 / 10)


def test_top_ngram_fraction_measures_repetition():
    assert quality_signals("ーーーーーーーーーー")["top_ngram_fraction"] == 1.0
    assert quality_signals("今日は晴れ 今日は晴れ")["top_ngram_fraction"] == 1.0
    assert quality_signals("あいうえおかきくけこ")["top_ngram_fraction"] == 0.0
    spam = "激安セール開催中！" * 20 + GOOD_JAPANESE
    # each 5-gram of the 9-character phrase covers 5 of its 9 characters, 20 times
    assert quality_signals(spam)["top_ngram_fraction"] > 0.3
    assert quality_signals(GOOD_JAPANESE)["top_ngram_fraction"] < 0.2


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcあいう", max_size=300), st.integers(2, 6))
def test_top_ngram_count_is_exact(text, n):
    codes = np.array([ord(ch) for ch in text], dtype=np.uint32)
    grams = Counter(text[i : i + n] for i in range(len(text) - n + 1))
    expected = max(grams.values(), default=0)
    count, covered = top_ngram(codes, n)
    assert count == (expected if expected >= 2 else 0)
    assert 0.0 <= covered <= 1.0


def test_good_japanese_prose_passes_the_defaults():
    result = QualityStep()(doc(GOOD_JAPANESE))
    assert isinstance(result, Document)
    assert set(result.signals) == set(QUALITY_SIGNALS)


ENGLISH = (
    "The manpath configuration file is used by the manual page utilities to assess users' "
    "manpaths at run time, to indicate which manual page hierarchies are system ones."
)
BASELINE = {**quality_signals(GOOD_JAPANESE), "char_count": 500, "token_count": 200}
RULES = quality_rules(QualityConfig())


@pytest.mark.parametrize(("signal", "value", "expected"), [
    ("char_count", 10, {"min": 50, "value": 10}),
    ("token_count", 3, {"min": 10, "value": 3}),
    ("japanese_fraction", 0.05, {"min": 0.1, "value": 0.05}),
    ("hiragana_fraction", 0.01, {"min": 0.02, "value": 0.01}),
    ("symbol_fraction", 0.7, {"max": 0.5, "value": 0.7}),
    ("digit_fraction", 0.6, {"max": 0.5, "value": 0.6}),
    ("mean_sentence_chars", 2.0, {"min": 5.0, "value": 2.0}),
    ("mean_sentence_chars", 900.0, {"max": 500.0, "value": 900.0}),
    ("duplicate_line_fraction", 0.5, {"max": 0.3, "value": 0.5}),
    ("duplicate_paragraph_fraction", 0.25, {"max": 0.2, "value": 0.25}),
    ("top_ngram_fraction", 0.4, {"max": 0.3, "n": 5, "value": 0.4}),
])
def test_each_rule_rejects_with_its_parameters_and_the_value(signal, value, expected):
    assert first_failure(RULES, BASELINE, "ja") is None
    rejection = first_failure(RULES, {**BASELINE, signal: value}, "ja")
    assert rejection == Reject(f"quality.{signal}", expected)
    json.dumps(dict(rejection.reason))  # structured, serializable, no document text


def test_japanese_content_rules_apply_only_to_japanese_documents():
    english = {**BASELINE, "japanese_fraction": 0.0, "hiragana_fraction": 0.0}
    assert first_failure(RULES, english, "en") is None
    assert first_failure(RULES, english, "ja-JP").step == "quality.japanese_fraction"
    assert is_japanese("JA_jp") and not is_japanese("jav")


def test_disabled_rules_are_skipped_but_their_signal_is_still_computed():
    config = QualityConfig(disable=frozenset({"top_ngram_fraction"}))
    spam = "激安セール開催中！" * 30 + GOOD_JAPANESE
    assert QualityStep()(doc(spam)).step == "quality.top_ngram_fraction"
    kept = QualityStep(config)(doc(spam))
    assert isinstance(kept, Document) and kept.signals["top_ngram_fraction"] > 0.3


def test_config_rejects_unknown_keys_and_unknown_rule_names():
    with pytest.raises(ValueError):
        QualityConfig(min_charz=3)
    with pytest.raises(ValueError):
        QualityConfig(disable=frozenset({"no_such_rule"}))


def test_reasons_never_carry_document_text():
    rejection = QualityStep()(doc("秘密の電話番号"))
    assert isinstance(rejection, Reject)
    assert "秘密" not in json.dumps(dict(rejection.reason), ensure_ascii=False)


def test_step_needs_the_analysis_tokens():
    with pytest.raises(ValueError):
        QualityStep()(Document(doc_id="0", corpus_id="c", member="m", source_uri="s",
                               source_sha256="0" * 64, locator=0, text=GOOD_JAPANESE))


def test_step_pickles_before_setup():
    step = pickle.loads(pickle.dumps(QualityStep(QualityConfig(min_chars=7))))
    step.setup()
    assert step.config.min_chars == 7
    assert isinstance(step(doc(GOOD_JAPANESE)), Document)


def test_apply_step_filters_documents_in_a_pipeline():
    docs = [doc(GOOD_JAPANESE, 0), doc("短い", 1), doc(ENGLISH, 2, lang="en")]
    with TestPipeline() as p:
        kept, rejects = (p | beam.Create(docs)) | ApplyStep(QualityStep(QualityConfig()))
        assert_that(kept | beam.Map(lambda d: d.locator), equal_to([0, 2]), label="kept")
        reasons = rejects | beam.Map(lambda r: (r.locator, r.step, json.loads(r.reason)))
        assert_that(reasons, equal_to([
            (1, "quality.char_count", {"step": "quality.char_count", "min": 50, "value": 2}),
        ]), label="rejects")


@pytest.mark.slow
@pytest.mark.shared
def test_defaults_keep_nearly_all_man_pages(manpages_path):
    from transforms.analyze import AnalyzeStep
    from transforms.normalize import NormalizeStep

    normalize, analyze, quality = NormalizeStep(), AnalyzeStep(), QualityStep()
    for step in (normalize, analyze, quality):
        step.setup()
    rejected: Counter[str] = Counter()
    total = 0
    with manpages_path.open(encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            result = quality(analyze(normalize(doc(json.loads(line)["text"], i))))
            total += 1
            if isinstance(result, Reject):
                rejected[result.step] += 1
    assert total == 1784
    assert sum(rejected.values()) / total < 0.03
    assert set(rejected) <= {"quality.japanese_fraction", "quality.hiragana_fraction"}

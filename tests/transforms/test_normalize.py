from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.records import Document, Reject
from transforms import normalize as nz
from transforms.normalize import (
    MATCHING_KEY_RULES,
    PII_VIEW_RULES,
    STORED_TEXT_RULES,
    NormalizeStep,
    matching_key,
    normalize_views,
    pii_view,
    stored_text,
)

# (case id, raw text, stored text, matching key)
VIEW_CASES: list[tuple[str, str, str, str]] = [
    # widths
    ("fullwidth_letters", "ＡＢＣｘｙｚ", "ABCxyz", "abcxyz"),
    ("fullwidth_digits", "０１２３４５６７８９", "0123456789", "0123456789"),
    ("fullwidth_punctuation_kept", "（注）：！？", "（注）：！？", "(注):!?"),
    ("fullwidth_at_and_dot_kept", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro＠example．jp",
     "taro@example.jp"),
    ("fullwidth_space_kept", "東京\u3000大阪", "東京\u3000大阪", "東京大阪"),
    ("fullwidth_space_between_latin", "ABC\u3000DEF", "ABC\u3000DEF", "abc def"),
    ("fullwidth_yen", "￥１００", "￥100", "¥100"),
    ("halfwidth_katakana", "ｶﾀｶﾅ", "カタカナ", "カタカナ"),
    ("halfwidth_dakuten", "ｶﾞｷﾞｸﾞ", "ガギグ", "ガギグ"),
    ("halfwidth_handakuten", "ﾊﾟﾋﾟﾌﾟ", "パピプ", "パピプ"),
    ("halfwidth_vu", "ｳﾞｧｲｵﾘﾝ", "ヴァイオリン", "ヴァイオリン"),
    ("halfwidth_punctuation", "｢ﾃｽﾄ｣､ｵﾜﾘ｡", "「テスト」、オワリ。", "「テスト」、オワリ。"),
    ("halfwidth_middle_dot", "ｱ･ﾍﾞ", "ア・ベ", "ア・ベ"),
    ("halfwidth_long_vowel", "ｺｰﾋｰ", "コーヒー", "コーヒー"),
    ("halfwidth_lone_dakuten", "Aﾞ", "A゛", "a\u3099"),
    # kana and dakuten
    ("spacing_dakuten_merged", "か゛", "が", "が"),
    ("spacing_handakuten_merged", "ハ゜", "パ", "パ"),
    ("combining_dakuten_merged", "か\u3099き\u3099", "がぎ", "がぎ"),
    ("combining_handakuten_merged", "ホ\u309a", "ポ", "ポ"),
    ("dakuten_u_to_vu", "う゛", "ゔ", "ゔ"),
    ("dakuten_wa_katakana", "ワ゛", "ヷ", "ヷ"),
    ("dakuten_iteration_mark", "ゝ゛", "ゞ", "ゞ"),
    ("dakuten_on_a_kept", "あ゛", "あ゛", "あ\u3099"),
    ("dakuten_after_kanji_kept", "漢゛", "漢゛", "漢\u3099"),
    ("handakuten_on_ka_kept", "か゜", "か゜", "か\u309a"),
    ("double_dakuten", "か゛゛", "が゛", "が\u3099"),
    ("hiragana_plain", "ひらがな", "ひらがな", "ひらがな"),
    ("small_kana", "ぁぃゃゅょっ", "ぁぃゃゅょっ", "ぁぃゃゅょっ"),
    # hyphens and long vowels
    ("phone_fullwidth_hyphen", "０３－１２３４－５６７８", "03－1234－5678", "03-1234-5678"),
    ("phone_ascii", "03-1234-5678", "03-1234-5678", "03-1234-5678"),
    ("phone_minus_sign", "03−1234", "03−1234", "03-1234"),
    ("digit_long_vowel_kept", "03ー1234", "03ー1234", "03ー1234"),
    ("range_en_dash", "1–3", "1–3", "1-3"),
    ("em_dash_prose", "A—B", "A—B", "a-b"),
    ("hyphen_u2010", "e‐mail", "e‐mail", "e-mail"),
    ("long_vowel_kept", "コーヒー", "コーヒー", "コーヒー"),
    ("long_vowel_lookalike_fullwidth_hyphen", "ラ－メン", "ラ－メン", "ラーメン"),
    ("long_vowel_lookalike_minus", "ラ−メン", "ラ−メン", "ラーメン"),
    ("long_vowel_lookalike_box", "ラ─メン", "ラ─メン", "ラーメン"),
    ("long_vowel_lookalike_ascii", "コ-ヒ-", "コ-ヒ-", "コーヒー"),
    ("long_vowel_run", "すごーーーい", "すごーーーい", "すごーい"),
    ("long_vowel_after_kanji_dash", "東京—大阪", "東京—大阪", "東京-大阪"),
    # tildes
    ("wave_dash_range", "10時〜12時", "10時〜12時", "10時~12時"),
    ("fullwidth_tilde_range", "10時～12時", "10時～12時", "10時~12時"),
    ("ascii_tilde_path", "~/.bashrc", "~/.bashrc", "~/.bashrc"),
    ("tilde_operator", "1∼2", "1∼2", "1~2"),
    ("wavy_dash", "ね〰", "ね〰", "ね~"),
    # circled and enclosed
    ("circled_digit", "①②③", "①②③", "123"),
    ("parenthesized_kabushiki", "㈱サンプル", "㈱サンプル", "(株)サンプル"),
    ("circled_kanji", "㊤", "㊤", "上"),
    ("square_unit", "10㎡", "10㎡", "10m2"),
    ("square_katakana", "㌔", "㌔", "キロ"),
    ("roman_numeral", "Ⅻ", "Ⅻ", "xii"),
    ("circled_latin", "Ⓐ", "Ⓐ", "a"),
    # iteration marks
    ("kanji_iteration", "人々", "人々", "人々"),
    ("hiragana_iteration", "こゝろ", "こゝろ", "こゝろ"),
    ("hiragana_voiced_iteration", "いすゞ", "いすゞ", "いすゞ"),
    ("katakana_iteration", "バナヽ", "バナヽ", "バナヽ"),
    ("katakana_voiced_iteration", "ミヾ", "ミヾ", "ミヾ"),
    # invisible and control characters
    ("zero_width_space", "東\u200b京", "東京", "東京"),
    ("bom", "\ufeffテキスト", "テキスト", "テキスト"),
    ("bidi_marks", "a\u200eb\u200fc\u202ad\u202c", "abcd", "abcd"),
    ("bidi_isolates", "\u2066x\u2069", "x", "x"),
    ("word_joiner", "a\u2060b", "ab", "ab"),
    ("soft_hyphen", "co\u00adop", "coop", "coop"),
    ("c0_controls", "a\x00b\x07c\x1bd", "abcd", "abcd"),
    ("c1_controls", "a\x80b\x9fc", "abc", "abc"),
    ("tab_kept", "a\tb", "a\tb", "a b"),
    ("zwj_emoji_kept", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧", "👨👩👧"),
    ("zwj_stray_removed", "あ\u200dい", "あい", "あい"),
    ("variation_selector_kept", "葛\U000e0100飾区", "葛\U000e0100飾区", "葛飾区"),
    ("svs_kept", "☺\ufe0f", "☺\ufe0f", "☺"),
    ("compat_ideograph_kept", "\ufa19社", "\ufa19社", "神社"),
    # newlines
    ("crlf", "a\r\nb", "a\nb", "a b"),
    ("cr", "a\rb", "a\nb", "a b"),
    ("line_separator", "a\u2028b\u2029c", "a\nb\nc", "a b c"),
    ("nel", "a\x85b", "a\nb", "a b"),
    ("form_feed", "a\x0cb", "a\nb", "a b"),
    ("newline_between_japanese", "日本\n語", "日本\n語", "日本語"),
    # whitespace in the key
    ("space_between_japanese", "東京 都", "東京 都", "東京都"),
    ("space_japanese_latin", "ファイル file を", "ファイル file を", "ファイル file を"),
    ("space_run", "a   b \n c", "a   b \n c", "a b c"),
    ("leading_trailing_space", "  テスト  ", "  テスト  ", "テスト"),
    ("space_after_japanese_period", "した。 次に", "した。 次に", "した。次に"),
    # mixed scripts and misc
    ("mixed_scripts", "Python 3で日本語テキストを処理", "Python 3で日本語テキストを処理",
     "python 3で日本語テキストを処理"),
    ("yen_sign_kept", "¥1,000", "¥1,000", "¥1,000"),
    ("backslash_kept", "C:\\Windows", "C:\\Windows", "c:\\windows"),
    ("box_drawing_kept", "├──┤", "├──┤", "├──┤"),
    ("box_drawing_rule", "─────", "─────", "─────"),
    ("decomposed_latin", "Cafe\u0301", "Café", "café"),
    ("fullwidth_then_combining", "Ｅ\u0301", "É", "é"),
    ("greek_and_cyrillic", "ΑΒΓ Жж", "ΑΒΓ Жж", "αβγ жж"),
    ("sharp_s", "Straße", "Straße", "strasse"),
    ("hangul", "한국어", "한국어", "한국어"),
    ("emoji", "👍", "👍", "👍"),
    ("nbsp", "a\u00a0b", "a\u00a0b", "a b"),
    ("ellipsis", "待って…", "待って…", "待って..."),
    ("surrogate_pair_joined", "x\ud83d\ude00y", "x😀y", "x😀y"),
    ("lone_surrogate_removed", "x\ud800y\udfffz", "xyz", "xyz"),
]


@pytest.mark.parametrize(
    ("raw", "stored", "key"),
    [case[1:] for case in VIEW_CASES],
    ids=[case[0] for case in VIEW_CASES],
)
def test_stored_text_and_matching_key(raw: str, stored: str, key: str) -> None:
    assert stored_text(raw) == stored
    assert matching_key(stored) == key
    assert normalize_views(raw) == (stored, key)


def test_view_table_has_at_least_60_distinct_cases() -> None:
    assert len({case[0] for case in VIEW_CASES}) == len(VIEW_CASES) >= 60


# (case id, stored text, PII view)
PII_CASES: list[tuple[str, str, str]] = [
    ("fullwidth_digits_and_hyphen", "０３－１２３４－５６７８", "03-1234-5678"),
    ("long_vowel_between_digits", "090ー1234ー5678", "090-1234-5678"),
    ("halfwidth_long_vowel_between_digits", "03ｰ1234", "03-1234"),
    ("box_drawing_between_digits", "03─1234", "03-1234"),
    ("long_vowel_after_kana_kept", "コーヒー", "コーヒー"),
    ("long_vowel_after_digit_before_kana_kept", "3ーム", "3ーム"),
    ("fullwidth_at_dot", "taro＠example．jp", "taro@example.jp"),
    ("small_at", "a﹫b", "a@b"),
    ("dashes", "1–2—3‐4−5", "1-2-3-4-5"),
    ("ideographic_space", "山田\u3000太郎", "山田 太郎"),
    ("fullwidth_letters", "Ｔ１２３", "T123"),
    ("wave_dash_kept", "10時〜12時", "10時〜12時"),
    ("yen_kept", "¥100", "¥100"),
    ("circled_kept", "①", "①"),
]


@pytest.mark.parametrize(
    ("stored", "view"), [case[1:] for case in PII_CASES], ids=[case[0] for case in PII_CASES]
)
def test_pii_view(stored: str, view: str) -> None:
    assert pii_view(stored) == view
    assert len(view) == len(stored)


# --- properties ------------------------------------------------------------------------------

# Characters the rules care about, mixed into arbitrary text so hypothesis hits them often.
_INTERESTING = (
    "かがはぱあうゝヽワカハウアンーｰｶﾊﾞﾟｳ｡゛゜\u3099\u309a々〜～~−－-‐—─━ー①㈱㎡Ⅻ"
    "ＡＺａｚ０９＠．￥¥\\ \u3000\t\n\r\u2028\x85\x0c\x00\x7f\x9f\u200b\u200c\u200d\u200e\ufeff"
    "\u202e\u2066\ufe0f\U000e0100\ufa19👨👩漢字Aaǰİßﬁ\u0301\u0345ΐ\ud83d\ude00\ud800\udc00"
)
_any_char = st.characters(exclude_categories=())  # includes lone surrogates
texts = st.text(alphabet=st.one_of(_any_char, st.sampled_from(_INTERESTING)), max_size=40)


@settings(max_examples=400, deadline=None)
@given(texts)
@example("か゛゛")
@example("\ud83d\ud83d\ude00")
@example("😀\u200b\u200d😀")
def test_stored_text_is_idempotent(text: str) -> None:
    once = stored_text(text)
    assert stored_text(once) == once


@settings(max_examples=400, deadline=None)
@given(texts)
def test_stored_text_is_valid_unicode(text: str) -> None:
    stored_text(text).encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(texts)
@example("か゛")
@example("ラ－ーメン")
def test_matching_key_is_idempotent(text: str) -> None:
    key = matching_key(text)
    assert matching_key(key) == key


@settings(max_examples=400, deadline=None)
@given(texts)
def test_matching_key_of_stored_text_is_stable(text: str) -> None:
    key = matching_key(stored_text(text))
    assert matching_key(key) == key
    # A key is already a stored text: normalizing it again gives the same key.
    assert matching_key(stored_text(key)) == key
    assert normalize_views(text)[1] == key


@settings(max_examples=400, deadline=None)
@given(texts)
def test_pii_view_keeps_length_and_is_idempotent(text: str) -> None:
    view = pii_view(text)
    assert len(view) == len(text)
    assert pii_view(view) == view
    stored = stored_text(text)
    assert len(pii_view(stored)) == len(stored)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_rule_is_idempotent(text: str) -> None:
    for rule in STORED_TEXT_RULES + MATCHING_KEY_RULES + PII_VIEW_RULES:
        once = rule.apply(text)
        assert rule.apply(once) == once, rule.name


@settings(max_examples=300, deadline=None)
@given(texts)
def test_a_rule_without_its_trigger_characters_is_a_no_op(text: str) -> None:
    for rule in STORED_TEXT_RULES + MATCHING_KEY_RULES + PII_VIEW_RULES:
        if rule.triggers:
            clean = re.sub(f"[{rule.triggers}]", "", text)
            assert rule.apply(clean) == clean, rule.name


@settings(max_examples=300, deadline=None)
@given(texts)
def test_views_equal_their_rules_applied_one_by_one(text: str) -> None:
    for view, rules in ((stored_text, STORED_TEXT_RULES), (matching_key, MATCHING_KEY_RULES),
                        (pii_view, PII_VIEW_RULES)):
        expected = text
        for rule in rules:
            expected = rule.apply(expected)
        assert view(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("〜～~"), max_size=5), st.sampled_from("時分日"))
def test_stored_text_never_deletes_a_tilde(tildes: str, unit: str) -> None:
    raw = f"10{unit}{tildes}12{unit}"
    assert stored_text(raw) == raw
    assert matching_key(raw).count("~") == len(tildes)


# --- the rule lists --------------------------------------------------------------------------


def test_rule_names_are_unique_and_described() -> None:
    for rules in (STORED_TEXT_RULES, MATCHING_KEY_RULES, PII_VIEW_RULES):
        names = [rule.name for rule in rules]
        assert len(set(names)) == len(names)
        assert all(rule.description and rule.description != rule.name for rule in rules)


def test_stored_text_rules_are_in_documented_order() -> None:
    assert [rule.name for rule in STORED_TEXT_RULES] == [
        "lone_surrogates", "newlines", "invisible", "halfwidth_katakana", "fullwidth_alnum",
        "nfc", "dakuten",
    ]


def test_casefold_denormalizing_set_matches_this_unicode_version() -> None:
    expected = {
        chr(cp)
        for cp in range(0x110000)
        if chr(cp).casefold() != chr(cp)
        and not unicodedata.is_normalized("NFKC", chr(cp).casefold())
    }
    # Surrogates cannot be casefolded differently, so scanning every code point is safe.
    found = {ch for ch in expected if nz._CASEFOLD_DENORMALIZES.fullmatch(ch)}
    assert found == expected


def test_nfc_keeps_compatibility_ideographs_but_composes_around_them() -> None:
    assert nz.nfc("e\u0301\ufa19e\u0301") == "é\ufa19é"


def test_lines_are_normalized_independently_only_where_needed() -> None:
    text = "ascii line\nｶﾀｶﾅ ①\n" + "普通の行\n" * 3
    assert nz.nfkc(text) == unicodedata.normalize("NFKC", text)


# --- the pipeline step -----------------------------------------------------------------------


def _doc(text: str) -> Document:
    return Document(
        doc_id="d1", corpus_id="c", member="m", source_uri="file:///x.jsonl",
        source_sha256="0" * 64, locator=7, text=text,
    )


def test_normalize_step_sets_stored_text_and_key() -> None:
    step = NormalizeStep()
    step.setup()
    out = step(_doc("ｶﾞｲﾄﾞ\r\n１０時〜１２時\u200b"))
    assert isinstance(out, Document)
    assert out.text == "ガイド\n10時〜12時"
    assert out.match_key == "ガイド 10時~12時"
    assert (out.doc_id, out.locator) == ("d1", 7)


@pytest.mark.parametrize("raw", ["", "   ", "\u200b\ufeff", "\r\n\u3000\t", "\x00\u2028"])
def test_normalize_step_rejects_empty_text_without_quoting_it(raw: str) -> None:
    out = NormalizeStep()(_doc(raw))
    assert out == Reject("normalize.empty", {"chars_before": len(raw)})


def test_normalize_step_runs_in_beam() -> None:
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.steps import ApplyStep

    with TestPipeline() as p:
        docs = p | beam.Create([_doc("ＡＢＣ"), _doc("\u200b")])
        kept, rejects = docs | ApplyStep(NormalizeStep())
        texts = kept | "Text" >> beam.Map(lambda doc: doc.text)
        reasons = rejects | "Reason" >> beam.Map(lambda rec: rec.reason)
        assert_that(texts, equal_to(["ABC"]), label="kept")
        assert_that(reasons, equal_to(['{"chars_before":1,"step":"normalize.empty"}']),
                    label="rejects")

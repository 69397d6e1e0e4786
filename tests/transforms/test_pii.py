"""The PII step: placeholders, pseudonyms, counts, no value anywhere, pickling, Beam."""

from __future__ import annotations

import logging
import pickle
from dataclasses import replace

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import in_

from schemas.pii import PiiConfig
from schemas.records import Document, Reject
from transforms.pii import PiiConfigError, PiiStep, build_engine, read_secret, scrub
from transforms.pii_nlp import MecabTokenizer
from transforms.steps import ApplyStep

PLANTED = {
    "PERSON": "山田太郎",
    "PHONE_NUMBER": "090-1234-5678",
    "EMAIL_ADDRESS": "taro@example.jp",
    "JP_MY_NUMBER": "123456789018",
    "JP_POSTAL_CODE": "100-0001",
    "JP_ADDRESS": "東京都千代田区千代田1-1-1",
}
TEXT = (
    f"{PLANTED['PERSON']}様\n携帯 {PLANTED['PHONE_NUMBER']}、"
    f"メールは{PLANTED['EMAIL_ADDRESS']}です。"
    f"マイナンバー：{PLANTED['JP_MY_NUMBER']}\n〒{PLANTED['JP_POSTAL_CODE']} "
    f"{PLANTED['JP_ADDRESS']}\n法人番号 7010001008844"
)
SECRET = b"corpus-secret-for-tests"


@pytest.fixture(scope="module")
def tokenize():
    return MecabTokenizer()


def _doc(text: str, tokens) -> Document:
    return Document(doc_id="d1", corpus_id="c", member="m", source_uri="file:///x.jsonl",
                    source_sha256="0" * 64, locator=1, text=text, tokens=tokens)


@pytest.fixture(scope="module")
def placeholder_step() -> PiiStep:
    step = PiiStep(PiiConfig())
    step.setup()
    return step


def test_placeholder_mode_replaces_each_value_with_its_type(placeholder_step, tokenize) -> None:
    out = placeholder_step(_doc(TEXT, tokenize(TEXT)))
    assert isinstance(out, Document)
    for entity in PLANTED:
        assert f"<{entity}>" in out.text
    assert out.text.startswith("<PERSON>様\n携帯 <PHONE_NUMBER>、メールは<EMAIL_ADDRESS>です。")


def test_counts_by_type_include_the_unscrubbed_corporate_number(placeholder_step,
                                                                tokenize) -> None:
    out = placeholder_step(_doc(TEXT, tokenize(TEXT)))
    assert out.pii == {**dict.fromkeys(PLANTED, 1), "JP_CORPORATE_NUMBER": 1}
    assert "7010001008844" in out.text  # public data: kept unless the manifest asks


def test_step_output_never_holds_a_planted_value(placeholder_step, tokenize) -> None:
    out = placeholder_step(_doc(TEXT, tokenize(TEXT)))
    rendered = repr(out)  # text, counts and every other field
    for value in PLANTED.values():
        assert value not in rendered
    assert out.tokens is None


def test_corporate_number_scrubbed_when_the_manifest_asks(tokenize) -> None:
    engine = build_engine(PiiConfig(scrub_corporate_number=True))
    result = scrub(TEXT, tokenize(TEXT), engine)
    assert "7010001008844" not in result.text
    assert "<JP_CORPORATE_NUMBER>" in result.text


def test_only_configured_entities_are_scrubbed(tokenize) -> None:
    engine = build_engine(PiiConfig(entities=("EMAIL_ADDRESS",)))
    result = scrub(TEXT, tokenize(TEXT), engine)
    assert "<EMAIL_ADDRESS>" in result.text
    assert PLANTED["PHONE_NUMBER"] in result.text
    assert set(result.counts) == {"EMAIL_ADDRESS", "JP_CORPORATE_NUMBER"}


def test_spans_found_on_the_pii_view_apply_to_full_width_stored_text(placeholder_step,
                                                                      tokenize) -> None:
    text = "電話：０９０－１２３４－５６７８ まで"
    out = placeholder_step(_doc(text, tokenize(text)))
    assert out.text == "電話：<PHONE_NUMBER> まで"


def test_pseudonyms_are_stable_per_value_and_differ_per_secret(tokenize) -> None:
    config = PiiConfig(mode="pseudonym", secret_env="KURA_TEST_PII_SECRET")
    text_a = "山田太郎様と佐藤花子様。携帯 090-1234-5678"
    text_b = "山田 太郎さんの携帯は09012345678です。"
    first = PiiStep(config, SECRET)
    first.setup()
    other = PiiStep(config, b"another-corpus")
    other.setup()
    a = first(_doc(text_a, tokenize(text_a))).text
    b = first(_doc(text_b, tokenize(text_b))).text
    c = other(_doc(text_a, tokenize(text_a))).text
    tokens_a = [t for t in a.replace("<", " <").split() if t.startswith("<")]
    person_a, person_b = a.split("様")[0], b.split("さん")[0]
    assert person_a == person_b and person_a.startswith("<PERSON_")
    assert a.split("携帯 ")[1] == b.split("携帯は")[1].removesuffix("です。")
    assert len({t[:20] for t in tokens_a}) == 3  # two people, one phone: three tokens
    assert c != a and "山田" not in c


def test_pseudonym_mode_without_a_secret_is_a_config_error() -> None:
    config = PiiConfig(mode="pseudonym", secret_env="KURA_TEST_PII_SECRET")
    with pytest.raises(PiiConfigError):
        PiiStep(config, None)
    with pytest.raises(PiiConfigError, match="KURA_TEST_PII_SECRET") as info:
        read_secret(config, environ={})
    assert SECRET.decode() not in str(info.value)


def test_secret_is_read_from_env_or_file_and_never_echoed(tmp_path) -> None:
    env_config = PiiConfig(mode="pseudonym", secret_env="KURA_TEST_PII_SECRET")
    assert read_secret(env_config, environ={"KURA_TEST_PII_SECRET": "s3cret\n"}) == b"s3cret"
    key = tmp_path / "pii.key"
    key.write_bytes(b"file-secret\n")
    assert read_secret(PiiConfig(mode="pseudonym", secret_file=str(key))) == b"file-secret"
    missing = PiiConfig(mode="pseudonym", secret_file=str(tmp_path / "absent.key"))
    with pytest.raises(PiiConfigError, match=r"absent\.key"):
        read_secret(missing)
    assert read_secret(PiiConfig()) is None


def test_config_rejects_unknown_entities_and_a_pseudonym_without_secret_source() -> None:
    with pytest.raises(ValueError, match="unknown entity"):
        PiiConfig(entities=("SSN",))
    with pytest.raises(ValueError, match="secret_env or secret_file"):
        PiiConfig(mode="pseudonym")


def test_step_pickles_before_setup_and_not_its_engine(placeholder_step) -> None:
    fresh = PiiStep(PiiConfig())
    restored = pickle.loads(pickle.dumps(fresh))
    assert restored.name == "pii"
    restored_after = pickle.loads(pickle.dumps(placeholder_step))  # engine dropped, rebuilt
    restored_after.setup()


def test_failure_inside_scrub_is_a_reject_without_values(placeholder_step) -> None:
    bad = _doc(TEXT, tokens=[object()])  # not Tokens: the person recognizer fails
    out = placeholder_step(bad)
    assert isinstance(out, Reject)
    assert out.step == "pii"
    for value in PLANTED.values():
        assert value not in repr(out.reason)


def test_nothing_is_logged_with_a_value(placeholder_step, tokenize, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        placeholder_step(_doc(TEXT, tokenize(TEXT)))
    for value in PLANTED.values():
        assert value not in caplog.text


def test_document_without_tokens_still_gets_structured_identifiers_scrubbed(
    placeholder_step,
) -> None:
    out = placeholder_step(_doc(TEXT, None))
    assert PLANTED["PHONE_NUMBER"] not in out.text
    assert PLANTED["EMAIL_ADDRESS"] not in out.text


@settings(max_examples=40, deadline=None)
@given(base=st.integers(min_value=10**10, max_value=10**11 - 1),
       label=st.sampled_from(["マイナンバー", "個人番号", "マイナンバー（個人番号）"]),
       sep=st.sampled_from(["", " "]))
def test_any_valid_my_number_with_context_is_scrubbed(placeholder_step, tokenize, base, label,
                                                      sep) -> None:
    digits = str(base) + in_.calc_check_digit(str(base))
    value = sep.join((digits[:4], digits[4:8], digits[8:])) if sep else digits
    text = f"{label}：{value}です。"
    out = placeholder_step(_doc(text, tokenize(text)))
    assert value not in out.text and out.pii == {"JP_MY_NUMBER": 1}


def test_apply_step_in_a_test_pipeline(tokenize) -> None:
    docs = [replace(_doc(TEXT, tokenize(TEXT)), doc_id="a"),
            replace(_doc("普通の文章です。", tokenize("普通の文章です。")), doc_id="b")]
    with TestPipeline() as p:
        kept, rejects = p | beam.Create(docs) | ApplyStep(PiiStep(PiiConfig()))
        leaks = kept | beam.Filter(lambda d: any(v in d.text for v in PLANTED.values()))
        assert_that(kept | beam.Map(lambda d: (d.doc_id, sum(d.pii.values()))),
                    equal_to([("a", 7), ("b", 0)]), label="counts")
        assert_that(leaks, equal_to([]), label="no_leak")
        assert_that(rejects, equal_to([]), label="no_rejects")


def test_tokens_from_the_analysis_stage_work_as_handed_over(placeholder_step) -> None:
    analyze = pytest.importorskip("transforms.analyze")
    tokens = analyze.analyze(TEXT, analyze.build_tagger())
    out = placeholder_step(_doc(TEXT, tokens))
    assert out.pii == {**dict.fromkeys(PLANTED, 1), "JP_CORPORATE_NUMBER": 1}


LAYOUT_VALUES = ("清水 七夏", "シミズ ナナミ", "近藤 遥", "コンドウ ハルカ", "ヤマザキ ミキ",
                 "岡田零", "山形県国分寺市丸の内ＪＰタワー29丁目7番18号 氏家新田シティ816")
LAYOUT_TEXT = (
    "お客様：近藤 遥様（コンドウ ハルカ）\n"
    "振込先：みずほ銀行 渋谷支店 普通 1234567 口座名義 ヤマザキ ミキ\n"
    "記録：岡田零\n"
    "――――――――\n森通信株式会社 経理部\n清水 七夏（シミズ ナナミ）\n"
    "〒100-0001 山形県国分寺市丸の内ＪＰタワー29丁目7番18号 氏家新田シティ816\n"
)


def test_names_readings_and_latin_addresses_never_survive_the_step(placeholder_step,
                                                                   tokenize) -> None:
    out = placeholder_step(_doc(LAYOUT_TEXT, tokenize(LAYOUT_TEXT)))
    for value in LAYOUT_VALUES:
        assert value not in out.text
    assert out.pii["PERSON"] == 6
    assert "<PERSON>様（<PERSON>）" in out.text  # the honorific and brackets stay


def test_layout_names_are_found_even_without_tokens(placeholder_step) -> None:
    out = placeholder_step(_doc(LAYOUT_TEXT, None))
    for value in LAYOUT_VALUES:
        assert value not in out.text

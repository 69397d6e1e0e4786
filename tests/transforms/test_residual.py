"""One definition per entity type: the PII stage and the residual check decide alike.

The residual check counts what a definition is certain of; the PII stage, run at its default
threshold, must scrub every one of those, so no document it scrubbed is ever quarantined by a
check that reads PII differently. The hard cases are the ones real corpora hold: a JAN product
code that passes Luhn, an RFC 6531 address, a phone number in an unusual grouping.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import ean, luhn
from stdnum.jp import in_

from schemas.pii import PiiConfig
from schemas.records import Document
from transforms.gate import ResidualPiiGate
from transforms.normalize import pii_view
from transforms.pii import PiiStep, build_engine, find_pii
from transforms.pii_nlp import MecabTokenizer
from transforms.residual import (
    RESIDUAL_PREFILTER,
    find_residual_pii,
    mask_placeholders,
    may_hold_residual,
    residual_pii_counts,
)

# A real-looking JAN code (prefix 49) whose EAN digit is valid and that passes Luhn as well:
# on digits alone it is also a thirteen-digit Visa number.
JAN = "4901234567894"
MY_NUMBER = "12345678901" + in_.calc_check_digit("12345678901")
CARD = "453201511283036" + luhn.calc_check_digit("453201511283036")


@pytest.fixture(scope="module")
def engine():
    return build_engine(PiiConfig())


@pytest.fixture(scope="module")
def tokenize():
    return MecabTokenizer()


def entities(text: str, engine, tokenize) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start:r.end])
            for r in find_pii(pii_view(text), tokenize(text), engine)]


def residual(text: str) -> list[tuple[str, str]]:
    return [(r.entity, text[r.start:r.end]) for r in find_residual_pii(text)]


def test_the_jan_code_passes_both_checks_it_can_be_mistaken_by() -> None:
    assert ean.is_valid(JAN) and luhn.is_valid(JAN)


@pytest.mark.parametrize("text", [
    f"JANコード {JAN} の商品を出荷しました。",
    f"商品コード：{JAN}",
    f"品番 {JAN}（青）",
    f"バーコードは{JAN}です。",
    f"在庫 {JAN} 12個",  # no word at all: thirteen digits are not a card without one
])
def test_a_jan_code_is_kept_by_the_scrubber_and_the_check_alike(text, engine, tokenize) -> None:
    assert [e for e in entities(text, engine, tokenize) if e[0] == "CREDIT_CARD"] == []
    assert residual(text) == []


@pytest.mark.parametrize("text", [
    f"クレジットカード番号 {JAN} で決済",
    f"カード：{CARD}",
    f"お支払いは{CARD[:4]}-{CARD[4:8]}-{CARD[8:12]}-{CARD[12:]}のカードで",
])
def test_a_card_number_is_a_card_to_both(text, engine, tokenize) -> None:
    found = [v for e, v in entities(text, engine, tokenize) if e == "CREDIT_CARD"]
    assert found and found == [v for e, v in residual(text) if e == "CREDIT_CARD"]


def test_a_non_ascii_local_part_runs_back_to_punctuation_taking_a_word_too_many() -> None:
    text = "ご連絡は名前@example.jpまで"
    assert residual(text) == [("EMAIL_ADDRESS", "ご連絡は名前@example.jp")]
    assert residual("連絡先：名前@example.jp") == [("EMAIL_ADDRESS", "名前@example.jp")]


@pytest.mark.parametrize(("text", "address"), [
    ("連絡先：名前@example.jp", "名前@example.jp"),
    ("宛先：やまだ.たろう@例え.jp", "やまだ.たろう@例え.jp"),
    ("メールはtaro@example.jpです", "taro@example.jp"),
    ("taro [at] example.jp 宛", "taro [at] example.jp"),
    ("hanako(at)mail.example.co.jp に送付", "hanako(at)mail.example.co.jp"),
    ("jiro at example dot jp へ", "jiro at example dot jp"),
    ("連絡先はこちら：hoshi79 at yahoo.co.jp（スパム対策）", "hoshi79 at yahoo.co.jp"),
    ("窓口 fuua [dot] wada@example [dot] jp へ", "fuua [dot] wada@example [dot] jp"),
    ("佐藤 ＜sato＠example.co.jp＞", "sato＠example.co.jp"),
])
def test_an_address_is_an_address_to_both(text, address, engine, tokenize) -> None:
    assert ("EMAIL_ADDRESS", address) in entities(text, engine, tokenize)
    assert ("EMAIL_ADDRESS", address) in residual(text)


@pytest.mark.parametrize("text", [
    "Report bugs at example.org for help.",  # English prose, not an obfuscated address
    "ssh user@host で接続",  # no domain
    "@example.com のアカウント",  # no local part
    "v1.2@build.3",
])
def test_what_is_not_an_address_is_not_one_to_either(text, engine, tokenize) -> None:
    assert [e for e in entities(text, engine, tokenize) if e[0] == "EMAIL_ADDRESS"] == []
    assert residual_pii_counts(text)["email"] == 0


@pytest.mark.parametrize(("text", "phone"), [
    ("maja 0501-1136285", "0501-1136285"),  # the man pages' own residual phone
    ("電話 〇三－一二三四－五六七八", "〇三－一二三四－五六七八"),
    ("電話：0 3 1 2 3 4 5 6 7 8", "0 3 1 2 3 4 5 6 7 8"),
    ("携帯 ０９０ １２３４ ５６７８ まで", "０９０ １２３４ ５６７８"),
    ("TEL03-1234-5678", "03-1234-5678"),
    ("＋８１－９０－１２３４－５６７８", "＋８１－９０－１２３４－５６７８"),
])
def test_phone_layouts_are_phones_to_both(text, phone, engine, tokenize) -> None:
    assert ("PHONE_NUMBER", phone) in entities(text, engine, tokenize)
    assert ("PHONE_NUMBER", phone) in residual(text)


@pytest.mark.parametrize("text", [
    "正規表現 [0123456789] は任意の数字",
    "0 1 2 3 4 5 6 7 8 9 a b c d e f",  # a digit table, not a phone spelled out
    "注文番号 1234-5678-9012",
    "2024-04-01 10:00:00",
])
def test_digit_runs_without_a_phone_word_are_not_certain_phones(text) -> None:
    assert residual_pii_counts(text)["phone"] == 0


def test_only_kuras_own_placeholders_are_masked_and_offsets_do_not_move() -> None:
    text = "<PHONE_NUMBER>と<PERSON_3f9a2c01d4e5>、<ID_0312345678>"
    masked = mask_placeholders(text)
    assert len(masked) == len(text)
    assert masked.endswith("<ID_0312345678>")
    assert "PHONE" not in masked and "PERSON" not in masked


_FRAGMENTS = st.sampled_from([
    "電話", "TEL", "携帯", "JANコード", "商品コード", "カード", "クレジット", "マイナンバー",
    "メール", "連絡先：", "です。", "の", "、", " ", "\n", "品番",
    "03-1234-5678", "090-1234-5678", "0501-1136285", "0312345678", "09012345678",
    "0120-123-456", "+81 90 1234 5678", "〇三－一二三四－五六七八", "0 3 1 2 3 4 5 6 7 8",
    JAN, CARD, f"{CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}", MY_NUMBER,
    f"{MY_NUMBER[:4]}-{MY_NUMBER[4:8]}-{MY_NUMBER[8:]}", "名前@example.jp", "taro@example.jp",
    "taro [at] example.jp", "a at b dot jp", "1234", "2024年4月1日", "<PHONE_NUMBER>",
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, min_size=1, max_size=10).map("".join))
def test_whatever_the_check_is_certain_of_the_scrubber_finds_too(text) -> None:
    """Covered by a finding of the scrubber (where two values touch, the scrubber's span may be
    the other one's type: `4532...名前@example.jp` is one address to both)."""
    engine, tokenize = _shared()
    found = find_pii(pii_view(text), tokenize(text), engine)
    for r in find_residual_pii(text):
        assert any(f.start <= r.start and r.end <= f.end for f in found), (r, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_FRAGMENTS, min_size=1, max_size=10).map("".join))
def test_the_scrubber_then_the_gate_leave_nothing_the_check_is_certain_of(text) -> None:
    _, tokenize = _shared()
    doc = Document(doc_id="0" * 32, corpus_id="c", member="m", source_uri="file:///x",
                   source_sha256="0" * 64, locator=1, text=text)
    scrubbed = PiiStep(PiiConfig())(replace(doc, tokens=tokenize(text)))
    gated = ResidualPiiGate(PiiConfig())(scrubbed)
    assert isinstance(gated, Document)
    assert find_residual_pii(gated.text) == []


@settings(max_examples=120, deadline=None)
@given(st.lists(_FRAGMENTS, min_size=1, max_size=10).map("".join))
def test_the_prefilter_never_skips_what_the_check_finds(text) -> None:
    import re

    if find_residual_pii(text):
        assert re.search(RESIDUAL_PREFILTER, text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.lists(_FRAGMENTS | st.sampled_from(["AT", "ａｔ", "Ｄot", "[ at ]", "（アット）", "一二三",
                                          "\u3000dot\u3000", "\t", "＠", "﹫", "九"]),
             max_size=12).map("".join),
    st.text(alphabet="0１一 \n-at@dotＡＴ[]()（）", max_size=40)))
def test_the_prefilter_searched_in_parts_is_the_prefilter(text) -> None:
    import re

    assert may_hold_residual(text) == (re.search(RESIDUAL_PREFILTER, text) is not None)


_SHARED: dict[str, object] = {}


def _shared():
    if not _SHARED:
        _SHARED["engine"] = build_engine(PiiConfig())
        _SHARED["tokenize"] = MecabTokenizer()
    return _SHARED["engine"], _SHARED["tokenize"]

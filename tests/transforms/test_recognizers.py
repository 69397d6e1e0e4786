"""Each Japanese recognizer: what it must find, and the look-alikes it must leave alone.

Run through the whole engine (presidio AnalyzerEngine with the token-backed NLP engine), since
context words and overlap resolution are part of what a recognizer means in practice.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import cn

from schemas.pii import PiiConfig
from transforms.normalize import pii_view
from transforms.pii import build_engine, find_pii
from transforms.pii_nlp import MecabTokenizer
from transforms.recognizers.name_context import (
    KNOWN,
    LONE,
    PLAUSIBLE,
    labels_before_colons,
    merge_spans,
    parse_name,
    reading_spans,
    spaced_labels,
)
from transforms.recognizers.person_words import NameLists
from transforms.recognizers.phone import is_jp_phone


@pytest.fixture(scope="module")
def detect():
    engine = build_engine(PiiConfig())
    tokenize = MecabTokenizer()

    def found(text: str) -> list[tuple[str, str]]:
        view = pii_view(text)
        return [(r.entity_type, text[r.start : r.end])
                for r in find_pii(view, tokenize(text), engine)]

    return found


MY_NUMBER = "123456789018"  # check digit 8 is valid
CORPORATE = cn.calc_check_digit("700110005901") + "700110005901"
VISA = "411111111111" + "1111"

POSITIVES = [
    ("メールはtaro@example.jpです", "EMAIL_ADDRESS", "taro@example.jp"),
    ("連絡先：Hanako.Sato+work@mail.example.co.jp まで", "EMAIL_ADDRESS",
     "Hanako.Sato+work@mail.example.co.jp"),
    ("IPは192.168.0.1です", "IP_ADDRESS", "192.168.0.1"),
    ("接続元アドレスは2001:db8::1でした", "IP_ADDRESS", "2001:db8::1"),
    (f"マイナンバーは{MY_NUMBER}です。", "JP_MY_NUMBER", MY_NUMBER),
    ("個人番号 1234 5678 9018 を提出", "JP_MY_NUMBER", "1234 5678 9018"),
    (f"法人番号 {CORPORATE}", "JP_CORPORATE_NUMBER", CORPORATE),
    (f"登録番号：T{CORPORATE}", "JP_CORPORATE_NUMBER", f"T{CORPORATE}"),
    ("携帯 090-1234-5678 まで", "PHONE_NUMBER", "090-1234-5678"),
    ("携帯は09012345678です", "PHONE_NUMBER", "09012345678"),
    ("IP電話 050-1234-5678", "PHONE_NUMBER", "050-1234-5678"),
    ("TEL.03-1234-5678", "PHONE_NUMBER", "03-1234-5678"),
    ("電話 (03)1234-5678", "PHONE_NUMBER", "(03)1234-5678"),
    ("電話 045(123)4567", "PHONE_NUMBER", "045(123)4567"),
    ("代表 0466 12 3456", "PHONE_NUMBER", "0466 12 3456"),
    ("フリーダイヤル0120-123-456", "PHONE_NUMBER", "0120-123-456"),
    ("ナビダイヤル 0570-000-123", "PHONE_NUMBER", "0570-000-123"),
    ("0800-123-4567 まで", "PHONE_NUMBER", "0800-123-4567"),
    ("海外から+81-90-1234-5678へ", "PHONE_NUMBER", "+81-90-1234-5678"),
    ("Tel: +81 3 1234 5678", "PHONE_NUMBER", "+81 3 1234 5678"),
    ("電話：０３－１２３４－５６７８", "PHONE_NUMBER", "０３－１２３４－５６７８"),
    ("〒100-0001 東京都", "JP_POSTAL_CODE", "100-0001"),
    ("郵便番号は100-0001です", "JP_POSTAL_CODE", "100-0001"),
    ("住所：東京都千代田区千代田1-1-1 霞が関ビル3階", "JP_ADDRESS",
     "東京都千代田区千代田1-1-1 霞が関ビル3階"),
    ("大阪府大阪市北区梅田3丁目1番3号に移転", "JP_ADDRESS", "大阪府大阪市北区梅田3丁目1番3号"),
    ("山田太郎様、お世話になっております。", "PERSON", "山田太郎"),
    ("担当の佐藤 花子さんに連絡してください。", "PERSON", "佐藤 花子"),
    ("ヤマダ タロウ様", "PERSON", "ヤマダ タロウ"),
    ("田中部長に確認します。", "PERSON", "田中"),
    ("鈴木一郎氏が登壇した。", "PERSON", "鈴木一郎"),
    ("林様\nいつもお世話になっております。", "PERSON", "林"),
    ("振込先：みずほ銀行 新宿支店 普通 1234567", "JP_BANK_ACCOUNT", "1234567"),
    ("当座預金 口座番号：7654321", "JP_BANK_ACCOUNT", "7654321"),
    ("運転免許証番号：301234567890", "JP_DRIVER_LICENSE", "301234567890"),
    ("旅券番号 TK1234567", "JP_PASSPORT", "TK1234567"),
    ("在留カード AB12345678CD", "JP_RESIDENCE_CARD", "AB12345678CD"),
    ("保険者番号 06123456", "JP_HEALTH_INSURANCE", "06123456"),
    ("カード番号 4111-1111-1111-1111", "CREDIT_CARD", "4111-1111-1111-1111"),
    (f"カード {VISA} で決済", "CREDIT_CARD", VISA),
    ("Amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
    ("〒100-0001 山形県国分寺市丸の内JPタワー29丁目7番18号 氏家新田シティ816", "JP_ADDRESS",
     "山形県国分寺市丸の内JPタワー29丁目7番18号 氏家新田シティ816"),
    ("ご住所：大阪府中央区神明内5丁目24番13号 ＡＢＣビル564", "JP_ADDRESS",
     "大阪府中央区神明内5丁目24番13号 ＡＢＣビル564"),
    ("IPアドレスが 1.2.3.4 のホスト", "IP_ADDRESS", "1.2.3.4"),
]

# Names where the layout says "a name": readings, rare given names, labels, lists, own lines.
NAMES_IN_PLACE = [
    ("お客様：近藤 遥様（コンドウ ハルカ）\n連絡先：", ["近藤 遥", "コンドウ ハルカ"]),
    ("森通信 経理部\n清水 七夏（シミズ ナナミ）\n〒100-0001", ["清水 七夏", "シミズ ナナミ"]),
    ("山田太郎（やまだ たろう）様", ["山田太郎", "やまだ たろう"]),
    ("佐藤 花子(サトウハナコ)さん", ["佐藤 花子", "サトウハナコ"]),
    ("法務部 山崎 七夏様\n\n突然のご連絡失礼いたします。", ["山崎 七夏"]),
    ("マーケティング部 森零様", ["森零"]),
    ("記録：岡田零\n\n1. 議題", ["岡田零"]),
    ("本件の問い合わせ先：森 暖葵（内線4472）", ["森 暖葵"]),
    ("普通 1234567 口座名義 ヤマザキ ミキ\n", ["ヤマザキ ミキ"]),
    ("フリガナ：ふじたともや\n氏名：山本", ["ふじたともや", "山本"]),
    ("甲（以下「甲」という。）と森 七夏（以下「乙」という。）は、", ["森 七夏"]),
    ("出席者：山田 太郎氏、林 零さん、中川 琉湊\n", ["山田 太郎", "林 零", "中川 琉湊"]),
    ("乙　〒100-0001 東京都千代田区\n　　森 七夏\n　　電話 090-1234-5678", ["森 七夏"]),
    ("林 七夏リーダーから報告があった。", ["林 七夏"]),
    ("株式会社鈴木通信の林 零です。", ["林 零"]),
    ("翻訳\n山田 太郎 <taro@example.jp>", ["山田 太郎"]),
    ("田中部長（マーケティング）に確認", ["田中"]),  # after a title: a department, not a reading
]


@pytest.mark.parametrize(("text", "names"), NAMES_IN_PLACE)
def test_name_found_from_its_place_in_the_layout(detect, text: str, names: list[str]) -> None:
    assert [v for e, v in detect(text) if e == "PERSON"] == names


@pytest.mark.parametrize(("text", "entity", "value"), POSITIVES)
def test_recognizer_finds_the_value(detect, text: str, entity: str, value: str) -> None:
    assert (entity, value) in detect(text)


LOOKALIKES = [
    "注文番号 ORD-2024-0315-0042 を発送しました。",
    "品番PN-4821-339とKX12345の在庫",
    "バージョン 2.4.1 にアップデート",
    "ISBN978-4-7741-1234-5 の書籍",
    "2024-03-15 10:30 に開始、2024/03/15 締め切り",
    "価格は1,280円（税込）、¥12,800",
    "照合番号 123456789012 は記録です。",  # wrong check digit, no context
    "山田商事株式会社と合同会社鈴木水産が提携",
    "株式会社田中鉱業の決算",
    "ファイルサイズは 1048576 バイト",
    "ポート番号 8080 と 127 を指定",
    "セクション 3.2.1 を参照",
    "東京都千代田区は都心です。",
    "お客様各位",
    "v1.2.3.4 をリリース",
    "ORD-0312345678 の件",
    "カード番号 4111-1111-1111-1112",  # Luhn fails
    # Dotted quads that name no host: versions, netmasks, networks, loopback.
    "バージョン 2.4.8.1 にアップデート",
    "3.6.2.0 というリビジョンで修正済み",
    "version 10.0.19041.1",
    "usr26(2) 2.4.8.1 ARM OABI のみ",
    "netmask 255.255.255.0 と 255.255.255.255",
    "10.0.0.0/8 を許可",
    "ホスト 127.0.0.1 と ::1",
    "getopt -o 'a:b::c'",
    "Uid: 1000 1000 1000",  # a repeated field with a passing check digit
    # Words UniDic tags as names in technical text (found in the man-page corpus).
    "文字表示色：黄 (または茶)",
    "テキストとしての表現はたく さんあるからです。",
    "このようなタイミングの調 整をすると",
    "大文字と小文字 (lowercase) を区別しない",
    "\"m\" は真中の行",
    "正式な結辞の後に著者(達)の名前を印字します。",
    "早川書房、アレグザンダー・ケント",
    "東京（とうきょう）に行く",
    "お客様：三浦商事株式会社",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalike_survives(detect, text: str) -> None:
    scrubbed = [(e, v) for e, v in detect(text) if e != "JP_CORPORATE_NUMBER"]
    assert scrubbed == []


def test_valid_my_number_without_context_is_not_enough(detect) -> None:
    assert detect(f"番号は{MY_NUMBER}です。") == []


def test_twelve_digits_with_licence_context_are_a_licence_not_a_my_number(detect) -> None:
    assert detect(f"免許証 {MY_NUMBER}") == [("JP_DRIVER_LICENSE", MY_NUMBER)]


def test_invalid_corporate_check_digit_is_not_counted(detect) -> None:
    wrong = str((int(CORPORATE[0]) + 1) % 10) + CORPORATE[1:]
    assert detect(f"法人番号 {wrong}") == []


def test_reading_span_stops_at_the_bracket_and_the_honorific_stays_out(detect) -> None:
    text = "お客様：三浦和也様（ミウラ カズヤ）"
    assert detect(text) == [("PERSON", "三浦和也"), ("PERSON", "ミウラ カズヤ")]


@pytest.mark.parametrize(
    ("value", "plausible"),
    [("090-1234-5678", True), ("03-1234-5678", True), ("0120-123-456", True),
     ("+81-90-1234-5678", True), ("+81 (0)3 1234 5678", True), ("00-1234-5678", False),
     ("090-1234-567", False), ("1234-5678", False)],
)
def test_phone_validity_is_phonenumbers_reading_of_a_japanese_number(value: str,
                                                                     plausible: bool) -> None:
    assert is_jp_phone(value) is plausible


# --- name_context: the character-level name rules as plain functions ------------------------

LISTS = NameLists(
    surnames=frozenset({"山田", "中村", "清水", "ヤマダ"}),
    given_names=frozenset({"太郎", "タロウ", "七夏"}),
    short_surnames=frozenset({"林", "中"}),
    surname_readings={"清水": "シミズ"},
)


@pytest.mark.parametrize(
    ("candidate", "surname_chars", "quality"),
    [("山田太郎", 2, KNOWN), ("山田 煌楓", 2, PLAUSIBLE), ("中村", 2, LONE), ("林 七夏", 1, KNOWN),
     ("ヤマダ タロウ", 3, KNOWN), ("ヤマダ たろう", 3, KNOWN)],
)
def test_parse_name_reads_surname_and_given_name(candidate, surname_chars, quality) -> None:
    guess = parse_name(candidate, LISTS)
    assert guess is not None
    assert (guess.surname_chars, guess.quality) == (surname_chars, quality)


@pytest.mark.parametrize("candidate", ["山田商事", "山田営業部", "山田太郎様", "佐藤花子",
                                       "山田より", "", " 山田", "山田 太郎 花子"])
def test_parse_name_refuses_what_is_not_a_name(candidate) -> None:
    assert parse_name(candidate, LISTS) is None


def test_labels_are_found_from_the_colon_with_their_value_start() -> None:
    text = "担当者: 山田\nURL: x\n口座名義 ヤマダ タロウ"  # the PII view: "：" is ":" there
    found = [*labels_before_colons(text, ("担当者", "担当")), *spaced_labels(text)]
    assert [(label, text[at:at + 2]) for label, at in found] == [("担当者", "山田"),
                                                                  ("口座名義", "ヤマ")]


def test_unlisted_name_is_vouched_for_by_a_two_word_reading() -> None:
    text = "経理部\n清水 煌(シミズ キラ)\n"
    assert reading_spans(text, [], LISTS) == [(4, 8, 0.85), (9, 15, 0.85)]


def test_one_word_reading_must_start_with_the_surnames_reading() -> None:
    assert reading_spans("清水 煌(シミズキラ)", [], LISTS) != []
    assert reading_spans("清水 煌(キラ)", [], LISTS) == []


span_lists = st.lists(
    st.tuples(st.integers(0, 50), st.integers(1, 10), st.floats(0, 1)).map(
        lambda t: (t[0], t[0] + t[1], t[2])),
    max_size=12,
)


@given(spans=span_lists)
def test_merged_spans_do_not_overlap_and_cover_the_same_characters(spans) -> None:
    merged = merge_spans(spans)
    assert all(a[1] <= b[0] for a, b in pairwise(merged))
    covered = {i for s, e, _ in spans for i in range(s, e)}
    assert covered == {i for s, e, _ in merged for i in range(s, e)}
    assert max((s[2] for s in spans), default=None) == max((m[2] for m in merged), default=None)


@settings(max_examples=30, deadline=None)
@given(surname=st.sampled_from(["佐藤", "鈴木", "高橋", "渡辺", "中川", "清水"]),
       given_name=st.text(alphabet="陽葵凛蒼湊颯翠碧紬澪雫凪朔煌琉瑛芽", min_size=1, max_size=2),
       space=st.sampled_from(["", " ", "\u3000"]),
       layout=st.sampled_from(["記録：{}\n", "担当者：{}（内線1234）", "営業部 {}様", "{}さん、",
                               "出席者：山田氏、{}、鈴木さん", "と{}（以下「乙」という。）"]))
def test_a_rare_given_name_after_a_known_surname_is_scrubbed_whole(detect, surname, given_name,
                                                                  space, layout) -> None:
    name = f"{surname}{space}{given_name}"
    assert name in [v for e, v in detect(layout.format(name)) if e == "PERSON"]

"""Each Japanese recognizer: what it must find, and the look-alikes it must leave alone.

Run through the whole engine (presidio AnalyzerEngine with the token-backed NLP engine), since
context words and overlap resolution are part of what a recognizer means in practice.
"""

from __future__ import annotations

import pytest

from schemas.pii import PiiConfig
from transforms.checkdigits import corporate_number_check_digit
from transforms.normalize import pii_view
from transforms.pii import build_engine, find_pii
from transforms.pii_nlp import MecabTokenizer
from transforms.recognizers.phone import is_plausible_jp_phone


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
CORPORATE = corporate_number_check_digit("700110005901") + "700110005901"
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
]


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


@pytest.mark.parametrize(
    ("value", "plausible"),
    [("090-1234-5678", True), ("03-1234-5678", True), ("0120-123-456", True),
     ("+81-90-1234-5678", True), ("+81 (0)3 1234 5678", True), ("00-1234-5678", False),
     ("090-1234-567", False), ("1234-5678", False)],
)
def test_phone_plausibility(value: str, plausible: bool) -> None:
    assert is_plausible_jp_phone(value) is plausible

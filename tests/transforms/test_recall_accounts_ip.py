"""Bank accounts and IPv4 addresses in the layouts people write them in, and their look-alikes.

Through the whole engine, as in test_recognizers.py: context words and overlap resolution are
part of what a recognizer finds in practice.
"""

from __future__ import annotations

import pytest

from schemas.pii import PiiConfig
from transforms.normalize import pii_view
from transforms.pii import build_engine, find_pii
from transforms.pii_nlp import MecabTokenizer
from transforms.recognizers.ip_address import is_host_address


@pytest.fixture(scope="module")
def detect():
    engine = build_engine(PiiConfig())
    tokenize = MecabTokenizer()

    def found(text: str, entity: str) -> list[str]:
        results = find_pii(pii_view(text), tokenize(text), engine)
        return [text[r.start : r.end] for r in results if r.entity_type == entity]

    return found


ACCOUNTS = [
    "〇〇銀行 △△支店（普通）1234567",
    "（当座）1234567",
    "(普通) 1234567",
    "みずほ銀行 新宿支店【普通】1234567",
    "りそな銀行 梅田支店［当座］1234567",
    "普通預金 口座番号 1234567",
    "普通預金口座番号は1234567です",
    "口座番号：1234567",
    "口座番号 No. 1234567",
    "口座No.1234567",
    "口座番号（普通）1234567",
    "口座番号：普通 1234567",
    "店番 123 口座番号 1234567",
    "店番：123　普通　1234567",
    "預金種目：当座　口座番号：1234567",
    "種別：当座　番号：1234567",
    "静岡銀行 本店営業部・普通・1234567",
    "振込先: みずほ銀行 本店 (普通) 1234567",
    "みずほ銀行 渋谷支店 1234567",
    "普通預金\n口座番号：1234567",
]


@pytest.mark.parametrize("text", ACCOUNTS)
def test_account_number_is_found_and_only_the_number(detect, text: str) -> None:
    assert detect(text, "JP_BANK_ACCOUNT") == ["1234567"]


@pytest.mark.parametrize("text", [
    "普通預金 1234567円を引き出した",  # an amount, not a number naming an account
    "普通列車 1234567 系",
    "口座番号 12345678",  # eight digits: not a Japanese bank account number
    "注文番号 1234567",
    "支店数 1234567",
])
def test_account_lookalike_is_left_alone(detect, text: str) -> None:
    assert detect(text, "JP_BANK_ACCOUNT") == []


IPS = [
    ("サーバー(192.168.10.5)に接続", "192.168.10.5"),
    ("IPアドレスは10.0.0.12です", "10.0.0.12"),
    ("203.0.113.45から", "203.0.113.45"),
    ("接続元：198.51.100.7", "198.51.100.7"),
    ("（172.16.0.1）", "172.16.0.1"),
    ("192.168.1.1へ転送", "192.168.1.1"),
    ("192.168.1.1に送信", "192.168.1.1"),
    ("IP192.168.0.1", "192.168.0.1"),  # a label run into the number
    ("サーバ192.168.001.010", "192.168.001.010"),  # zero-padded parts
    ("ビルドサーバー 10.0.0.5", "10.0.0.5"),  # a version word inside a machine's name
    ("リリース先のサーバー(10.20.30.40)", "10.20.30.40"),
    ("バージョン管理サーバー 10.0.0.5", "10.0.0.5"),
    ("10.0.0.5にリリースした", "10.0.0.5"),
    ("ver.2で10.0.0.1に", "10.0.0.1"),  # the version word names something else
    ("バージョン 192.168.1.20 のサーバー", "192.168.1.20"),  # three-digit first part
    ("DNSサーバは1.1.1.1", "1.1.1.1"),  # one-digit parts with an IP context word
    ("IPは１９２．１６８．１．１", "１９２．１６８．１．１"),
]


@pytest.mark.parametrize(("text", "value"), IPS)
def test_ipv4_in_running_text_is_found(detect, text: str, value: str) -> None:
    assert value in detect(text, "IP_ADDRESS")


@pytest.mark.parametrize("text", [
    "バージョン 2.4.8.1 にアップデート",
    "version: 1.0.0.1",
    "リビジョン(3.6.2.0)で修正",
    "2.8.1.1 というリビジョン",
    "4.3.2.1 版",
    "1.0.0.1 をリリース",
    "Ver.10.2.0.15 を配布",
    "バージョン番号は 10.0.0.5",
    "netmask 255.255.255.0",
    "255.255.255.224 を指定",
    "10.0.0.0/8 を許可",
    "192.168.1.0/24 のネットワーク",
    "ホスト 127.0.0.1",
    "224.0.0.251 でマルチキャスト",
    "セクション 1.2.3.4 を参照",
    "Windows 10.0.19045.3693",
    "リリースノート：6.9.3.0ではip(8)の挙動を修正",
    "7.22.89.141以前は非対応",
])
def test_dotted_quad_lookalike_is_left_alone(detect, text: str) -> None:
    assert detect(text, "IP_ADDRESS") == []


@pytest.mark.parametrize(("value", "host"), [
    ("192.168.001.010", True), ("010.000.000.001", True), ("255.255.255.0", False),
    ("255.255.0.255", True), ("0.0.0.0", False), ("127.0.0.1", False), ("239.1.2.3", False),
    ("2001:db8::1", True), ("256.1.1.1", False),
])
def test_host_address(value: str, host: bool) -> None:
    assert is_host_address(value) is host

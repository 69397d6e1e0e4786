"""CREDIT_CARD: payment card numbers; one definition for the PII stage and the residual check
(`find_card_numbers`).

A card number is 13-19 digits with a network's prefix and a valid Luhn digit (`stdnum.luhn`),
written in one run or grouped as cards print it (4-4-4-4, 4-6-5, 4-6-4). Thirteen digits is
also a JAN/EAN product code (prefix 45 or 49, valid EAN digit) and a corporate number, and some
real JAN codes pass Luhn too: only the words around tell them apart. A number next to a
product-code word (JAN, 商品コード, 品番 ...) is never a card; a bare thirteen-digit number is a
card only next to a card word (カード, クレジット ...). Old thirteen-digit Visa numbers are rare
enough that asking for the word costs less than scrubbing every product code.
"""

from __future__ import annotations

import re

from stdnum import luhn

from transforms.recognizers.base import NUM_END, NUM_START
from transforms.recognizers.definition import DefinitionRecognizer, Found, context_words, near

# Visa 4, Mastercard 51-55 / 2221-2720, Amex 34/37, Diners 30/36/38/39, JCB 35, Discover/UnionPay 6.
_PREFIXES = ("4", "51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27", "34",
             "37", "30", "36", "38", "39", "35", "6")
_CARD_WORDS = context_words(
    ("カード", "クレジット", "card", "visa", "jcb", "mastercard", "amex", "決済", "有効期限")
)
_PRODUCT_WORDS = context_words(
    ("JAN", "EAN", "GTIN", "商品コード", "品番", "商品番号", "バーコード", "型番", "ISBN")
)
_CANDIDATES = re.compile(
    NUM_START + r"(?:(?P<grouped>\d{4}(?P<s>[- ])\d{4}(?P=s)\d{4}(?P=s)\d{4}(?:(?P=s)\d{3})?"
    r"|\d{4}(?P<t>[- ])\d{6}(?P=t)\d{4,5})"
    r"|(?P<bare>\d{13,19}))" + NUM_END
)


def is_card_number(digits: str) -> bool:
    """A network's prefix, not one repeated digit, and a valid Luhn check digit."""
    return (
        13 <= len(digits) <= 19
        and digits.startswith(_PREFIXES)
        and len(set(digits)) > 1
        and luhn.is_valid(digits)
    )


def find_card_numbers(view: str) -> list[Found]:
    """Every payment card number in a PII view, with how sure each is."""
    found = []
    for match in _CANDIDATES.finditer(view):
        digits = re.sub(r"\D", "", match.group())
        if not is_card_number(digits):
            continue
        start, end = match.span()
        if near(view, start, end, _PRODUCT_WORDS):
            continue
        if match.group("grouped"):
            score = 0.9
        elif len(digits) > 13:
            score = 0.8
        else:
            score = 0.8 if near(view, start, end, _CARD_WORDS) else 0.3
        found.append(Found(start, end, score))
    return found


class JaCreditCardRecognizer(DefinitionRecognizer):
    ENTITY = "CREDIT_CARD"
    TRIGGER = r"\d{4}[- ]?\d{4,6}[- ]?\d{4}"
    FIND = staticmethod(find_card_numbers)

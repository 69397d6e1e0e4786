"""CREDIT_CARD: 13-19 digit payment card numbers with a valid Luhn digit and a known prefix."""

from __future__ import annotations

from transforms.checkdigits import is_valid_luhn
from transforms.recognizers.base import NUM_END, NUM_START, JaPatternRecognizer, digits_of

# Visa 4, Mastercard 51-55 / 2221-2720, Amex 34/37, Diners 30/36/38/39, JCB 35, Discover/UnionPay 6.
_PREFIXES = ("4", "51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27", "34",
             "37", "30", "36", "38", "39", "35", "6")


class JaCreditCardRecognizer(JaPatternRecognizer):
    ENTITY = "CREDIT_CARD"
    PATTERNS = (
        ("card_4x4", NUM_START + r"\d{4}([- ])\d{4}\1\d{4}\1\d{4}" + NUM_END, 0.9),
        ("card_4_6_5", NUM_START + r"\d{4}([- ])\d{6}\1\d{4,5}" + NUM_END, 0.9),
        ("card_bare_14_19", NUM_START + r"\d{14,19}" + NUM_END, 0.8),
        # 13 digits is also the corporate number's length: let context decide.
        ("card_bare_13", NUM_START + r"\d{13}" + NUM_END, 0.45),
    )
    CONTEXT = ("カード", "クレジット", "card", "visa", "jcb", "決済")
    TRIGGER = r"\d{4}[- ]?\d{4,6}[- ]?\d{4}"

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = digits_of(pattern_text)
        if not digits.startswith(_PREFIXES) or len(set(digits)) == 1:
            return False
        return None if is_valid_luhn(digits) else False

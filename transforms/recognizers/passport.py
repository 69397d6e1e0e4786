"""JP_PASSPORT: a Japanese passport number, two capital letters and seven digits (TK1234567)."""

from __future__ import annotations

from transforms.recognizers.base import CASE_SENSITIVE, JaPatternRecognizer

_NUMBER = r"[A-Z]{2}\d{7}(?![0-9A-Za-z_])"


class JaPassportRecognizer(JaPatternRecognizer):
    ENTITY = "JP_PASSPORT"
    PATTERNS = (
        ("passport_after_label", r"(?<=(?:旅券|パスポート)(?:番号)?[ :はNo.]{0,4})" + _NUMBER,
         0.9),
        ("passport_bare", r"(?<![0-9A-Za-z_])" + _NUMBER, 0.3),
    )
    CONTEXT = ("旅券", "パスポート", "passport")
    TRIGGER = r"[A-Z]{2}\d{7}"
    FLAGS = CASE_SENSITIVE

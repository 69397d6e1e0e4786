"""JP_POSTAL_CODE: 3+4 digit postal codes, with 〒, with context, or just before an address."""

from __future__ import annotations

from transforms.recognizers.base import NUM_END, NUM_START, JaPatternRecognizer
from transforms.recognizers.prefectures import PREFECTURE_RE


class JaPostalCodeRecognizer(JaPatternRecognizer):
    ENTITY = "JP_POSTAL_CODE"
    PATTERNS = (
        ("postal_mark", r"(?<=〒 ?)\d{3}-?\d{4}" + NUM_END, 0.95),
        ("postal_before_address", NUM_START + r"\d{3}-\d{4}(?= ?" + PREFECTURE_RE + ")", 0.8),
        ("postal_bare", NUM_START + r"\d{3}-\d{4}" + NUM_END, 0.3),
    )
    CONTEXT = ("郵便", "〒", "住所", "所在", "送付", "zip")
    TRIGGER = r"\d{3}-?\d{4}"

"""JP_RESIDENCE_CARD: a residence card number (在留カード番号), AB12345678CD."""

from __future__ import annotations

from transforms.recognizers.base import CASE_SENSITIVE, JaPatternRecognizer


class JaResidenceCardRecognizer(JaPatternRecognizer):
    ENTITY = "JP_RESIDENCE_CARD"
    PATTERNS = (("residence_card", r"(?<![0-9A-Za-z_])[A-Z]{2}\d{8}[A-Z]{2}(?![0-9A-Za-z_])",
                 0.6),)
    CONTEXT = ("在留", "カード", "residence")
    TRIGGER = r"[A-Z]{2}\d{8}[A-Z]{2}"
    FLAGS = CASE_SENSITIVE

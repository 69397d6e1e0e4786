"""JP_MY_NUMBER: the 12-digit individual number (個人番号), valid only with its check digit."""

from __future__ import annotations

from transforms.checkdigits import is_valid_my_number
from transforms.recognizers.base import NUM_END, NUM_START, JaPatternRecognizer, digits_of


class JaMyNumberRecognizer(JaPatternRecognizer):
    ENTITY = "JP_MY_NUMBER"
    # About one random 12-digit string in eleven passes the check digit: a bare number needs a
    # context word to cross the default threshold; the 4-4-4 card layout is evidence by itself.
    PATTERNS = (
        ("my_number_grouped", NUM_START + r"\d{4}([- ])\d{4}\1\d{4}" + NUM_END, 0.5),
        ("my_number_bare", NUM_START + r"\d{12}" + NUM_END, 0.4),
    )
    CONTEXT = ("ナンバー", "個人番号", "個人", "マイナ", "my number", "mynumber")
    TRIGGER = r"\d{4}[- ]?\d{4}[- ]?\d{4}"

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = digits_of(pattern_text)
        if len(set(digits)) == 1 or not is_valid_my_number(digits):
            return False
        if digits[:4] == digits[4:8] == digits[8:]:
            return False  # "1000 1000 1000": a repeated field (uid, gid), not an identifier
        return None

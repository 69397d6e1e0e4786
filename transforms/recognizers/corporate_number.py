"""JP_CORPORATE_NUMBER: the 13-digit corporate number (法人番号), leading check digit.

Public data: the stage counts it and scrubs it only when the manifest asks. A `T` in front makes
it an invoice registration number (適格請求書発行事業者登録番号), the same number.
"""

from __future__ import annotations

from stdnum.jp import cn

from transforms.recognizers.base import NUM_END, NUM_START, JaPatternRecognizer, digits_of


class JaCorporateNumberRecognizer(JaPatternRecognizer):
    ENTITY = "JP_CORPORATE_NUMBER"
    PATTERNS = (
        ("invoice_registration", r"(?<![0-9A-Za-z_])T-?\d{13}" + NUM_END, 0.7),
        ("corporate_grouped", NUM_START + r"\d([- ])\d{4}\1\d{4}\1\d{4}" + NUM_END, 0.5),
        ("corporate_bare", NUM_START + r"\d{13}" + NUM_END, 0.4),
    )
    CONTEXT = ("法人", "登録", "インボイス", "事業者", "corporate")
    TRIGGER = r"\d{4}[- ]?\d{4}[- ]?\d{4}"

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = digits_of(pattern_text)
        if len(set(digits)) == 1 or not cn.is_valid(digits):
            return False
        return None

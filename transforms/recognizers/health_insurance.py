"""JP_HEALTH_INSURANCE: health insurance card numbers (保険者番号, 記号, 番号).

The numbers only mean something next to their labels, so every pattern is anchored on one.
"""

from __future__ import annotations

from transforms.recognizers.base import NUM_END, JaPatternRecognizer

_SEP = r"[ :は]{0,3}"


class JaHealthInsuranceRecognizer(JaPatternRecognizer):
    ENTITY = "JP_HEALTH_INSURANCE"
    PATTERNS = (
        ("insurer_number", r"(?<=保険者番号" + _SEP + r")\d{6,8}" + NUM_END, 0.85),
        ("insured_number", r"(?<=被保険者(?:証)?(?:の)?(?:番号)" + _SEP + r")\d{1,10}" + NUM_END,
         0.85),
        ("card_symbol", r"(?<=記号" + _SEP + r")\d[\d-]{0,9}(?=[ 、,]*番号)", 0.8),
        ("card_number", r"(?<=記号" + _SEP + r"\d[\d-]{0,9}[ 、,]*番号" + _SEP + r")\d{1,10}"
         + NUM_END, 0.8),
    )
    CONTEXT = ("保険", "被保険者", "保険証")
    TRIGGER = r"(?:保険者番号|被保険者|記号)"

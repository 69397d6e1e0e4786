"""JP_DRIVER_LICENSE: the 12-digit driving licence number (運転免許証番号).

Its check digit is not published, so the number counts only next to a licence word.
"""

from __future__ import annotations

from transforms.recognizers.base import NUM_END, NUM_START, JaPatternRecognizer


class JaDriverLicenseRecognizer(JaPatternRecognizer):
    ENTITY = "JP_DRIVER_LICENSE"
    PATTERNS = (
        ("license_after_label", r"(?<=免許証?(?:の)?(?:番号)?[ :は第]{0,3})\d{12}" + NUM_END,
         0.9),
        ("license_dai_go", r"(?<=第 ?)\d{12}(?= ?号)", 0.5),
        ("license_bare", NUM_START + r"\d{12}" + NUM_END, 0.2),
    )
    CONTEXT = ("免許", "運転", "license", "licence")
    TRIGGER = r"\d{12}"

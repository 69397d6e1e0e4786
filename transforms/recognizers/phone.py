"""PHONE_NUMBER: Japanese mobile, IP, fixed-line, toll-free and navi-dial numbers, and +81 forms.

Layouts: hyphens, spaces or brackets around the area code; the digit count decides validity
(10 for fixed-line, 0120 and 0570; 11 for 070/080/090, 050 and 0800; see
`is_plausible_jp_phone`).
"""

from __future__ import annotations

from transforms.recognizers.base import NUM_END, JaPatternRecognizer, digits_of

# "TEL03-...", "Tel.03-..." are common: allow those letters right before the number.
_START = (
    r"(?:(?<=TEL|FAX|Tel|Fax|tel|fax|TEL\.|FAX\.|Tel\.|Fax\.)"
    r"|(?<![0-9A-Za-z_+])(?<![0-9A-Za-z][-./]))"
)
_SEPARATED = r"0\d{1,4}[- ]\d{1,4}[- ]\d{3,4}"
_BRACKETED = r"(?:\(0\d{1,4}\) ?\d{1,4}[- ]?\d{4}|0\d{1,4} ?\(\d{1,4}\) ?\d{4})"
_INTERNATIONAL = r"\+81[- ]?(?:\(0\)[- ]?)?\d{1,4}[- ]?\d{1,4}[- ]?\d{4}"

_ELEVEN_DIGIT_PREFIXES = ("070", "080", "090", "050", "0800")


def is_plausible_jp_phone(value: str) -> bool:
    """10 or 11 national digits, trunk prefix 0, no international 00.

    Deliberately no area-code table: a well-formed number with an unassigned area code (as
    Faker makes, and as typos make) is still somebody's number to scrub.
    """
    digits = digits_of(value)
    if value.lstrip().startswith("+"):
        national = digits[2:]
        if "(0)" in value:
            national = national[1:]
        digits = "0" + national
    if digits.startswith(_ELEVEN_DIGIT_PREFIXES):
        return len(digits) == 11
    return len(digits) in (10, 11) and digits[0] == "0" and digits[1] != "0"


class JaPhoneRecognizer(JaPatternRecognizer):
    ENTITY = "PHONE_NUMBER"
    PATTERNS = (
        ("phone_separated", _START + _SEPARATED + NUM_END, 0.7),
        ("phone_bracketed", _START + _BRACKETED + NUM_END, 0.7),
        ("phone_international", r"(?<![0-9A-Za-z_])" + _INTERNATIONAL + NUM_END, 0.8),
        ("phone_mobile_bare", _START + r"0[5789]0\d{8}" + NUM_END, 0.5),
        ("phone_fixed_bare", _START + r"0\d{9}" + NUM_END, 0.3),
    )
    CONTEXT = ("電話", "携帯", "TEL", "FAX", "連絡", "phone", "ダイヤル", "tel")
    TRIGGER = r"(?:0\d{1,4}[- )(]{0,2}\d{1,4}[- )]?\d{3,4}|\+81)"

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if is_plausible_jp_phone(pattern_text) else False

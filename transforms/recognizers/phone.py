"""PHONE_NUMBER: Japanese numbers as `phonenumbers` reads them; one definition for the PII stage
and the residual check (`find_phone_numbers`).

Candidates are the layouts people write: hyphens, spaces or brackets around the area code
(`03-1234-5678`, `(03)1234-5678`, `0501-1136285`), `+81` forms, bare mobile and toll-free
numbers, every digit spaced (`0 3 1 2 ...`) and kanji numerals (`〇三－一二三四－五六七八`).
`phonenumbers` decides. A number written in a phone's layout (grouped, bracketed, +81) is a
phone when `phonenumbers` finds its length possible for Japan: an unassigned range (090-0xxx,
as Faker and typos make) is still somebody's number to scrub. A bare digit run must be a valid,
assigned number. How sure each is depends on the layout: a grouped or international number is
certain; a bare ten-digit run or one spelled out digit by digit also reads as an id, a count or
a table row, so it needs a phone word (電話, TEL, 携帯, 連絡先 ...) near it.
"""

from __future__ import annotations

import re

import phonenumbers

from transforms.recognizers.base import NUM_END
from transforms.recognizers.definition import (
    DefinitionRecognizer,
    Found,
    context_words,
    near,
)

_CONTEXT = context_words(
    ("電話", "携帯", "TEL", "FAX", "ファックス", "ファクス", "連絡先", "phone", "ダイヤル",
     "でんわ", "内線", "直通", "代表", "フリーダイヤル", "問い合わせ", "問合せ", "お問合")
)
# "TEL03-...", "Tel.03-..." are common: those letters may stand right before the number.
_START = (
    r"(?:(?<=TEL|FAX|Tel|Fax|tel|fax)|(?<=TEL\.|FAX\.|Tel\.|Fax\.|TEL:|Tel:|tel:)"
    r"|(?<![0-9A-Za-z_+])(?<![0-9A-Za-z][-./]))"
)
_SEP = r"(?:[- ]|  | - )"
# (layout, pattern, score without a phone word nearby, score with one); bare layouts end in
# "_bare" and must be assigned numbers.
_LAYOUTS: tuple[tuple[str, str, float, float], ...] = (
    ("separated", rf"0\d{{1,4}}{_SEP}\d{{1,4}}{_SEP}\d{{3,4}}", 0.7, 0.9),
    ("two_groups", r"0\d{1,4}-\d{6,8}", 0.6, 0.9),
    ("bracketed", r"\(0\d{1,4}\) ?\d{1,4}[- ]?\d{4}|0\d{1,4} ?\(\d{1,4}\) ?\d{4}", 0.7, 0.9),
    ("international", r"\+81[- ]?(?:\(0\)[- ]?)?\d{1,4}[- ]?\d{1,4}[- ]?\d{4}", 0.8, 0.9),
    ("mobile_bare", r"0[5789]0\d{8}", 0.6, 0.9),
    ("toll_free_bare", r"0120\d{6}|0800\d{7}", 0.6, 0.9),
    ("fixed_bare", r"0\d{9}", 0.3, 0.7),
    ("spaced_digits", r"0(?: \d){9,10}", 0.3, 0.7),
)
_CANDIDATES = re.compile(
    "|".join(f"(?P<{name}>{_START}(?:{rx}){NUM_END})" for name, rx, _, _ in _LAYOUTS)
)
_SCORES = {name: (alone, with_word) for name, _, alone, with_word in _LAYOUTS}

# Kanji numerals, one for one, and ー between digits (a hyphen typed as a long vowel) as "-":
# a phone spelled 〇三ー一二三四ー五六七八 becomes 03-1234-5678 without changing any offset.
_KANJI_DIGITS = str.maketrans("〇一二三四五六七八九", "0123456789")
_LONG_VOWEL_BETWEEN_DIGITS = re.compile(r"(?<=[0-9])[ーｰ─━](?=[0-9])")


def _digit_view(view: str) -> str:
    if "〇" not in view:  # a phone in kanji numerals starts with its trunk 〇
        return view
    return _LONG_VOWEL_BETWEEN_DIGITS.sub("-", view.translate(_KANJI_DIGITS))


# The numbering plan's prefixes whose numbers have exactly one length: phonenumbers' metadata
# says which lengths each number type may have (mobile and IP phones: ten national digits).
_TYPE_OF_PREFIX = (
    (("070", "080", "090"), phonenumbers.PhoneNumberType.MOBILE),
    (("050",), phonenumbers.PhoneNumberType.VOIP),
    (("0120", "0800"), phonenumbers.PhoneNumberType.TOLL_FREE),
)


def is_jp_phone(value: str, assigned: bool = False) -> bool:
    """Whether `value` (ASCII digits and separators) is a Japanese number: of a length
    `phonenumbers` finds possible for Japan (for its type, where the prefix fixes the type),
    or with `assigned`, in a range that is in use."""
    try:
        number = phonenumbers.parse(value, "JP")
    except phonenumbers.NumberParseException:
        return False
    if number.country_code != 81:
        return False
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.lstrip().startswith(("+", "(+")):
        national = "0" + str(number.national_number)
    else:
        national = digits
    # People write the trunk 0; a second 0 would be an international call prefix.
    if not national.startswith("0") or national.startswith("00"):
        return False
    if assigned:
        return phonenumbers.is_valid_number(number)
    for prefixes, number_type in _TYPE_OF_PREFIX:
        if national.startswith(prefixes):
            return phonenumbers.is_possible_number_for_type(number, number_type)
    return phonenumbers.is_possible_number(number)


# Stretches of digits and separators long enough to hold a phone number. Found in one C-level
# scan (the pattern starts with a character set); the layouts, whose look-behinds would be
# tried at every character of the document, then run only inside these stretches.
_STRETCH = re.compile(r"[(+0-9][-0-9 ()+]{8,40}")


def _candidates(digits: str):
    for stretch in _STRETCH.finditer(digits):
        # Two characters past the stretch: enough for the layouts' look-aheads to see what follows.
        yield from _CANDIDATES.finditer(digits, stretch.start(), stretch.end() + 2)


def find_phone_numbers(view: str) -> list[Found]:
    """Every Japanese phone number in a PII view, with how sure each is."""
    digits = _digit_view(view)
    found = []
    for match in _candidates(digits):
        layout = match.lastgroup or ""
        if not is_jp_phone(match.group(), assigned=layout.endswith("_bare")):
            continue
        alone, with_word = _SCORES[layout]
        score = with_word if near(view, match.start(), match.end(), _CONTEXT) else alone
        found.append(Found(match.start(), match.end(), score))
    return found


class JaPhoneRecognizer(DefinitionRecognizer):
    ENTITY = "PHONE_NUMBER"
    TRIGGER = r"(?:[0〇](?:[- ー)(]{0,3}[\d〇一二三四五六七八九]){7}|\+81)"
    FIND = staticmethod(find_phone_numbers)


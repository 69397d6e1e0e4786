"""The one residual-PII definition: what counts as PII still in a text after scrubbing.

Shared by the per-document gate (`transforms.gate`), which scrubs again or quarantines a
document, and the shard suite's backstop (`transforms.validate`), so the two can never disagree:
both call the recognizers' own definitions (`find_phone_numbers`, `find_email_addresses`,
`find_my_numbers`, `find_card_numbers`) and count what those are certain of without any
other evidence (score >= `CERTAIN`, the PII stage's default threshold). Whatever the scrubber
replaced is a placeholder or pseudonym now, masked here one character for one so that spans
found on the masked text apply to the text itself.

Only kinds, entity types, spans and counts come out of here: never a value, a message or a log
line built from one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from schemas.expectations import RESIDUAL_PII_TYPES
from schemas.pii import PII_ENTITIES
from transforms.normalize import pii_view
from transforms.recognizers.credit_card import JaCreditCardRecognizer, find_card_numbers
from transforms.recognizers.definition import CERTAIN, Found
from transforms.recognizers.email import JaEmailRecognizer, find_email_addresses
from transforms.recognizers.my_number import JaMyNumberRecognizer, find_my_numbers
from transforms.recognizers.phone import JaPhoneRecognizer, find_phone_numbers
from transforms.recognizers.triggers import ViewScan, fast_trigger

Finder = Callable[[str], list[Found]]


@dataclass(frozen=True)
class ResidualType:
    kind: str  # the shard suite's name: check__residual_<kind>
    entity: str  # the PII stage's entity type
    find: Finder
    trigger: re.Pattern[str]


RESIDUAL_DEFINITIONS: Mapping[str, ResidualType] = MappingProxyType({
    t.kind: t for t in (
        ResidualType("my_number", "JP_MY_NUMBER", find_my_numbers,
                     re.compile(JaMyNumberRecognizer.TRIGGER)),
        ResidualType("phone", "PHONE_NUMBER", find_phone_numbers,
                     re.compile(JaPhoneRecognizer.TRIGGER)),
        ResidualType("email", "EMAIL_ADDRESS", find_email_addresses,
                     re.compile(JaEmailRecognizer.TRIGGER)),
        ResidualType("card", "CREDIT_CARD", find_card_numbers,
                     re.compile(JaCreditCardRecognizer.TRIGGER)),
    )
})
assert tuple(RESIDUAL_DEFINITIONS) == RESIDUAL_PII_TYPES, "one definition per suite column"
# Each type's trigger, answering exactly as `trigger.search(view)` does (see recognizers.triggers).
_FAST_TRIGGERS = MappingProxyType({
    kind: fast_trigger(t.trigger.pattern) for kind, t in RESIDUAL_DEFINITIONS.items()
})

# What the PII stage writes instead of a value: a typed placeholder (<PHONE_NUMBER>) or a keyed
# pseudonym (<PERSON_3f9a2c01d4e5>), of Kura's own entity types only, so text that merely looks
# like a tag (<ID_0312345678>) is still checked.
_PLACEHOLDER = re.compile(
    "<(?:" + "|".join(sorted(PII_ENTITIES, key=len, reverse=True)) + ")(?:_[0-9a-f]{6,64})?>"
)
_MASK = "\u25a0"  # ■: neither a digit, a separator nor an address character

# A superset test of every trigger, on the stored text (before the PII view's fold): ten digits
# (ASCII, full-width or kanji) with at most three other characters between neighbours, an at
# sign, or an obfuscated "at" / "dot" (bracketed, or a word between spaces). RE2-compatible,
# so shard validation runs it over a whole Arrow column in C++ (`may_hold_pii`).
_DIGIT = "0-9０-９〇一二三四五六七八九"
_TEN_DIGITS = rf"[{_DIGIT}](?:[^{_DIGIT}\n]{{0,3}}[{_DIGIT}]){{9}}"
_AT_SIGNS = "@＠﹫"
_OBFUSCATED_AT = r"(?i:[\[(［（]\s?(?:at|ａｔ|アット)\s?[\])］）]|\s(?:at|dot)\s)"
RESIDUAL_PREFILTER = f"{_TEN_DIGITS}|[{_AT_SIGNS}]|{_OBFUSCATED_AT}"
_PREFILTER = re.compile(RESIDUAL_PREFILTER)
_TEN_DIGITS_SEARCH = re.compile(_TEN_DIGITS).search
_OBFUSCATED_AT_SEARCH = re.compile(_OBFUSCATED_AT).search


def may_hold_residual(text: str) -> bool:
    """Whether RESIDUAL_PREFILTER matches in `text`: its alternatives one at a time, cheapest
    first. Python's re tries every alternative at every character, and the case-insensitive
    one, which starts at any whitespace, cost two thirds of the whole search on man pages."""
    return (any(sign in text for sign in _AT_SIGNS) or _TEN_DIGITS_SEARCH(text) is not None
            or _OBFUSCATED_AT_SEARCH(text) is not None)


@dataclass(frozen=True)
class Residual:
    """One value the definitions are certain of, by span into the checked text."""

    kind: str
    entity: str
    start: int
    end: int


def mask_placeholders(text: str) -> str:
    """`text` with the PII stage's placeholders and pseudonyms masked, one for one."""
    if "<" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: _MASK * (m.end() - m.start()), text)


def find_residual_pii(text: str) -> list[Residual]:
    """Every value in `text` that a residual definition is certain of, in text order."""
    if not may_hold_residual(text):
        return []
    view = pii_view(mask_placeholders(text))
    scan = ViewScan(view)  # the triggers' shared parts, computed once for the four types
    found = [
        Residual(t.kind, t.entity, f.start, f.end)
        for t in RESIDUAL_DEFINITIONS.values()
        if _FAST_TRIGGERS[t.kind](scan)
        for f in t.find(view)
        if f.score >= CERTAIN
    ]
    return sorted(found, key=lambda r: (r.start, -r.end, r.kind))


def residual_pii_counts(text: str) -> dict[str, int]:
    """How many values of each RESIDUAL_PII_TYPES kind `text` still holds (counts only)."""
    counts = dict.fromkeys(RESIDUAL_PII_TYPES, 0)
    for residual in find_residual_pii(text):
        counts[residual.kind] += 1
    return counts

"""JP_MY_NUMBER: the 12-digit individual number (個人番号); one definition for the PII stage and
the residual check (`find_my_numbers`).

Valid only with its check digit (`stdnum.jp.in_`). About one random 12-digit string in eleven
passes it, so a bare twelve-digit run needs a My Number word near it; the 4-4-4 layout of the
card is evidence by itself. A repeated field ("1000 1000 1000": uid, gid) is not a number.
"""

from __future__ import annotations

import re

from stdnum.jp import in_

from transforms.recognizers.base import NUM_END, NUM_START
from transforms.recognizers.definition import DefinitionRecognizer, Found, context_words, near

_WORDS = context_words(("マイナンバー", "個人番号", "マイナ", "my number", "mynumber", "個人"))
_CANDIDATES = re.compile(
    NUM_START + r"(?:(?P<grouped>\d{4}(?P<s>[- ])\d{4}(?P=s)\d{4})|\d{12})" + NUM_END
)


def is_my_number(digits: str) -> bool:
    return (
        len(set(digits)) > 1
        and not digits[:4] == digits[4:8] == digits[8:]
        and in_.is_valid(digits)
    )


def find_my_numbers(view: str) -> list[Found]:
    """Every My Number in a PII view, with how sure each is."""
    found = []
    for match in _CANDIDATES.finditer(view):
        digits = re.sub(r"\D", "", match.group())
        if not is_my_number(digits):
            continue
        start, end = match.span()
        if near(view, start, end, _WORDS):
            score = 0.85
        elif match.group("grouped"):
            score = 0.5
        else:
            score = 0.4
        found.append(Found(start, end, score))
    return found


class JaMyNumberRecognizer(DefinitionRecognizer):
    ENTITY = "JP_MY_NUMBER"
    TRIGGER = r"\d{4}[- ]?\d{4}[- ]?\d{4}"
    FIND = staticmethod(find_my_numbers)

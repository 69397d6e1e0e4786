"""The PII view's digit rule against its plain definition: ー between two ASCII digits is -.

The rule's pattern is led by the character class for speed; the reference is the same rule
written the obvious way (a lookbehind first), and a character-by-character one.
"""

from __future__ import annotations

import json
import re
from itertools import islice

from hypothesis import example, given, settings
from hypothesis import strategies as st

from transforms.normalize import (
    digit_long_vowel_to_hyphen,
    fold_for_pii,
    pii_view,
    stored_text,
)

_MARKS = "ーｰ\u2500\u2501"
_LOOKBEHIND_FIRST = re.compile(f"(?<=[0-9])[{_MARKS}](?=[0-9])")


def reference_by_character(text: str) -> str:
    out = list(text)
    for i in range(1, len(text) - 1):
        if text[i] in _MARKS and text[i - 1] in "0123456789" and text[i + 1] in "0123456789":
            out[i] = "-"
    return "".join(out)


texts = st.text(alphabet=st.sampled_from("0129ー─━ｰ-あア０\n "), max_size=40)


@settings(max_examples=500, deadline=None)
@given(texts)
@example("03ー1234ー5678")
@example("1ーー2")
@example("1ー2ー3")
@example("ー1ー")
def test_digit_long_vowel_equals_the_plain_definition(text: str) -> None:
    result = digit_long_vowel_to_hyphen(text)
    assert result == _LOOKBEHIND_FIRST.sub("-", text)
    assert result == reference_by_character(text)


def test_pii_view_of_man_pages_equals_the_plain_definition(manpages_path) -> None:
    with manpages_path.open(encoding="utf-8") as f:
        pages = [stored_text(json.loads(line)["text"]) for line in islice(f, 300)]
    for page in pages:
        assert pii_view(page) == reference_by_character(fold_for_pii(page))

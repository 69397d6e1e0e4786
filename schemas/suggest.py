""""Did you mean": the closest of the names a user could have meant.

Used for manifest keys and values, source paths and text fields. A suggestion must be likely
enough to help, never a guess that sends the steward the wrong way, hence the cutoff.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

# difflib's ratio at or above which a name is suggested (licence/license 0.86, qualty/quality
# 0.92; unrelated names of the manifest stay under 0.45).
CUTOFF = 0.6
_WORD = re.compile(r"[A-Za-z0-9]+")


def _first_word(name: str) -> str:
    found = _WORD.search(name)
    return found.group(0).lower() if found else ""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` most likely meant, or None.

    Case aside, the choice most similar by difflib's ratio; failing that, the one choice that
    starts with the same word (`text_column` -> `text_field`: a renamed suffix of a compound
    key scores only 0.57, yet the steward's intent is plain).
    """
    options = list(dict.fromkeys(c for c in choices if c != word))
    if not options:
        return None
    lowered = {option.lower(): option for option in reversed(options)}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=CUTOFF)
    if match:
        return lowered[match[0]]
    head = _first_word(word)
    same_start = [o for o in options if len(head) >= 3 and _first_word(o) == head]
    return same_start[0] if len(same_start) == 1 else None


def ranked(word: str, choices: Iterable[str], limit: int) -> list[str]:
    """Up to `limit` choices, the most similar to `word` first (for "the folder holds: ...")."""
    options = sorted(set(choices))
    options.sort(key=lambda c: -difflib.SequenceMatcher(None, word.lower(), c.lower()).ratio())
    return options[:limit]

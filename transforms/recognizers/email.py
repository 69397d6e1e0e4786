"""EMAIL_ADDRESS: one definition for the PII stage and the residual check
(`find_email_addresses`).

- The domain is dot-separated labels ending in a Latin top-level domain of 2-24 letters;
  labels may be internationalized (`例え.jp`).
- The local part is read backwards from the "@". An ASCII local part stops at the first
  character that cannot be in one, so `メールはtaro@example.jp` gives `taro@example.jp`.
- RFC 6531 allows a non-ASCII local part (`名前@example.jp`): that is an address too. Japanese
  writes no space before it, so its local part runs back to the nearest space or punctuation
  (at most 64 characters) and may take a preceding word with it: scrubbing a word too many is
  the safe side of not knowing where the address starts.
- Obfuscated forms are addresses: `taro [at] example.jp`, `taro(at)example.co.jp`,
  `taro ＠ example.jp`, `fuua [dot] wada@example [dot] jp`. A bare word "at" counts when the
  dots are spelled out too (`taro at example dot jp`), or when no English word stands before
  the local part (`連絡先：hoshi79 at yahoo.co.jp`): "Report bugs at example.org" is prose.

No tldextract: its suffix-list download is a network call, and the shape suffices.
"""

from __future__ import annotations

import re

from transforms.recognizers.definition import DefinitionRecognizer, Found

_ASCII_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_MAX_LOCAL = 64
# Every branch starts with one of "@[(aA", and the leading look-ahead tells `re` so: it scans for
# that character set in C instead of trying each branch at every position of the document. A
# space before the "@" or the "at" belongs to the gap between local part and sign, skipped there.
_AT = (
    r"(?=[@\[(aA])(?P<at>@ ?"
    r"|[\[(]\s?(?:at|AT|At|@|アット)\s?[\])]\s?"
    r"|(?P<word_at>(?:at|AT)[ \t](?<=[ \t]..[ \t])))"
)
_DOT = r"(?:\.|(?P<dot>\s?[\[(]\s?(?:dot|DOT|Dot|ドット)\s?[\])]\s?|\s(?:dot|DOT)\s))"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ADDRESS_AFTER_LOCAL = re.compile(rf"{_AT}(?:{_LABEL}{_DOT})+[A-Za-z]{{2,24}}(?![A-Za-z0-9-])")
_DOT_OBFUSCATED = re.compile(r"[\[(]\s?(?:dot|ドット)\s?[\])]|\s(?:dot|DOT)\s", re.IGNORECASE)


def _is_unicode_local(ch: str) -> bool:
    # Non-ASCII letters and digits: an ASCII run before them is another token ("5678名前@...").
    return (ch.isalnum() and not ch.isascii()) or ch in "._%+-"


# An obfuscated dot ending right where an ASCII run of the local part starts: "fuua [dot] wada".
_DOT_BEFORE = re.compile(r"(?:\s?[\[(]\s?(?:dot|ドット)\s?[\])]\s?|\s(?:dot|DOT)\s)$",
                         re.IGNORECASE)


def _local_part_start(view: str, at: int, floor: int) -> int | None:
    """Where the local part ending at `at` starts (not before `floor`), or None if none."""
    start = at
    while True:
        while start > floor and at - start < _MAX_LOCAL and view[start - 1] in _ASCII_LOCAL:
            start -= 1
        dot = _DOT_BEFORE.search(view, max(floor, start - 12), start)
        if start == at or dot is None or dot.start() <= floor or \
                view[dot.start() - 1] not in _ASCII_LOCAL:
            break
        start = dot.start()
    if start < at:  # an ASCII local part: it starts at the first letter or digit
        while start < at and not view[start].isalnum():
            start += 1
        return start if start < at else None
    while start > floor and at - start < _MAX_LOCAL and _is_unicode_local(view[start - 1]):
        start -= 1
    while start < at and not view[start].isalnum():
        start += 1
    return start if start < at else None


def _after_prose(view: str, start: int) -> bool:
    """Whether the word before `start` is English: "Report bugs at example.org" is prose."""
    before = view[:start].rstrip(" \t")
    return bool(before) and before[-1].isascii() and before[-1].isalpha()


def find_email_addresses(view: str) -> list[Found]:
    """Every e-mail address in a PII view, plain, internationalized or obfuscated."""
    found: list[Found] = []
    for match in _ADDRESS_AFTER_LOCAL.finditer(view):
        floor = found[-1].end if found else 0
        if match.start() < floor:
            continue
        local_end = match.start()
        if local_end > floor and view[local_end - 1] in " \t":
            local_end -= 1
        start = _local_part_start(view, local_end, floor)
        if start is None:
            continue
        if match.group("word_at") and not _DOT_OBFUSCATED.search(match.group()) and (
                not view[start:local_end].isascii() or _after_prose(view, start)):
            continue
        found.append(Found(start, match.end(), 0.95))
    return found


class JaEmailRecognizer(DefinitionRecognizer):
    ENTITY = "EMAIL_ADDRESS"
    TRIGGER = r"(?i)@|[\[(]\s?(?:at|アット)\s?[\])]|\s(?:at|dot)\s"
    FIND = staticmethod(find_email_addresses)

"""The recognizers' triggers, decided exactly as their `TRIGGER` regexes decide, in fewer scans.

Every recognizer's trigger is a `re.search(TRIGGER, view)` over the whole PII view, and a man
page is mostly digits, Latin letters and spaces where those patterns start and fail over and
over. `ViewScan` computes what several triggers share once per view, and `fast_trigger(TRIGGER)`
returns a test with exactly the regex's answer (never a looser one: the PII stage's findings
must not change), built from these equivalences:

- *Numeric runs.* A pattern made only of `\\d`, `-` and ` ` (My Number, corporate number, card,
  driver's licence, postal code) matches a substring that starts and ends with a digit and holds
  nothing but digits, hyphens and spaces. Each such substring lies inside one maximal run of
  `\\d[\\d\\- ]*` (the scan for runs starts at the first digit of each maximal run and
  consumes the whole run), so it matches the view iff it matches the runs joined by "\\n",
  which none of those patterns can cross. The joined runs are a small fraction of the view.
- *Seven digits first.* A pattern that needs seven consecutive digits somewhere (passport,
  residence card, bank account) cannot match a view whose numeric runs hold no `\\d{7}`.
- *Alternations split.* `re` skips ahead by the first character only when every branch of a
  top-level alternation starts with a literal; `search(A|B)` finds something iff `search(A)`
  or `search(B)` does, so such alternations are searched branch by branch.
- *Anchor on the rarer literal.* `\\d\\.\\d{1,3}\\.\\d` matches at p iff
  `\\.(?<=\\d\\.)\\d{1,3}\\.\\d` matches at p + 1 (the same characters, read from the dot), and
  likewise for the IPv6 colon: `re` then skips to dots and colons instead of trying every
  digit or letter.

A TRIGGER this module does not know falls back to its plain regex search, so a new or edited
recognizer stays correct (only slower) until it is added here. `tests/transforms/
test_pii_prefilter.py` checks every known trigger against its regex on generated texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NUMERIC_RUN = re.compile(r"\d[\d\- ]*")
_SEVEN_DIGITS = re.compile(r"\d{7}")


class ViewScan:
    """One PII view and what its triggers share, each part computed at most once."""

    __slots__ = ("_numeric_runs", "view")

    def __init__(self, view: str) -> None:
        self.view = view
        self._numeric_runs: str | None = None

    @property
    def numeric_runs(self) -> str:
        """The view's maximal runs of digits, hyphens and spaces (from a digit), "\\n"-joined."""
        if self._numeric_runs is None:
            self._numeric_runs = "\n".join(_NUMERIC_RUN.findall(self.view))
        return self._numeric_runs


Trigger = Callable[[ViewScan], bool]


def _on_numeric_runs(pattern: str) -> Trigger:
    regex = re.compile(pattern)
    return lambda scan: regex.search(scan.numeric_runs) is not None


def _after_seven_digits(pattern: str) -> Trigger:
    regex = re.compile(pattern)
    return lambda scan: (_SEVEN_DIGITS.search(scan.numeric_runs) is not None
                         and regex.search(scan.view) is not None)


def _any_of(*patterns: str) -> Trigger:
    regexes = tuple(re.compile(p) for p in patterns)
    return lambda scan: any(r.search(scan.view) is not None for r in regexes)


# TRIGGER text -> an exact, cheaper test. Keyed by the text itself, so an edited TRIGGER no
# longer finds its old entry and falls back to the plain search.
_KNOWN: dict[str, Trigger] = {
    # My Number, corporate number (the same trigger), card, driver's licence, postal code.
    r"\d{4}[- ]?\d{4}[- ]?\d{4}": _on_numeric_runs(r"\d{4}[- ]?\d{4}[- ]?\d{4}"),
    r"\d{4}[- ]?\d{4,6}[- ]?\d{4}": _on_numeric_runs(r"\d{4}[- ]?\d{4,6}[- ]?\d{4}"),
    r"\d{12}": _on_numeric_runs(r"\d{12}"),
    r"\d{3}-?\d{4}": _on_numeric_runs(r"\d{3}-?\d{4}"),
    # Passport, residence card, bank account: seven digits in a row, then the full pattern.
    r"[A-Z]{2}\d{7}": _after_seven_digits(r"[A-Z]{2}\d{7}"),
    r"[A-Z]{2}\d{8}[A-Z]{2}": _after_seven_digits(r"[A-Z]{2}\d{8}[A-Z]{2}"),
    r"(?:普通|当座|貯蓄|総合|口座|店番|支店|本店|営業部|出張所|支社)[^\n]{0,20}?\d{7}":
        _after_seven_digits(
            r"(?:普通|当座|貯蓄|総合|口座|店番|支店|本店|営業部|出張所|支社)[^\n]{0,20}?\d{7}"),
    # E-mail: the global (?i) goes with each branch.
    r"(?i)@|[\[(]\s?(?:at|アット)\s?[\])]|\s(?:at|dot)\s": _any_of(
        r"(?i)@", r"(?i)[\[(]\s?(?:at|アット)\s?[\])]", r"(?i)\s(?:at|dot)\s"),
    # IP: read from the dot / the colon.
    r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:": _any_of(
        r"\.(?<=\d\.)\d{1,3}\.\d", r":(?<=[0-9A-Fa-f]:)[0-9A-Fa-f]{0,4}:"),
    # Phone: the "+81" branch is a literal.
    r"(?:[0〇](?:[- ー)(]{0,3}[\d〇一二三四五六七八九]){7}|\+81)": _any_of(
        r"\+81", r"[0〇](?:[- ー)(]{0,3}[\d〇一二三四五六七八九]){7}"),
}


def fast_trigger(pattern: str) -> Trigger:
    """A test equal to `re.search(pattern, scan.view) is not None`, cheaper where known."""
    known = _KNOWN.get(pattern)
    if known is not None:
        return known
    regex = re.compile(pattern)
    return lambda scan: regex.search(scan.view) is not None


def is_known(pattern: str) -> bool:
    """Whether `fast_trigger(pattern)` is one of the cheaper tests (for the tests)."""
    return pattern in _KNOWN

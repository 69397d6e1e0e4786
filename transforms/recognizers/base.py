"""What every Japanese pattern recognizer shares: digit/ASCII look-arounds and a cheap trigger.

`\\b` never fires between kana/kanji and ASCII (both are word characters), so patterns bound
numbers with look-arounds instead: no digit, ASCII letter or number-joining punctuation on either
side. Each recognizer also names a `trigger`, a loose stdlib-`re` test the PII stage runs first
so a recognizer whose characters cannot occur in a document is skipped without presidio's
per-recognizer overhead.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex
from presidio_analyzer import Pattern, PatternRecognizer

from transforms.recognizers.triggers import ViewScan, fast_trigger

# A number starts where no digit, ASCII letter/underscore/plus, or "letter/digit + joiner" precedes
# it (so "ORD-0312345678", "v1.2.3" and "A/123" are not read as identifiers).
NUM_START = r"(?<![0-9A-Za-z_+])(?<![0-9A-Za-z][-./])"
# ... and ends where no digit/letter follows, nor a joiner that continues the number.
NUM_END = r"(?![0-9A-Za-z_])(?![-./][0-9])"
# Characters of Japanese words (kana, kanji and their iteration marks).
JA_CHARS = r"\u3041-\u3096\u30a1-\u30fa\u30fc\u3400-\u4dbf\u4e00-\u9fff々〆ヶ"
# Case matters for letter-bearing identifiers (passports, residence cards): no IGNORECASE.
CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE


class JaPatternRecognizer(PatternRecognizer):
    """A presidio PatternRecognizer for language "ja" with a trigger prefilter.

    Subclasses set ENTITY, PATTERNS ((name, regex, score) triples), CONTEXT and TRIGGER, and may
    override `validate_result` (None keeps the pattern's score, False drops the match).
    """

    ENTITY: str = ""
    PATTERNS: Sequence[tuple[str, str, float]] = ()
    CONTEXT: Sequence[str] = ()
    TRIGGER: str = ""
    FLAGS: int = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE

    def __init__(self) -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language="ja",
            patterns=[Pattern(name, rx, score) for name, rx, score in self.PATTERNS],
            context=list(self.CONTEXT),
            global_regex_flags=self.FLAGS,
        )
        self._trigger = fast_trigger(self.TRIGGER)

    def triggered(self, view: str) -> bool:
        """Whether this recognizer can possibly match `view` (cheap, may say yes wrongly)."""
        return self._trigger(ViewScan(view))

    def triggered_on(self, scan: ViewScan) -> bool:
        """`triggered(scan.view)`, sharing the scan's parts with the other recognizers."""
        return self._trigger(scan)


def digits_of(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())

"""Recognizers whose matches come from one pure function: the entity type's definition.

For the types the residual-PII check also looks for (phones, e-mail addresses, My Numbers,
payment cards), the scrubber and the check must never disagree about what a value is. Each of
those modules therefore defines `find_<type>(view) -> list[Found]`, with its context rules and
final scores inside, and both the presidio recognizer below and `transforms.residual` call that
same function. Context is read from a window of characters around the match, not from MeCab
tokens, so the check (which has no tokens) decides exactly as the recognizer does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar, NamedTuple

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from transforms.recognizers.triggers import ViewScan, fast_trigger

# At this score a finding is certain without any other evidence: the PII stage's default
# threshold, and the level at which the residual check counts a finding.
CERTAIN = 0.5


class Found(NamedTuple):
    """One value of an entity type in a PII view: its span and how sure the definition is."""

    start: int
    end: int
    score: float


def context_words(words: tuple[str, ...]) -> re.Pattern[str]:
    """A case-insensitive alternation of context words, longest first."""
    return re.compile(
        "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE
    )


def near(view: str, start: int, end: int, words: re.Pattern[str], before: int = 24,
         after: int = 8) -> bool:
    """Whether one of `words` stands within `before` characters before the span or `after`
    characters after it, on the same line."""
    head = view[max(0, start - before) : start].rsplit("\n", 1)[-1]
    tail = view[end : end + after].split("\n", 1)[0]
    return words.search(head) is not None or words.search(tail) is not None


class DefinitionRecognizer(EntityRecognizer):
    """A presidio recognizer for language "ja" that reports what `FIND` finds, scores included.

    Subclasses set ENTITY, TRIGGER (a cheap superset test run before presidio) and FIND. No
    presidio context words: the definition has read its context already, and a second boost
    here would make the scrubber and the residual check disagree.
    """

    ENTITY: ClassVar[str] = ""
    TRIGGER: ClassVar[str] = ""
    FIND: ClassVar[Callable[[str], list[Found]]]

    def __init__(self) -> None:
        super().__init__(
            supported_entities=[self.ENTITY], name=type(self).__name__, supported_language="ja"
        )
        self._trigger = fast_trigger(self.TRIGGER)

    def load(self) -> None:
        """Nothing to load: the definition's patterns compile at import."""

    def triggered(self, view: str) -> bool:
        """Whether this recognizer can possibly match `view` (cheap, may say yes wrongly)."""
        return self._trigger(ViewScan(view))

    def triggered_on(self, scan: ViewScan) -> bool:
        """`triggered(scan.view)`, sharing the scan's parts with the other recognizers."""
        return self._trigger(scan)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[
            RecognizerResult]:
        find = type(self).FIND
        return [
            RecognizerResult(
                entity_type=self.ENTITY,
                start=f.start,
                end=f.end,
                score=f.score,
                analysis_explanation=AnalysisExplanation(
                    recognizer=self.name, original_score=f.score,
                    textual_explanation=f"{self.ENTITY} definition",
                ),
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )
            for f in find(text)
        ]

"""A presidio NlpEngine for Japanese backed by the analysis stage's MeCab tokens.

presidio's default engine loads a spaCy model (downloaded: impossible offline) and its Japanese
spaCy pipeline needs SudachiPy. The PII stage already has UniDic tokens (`Document.tokens`), so
`TokenNlpEngine.artifacts(text, tokens)` wraps them as NlpArtifacts without tokenizing again.
Everything is lazy: a document in which no recognizer fires never builds a lemma list.

`ContextEnhancer` is presidio's lemma context enhancement reading those tokens directly
(bisect instead of presidio's linear scan, and no document words in debug logs).
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property

from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine

from schemas.records import Token

LANGUAGE = "ja"
# Function words and symbols never count as context (UniDic's first POS field).
_NON_CONTENT_POS = ("助詞", "助動詞", "補助記号", "記号", "空白")
_STOPWORDS = frozenset(("は", "が", "の", "を", "に", "へ", "と", "で", "や", "も", "か", "よ"))


def context_forms(lemma: str, surface: str) -> tuple[str, ...]:
    """The lowercased forms context words are matched against: lemma (gloss cut) and surface.

    UniDic glosses loanword lemmas ("マイ-my", "カード-card"); both halves are useful.
    """
    forms = {surface.lower(), lemma.lower()}
    if "-" in lemma:
        head, _, gloss = lemma.partition("-")
        forms.update((head.lower(), gloss.lower()))
    forms.discard("")
    return tuple(forms)


class TokenNlpArtifacts(NlpArtifacts):
    """NlpArtifacts over `schemas.records.Token`s; `kura_tokens` is the tuple itself.

    NlpArtifacts' own constructor filters every lemma through the engine at once; these lists
    are built only if a recognizer or the enhancer asks for them.
    """

    def __init__(self, text: str, tokens: Sequence[Token], nlp_engine: NlpEngine) -> None:
        # Deliberately not calling NlpArtifacts.__init__: its attributes are lazy properties here.
        self.text = text
        self.kura_tokens = tokens
        self.entities: list = []
        self.scores: list[float] = []
        self.nlp_engine = nlp_engine
        self.language = LANGUAGE

    @cached_property
    def token_starts(self) -> list[int]:
        starts = getattr(self.kura_tokens, "starts", None)  # analyze.TokenTable's column
        if starts is not None:
            return starts.tolist()
        return [tok.start for tok in self.kura_tokens]

    @cached_property
    def tokens(self) -> list[str]:  # type: ignore[override]
        return [self.text[tok.start : tok.end] for tok in self.kura_tokens]

    @cached_property
    def tokens_indices(self) -> list[int]:  # type: ignore[override]
        return self.token_starts

    @cached_property
    def lemmas(self) -> list[str]:  # type: ignore[override]
        return [tok.lemma or self.text[tok.start : tok.end] for tok in self.kura_tokens]

    @cached_property
    def keywords(self) -> list[str]:  # type: ignore[override]
        return [
            form
            for tok in self.kura_tokens
            if not tok.pos.startswith(_NON_CONTENT_POS)
            for form in context_forms(tok.lemma, self.text[tok.start : tok.end])
        ]

    def context_around(self, start: int, end: int, before: int, after: int) -> list[str]:
        """Context forms of up to `before` content tokens before `start` and `after` after `end`.

        The token holding `start` counts too (context glued to a number: "TEL03-…").
        """
        tokens, starts = self.kura_tokens, self.token_starts
        words: list[str] = []
        i, taken = bisect_right(starts, start) - 1, 0
        while i >= 0 and taken <= before:
            tok = tokens[i]
            if not tok.pos.startswith(_NON_CONTENT_POS):
                words.extend(context_forms(tok.lemma, self.text[tok.start : tok.end]))
                taken += 1
            i -= 1
        i, taken = bisect_left(starts, end), 0
        while i < len(tokens) and taken < after:
            tok = tokens[i]
            if not tok.pos.startswith(_NON_CONTENT_POS):
                words.extend(context_forms(tok.lemma, self.text[tok.start : tok.end]))
                taken += 1
            i += 1
        return words


class TokenNlpEngine(NlpEngine):
    """presidio NlpEngine for "ja" whose artifacts come from already computed tokens.

    `tokenize` is only a fallback for callers that hand presidio plain text (the evaluation,
    ad-hoc use); the PII stage always passes the analysis stage's tokens to `artifacts`.
    """

    def __init__(self, tokenize: Callable[[str], Sequence[Token]] | None = None) -> None:
        self._tokenize = tokenize

    def load(self) -> None:
        """Nothing to load: there is no model."""

    def is_loaded(self) -> bool:
        return True

    def artifacts(self, text: str, tokens: Sequence[Token]) -> TokenNlpArtifacts:
        return TokenNlpArtifacts(text, tokens, self)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        if self._tokenize is None:
            raise ValueError("TokenNlpEngine has no tokenizer: pass artifacts(text, tokens)")
        return self.artifacts(text, self._tokenize(text))

    def process_batch(
        self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1,
        **kwargs,
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return word in _STOPWORDS

    def is_punct(self, word: str, language: str) -> bool:
        return bool(word) and all(unicodedata.category(ch)[0] in "PS" for ch in word)

    def get_supported_entities(self) -> list[str]:
        return []  # no NER model: every entity comes from a recognizer

    def get_supported_languages(self) -> list[str]:
        return [LANGUAGE]


class _OwnResults(list):
    """Results presidio may change in place: `deepcopy` hands back the list itself.

    presidio deep-copies the raw results before enhancing them, defensively; they are the
    current `analyze` call's own fresh objects, and on name-dense text the copy cost as much as
    the enhancement itself.
    """

    def __deepcopy__(self, memo: dict) -> _OwnResults:
        return self


class ContextEnhancer(LemmaContextAwareEnhancer):
    """presidio's lemma context enhancement, reading context from `TokenNlpArtifacts`."""

    def __init__(self, prefix_count: int = 5, suffix_count: int = 2) -> None:
        super().__init__(context_prefix_count=prefix_count, context_suffix_count=suffix_count)

    def enhance_using_context(self, text, raw_results, nlp_artifacts, recognizers,
                              context=None):  # type: ignore[override]
        return super().enhance_using_context(
            text, _OwnResults(raw_results), nlp_artifacts, recognizers, context
        )

    @staticmethod
    def _find_supportive_word_in_context(
        context_list: list[str], recognizer_context_list: list[str],
        matching_mode: str = "substring",
    ) -> str:
        """presidio's substring test, with the context lowercased and joined once instead of
        once per (keyword, context word) pair."""
        if matching_mode != "substring" or not context_list or not recognizer_context_list:
            return LemmaContextAwareEnhancer._find_supportive_word_in_context(
                context_list, recognizer_context_list, matching_mode
            )
        joined = "\x1f".join(context_list).lower()  # no keyword holds \x1f: no match across
        return next((word for word in recognizer_context_list if word.lower() in joined), "")

    def _extract_surrounding_words(
        self, nlp_artifacts: NlpArtifacts, word: str, start: int
    ) -> list[str]:
        if not isinstance(nlp_artifacts, TokenNlpArtifacts):
            return super()._extract_surrounding_words(nlp_artifacts, word, start)
        return nlp_artifacts.context_around(
            start, start + len(word), self.context_prefix_count, self.context_suffix_count
        )


class MecabTokenizer:
    """fugashi + unidic-lite into `Token`s, the way the analysis stage reads them.

    For the evaluation and for presidio callers with plain text only; never used by the stage.
    Build it lazily where it runs: a Tagger cannot be pickled.
    """

    def __init__(self) -> None:
        import fugashi

        self._tagger = fugashi.Tagger()

    def __call__(self, text: str) -> tuple[Token, ...]:
        tokens = []
        pos = 0
        for word in self._tagger(text):
            surface = word.surface
            start = text.find(surface, pos) if surface else pos
            if start < 0:  # MeCab dropped or altered something: stay aligned
                start = pos
            end = start + len(surface)
            fields = word.feature_raw.split(",")
            lemma = fields[7] if len(fields) > 7 and fields[7] != "*" else surface
            tokens.append(Token(start, end, ",".join(fields[:4]), lemma))
            pos = end
        return tuple(tokens)

"""The PII stage: find Japanese PII with presidio, replace it, keep counts and never the values.

`scrub(text, tokens, engine)` is the pure core: recognizers run on the PII view of the stored
text (a length-preserving fold, so spans apply to the stored text unchanged), with context from
the analysis stage's tokens; presidio-anonymizer replaces the spans by typed placeholders or
keyed pseudonyms. `PiiStep` wraps it for `ApplyStep`, building the engine once per worker.

Nothing here logs, raises or returns a found value: counts go out, values never do.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from schemas.pii import PiiConfig
from schemas.records import Document, Reject, Token
from transforms.normalize import pii_view
from transforms.pii_nlp import LANGUAGE, ContextEnhancer, TokenNlpEngine
from transforms.recognizers import build_recognizers
from transforms.recognizers.person import JaPersonRecognizer
from transforms.recognizers.triggers import ViewScan

STEP_NAME = "pii"
_PSEUDONYM_HEX_CHARS = 12
# Separators that do not change which person, phone or card a value is.
_NOT_IDENTITY = str.maketrans("", "", " \t-()")


class PiiConfigError(ValueError):
    """The `[pii]` section cannot be used as given; the message names the source, not values."""


def read_secret(config: PiiConfig, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The pseudonym secret named by the config (None in placeholder mode). Read where it is
    used: at launch only to check it is there (`check_secret`), then on each worker."""
    if config.mode != "pseudonym":
        return None
    environ = os.environ if environ is None else environ
    if config.secret_env:
        value = environ.get(config.secret_env, "")
        if not value.strip():
            raise PiiConfigError(
                f"pii.secret_env: environment variable {config.secret_env} is unset or empty; "
                "set it to the corpus's pseudonym secret"
            )
        return value.strip().encode()
    path = Path(config.secret_file or "")
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise PiiConfigError(
            f"pii.secret_file: cannot read {path} ({type(exc).__name__})"
        ) from None
    if not secret:
        raise PiiConfigError(f"pii.secret_file: {path} is empty")
    return secret


def check_secret(config: PiiConfig, environ: Mapping[str, str] | None = None) -> None:
    """Raise the one-line `PiiConfigError` if the secret is missing; the value is dropped."""
    read_secret(config, environ)


def secret_for_step(config: PiiConfig, secret: bytes | None) -> bytes | None:
    """What a step keeps at construction: a secret handed to it in this process, or nothing.
    Without one, the secret named by the config is checked now (a missing one is an error at
    launch) and read again on the worker in `setup()`; it never travels in a pickle."""
    if config.mode != "pseudonym" or secret:
        return secret or None
    check_secret(config)
    return None


def pseudonym(secret: bytes, entity: str, value: str) -> str:
    """`<ENTITY_hex>`: HMAC-SHA256 of the value's identity under the corpus secret.

    The identity ignores width, spaces, hyphens and brackets (and case), so "山田 太郎" and
    "山田太郎", or "090-1234-5678" and "09012345678", get the same token.
    """
    identity = pii_view(value).translate(_NOT_IDENTITY).replace("\u3000", "").casefold()
    digest = hmac.new(secret, f"{entity}\x1f{identity}".encode(), hashlib.sha256).hexdigest()
    return f"<{entity}_{digest[:_PSEUDONYM_HEX_CHARS]}>"


@dataclass(frozen=True)
class Scrubbed:
    """The scrubbed text and how many entities of each type were found (scrubbed or not)."""

    text: str
    counts: Mapping[str, int]


@dataclass(frozen=True)
class PiiEngine:
    """The heavy, unpicklable parts, built once per worker by `build_engine`."""

    config: PiiConfig
    analyzer: AnalyzerEngine
    nlp: TokenNlpEngine
    triggers: tuple[tuple[str, Callable[[ViewScan], bool]], ...]
    person: JaPersonRecognizer | None
    anonymizer: AnonymizerEngine
    operators: Mapping[str, OperatorConfig]
    scrubbed_entities: frozenset[str]


def operators_for(config: PiiConfig, secret: bytes | None) -> dict[str, OperatorConfig]:
    """How each entity type is replaced: a typed placeholder or a keyed pseudonym."""
    if config.mode == "placeholder":
        return {e: OperatorConfig("replace", {"new_value": f"<{e}>"}) for e in config.entities}
    if not secret:
        raise PiiConfigError("pseudonym mode needs the secret named by pii.secret_env/file")

    def make(entity: str) -> Callable[[str], str]:
        return lambda value: pseudonym(secret, entity, value)

    return {e: OperatorConfig("custom", {"lambda": make(e)}) for e in config.entities}


def build_engine(config: PiiConfig, secret: bytes | None = None) -> PiiEngine:
    """The analyzer (offline, "ja", token-backed) and anonymizer for one worker."""
    # presidio logs at debug level with document words in some paths: keep it quiet.
    for name in ("presidio-analyzer", "presidio-anonymizer"):
        logging.getLogger(name).setLevel(logging.WARNING)
    recognizers = build_recognizers(config.detected_entities())
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    nlp = TokenNlpEngine()
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=ContextEnhancer(),
        default_score_threshold=config.score_threshold,
    )
    person = next((r for r in recognizers if isinstance(r, JaPersonRecognizer)), None)
    triggers = tuple(
        (r.supported_entities[0], r.triggered_on) for r in recognizers if r is not person
    )
    return PiiEngine(
        config=config,
        analyzer=analyzer,
        nlp=nlp,
        triggers=triggers,
        person=person,
        anonymizer=AnonymizerEngine(),
        operators=operators_for(config, secret),
        scrubbed_entities=config.scrubbed_entities(),
    )


def _non_overlapping(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """One entity per character: higher score first, then the longer span."""
    kept: list[RecognizerResult] = []
    for res in sorted(results, key=lambda r: (-r.score, r.start - r.end, r.start)):
        if all(res.end <= k.start or res.start >= k.end for k in kept):
            kept.append(res)
    return sorted(kept, key=lambda r: r.start)


def find_pii(view: str, tokens: Sequence[Token], engine: PiiEngine) -> list[RecognizerResult]:
    """Entities found on the PII view, above the threshold, without overlaps."""
    scan = ViewScan(view)  # what several triggers share, computed once
    active = [entity for entity, triggered in engine.triggers if triggered(scan)]
    if engine.person is not None and engine.person.has_name_evidence(view, tokens):
        active.append("PERSON")
    if not active:  # the common case on clean text: presidio never runs
        return []
    results = engine.analyzer.analyze(
        text=view,
        language=LANGUAGE,
        entities=active,
        nlp_artifacts=engine.nlp.artifacts(view, tokens),
        score_threshold=engine.config.score_threshold,
    )
    return _non_overlapping(results)


def scrub(text: str, tokens: Sequence[Token] | None, engine: PiiEngine) -> Scrubbed:
    """Replace the PII in the stored `text` (its analysis `tokens` give context and names)."""
    view = pii_view(text)
    found = find_pii(view, tokens or (), engine)
    if not found:
        return Scrubbed(text, {})
    counts = dict(sorted(Counter(r.entity_type for r in found).items()))
    to_replace = [r for r in found if r.entity_type in engine.scrubbed_entities]
    if not to_replace:
        return Scrubbed(text, counts)
    anonymized = engine.anonymizer.anonymize(
        text=text, analyzer_results=to_replace, operators=dict(engine.operators)
    )
    return Scrubbed(anonymized.text, counts)


class PiiStep:
    """Step "pii": scrubs `Document.text`, sets `Document.pii` counts, drops the stale tokens.

    Picklable until `setup()`. The pseudonym secret is never pickled: the step holds only the
    config, which names where the secret is (`pii.secret_env` / `pii.secret_file`), and
    `setup()` reads it on the worker. A secret passed in is used in this process only.
    """

    name = STEP_NAME

    def __init__(self, config: PiiConfig, secret: bytes | None = None) -> None:
        self._config = config
        self._secret = secret_for_step(config, secret)
        self._engine: PiiEngine | None = None

    def __getstate__(self) -> dict:
        # The engine is rebuilt in setup(); the secret (and the engine's keyed operators) stay.
        return {**self.__dict__, "_engine": None, "_secret": None}

    def setup(self) -> None:
        if self._engine is None:
            secret = self._secret or read_secret(self._config)
            self._engine = build_engine(self._config, secret)

    def __call__(self, doc: Document) -> Document | Reject:
        self.setup()
        try:
            result = scrub(doc.text, doc.tokens, self._engine)
        except Exception as exc:  # presidio messages may quote the text: keep the type only
            return Reject(STEP_NAME, {"rule": "pii.error", "error": type(exc).__name__})
        return replace(doc, text=result.text, pii=dict(result.counts), tokens=None)

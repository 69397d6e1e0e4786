"""The per-document residual-PII gate: after scrubbing, before any shard is written.

A document in which the residual definition (`transforms.residual`) still finds a value is
scrubbed again, with the same definition and the corpus's own replacement (placeholder or keyed
pseudonym). If that cannot settle it (the manifest leaves that entity type unscrubbed, or the
replacement left something the definition still reads as PII), the document alone is
quarantined as a reject of step `validate.residual_pii`, with the entity types and counts and
never the values. The shard suite stays the last gate; on what passes here it passes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from presidio_analyzer import RecognizerResult
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from schemas.pii import PiiConfig
from schemas.records import Document, Reject
from schemas.run import RESIDUAL_PII_CHECK
from transforms.pii import operators_for, read_secret, secret_for_step
from transforms.residual import Residual, find_residual_pii

STEP_NAME = RESIDUAL_PII_CHECK
_MAX_ROUNDS = 16


def _non_overlapping(found: list[Residual]) -> list[Residual]:
    kept: list[Residual] = []
    for residual in sorted(found, key=lambda r: (r.start, -r.end)):
        if not kept or residual.start >= kept[-1].end:
            kept.append(residual)
    return kept


class ResidualPiiGate:
    """Step "validate.residual_pii": scrub what the PII stage left, or quarantine the document.

    Picklable until `setup()`; like the PII step it never pickles the pseudonym secret: it holds
    the config that names where the secret is, and `setup()` reads it on the worker.
    """

    name = STEP_NAME

    def __init__(self, config: PiiConfig, secret: bytes | None = None) -> None:
        self._config = config
        self._secret = secret_for_step(config, secret)
        self._scrubbed = config.scrubbed_entities()
        self._anonymizer: AnonymizerEngine | None = None
        self._operators: dict[str, OperatorConfig] = {}

    def __getstate__(self) -> dict:
        # The keyed operators close over the secret: rebuilt in setup(), like the anonymizer.
        return {**self.__dict__, "_anonymizer": None, "_operators": {}, "_secret": None}

    def setup(self) -> None:
        if self._anonymizer is None:
            secret = self._secret or read_secret(self._config)
            self._anonymizer = AnonymizerEngine()
            self._operators = operators_for(self._config, secret)

    def _rescrub(self, text: str, found: list[Residual]) -> str:
        self.setup()
        results = [
            RecognizerResult(r.entity, r.start, r.end, 1.0)
            for r in _non_overlapping(found) if r.entity in self._scrubbed
        ]
        if not results:
            return text
        return self._anonymizer.anonymize(
            text=text, analyzer_results=results, operators=dict(self._operators)
        ).text

    def __call__(self, doc: Document) -> Document | Reject:
        found = find_residual_pii(doc.text)
        if not found:
            return doc
        text, scrubbed = doc.text, Counter[str]()
        # A replacement can expose a neighbour that the digits before it had hidden
        # ("...5678+81 90 ..."): repeat until nothing is left or nothing more can be replaced.
        left = found
        for _ in range(_MAX_ROUNDS):
            rescrubbed = self._rescrub(text, left)
            if rescrubbed == text:
                break
            scrubbed.update(r.entity for r in _non_overlapping(left)
                            if r.entity in self._scrubbed)
            text = rescrubbed
            left = find_residual_pii(text)
            if not left:
                break
        if left:
            by_entity = dict(sorted(Counter(r.entity for r in left).items()))
            return Reject(STEP_NAME, {
                "doc_id": doc.doc_id,
                "column": "text",
                "entities": by_entity,
                "count": len(left),
            })
        pii = Counter(doc.pii)
        pii.update(scrubbed)
        return replace(doc, text=text, pii=dict(sorted(pii.items())))

"""The one Beam wrapper every document step uses.

A step is a plain object: `setup()` builds its heavy parts once per worker, and calling it on a
`Document` returns the next `Document` or a `Reject`. `ApplyStep` routes rejects to a tagged
output with the record's locator, and counts kept and rejected documents under the step's name,
so no step writes its own counter or reject path and conservation holds by construction.
"""

from __future__ import annotations

import logging
from typing import Protocol

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from schemas.records import Document, Reject, rejected

REJECTS = "rejects"
log = logging.getLogger(__name__)


class Step(Protocol):
    name: str

    def setup(self) -> None: ...

    def __call__(self, doc: Document) -> Document | Reject: ...


class _StepFn(beam.DoFn):
    def __init__(self, step: Step) -> None:
        self._step = step
        self._kept = Metrics.counter(step.name, "kept")
        self._rejected = Metrics.counter(step.name, "rejected")

    def setup(self) -> None:
        self._step.setup()

    def process(self, doc: Document):
        try:
            result = self._step(doc)
        except Exception as exc:  # a step's bug must not lose the record: quarantine it
            # The exception's message may quote document text: log and store its type only.
            log.error("step %s failed on %s record %d: %s", self._step.name, doc.source_uri,
                      doc.locator, type(exc).__name__)
            result = Reject(self._step.name, {"error": type(exc).__name__})
        if isinstance(result, Reject):
            self._rejected.inc()
            raw = b"" if result.withhold_raw else doc.text.encode("utf-8", "surrogatepass")
            yield TaggedOutput(REJECTS, rejected(doc, result, raw))
        else:
            self._kept.inc()
            yield result


class ApplyStep(beam.PTransform):
    """`docs | "Normalize" >> ApplyStep(step)` gives `(kept_docs, rejects)`."""

    def __init__(self, step: Step) -> None:
        super().__init__()
        self._step = step

    def expand(self, docs):
        out = docs | beam.ParDo(_StepFn(self._step)).with_outputs(REJECTS, main="docs")
        return out.docs, out[REJECTS]

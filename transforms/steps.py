"""The one Beam wrapper every document step uses.

A step is a plain object: `setup()` builds its heavy parts once per worker, and calling it on a
`Document` returns the next `Document` or a `Reject`. `ApplyStep` routes rejects to a tagged
output with the record's locator, and counts kept and rejected documents under the step's name,
so no step writes its own counter or reject path and conservation holds by construction.

`ApplySteps` runs a chain of steps over batches of documents, step by step, instead of taking
each document through the whole chain before the next. Why: the steps are fused into one Beam
stage, and a document at a time makes each step evict the others' working sets from the CPU's
caches (MeCab's dictionary and connection matrix above all). Measured on 1,500-2,000 man-page
documents, the same steps cost 0.83-0.89x their document-at-a-time CPU in batches of 8-128
documents (bench/pipeline_steps.py). A step's result never depends on its batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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


# Documents per batch are bounded by characters, so a batch of long documents stays small.
BATCH_CHARS = 256_000


class _StepFn(beam.DoFn):
    def __init__(self, step: Step) -> None:
        self._step = step
        self._kept = Metrics.counter(step.name, "kept")
        self._rejected = Metrics.counter(step.name, "rejected")

    def setup(self) -> None:
        self._step.setup()

    def _apply(self, doc: Document) -> Document | TaggedOutput:
        """The step's document, or its reject row on the rejects output."""
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
            return TaggedOutput(REJECTS, rejected(doc, result, raw))
        self._kept.inc()
        return result

    def process(self, doc: Document):
        yield self._apply(doc)


class _BatchStepFn(_StepFn):
    """The step over a batch (a list of documents): the kept ones as one batch."""

    def process(self, batch: list[Document]):
        kept: list[Document] = []
        for doc in batch:
            result = self._apply(doc)
            if isinstance(result, TaggedOutput):
                yield result
            else:
                kept.append(result)
        if kept:
            yield kept


class ApplyStep(beam.PTransform):
    """`docs | "Normalize" >> ApplyStep(step)` gives `(kept_docs, rejects)`."""

    def __init__(self, step: Step) -> None:
        super().__init__()
        self._step = step

    def expand(self, docs):
        out = docs | beam.ParDo(_StepFn(self._step)).with_outputs(REJECTS, main="docs")
        return out.docs, out[REJECTS]


def _chars(doc: Document) -> int:
    return len(doc.text) + 1  # an empty document still counts toward its batch


class ApplySteps(beam.PTransform):
    """`docs | ApplySteps(steps)` gives `(kept_docs, [rejects of each step])`: each step runs
    over batches of at most `batch_chars` characters (a longer document is a batch alone),
    under the step's label (`step.label`, else its name, capitalized)."""

    def __init__(self, steps: Sequence[Step], batch_chars: int = BATCH_CHARS) -> None:
        super().__init__()
        self._steps = tuple(steps)
        self._batch_chars = batch_chars

    def expand(self, docs):
        batches = docs | "BatchDocuments" >> beam.BatchElements(
            min_batch_size=self._batch_chars, max_batch_size=self._batch_chars,
            element_size_fn=_chars, record_metrics=False)
        rejects = []
        for step in self._steps:
            label = getattr(step, "label", step.name)  # two steps may share a name (rejects)
            out = batches | label.capitalize() >> beam.ParDo(
                _BatchStepFn(step)).with_outputs(REJECTS, main="docs")
            batches = out.docs
            rejects.append(out[REJECTS])
        return batches | "UnbatchDocuments" >> beam.FlatMap(iter), rejects

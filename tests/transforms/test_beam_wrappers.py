from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, replace

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import Document, Reject, SourceFile
from transforms.ingest_beam import ReadSources
from transforms.steps import ApplyStep, ApplySteps


def doc(doc_id: str, text: str) -> Document:
    return Document(doc_id=doc_id, corpus_id="c", member="m", source_uri="file:///s",
                    source_sha256="0" * 64, locator=int(doc_id), text=text)


@dataclass
class UpperUnlessShort:
    """A step for testing the wrapper: rejects short texts, upper-cases the rest."""

    name: str = "upper"
    ready: bool = False

    def setup(self) -> None:
        self.ready = True

    def __call__(self, d: Document) -> Document | Reject:
        assert self.ready, "setup() must run before the first element"
        if len(d.text) < 3:
            return Reject("upper.too_short", {"min": 3, "value": len(d.text)})
        return replace(d, text=d.text.upper())


@dataclass
class Explodes:
    name: str = "explodes"

    def setup(self) -> None:
        pass

    def __call__(self, d: Document) -> Document:
        raise ValueError(f"secret text {d.text}")


def test_apply_step_routes_rejects_with_locator_and_structured_reason() -> None:
    with TestPipeline() as p:
        docs = p | beam.Create([doc("1", "abcd"), doc("2", "ab"), doc("3", "xyz")])
        kept, rejects = docs | ApplyStep(UpperUnlessShort())
        assert_that(kept | "Texts" >> beam.Map(lambda d: d.text), equal_to(["ABCD", "XYZ"]),
                    label="kept")
        assert_that(
            rejects | "Rows" >> beam.Map(lambda r: (r.locator, r.step, json.loads(r.reason),
                                                    r.raw)),
            equal_to([(2, "upper.too_short",
                       {"step": "upper.too_short", "min": 3, "value": 2}, b"ab")]),
            label="rejects",
        )


def test_a_failing_step_quarantines_the_record_without_its_text_in_the_reason() -> None:
    with TestPipeline() as p:
        kept, rejects = p | beam.Create([doc("1", "private")]) | ApplyStep(Explodes())
        assert_that(kept, equal_to([]), label="kept")
        assert_that(rejects | beam.Map(lambda r: r.reason),
                    equal_to(['{"error":"ValueError","step":"explodes"}']), label="rejects")


@dataclass
class DropDigits:
    """A second step: rejects texts holding a digit, reverses the rest."""

    name: str = "digits"

    def setup(self) -> None:
        pass

    def __call__(self, d: Document) -> Document | Reject:
        if any(ch.isdigit() for ch in d.text):
            return Reject("digits.found", {})
        return replace(d, text=d.text[::-1])


@dataclass
class ExplodesOnX:
    name: str = "explodes"

    def setup(self) -> None:
        pass

    def __call__(self, d: Document) -> Document:
        if "X" in d.text:
            raise ValueError(f"secret text {d.text}")
        return d


CHAIN_TEXTS = ["abcd", "ab", "x1yz", "", "long text " * 40, "QRS", "wx", "xyz9", "hello"]


def _chain_by_hand(texts: list[str]) -> tuple[list[str], list[tuple[int, str]]]:
    """The chain applied one document at a time, in plain Python: the reference."""
    kept, rejects = [], []
    for i, text in enumerate(texts):
        d: Document | Reject = doc(str(i), text)
        for step in (UpperUnlessShort(ready=True), DropDigits(), ExplodesOnX()):
            try:
                out = step(d)
            except ValueError:
                out = Reject(step.name, {})
            if isinstance(out, Reject):
                rejects.append((i, out.step))
                break
            d = out
        else:
            kept.append(d.text)
    return kept, rejects


@pytest.mark.parametrize("batch_chars", [1, 7, 60, 1_000_000])
def test_apply_steps_in_batches_equals_each_document_through_the_chain(batch_chars: int) -> None:
    # batch_chars 1: every document alone; 7 and 60: batches cut inside the list, and a
    # document longer than a batch (400 characters) alone; a million: one batch.
    kept_expected, rejects_expected = _chain_by_hand(CHAIN_TEXTS)
    assert kept_expected and len(rejects_expected) >= 3  # the reference exercises all paths
    with TestPipeline() as p:
        docs = p | beam.Create([doc(str(i), t) for i, t in enumerate(CHAIN_TEXTS)])
        kept, rejects = docs | ApplySteps(
            [UpperUnlessShort(), DropDigits(), ExplodesOnX()], batch_chars=batch_chars)
        assert len(rejects) == 3  # one reject output per step, in the chain's order
        assert_that(kept | "Texts" >> beam.Map(lambda d: d.text), equal_to(kept_expected),
                    label="kept")
        assert_that(
            rejects | "AllRejects" >> beam.Flatten()
            | "Rows" >> beam.Map(lambda r: (r.locator, json.loads(r.reason)["step"])),
            equal_to(rejects_expected), label="rejects")
        assert_that(rejects[2] | "Quarantined" >> beam.Map(lambda r: r.reason),
                    equal_to(['{"error":"ValueError","step":"explodes"}']), label="errors")


def test_apply_steps_labels_each_step_in_the_graph() -> None:
    with TestPipeline() as p:
        _ = (p | beam.Create([doc("1", "abcd")])
             | "DocumentSteps" >> ApplySteps([UpperUnlessShort(), DropDigits()]))
    labels = {t.full_label for t in p.transforms_stack[0].parts[-1].parts}
    assert {"DocumentSteps/Upper", "DocumentSteps/Digits"} <= labels


def test_steps_pickle_before_setup() -> None:
    step = pickle.loads(pickle.dumps(UpperUnlessShort()))
    assert step.ready is False


def test_read_sources_reads_each_file_once_and_reports_it(tmp_path) -> None:
    good = tmp_path / "a.jsonl"
    good.write_bytes('{"text": "会議は十時からです。"}\n{"text": 1}\n'.encode("cp932"))
    empty = tmp_path / "b.jsonl"
    empty.write_bytes(b"")
    missing = tmp_path / "gone.jsonl"

    def src(path) -> SourceFile:
        return SourceFile(corpus_id="c", member="m", uri=path.as_uri(), path=str(path),
                          format="jsonl", text_field="text", encoding="auto",
                          max_record_bytes=1000)

    with TestPipeline() as p:
        docs, rejects, reports = (
            p | beam.Create([src(good), src(empty), src(missing)]) | ReadSources()
        )
        assert_that(docs | "DocText" >> beam.Map(lambda d: d.text),
                    equal_to(["会議は十時からです。"]), label="docs")
        assert_that(rejects | "RejectStep" >> beam.Map(lambda r: r.step),
                    equal_to(["ingest.text_field"]), label="rejects")
        assert_that(
            reports | "Status" >> beam.Map(lambda r: (r.uri.rsplit("/", 1)[1], r.status,
                                                      r.encoding, r.records)),
            equal_to([("a.jsonl", "ok", "cp932", 2), ("b.jsonl", "empty", None, 0),
                      ("gone.jsonl", "unreadable", None, 0)]),
            label="reports",
        )

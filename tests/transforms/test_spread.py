"""Documents spread over workers through batch files: the same documents come out."""

from __future__ import annotations

import stat

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import Document, doc_id_for
from transforms.spread import SpreadDocuments, read_batch, write_batch


def documents(n: int) -> list[Document]:
    return [Document(doc_id=doc_id_for("c", "0" * 64, i), corpus_id="c", member="m",
                     source_uri="s.jsonl", source_sha256="0" * 64, locator=i,
                     text="社外秘の文書です。" * (i + 1), signals={"kanji_fraction": 0.5})
            for i in range(n)]


def test_a_batch_round_trips_and_is_readable_by_its_owner_only(tmp_path) -> None:
    docs = documents(5)
    path = write_batch(docs, tmp_path / "spread")
    assert read_batch(path) == docs
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_every_document_comes_out_once_through_many_batches(tmp_path) -> None:
    docs = documents(60)
    with TestPipeline() as p:
        out = (p | beam.Create(docs)
               | SpreadDocuments(str(tmp_path / "spread"), batch_bytes=2000))
        assert_that(out, equal_to(docs))
    assert len(list((tmp_path / "spread").glob("batch-*.pickle"))) > 10

"""bench.pipeline_steps cuts batches as `ApplySteps` does and reports every step both ways."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from bench._common import bench_documents
from bench.pipeline_steps import batches_of, main
from transforms.steps import _chars


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=30), st.integers(1, 60))
def test_batches_keep_every_document_in_order_within_the_bound(lengths, batch_chars):
    docs = bench_documents(["あ" * n for n in lengths])
    batches = batches_of(docs, batch_chars)
    assert [d for batch in batches for d in batch] == docs
    for batch in batches:
        assert batch
        assert len(batch) == 1 or sum(map(_chars, batch)) <= batch_chars


def test_batches_are_those_beam_batch_elements_makes():
    # The same bound through the transform ApplySteps uses, one bundle (empty batches dropped:
    # BatchElements emits one before a document longer than the bound, and a step skips it).
    docs = bench_documents(["a" * n for n in (3, 9, 1, 1, 20, 0, 5, 5, 5)])
    expected = [[d.locator for d in batch] for batch in batches_of(docs, 10)]
    with TestPipeline() as p:
        batches = (p | beam.Create([docs], reshuffle=False) | beam.FlatMap(iter)
                   | beam.BatchElements(min_batch_size=10, max_batch_size=10,
                                        element_size_fn=_chars, record_metrics=False)
                   | beam.Filter(bool) | beam.Map(lambda b: [d.locator for d in b]))
        assert_that(batches, equal_to(expected))


def test_the_benchmark_prints_each_step_one_at_a_time_and_batched(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl"
    texts = ["吾輩は猫である。名前はまだ無い。\n" * 5, "連絡先は yamada@example.com です。",
             "短い。"]
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                              for t in texts), encoding="utf-8")
    main([str(corpus), "--documents", "3", "--rounds", "1", "--batch-chars", "40"])
    out = capsys.readouterr().out
    assert "3 documents" in out
    for step in ("normalize", "analyze", "quality", "pii", "all steps"):
        line = next(line for line in out.splitlines() if line.startswith(step))
        one, many, ratio = map(float, line.split()[-3:])
        assert one >= 0 and many >= 0 and ratio >= 0

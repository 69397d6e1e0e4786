"""The document steps one document at a time against the same steps in batches, on one core.

    .venv/bin/python -m bench.pipeline_steps [CORPUS.jsonl] [--documents N] [--rounds R]
        [--batch-chars C]

A fused Beam stage takes each document through every step (normalize, analyze, quality, PII,
residual gate) before the next, so each step's working set (MeCab's dictionary and connection
matrix above all) is evicted by the others' between two documents. `ApplySteps` runs each step
over a batch first. This prints, from one run, the CPU seconds of each step both ways as a
ratio to bare fugashi tokenization of the same texts (`tagger(text)`, surfaces only), and the
batched/one-at-a-time ratio. The three are interleaved round by round, so a shared machine
disturbs them alike; the steps are those of a default manifest (`document_steps`).
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench._common import bench_documents, corpus_path, load_texts, manpages_manifest
from schemas.records import Document, Reject
from transforms.steps import BATCH_CHARS, Step


def batches_of(docs: Sequence[Document], batch_chars: int) -> list[list[Document]]:
    """Consecutive batches as `ApplySteps` cuts them: a batch closes before the document that
    would take it past `batch_chars` (text length + 1 per document)."""
    batches: list[list[Document]] = []
    current: list[Document] = []
    size = 0
    for doc in docs:
        if current and size + len(doc.text) + 1 > batch_chars:
            batches.append(current)
            current, size = [], 0
        current.append(doc)
        size += len(doc.text) + 1
    return [*batches, current] if current else batches


def step_seconds(steps: Sequence[Step], batches: Sequence[list[Document]]) -> dict[str, float]:
    """CPU seconds of each step over every batch, each batch through step after step."""
    seconds = dict.fromkeys((step.name for step in steps), 0.0)
    for batch in batches:
        for step in steps:
            start = time.process_time()
            batch = [out for out in map(step, batch) if not isinstance(out, Reject)]
            seconds[step.name] += time.process_time() - start
    return seconds


def _cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", help="JSONL with a 'text' field "
                        "(default ../shared/data/manpages-ja.jsonl)")
    parser.add_argument("--documents", type=int, default=1500, help="the corpus's first N")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-chars", type=int, default=BATCH_CHARS)
    args = parser.parse_args(argv)

    import fugashi

    from pipelines.stages import document_steps
    from schemas.manifest import load_manifest

    corpus = corpus_path(args.corpus)
    texts = list(itertools.islice(load_texts(corpus), args.documents))
    docs = bench_documents(texts)
    chars = sum(map(len, texts))
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.toml"
        manifest.write_text(manpages_manifest(corpus))
        steps = document_steps(load_manifest(manifest))
    for step in steps:
        step.setup()
    bare = fugashi.Tagger()

    def bare_tokenization() -> None:
        for text in texts:
            [word.surface for word in bare(text)]

    one_at_a_time = [[doc] for doc in docs]
    batched = batches_of(docs, args.batch_chars)
    bare_total = 0.0
    totals = {"one": dict.fromkeys((s.name for s in steps), 0.0),
              "batched": dict.fromkeys((s.name for s in steps), 0.0)}
    step_seconds(steps, batched[:2])  # untimed: builds the lazy parts (lemma tagger, regexes)
    for round_ in range(args.rounds):
        bare_total += _cpu(bare_tokenization)
        order = ("one", "batched") if round_ % 2 == 0 else ("batched", "one")
        for way in order:
            seconds = step_seconds(steps, one_at_a_time if way == "one" else batched)
            for name, value in seconds.items():
                totals[way][name] += value

    print(f"corpus: {len(texts)} documents, {chars:,} characters; batches of at most "
          f"{args.batch_chars:,} characters: {len(batched)}; {args.rounds} interleaved rounds")
    print(f"{'step':<24} {'one at a time':>14} {'batched':>10} {'batched/one':>12}   "
          "(CPU time / bare fugashi's)")
    for name in totals["one"]:
        one, many = totals["one"][name], totals["batched"][name]
        print(f"{name:<24} {one / bare_total:>14.3f} {many / bare_total:>10.3f} "
              f"{many / max(one, 1e-9):>12.3f}")
    one, many = sum(totals["one"].values()), sum(totals["batched"].values())
    print(f"{'all steps':<24} {one / bare_total:>14.3f} {many / bare_total:>10.3f} "
          f"{many / one:>12.3f}")


if __name__ == "__main__":
    main()

"""Normalization + MeCab analysis + quality against bare fugashi tokenization, on one core.

    .venv/bin/python -m bench.text_stages [CORPUS.jsonl] [--repeats N]

Prints, from one run, bare `tagger(text)` throughput (surfaces only: the floor of any pipeline
that reads every token) and Kura's three text stages applied as pipeline steps to the same
texts, in characters per second, per stage and together, and the ratio stages / bare
(the issue's target: >= 0.67, i.e. the stages cost at most 1.5x bare tokenization). Each figure
is the best of N interleaved runs, so a shared machine disturbs both sides alike.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence

from bench._common import bench_documents, corpus_path, load_texts
from schemas.quality import QualityConfig
from schemas.records import Document
from transforms.analyze import AnalyzeStep
from transforms.normalize import NormalizeStep
from transforms.quality import QualityStep


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", help="JSONL with a 'text' field "
                        "(default ../shared/data/manpages-ja.jsonl)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import fugashi

    texts = load_texts(corpus_path(args.corpus))
    docs = bench_documents(texts)
    chars = sum(map(len, texts))
    bare = fugashi.Tagger()
    normalize, analyze, quality = NormalizeStep(), AnalyzeStep(), QualityStep(QualityConfig())
    for step in (normalize, analyze, quality):
        step.setup()

    def bare_tokenization() -> None:
        for text in texts:
            [word.surface for word in bare(text)]

    stage_seconds = {"normalize": float("inf"), "analyze": float("inf"),
                     "quality": float("inf")}
    best_bare = best_total = float("inf")
    kept = 0
    for _ in range(args.repeats):
        best_bare = min(best_bare, _timed(bare_tokenization))
        seconds = dict.fromkeys(stage_seconds, 0.0)
        kept = 0
        for doc in docs:
            # Each document goes through the three steps as a fused Beam stage would run them.
            # Results are dropped as they go, like a pipeline's.
            start = time.perf_counter()
            result = normalize(doc)
            mid = time.perf_counter()
            seconds["normalize"] += mid - start
            if isinstance(result, Document):
                result = analyze(result)
                end = time.perf_counter()
                seconds["analyze"] += end - mid
                mid = end
            if isinstance(result, Document):
                result = quality(result)
                seconds["quality"] += time.perf_counter() - mid
            kept += isinstance(result, Document)
        best_total = min(best_total, sum(seconds.values()))
        for name, value in seconds.items():
            stage_seconds[name] = min(stage_seconds[name], value)
        gc.collect()

    print(f"corpus: {len(texts)} documents, {chars:,} characters; {kept} kept by quality")
    print(f"bare fugashi tagger(text), surfaces   {chars / best_bare:>12,.0f} chars/s")
    for name, value in stage_seconds.items():
        print(f"  {name:<36} {chars / value:>12,.0f} chars/s  "
              f"({value / best_bare:.2f}x bare time)")
    print(f"normalize + analyze + quality         {chars / best_total:>12,.0f} chars/s")
    print(f"ratio stages / bare: {best_bare / best_total:.3f}   (target >= 0.67)")


if __name__ == "__main__":
    main()

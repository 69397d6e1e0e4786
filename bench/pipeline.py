"""The whole curation pipeline on the man-page corpus, against raw MeCab tokenization.

    .venv/bin/python -m bench.pipeline [PATH] [--workers N]

Prints, from one run: raw fugashi tokenization (`tagger(text)`, surfaces only) of the corpus's
texts in characters per second; the whole `kura onboard` (guard, read, normalize, analyze,
quality, PII, dedup, shards, validation, signing) in characters per second of input text; their
ratio; and great-expectations validation time per shard as a fraction of the pipeline's time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import fugashi

from bench._common import best_of, corpus_path, load_texts, manpages_manifest
from pipelines.curate import run_curation
from pipelines.launch import launch
from pipelines.options import RunnerChoice
from schemas.manifest import load_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--shard-mb", type=float, default=2.0)
    args = parser.parse_args()
    path = corpus_path(args.path)
    texts = load_texts(path)
    chars = sum(len(t) for t in texts)
    tagger = fugashi.Tagger()

    def tokenize() -> None:
        for text in texts:
            for word in tagger(text):
                word.surface  # noqa: B018 - reading the surface is the work measured

    raw = best_of(2, tokenize)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest_path = folder / "manifest.toml"
        manifest_path.write_text(manpages_manifest(
            path, extra=f"\n[shards]\ntarget_bytes = {int(args.shard_mb * 1e6)}\n"))
        runner = RunnerChoice(workers=args.workers)
        start = time.perf_counter()
        result = launch(
            load_manifest(manifest_path), manifest_path, folder / "store", runner,
            run=lambda plan, stages, run_id: run_curation(plan, stages, runner, run_id=run_id),
            create_local_site=True,
        )
        pipeline = time.perf_counter() - start
    summary = result.summary
    shards = max(1, len(summary.shards))
    print(f"corpus: {path.name}: {len(texts)} documents, {chars / 1e6:.2f} M characters")
    print(f"raw fugashi tokenization: {chars / raw / 1e6:6.2f} M chars/s")
    print(f"whole pipeline ({args.workers} worker): {chars / pipeline / 1e6:6.2f} M chars/s "
          f"({pipeline:.1f} s)")
    print(f"pipeline throughput as a fraction of raw tokenization: {raw / pipeline:.3f}")
    print(f"counts: {summary.counts.model_dump()}")
    per_shard = result.validation_seconds / shards
    print(f"validation: {shards} shards, {per_shard:.2f} s per shard = {per_shard / pipeline:.2%} "
          f"of the pipeline's time; all shards {result.validation_seconds / pipeline:.1%}; "
          f"plus a one-off great-expectations import and context "
          f"{result.validation_setup_seconds / pipeline:.1%}")


if __name__ == "__main__":
    main()

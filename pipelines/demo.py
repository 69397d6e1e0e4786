"""`kura demo`: the whole product in one command, on a generated member corpus."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from pipelines.democorpus import generate_demo_corpus
from pipelines.options import RunnerChoice
from schemas.manifest import load_manifest


def run_demo(store: Path, corpus_dir: Path, documents: int, runner: RunnerChoice,
             console: Console, run: Callable) -> None:
    from pipelines.cli import summary_table
    from pipelines.launch import launch

    started = time.monotonic()
    corpus = generate_demo_corpus(corpus_dir, documents=documents)
    console.print(f"[bold]1. generated[/] a member corpus of {documents} documents "
                  f"in {corpus_dir}/ (manifest {corpus.manifest_path})")
    manifest = load_manifest(corpus.manifest_path)
    result = launch(manifest, corpus.manifest_path, store, runner,
                    run=lambda plan, stages, run_id: run(plan, stages, runner, run_id),
                    create_local_site=True)
    summary = result.summary
    console.print("[bold]2. onboarded and curated[/] the corpus:")
    console.print(summary_table(summary))
    console.print(f"   shards:  {store / 'shards' / summary.corpus_id}/")
    console.print(f"   rejects: {store / 'rejects' / summary.corpus_id}/")
    console.print(f"   run summary: {store / 'runs' / (summary.run_id + '.json')}")
    console.print(f"demo finished in {time.monotonic() - started:.0f} s")

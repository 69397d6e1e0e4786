"""`kura demo`: the whole product in one command, on a generated member corpus.

generate -> keys and trust policy -> onboard (guard, curate, validate, attest) -> certify a
release -> verify the store -> pull the release -> read it as a trainer would.

The demo made the store's root key (outside the store, in Kura's config folder), so it pins that
root itself: it reads the public half from the private key it holds, never from the store.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from lineage.certified import open_release
from lineage.certify import create_release
from lineage.keys import default_root_key_path, ensure_local_site
from lineage.pull import pull_release
from lineage.release import find_pulled_release_file
from lineage.signing import KeyFileError, load_private_key
from lineage.verify import verify_store
from pipelines.democorpus import generate_demo_corpus
from pipelines.options import RunnerChoice
from pipelines.outcome import quarantine_lines, summary_table
from schemas.manifest import load_manifest

RELEASE_NAME = "acme-demo-r1"


class DemoError(RuntimeError):
    """A step of the demo did not hold; the message says which."""


# Written into every store the demo creates: only such a store may be wiped by the demo.
DEMO_MARKER = ".kura-demo-store"


def prepare_demo_store(store: Path, fresh: bool) -> None:
    """Make `store` ready for the demo: create it, or (with `fresh`) empty one the demo made.

    A folder the demo did not create is never touched: a real store, or anything else.
    """
    if store.exists() and (not store.is_dir() or any(store.iterdir())):
        if not (store / DEMO_MARKER).is_file():
            raise DemoError(f"--store {store} exists and is not a demo store; the demo never "
                            "touches a store it did not create: give it a new folder")
        if fresh:
            shutil.rmtree(store)
    store.mkdir(parents=True, exist_ok=True)
    (store / DEMO_MARKER).write_text("created by `kura demo`; `kura demo` may replace it\n")


def run_demo(store: Path, corpus_dir: Path, documents: int, runner: RunnerChoice,
             console: Console, run: Callable, pull_dir: Path | None = None) -> dict[str, Any]:
    """The whole product on a generated corpus; returns what it made, for `kura demo --json`."""
    from pipelines.launch import launch

    started = time.monotonic()
    say = console.print
    corpus = generate_demo_corpus(corpus_dir, documents=documents)
    say(f"[bold]1. generated[/] {documents} Japanese business documents with planted PII, "
        f"duplicates and broken records: {corpus.manifest_path.parent}/")

    site = ensure_local_site(store)
    root_path = site.root_key_path or default_root_key_path(site.policy.root_keys[0].keyid)
    try:
        pinned = load_private_key(root_path).public_key
    except KeyFileError as exc:
        raise DemoError(f"the demo's root key is gone ({exc}); run `kura demo --fresh`") from None
    say(f"[bold]2. keys and trust policy[/] for site {site.site_id} (onprem, JP, {site.region}):"
        f" {store / 'keys'}/; root key kept outside the store: {root_path}")

    manifest = load_manifest(corpus.manifest_path)
    result = launch(manifest, corpus.manifest_path, store, runner,
                    run=lambda plan, stages, run_id: run(plan, stages, runner, run_id),
                    create_local_site=True)
    summary = result.summary
    say("[bold]3. onboarded[/] the corpus: residency guard passed, curated, validated, attested")
    say(summary_table(summary))
    for line in quarantine_lines(summary):
        say(f"   {line}")
    failed = [path for path, check in summary.validation.items() if not check.passed]
    say(f"   shards:       {store / 'shards' / summary.corpus_id}/ ({len(summary.shards)}, "
        f"{len(failed)} quarantined)")
    say(f"   rejects:      {store / 'rejects' / summary.corpus_id}/")
    say(f"   duplicates:   {store / 'duplicates' / summary.corpus_id}/")
    say(f"   validation:   {store / 'validation' / summary.corpus_id}/")
    say(f"   run summary:  {store / 'runs' / (summary.run_id + '.json')}")
    say(f"   report:       {result.report}")
    say(f"   lineage log:  {store / 'lineage' / 'log.jsonl'} "
        f"(tree size {result.recorded.tree_size})")

    created = create_release(store, RELEASE_NAME, trust_root=pinned)
    release = created.release
    say(f"[bold]4. certified[/] release {release.release}: {len(release.shards)} shards signed "
        f"by certifier {release.certifier_id} at log index {release.log_index}: "
        f"{store / 'releases' / (RELEASE_NAME + '.json')}")

    report = verify_store(store, trust_root=pinned)
    if not report.ok:
        raise DemoError("audit verify failed: " + "; ".join(report.failures()[:3]))
    say(f"[bold]5. verified[/] the store: {len(report.checks)} checks hold over "
        f"{report.log_size} log records in {report.seconds:.2f} s (`kura audit verify`)")

    pull_dir = pull_dir or store.parent / "pulled"
    if pull_dir.exists():
        if find_pulled_release_file(pull_dir) is None:
            raise DemoError(f"{pull_dir} exists and holds no pulled release; the demo replaces "
                            "only its own pulled copy: move that folder away")
        shutil.rmtree(pull_dir)
    pulled = pull_release(store, RELEASE_NAME, pull_dir, trust_root=pinned)
    dataset = open_release(store, RELEASE_NAME, trust_root=pinned)
    rows = dataset.count_rows()
    say(f"[bold]6. pulled[/] {len(pulled.shards)} verified shards ({pulled.bytes_copied:,} bytes)"
        f" to {pull_dir}/ with a dataset card, {pulled.card}; "
        f"`lineage.certified.open_release` reads {rows:,} documents")
    if rows != summary.counts.written - sum(
        summary.shards[i].rows for i, s in enumerate(summary.shards) if s.path in failed
    ):
        raise DemoError(f"the release holds {rows} documents, the run wrote "
                        f"{summary.counts.written}")
    seconds = time.monotonic() - started
    say(f"demo finished in {seconds:.0f} s")
    return {
        "store": str(store), "corpus": str(corpus.manifest_path.parent),
        "corpusId": summary.corpus_id, "runId": summary.run_id, "report": str(result.report),
        "counts": summary.counts.model_dump(mode="json"), "release": release.release,
        "logIndex": release.log_index, "pulled": str(pull_dir), "datasetCard": str(pulled.card),
        "rows": rows, "logRecords": report.log_size, "seconds": round(seconds, 1),
    }

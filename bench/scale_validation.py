"""The validation stage alone, serial against a pool of workers, on a published store's shards.

    .venv/bin/python -m bench.scale_validation --store STORE [--workers 1,2] [--repeat 2]

Takes the store's latest run with shards, copies those shards into a scratch staging folder per
measurement (validation moves failing shards to quarantine/), and times `validate_run` with each
worker count in a fresh process (so great-expectations' import and context are paid as a run
pays them), the counts interleaved so that load on a shared machine hits each alike. Prints
wall seconds, the peak RSS of the measuring process tree, and the speed-up of each count over
the first; exit 1 if any count's result digests or quarantine decisions differ from the first's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scale_run import TreeSampler
from pipelines.validation import validate_run
from schemas.manifest import load_manifest
from schemas.run import RunSummary


def latest_run(store: Path) -> RunSummary:
    for path in sorted((store / "runs").glob("*.json"), reverse=True):
        summary = RunSummary.model_validate_json(path.read_text())
        if summary.shards:
            return summary
    raise SystemExit(f"{store}: no run with shards")


def staged_copy(store: Path, summary: RunSummary, scratch: Path) -> RunSummary:
    """The run's shards (where validation left them) under `scratch`, as staging lays them out."""
    shards = []
    for stored in summary.shards:
        name = Path(stored.path).name
        target = scratch / "shards" / summary.corpus_id / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store / stored.path, target)
        shards.append(stored.model_copy(update={"path": str(target.relative_to(scratch))}))
    return summary.model_copy(update={"shards": shards, "validation": {}, "quarantined": []})


def measure_here(store: Path, workers: int, scratch: Path) -> dict:
    """One measurement in this process (a fresh one: see `measure`)."""
    summary = latest_run(store)
    staged = staged_copy(store, summary, scratch)
    manifest = load_manifest(store / "manifests" / f"{summary.corpus_id}.toml")
    sampler = TreeSampler(os.getpid(), 0.1)
    sampler.start()
    started = time.perf_counter()
    validated = validate_run(scratch, staged, manifest, workers=workers)
    wall = time.perf_counter() - started
    sampler.stop()
    shutil.rmtree(scratch)
    return {"workers": workers, "wall": wall, "setup": validated.setup_seconds,
            "peak": sampler.peak_bytes,
            "outcome": [[Path(p).name, v.passed, v.result_digest]
                        for p, v in validated.validations.items()]}


def measure(store: Path, workers: int, scratch: Path) -> dict:
    command = [sys.executable, "-m", "bench.scale_validation", "--store", str(store),
               "--one", str(workers), "--scratch", str(scratch)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one measurement, as JSON
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if args.one:
        print(json.dumps(measure_here(args.store, args.one, args.scratch)))
        return 0
    counts = [int(w) for w in args.workers.split(",")]
    summary = latest_run(args.store)
    mb = sum(s.bytes for s in summary.shards) / 1e6
    print(f"{len(summary.shards)} shards, {summary.counts.written:,} documents, {mb:.1f} MB; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    best: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="kura-validation-") as tmp:
        for attempt in range(args.repeat):
            for workers in counts:
                figures = measure(args.store, workers, Path(tmp) / f"{workers}-{attempt}")
                print(f"  {workers} worker(s): {figures['wall']:.2f} s (setup "
                      f"{figures['setup']:.2f} s), peak RSS {figures['peak'] / 1e9:.2f} GB")
                if workers not in best or figures["wall"] < best[workers]["wall"]:
                    best[workers] = figures
    first = best[counts[0]]
    same = True
    for workers in counts[1:]:
        figures = best[workers]
        identical = figures["outcome"] == first["outcome"]
        same = same and identical
        print(f"{workers} workers over {counts[0]}: {first['wall'] / figures['wall']:.2f}x "
              f"(best of {args.repeat}); peak RSS {figures['peak'] / first['peak']:.2f}x; "
              f"results {'identical' if identical else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

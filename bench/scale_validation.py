"""The validation stage alone, serial against a pool of workers, on a published store's shards.

    .venv/bin/python -m bench.scale_validation --store STORE [--workers 1,2] [--repeat 2]

Takes the store's latest run with shards, copies those shards into a scratch staging folder per
measurement (validation moves failing shards to quarantine/), and times `validate_run` with each
worker count in a fresh process (so great-expectations' import and context are paid as a run
pays them), the counts interleaved so that load on a shared machine hits each alike. Prints
wall seconds, the peak RSS of the measuring process tree, and the speed-up of each count over
the first; exit 1 if any count's result digests or quarantine decisions differ from the first's.

    .venv/bin/python -m bench.scale_validation --corpus JSONL --shard-mb 15,120 [--repeat 2]

Memory against shard size: writes one shard (the shard schema, Kura's writer) from the first
MB of the corpus's documents for each size, validates each in a fresh process and prints its
peak RSS, the growth over the process's RSS after great-expectations' setup, CPU seconds, and
each shard's peak as a ratio to the first's (validation streams a shard in bounded slices, so
the ratio should stay near 1).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.run import RunSummary

# The pipeline's modules (Beam among them) are imported where they are used: a process that
# measures one shard's validation imports only what validation needs, so its peak RSS is
# validation's.


def latest_run(store: Path) -> RunSummary:
    from schemas.run import RunSummary

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
    from bench.scale_run import TreeSampler
    from pipelines.validation import validate_run
    from schemas.manifest import load_manifest

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


def write_corpus_shard(corpus: Path, megabytes: float, path: Path) -> int:
    """A shard of the corpus's first `megabytes` of JSONL, with the shard schema: rows."""
    import pyarrow as pa

    from schemas.records import DOCUMENT_SCHEMA, QUALITY_SIGNALS, doc_id_for
    from transforms.shards import write_table_atomically

    rows, size = [], 0
    with corpus.open("rb") as lines:
        for i, line in enumerate(lines):
            size += len(line)
            if size > megabytes * 1e6:
                break
            text = json.loads(line)["text"]
            rows.append({
                "doc_id": doc_id_for("bench", "00" * 32, i), "corpus_id": "bench",
                "member": "bench", "source_uri": corpus.as_uri(), "source_sha256": "00" * 32,
                "locator": i, "text": text, "char_count": len(text), "lang": "ja",
                "token_count": len(text) // 2, **{name: 0.5 for name in QUALITY_SIGNALS},
                "pii": [], "dup_cluster": None, "pipeline_version": "bench",
            })
    write_table_atomically(pa.Table.from_pylist(rows, schema=DOCUMENT_SCHEMA), path, 8192,
                           "bench")
    return len(rows)


def peak_rss_bytes() -> int:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a
    child spawned by a big parent would report the parent's peak."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure_shard_here(path: Path) -> dict:
    """Validate one shard file in this (fresh) process: peak RSS and CPU."""
    from schemas.expectations import ShardBounds
    from transforms.validate import ShardValidator

    validator = ShardValidator(ShardBounds())
    validator.setup()
    after_setup = peak_rss_bytes()
    started = time.process_time()
    result = validator.validate_file(path)
    cpu = time.process_time() - started
    peak = peak_rss_bytes()
    return {"peak": peak, "growth": peak - after_setup, "cpu": cpu,
            "digest": result.result_digest}


def measure_shard_sizes(corpus: Path, sizes: list[float], repeat: int) -> int:
    with tempfile.TemporaryDirectory(prefix="kura-validation-") as tmp:
        paths = []
        for megabytes in sizes:
            path = Path(tmp) / f"shard-{megabytes:g}mb.parquet"
            rows = write_corpus_shard(corpus, megabytes, path)
            print(f"shard of {megabytes:g} MB of input: {rows:,} documents, "
                  f"{path.stat().st_size / 1e6:.1f} MB of Parquet")
            paths.append(path)
        best: dict[Path, dict] = {}
        for _ in range(repeat):
            for path in paths:
                command = [sys.executable, "-m", "bench.scale_validation", "--shard-file",
                           str(path)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"  {path.name}: peak RSS {figures['peak'] / 1e6:.0f} MB (validation "
                      f"added {figures['growth'] / 1e6:.0f} MB), CPU {figures['cpu']:.2f} s")
                if path not in best or figures["peak"] < best[path]["peak"]:
                    best[path] = figures
        first = best[paths[0]]
        for path in paths[1:]:
            print(f"{path.name} over {paths[0].name}: peak RSS "
                  f"{best[path]['peak'] / first['peak']:.3f}x (lowest of {repeat})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--corpus", type=Path, help="JSONL of {\"text\": ...} documents")
    parser.add_argument("--shard-mb", default="15,120", help="shard sizes in MB of input")
    parser.add_argument("--shard-file", type=Path, help=argparse.SUPPRESS)  # one, as JSON
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one measurement, as JSON
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    if args.shard_file:
        print(json.dumps(measure_shard_here(args.shard_file)))
        return 0
    if args.corpus:
        return measure_shard_sizes(args.corpus, [float(m) for m in args.shard_mb.split(",")],
                                   args.repeat)
    if args.store is None:
        parser.error("give --store STORE or --corpus JSONL")
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

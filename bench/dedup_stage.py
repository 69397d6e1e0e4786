"""The dedup stage alone on a JSONL corpus: wall time and peak RSS against the same pipeline
without dedup, and optionally against another code tree (a "before" copy), in one run.

    .venv/bin/python bench/dedup_stage.py --corpus CORPUS/part-000.jsonl [--workers 1]
        [--code DIR ...] [--prior-corpus FILE.jsonl] [--repeats 1]

Each measurement runs in a fresh process: read the JSONL lines, build Documents with the
matching key (stored text, then matching key, as the pipeline does), then either count them
(the floor) or apply `Deduplicate` with a signatures directory. Peak RSS is of the whole process
tree (multi_processing workers included), sampled as bench.scale does. The figure that matters
is dedup's share: seconds and RSS above the floor, and their ratio between code trees.
With --prior-corpus, that corpus is deduplicated first into a store, and the measured run is
store-wide against its signature files (what `[dedup] scope = "store"` does).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def child(corpus: str, workers: int, mode: str, out: str, prior_dir: str | None,
          corpus_id: str) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from schemas.dedup import DedupConfig
    from schemas.records import Document
    from transforms.dedup_beam import Deduplicate
    from transforms.normalize import matching_key, stored_text

    def document(line: str) -> Document:
        record = json.loads(line)
        text = stored_text(record["text"])
        return Document(doc_id=f"{corpus_id}-{record['id']}", corpus_id=corpus_id, member="m",
                        source_uri="bench://corpus", source_sha256="0" * 64, locator=0,
                        text=text, match_key=matching_key(text))

    options = PipelineOptions(["--direct_num_workers", str(workers), "--direct_running_mode",
                               "multi_processing" if workers > 1 else "in_memory"])
    prior = sorted(str(p) for p in Path(prior_dir).glob("*/*.parquet")) if prior_dir else []
    Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with beam.Pipeline(runner="DirectRunner", options=options) as p:
        docs = p | beam.io.ReadFromText(corpus) | beam.Map(document)
        if mode == "floor":
            kinds = docs | beam.Map(lambda d: "floor")
        else:
            kinds = (docs
                     | Deduplicate(DedupConfig(), corpus_id, prior_signatures=prior,
                                   signatures_dir=Path(out) / "signatures" / corpus_id,
                                   scratch_dir=out)
                     | beam.Map(lambda v: v.kind))
        _ = (kinds | beam.combiners.Count.PerElement()
             | beam.combiners.ToList()
             | beam.Map(lambda counts: Path(out, "kinds.json").write_text(
                 json.dumps(dict(sorted(counts))))))
    seconds = time.perf_counter() - start
    kinds_file = Path(out, "kinds.json")
    counts = json.loads(kinds_file.read_text()) if kinds_file.exists() else {}
    print(json.dumps({"seconds": seconds, "kinds": counts}))


def measure(code: Path, corpus: Path, workers: int, mode: str, work: Path,
            prior_dir: Path | None = None, corpus_id: str = "bench") -> dict:
    sys.path.insert(0, str(HERE.parents[1]))
    from bench.scale_run import TreeSampler

    env = dict(os.environ, PYTHONPATH=str(code))
    args = [sys.executable, str(HERE), "--child", "--corpus", str(corpus), "--workers",
            str(workers), "--mode", mode, "--out", str(work), "--corpus-id", corpus_id]
    if prior_dir is not None:
        args += ["--prior-dir", str(prior_dir)]
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=str(code))
    sampler = TreeSampler(proc.pid, 0.1)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.stop()
    if proc.returncode:
        raise SystemExit(f"{code} {mode}: exit {proc.returncode}\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(wall=time.perf_counter() - start, peak_mb=sampler.peak_bytes / 2**20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--code", action="append", default=[],
                        help="code trees to compare (default: this one)")
    parser.add_argument("--prior-corpus", help="dedup this corpus first; measure store-wide")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="dedup", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--prior-dir", help=argparse.SUPPRESS)
    parser.add_argument("--corpus-id", default="bench", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.corpus, args.workers, args.mode, args.out, args.prior_dir, args.corpus_id)
        return
    codes = [Path(c).resolve() for c in args.code] or [HERE.parents[1]]
    print(f"dedup stage on {args.corpus}, {args.workers} worker(s)")
    for repeat in range(args.repeats):
        for code in codes:
            with tempfile.TemporaryDirectory() as tmp:
                prior_dir = None
                if args.prior_corpus:
                    measure(code, Path(args.prior_corpus), args.workers, "dedup", Path(tmp),
                            corpus_id="prior")
                    prior_dir = Path(tmp) / "signatures"
                floor = measure(code, Path(args.corpus), args.workers, "floor", Path(tmp))
                dedup = measure(code, Path(args.corpus), args.workers, "dedup", Path(tmp),
                                prior_dir)
            print(json.dumps({"code": str(code), "repeat": repeat,
                              "floor_s": round(floor["seconds"], 1),
                              "dedup_s": round(dedup["seconds"], 1),
                              "stage_s": round(dedup["seconds"] - floor["seconds"], 1),
                              "floor_peak_mb": round(floor["peak_mb"]),
                              "dedup_peak_mb": round(dedup["peak_mb"]),
                              "kinds": dedup["kinds"]}), flush=True)


if __name__ == "__main__":
    main()

"""Signature throughput against datasketch, and peak memory of the whole dedup as documents grow.

    .venv/bin/python -m bench.dedup_speed [--docs 1000] [--sizes 100000,400000]

1. Throughput: Kura's numpy batch signatures under each shingle hash (murmur3_utf32, the default,
   and sha1_hash32) vs `datasketch.MinHash.update_batch` with the same hash function, one
   MinHash per document, on the same man-page matching keys (shingling included on both sides,
   so the ratio is what a pipeline would see). The signatures are checked equal first. Also the
   peak memory numpy allocates while signing batches of 512 documents (what dedup signs at once),
   traced with tracemalloc.
2. Memory: the `Deduplicate` Beam transform on the DirectRunner over N short synthetic documents
   (about 200 characters, one in ten a near copy of its predecessor), generated inside the
   pipeline so the input is never held as a list. Each size runs in a fresh process; peak RSS
   (ru_maxrss) is reported next to the bytes of text the run processed, and next to the peak of
   the same input pipeline without dedup (the floor, measured in the same run). The figure that
   matters is the growth: RSS added per byte of text added, from the smallest size to the largest.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "manpages-ja.jsonl"
DOCS_PER_SEED = 1000


def _keys(n: int) -> list[str]:
    try:
        from transforms.normalize import matching_key, stored_text
    except ImportError:
        def matching_key(s: str) -> str:
            return s.casefold()

        def stored_text(s: str) -> str:
            return unicodedata.normalize("NFKC", s)
    with SHARED.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines][:n]
    return [matching_key(stored_text(t)) for t in texts]


def throughput(n: int, cut: int | None = None) -> None:
    import tracemalloc

    from datasketch import MinHash

    from transforms.minhash import MinHasher, shingles
    from transforms.shingle_hash import SHINGLE_HASHES, hashfunc

    keys = [k[:cut] for k in _keys(n)] if cut else _keys(n)
    chars = sum(len(k) for k in keys)
    print(f"throughput on {len(keys)} man pages ({chars / len(keys):.0f} chars each on average):")
    seconds: dict[str, float] = {}
    for name in SHINGLE_HASHES:
        hasher = MinHasher(shingle_hash=name)
        start = time.perf_counter()
        ours = hasher.signatures(keys)
        seconds[name] = kura_s = time.perf_counter() - start
        tracemalloc.start()
        for i in range(0, len(keys), 512):
            hasher.signatures(keys[i : i + 512])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        func = hashfunc(name)
        start = time.perf_counter()
        theirs = []
        for key in keys:
            m = MinHash(num_perm=128, seed=1, hashfunc=func)
            m.update_batch(list(shingles(key, 5)))
            theirs.append(m.hashvalues)
        ds_s = time.perf_counter() - start
        assert np.array_equal(ours, np.array(theirs)), f"{name}: signatures differ from datasketch"
        for label, secs in ((f"kura numpy batch, {name}", kura_s),
                            (f"datasketch update_batch, {name}", ds_s)):
            print(f"  {label:<38}{len(keys) / secs:9.0f} docs/s  "
                  f"{chars / secs / 1e6:6.2f} M chars/s")
        print(f"  ratio kura / datasketch {ds_s / kura_s:.2f}x (signatures identical); peak "
              f"numpy memory signing 512 documents at a time {peak / 2**20:.0f} MiB")
    print(f"  murmur3_utf32 / sha1_hash32: "
          f"{seconds['sha1_hash32'] / seconds['murmur3_utf32']:.2f}x faster")


def _synthetic(seed: int):
    """DOCS_PER_SEED short documents; every tenth a 3-character edit of the one before it."""
    from schemas.records import Document

    rng = np.random.default_rng(seed)
    previous = ""
    for i in range(DOCS_PER_SEED):
        if i % 10 == 9:
            chars = list(previous)
            for pos in rng.integers(0, len(chars), 3):
                chars[pos] = "ー"
            key = "".join(chars)
        else:
            codes = rng.integers(0x3041, 0x3097, int(rng.integers(150, 250)), dtype=np.uint32)
            key = codes.tobytes().decode("utf-32-le")
        previous = key
        yield Document(doc_id=f"{seed:06d}-{i:04d}", corpus_id="bench", member="m",
                       source_uri="bench://synthetic", source_sha256="0" * 64, locator=i,
                       text=key, match_key=key)


def memory_child(n: int, out_dir: str, floor: bool = False) -> None:
    import apache_beam as beam

    from schemas.dedup import DedupConfig
    from transforms.dedup_beam import Deduplicate

    start = time.perf_counter()
    seeds = range(n // DOCS_PER_SEED)
    with beam.Pipeline(runner="DirectRunner") as p:
        docs = p | beam.Create(list(seeds)) | beam.Reshuffle() | beam.FlatMap(_synthetic)
        if floor:  # the input alone: what any consumer of these documents costs
            kinds = docs | beam.Map(lambda d: "floor (no dedup)")
        else:
            kinds = (docs | Deduplicate(DedupConfig(), "bench", signatures_dir=out_dir)
                     | beam.Map(lambda v: v.kind))
        _ = (kinds | beam.combiners.Count.PerElement()
             | beam.Map(lambda kv: print(f"    {kv[0]}: {kv[1]}", file=sys.stderr)))
    text_bytes = sum(len(d.text.encode()) for s in seeds for d in _synthetic(s))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"docs": n, "text_mb": text_bytes / 1e6, "peak_rss_mb": peak_kb / 1024,
                      "seconds": time.perf_counter() - start}))


def memory(sizes: list[int]) -> None:
    import tempfile

    def child(n: int, floor: bool) -> dict:
        with tempfile.TemporaryDirectory() as out:
            args = ["--child", str(n), "--out", out] + (["--floor"] if floor else [])
            done = subprocess.run([sys.executable, "-m", "bench.dedup_speed", *args],
                                  capture_output=True, text=True, check=True)
        print(done.stderr.strip().splitlines()[-2:] if done.stderr else "", file=sys.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])

    rows = [(child(n, floor=True), child(n, floor=False)) for n in sizes]
    print("peak memory of Deduplicate on the DirectRunner (in-memory):")
    for floor, row in rows:
        print(f"  {row['docs']:>7} docs  text {row['text_mb']:7.1f} MB  peak RSS "
              f"{row['peak_rss_mb']:7.0f} MB  {row['seconds']:.0f}s   (input alone "
              f"{floor['peak_rss_mb']:.0f} MB, {floor['seconds']:.0f}s)")
    if len(rows) >= 2:
        first, last = rows[0][1], rows[-1][1]
        text = last["text_mb"] - first["text_mb"]
        rss = last["peak_rss_mb"] - first["peak_rss_mb"]
        print(f"  growth {first['docs']} -> {last['docs']}: text x"
              f"{last['text_mb'] / first['text_mb']:.1f} (+{text:.0f} MB), RSS x"
              f"{last['peak_rss_mb'] / first['peak_rss_mb']:.2f} (+{rss:.0f} MB): "
              f"{rss / text:.2f} MB of RSS per MB of text added")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--sizes", default="100000,400000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if args.child:
        memory_child(args.child, args.out, floor=args.floor)
        return
    throughput(args.docs)
    throughput(args.docs, cut=200)
    if not args.skip_memory:
        memory([int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()

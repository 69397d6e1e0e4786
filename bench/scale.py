"""Issue 14's scale harness: the whole pipeline on distinct-document corpora of growing size.

    .venv/bin/python -m bench.scale [--sizes 15,150,600] [--workers 1,2] [--check-identical]
                                    [--runner direct|portable] [--work DIR] [--keep]
                                    [--reference-every S] [--json OUT] [--build-only]

For each size (MB of JSONL, fractions allowed) it builds, or reuses from `--work`, a corpus of
distinct documents recombined from the man pages (bench/scale_corpus.py), checks a sample of
it for near-duplicates (datasketch) and Kura's quality rules, times raw fugashi tokenization
of its texts (`tagger(text)`, surfaces only, as bench/pipeline.py does; the first 20 M
characters) before and again after its runs, then runs `kura onboard` on it once per worker
count into a fresh store and measures wall time and the peak RSS of the whole process tree
(bench/scale_run.py). Every `--reference-every` seconds of a run, the run's processes are
paused while raw fugashi tokenizes a fixed 2 M-character sample of the corpus
(bench/scale_reference.py); the pauses' rates, pooled over the size's runs, are the size's
reference, and the run's wall time leaves the pauses out. With `--reference-every 0` the
before and after measurements, pooled, are the reference instead. `--runner portable` runs each
onboard on Beam's portable runner instead: it starts kura's local job service and an EXTERNAL
worker pool for the run (bench/scale_portable.py), passes `--workers` on as SDK workers, and
samples their process trees with the onboard's. It prints one table row per configuration, the
speed-ups over one worker (also at equal machine speed: each run's wall time scaled by the
raw fugashi rate of its own pauses, the figure the target is judged by when the runs were
paused), the marginal rates between sizes (throughput without the fixed start-up cost: extra
characters over extra seconds) and issue 14's targets, PASS or FAIL.

Exit 1 when a run failed or `--check-identical` found shards that differ from the one-worker
run's; the targets are reported, not enforced.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench._common import corpus_path
from bench.scale_corpus import CorpusInfo, build_corpus, iter_texts, sample_check, size_label
from bench.scale_portable import local_cluster
from bench.scale_reference import fugashi_rate, pool_rates, sample_texts
from bench.scale_run import RunFigures, psutil, run_onboard

COLUMNS = ("size MB", "documents", "workers", "wall s", "peak RSS GB", "chars/s",
           "ratio to raw fugashi", "cpu s", "load")
GB = 1e9
RSS_GROWTH_MAX, RSS_MAX_GB = 1.3, 2.0
SPEEDUP_MIN, SPEEDUP_SIZE_MB = 1.6, 150.0
MARGINAL_MIN = 0.45
RUNNERS = ("direct", "portable")


def _numbers(text: str, kind: type) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"needs positive numbers: {text}")
    return sorted(set(values))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda t: _numbers(t, float), default=[15.0, 150.0, 600.0],
                        help="corpus sizes in MB (10^6 bytes of JSONL), e.g. 15,150,600 or 0.3")
    parser.add_argument("--workers", type=lambda t: _numbers(t, int), default=[1],
                        help="worker counts to run each size with, e.g. 1,2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runner", choices=RUNNERS, default="direct",
                        help="direct: the DirectRunner; portable: PortableRunner on a local job "
                             "service and worker pool started for each run")
    parser.add_argument("--files", type=int, default=1,
                        help="JSONL files per corpus (documents dealt round-robin)")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "kura-bench-scale",
                        help="cache of corpora, and the runs' stores and logs")
    parser.add_argument("--source", help="the man-page JSONL (default ../shared/data)")
    parser.add_argument("--sample", type=int, default=1000,
                        help="documents checked for near-duplicates and quality (0: none)")
    parser.add_argument("--interval", type=float, default=0.15, help="RSS sampling period, s")
    parser.add_argument("--reference-every", type=float, default=10.0, metavar="SECONDS",
                        help="pause each run this often to measure raw fugashi in its stretch "
                             "of time (0: only before and after the runs)")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--check-identical", action="store_true",
                        help="compare every configuration's shards with the one-worker run's")
    parser.add_argument("--build-only", action="store_true", help="build the corpora, no runs")
    parser.add_argument("--json", type=Path, dest="json_out", help="write every figure here")
    args = parser.parse_args(argv)
    if args.files < 1:
        parser.error("--files must be 1 or more")
    if args.reference_every < 0:
        parser.error("--reference-every must be 0 or more")
    return args


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RawRate:
    """Raw fugashi tokenization of a corpus: characters per wall second and per CPU second.

    Pooled over `passes`, the wall-clock rates of each measurement (before and after a size's
    onboards): on a shared machine they can differ by tens of percent within an hour."""

    chars_per_second: float
    chars_per_cpu_second: float
    passes: tuple[float, ...] = ()


REFERENCE_CHARS = 20_000_000


def raw_fugashi(info: CorpusInfo, batch: int = 2000, max_chars: int = REFERENCE_CHARS
                ) -> RawRate:
    """Raw MeCab tokenization of the corpus's first `max_chars` characters (`tagger(text)`,
    surfaces only; the corpora are recombined man pages throughout, so the first 20 M stand
    for the rest): the best of two passes under 20 M characters, one pass past that, JSON
    parsing excluded, timed batch by batch."""
    import fugashi

    tagger = fugashi.Tagger()

    def tokenize(texts: list[str]) -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for text in texts:
            for word in tagger(text):
                word.surface  # noqa: B018 - reading the surface is the work measured
        return time.perf_counter() - start, time.process_time() - cpu

    def sample() -> Iterator[str]:
        taken = 0
        for text in iter_texts(info):
            if taken >= max_chars:
                return
            taken += len(text)
            yield text

    tokenize(list(itertools.islice(iter_texts(info), 20)))  # untimed: pages the dictionary in
    chars = sum(map(len, sample()))
    best, best_cpu = float("inf"), float("inf")
    for _ in range(2 if chars < 2e7 else 1):
        wall = cpu = 0.0
        texts: list[str] = []
        for text in itertools.chain(sample(), [None]):
            if text is not None:
                texts.append(text)
            if len(texts) == batch or (text is None and texts):
                w, c = tokenize(texts)
                wall, cpu, texts = wall + w, cpu + c, []
        best, best_cpu = min(best, wall), min(best_cpu, cpu)
    return RawRate(chars / best, chars / best_cpu, (chars / best,))


def in_run_reference(outside: RawRate, runs: list[RunFigures]) -> RawRate:
    """The size's reference from the rates measured in its runs' pauses, pooled; `outside`
    (before and after the runs) when no run was paused. Characters per CPU second stay
    `outside`'s: a pause measures wall time, alone on the machine but for other tenants."""
    rates = [rate for run in runs for rate in run.reference_rates]
    if not rates:
        return outside
    return RawRate(pool_rates(rates), outside.chars_per_cpu_second, tuple(rates))


def pooled(rates: list[RawRate]) -> RawRate:
    """One rate for several measurements of the same work: characters over the summed time."""
    return RawRate(pool_rates([r.chars_per_second for r in rates]),
                   pool_rates([r.chars_per_cpu_second for r in rates]),
                   tuple(p for r in rates for p in r.passes))


def _rate(info: CorpusInfo, run: RunFigures) -> float:
    return info.chars / run.wall_seconds


def _cpu_ratio(info: CorpusInfo, run: RunFigures, raw: RawRate) -> float:
    """Characters per CPU second of the whole tree over raw fugashi's: less sensitive to other
    work on a shared machine than the wall-time ratio, and blind to parallelism."""
    return info.chars / run.cpu_seconds / raw.chars_per_cpu_second


def table(rows: list[dict]) -> str:
    cells = [COLUMNS] + [tuple(str(row[c]) for c in COLUMNS) for row in rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell[i].rjust(widths[i]) for i in range(len(COLUMNS))) for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def row(info: CorpusInfo, run: RunFigures, raw: RawRate) -> dict:
    ok = run.ok
    return {"size MB": size_label(info.size_mb), "documents": f"{info.documents:,}",
            "workers": run.workers,
            "wall s": f"{run.wall_seconds:.1f}" if ok else f"failed ({run.exit_code})",
            "peak RSS GB": f"{run.peak_rss_bytes / GB:.2f}",
            "chars/s": f"{_rate(info, run) / 1e6:.3f} M" if ok else "-",
            "ratio to raw fugashi": f"{_rate(info, run) / raw.chars_per_second:.3f}" if ok else "-",
            "cpu s": f"{run.cpu_seconds:.1f}",
            "load": f"{run.load_before:.1f}-{run.load_after:.1f}"}


def marginal_rates(corpora: dict[float, CorpusInfo], raws: dict[float, RawRate],
                   runs: dict[tuple[float, int], RunFigures], workers: list[int]) -> list[dict]:
    """Between consecutive sizes, and smallest to largest, per worker count: the extra
    characters over the extra seconds, against the two corpora's pooled raw fugashi rate."""
    sizes = sorted(corpora)
    pairs = list(itertools.pairwise(sizes))
    if len(sizes) > 2:
        pairs.append((sizes[0], sizes[-1]))
    found = []
    for w in workers:
        for small, large in pairs:
            a, b = runs.get((small, w)), runs.get((large, w))
            if not (a and b and a.ok and b.ok):
                continue
            chars = corpora[large].chars - corpora[small].chars
            seconds = b.wall_seconds - a.wall_seconds
            raw_seconds = sum(corpora[size].chars / raws[size].chars_per_second
                              for size in (small, large))
            raw = (corpora[small].chars + corpora[large].chars) / raw_seconds
            rate = chars / seconds if seconds > 0 else None
            found.append({"workers": w, "fromMb": small, "toMb": large, "charsPerSecond": rate,
                          "rawFugashiCharsPerSecond": raw,
                          "ratioToRawFugashi": rate / raw if rate else None})
    return found


def speedups(runs: dict[tuple[float, int], RunFigures], sizes: list[float],
             workers: list[int]) -> list[dict]:
    """Each worker count's wall-time speed-up over the fewest workers, per size; and, where
    both runs were paused for raw fugashi, the speed-up at equal machine speed."""
    base = min(workers)
    found = []
    for size in sizes:
        one = runs.get((size, base))
        for w in workers:
            other = runs.get((size, w))
            if w != base and one and other and one.ok and other.ok:
                found.append({"sizeMb": size, "workers": w, "overWorkers": base,
                              "speedup": one.wall_seconds / other.wall_seconds,
                              "equalSpeedSpeedup": equal_speed_speedup(one, other),
                              "referenceRates": [pool_rates(r.reference_rates) if r.reference_rates
                                                 else None for r in (one, other)]})
    return found


def equal_speed_speedup(one: RunFigures, other: RunFigures) -> float | None:
    """`one`'s wall time over `other`'s, each scaled by the raw fugashi rate measured in its own
    pauses: what the speed-up would be had the machine run both at the same speed. The two runs
    of a size come minutes apart, and these machines' speed moved by 10-15% between them, so
    the plain ratio measures the drift as much as the workers. None without pauses in both."""
    if not (one.reference_rates and other.reference_rates):
        return None
    return (one.wall_seconds * pool_rates(one.reference_rates)) / (
        other.wall_seconds * pool_rates(other.reference_rates))


def _speedup_text(u: dict) -> str:
    """The figure a speed-up is judged by: at equal machine speed where measured, else wall."""
    if u["equalSpeedSpeedup"] is None:
        return f"{u['speedup']:.2f}x"
    one, other = (rate / 1e6 for rate in u["referenceRates"])
    return (f"{u['equalSpeedSpeedup']:.2f}x at equal machine speed ({u['speedup']:.2f}x in wall "
            f"time; raw fugashi in the runs' pauses {one:.2f} and {other:.2f} M chars/s)")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(corpora: dict[float, CorpusInfo], runs: dict[tuple[float, int], RunFigures],
            marginal: list[dict], ups: list[dict]) -> list[dict]:
    """Issue 14's targets on what this run measured; each names the sizes it compared."""
    sizes = sorted(corpora)
    one = min(w for _, w in runs) if runs else 1
    found = []
    small, large = runs.get((sizes[0], one)), runs.get((sizes[-1], one))
    if len(sizes) > 1 and small and large and small.ok and large.ok:
        growth = large.peak_rss_bytes / small.peak_rss_bytes
        found.append({"target": "peak RSS growth", "passed": growth <= RSS_GROWTH_MAX,
                      "text": f"peak RSS at {size_label(sizes[-1])} MB / at "
                              f"{size_label(sizes[0])} MB ({one} worker): "
                              f"{large.peak_rss_bytes / GB:.2f} / {small.peak_rss_bytes / GB:.2f}"
                              f" GB = {growth:.2f}x (target <= {RSS_GROWTH_MAX}x)"})
    else:
        found.append({"target": "peak RSS growth", "passed": None,
                      "text": "peak RSS growth: not measured (needs two sizes)"})
    if large and large.ok:
        peak = large.peak_rss_bytes / GB
        found.append({"target": "peak RSS", "passed": peak < RSS_MAX_GB,
                      "text": f"peak RSS at {size_label(sizes[-1])} MB ({one} worker): "
                              f"{peak:.2f} GB (target < {RSS_MAX_GB} GB)"})
    two = [u for u in ups if u["workers"] == 2]
    at = [u for u in two if u["sizeMb"] == SPEEDUP_SIZE_MB] or two[-1:]
    if at:
        u = at[0]
        note = ("" if u["sizeMb"] == SPEEDUP_SIZE_MB
                else f"; the target is at {SPEEDUP_SIZE_MB:g} MB")
        judged = u["speedup"] if u["equalSpeedSpeedup"] is None else u["equalSpeedSpeedup"]
        found.append({"target": "speed-up", "passed": judged >= SPEEDUP_MIN,
                      "text": f"2 workers over {u['overWorkers']} at {size_label(u['sizeMb'])} MB:"
                              f" {_speedup_text(u)} (target >= {SPEEDUP_MIN}x{note})"})
    else:
        found.append({"target": "speed-up", "passed": None,
                      "text": "speed-up of 2 workers: not measured (needs --workers 1,2)"})
    wide = [m for m in marginal if m["workers"] == one and m["fromMb"] == sizes[0]
            and m["toMb"] == sizes[-1]]
    if wide and wide[0]["ratioToRawFugashi"] is not None:
        m = wide[0]
        found.append({"target": "marginal rate", "passed": m["ratioToRawFugashi"] >= MARGINAL_MIN,
                      "text": f"marginal rate {size_label(m['fromMb'])} -> "
                              f"{size_label(m['toMb'])} MB ({one} worker): "
                              f"{m['charsPerSecond'] / 1e6:.2f} M chars/s = "
                              f"{m['ratioToRawFugashi']:.3f}x raw fugashi "
                              f"(target >= {MARGINAL_MIN}x)"})
    else:
        found.append({"target": "marginal rate", "passed": None,
                      "text": "marginal rate: not measured (needs two sizes, the larger slower)"})
    return found


def identical(runs: dict[tuple[float, int], RunFigures], sizes: list[float],
              workers: list[int]) -> list[dict]:
    """Every configuration's shards (names and sha256) against the one-worker run's."""
    base = min(workers)
    found = []
    for size in sizes:
        reference = runs.get((size, base))
        for w in workers:
            other = runs.get((size, w))
            if w == base:
                continue
            if not (reference and other and reference.ok and other.ok):
                found.append({"sizeMb": size, "workers": w, "against": base,
                              "identical": None, "differing": []})
                continue
            names = set(reference.shards) | set(other.shards)
            differ = sorted(n for n in names if reference.shards.get(n) != other.shards.get(n))
            found.append({"sizeMb": size, "workers": w, "against": base,
                          "identical": not differ, "differing": differ})
    return found


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _camel_dict(value: object) -> object:
    if isinstance(value, dict):
        return {_camel(k) if "/" not in k else k: _camel_dict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_dict(v) for v in value]
    return value


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds: a run in progress is resumed and stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    source = corpus_path(args.source)
    args.work.mkdir(parents=True, exist_ok=True)
    corpora: dict[float, CorpusInfo] = {}
    checks: dict[float, dict] = {}
    raws: dict[float, RawRate] = {}
    runs: dict[tuple[float, int], RunFigures] = {}
    started = time.time()
    for size in args.sizes:
        label = size_label(size)
        progress(f"corpus {label} MB: building (or reusing) in {args.work}")
        info = corpora[size] = build_corpus(source, args.work, size, args.seed, args.files)
        how = "reused" if info.reused else f"built in {info.build_seconds:.1f} s"
        print(f"corpus {label} MB: {info.documents:,} documents, {info.chars / 1e6:.2f} M "
              f"characters, {info.bytes / 1e6:.1f} MB in {len(info.files)} file(s), {how}",
              flush=True)
        if args.sample:
            check = checks[size] = sample_check(info, args.sample, args.seed)
            print(f"  sample of {check['sampled']:,}: near-duplicate fraction "
                  f"{check['nearDuplicateFraction']:.4f} ({check['nearDuplicatePairs']} pairs at "
                  f"Jaccard >= 0.8; highest candidate {check['maxCandidateJaccard']:.2f}); "
                  f"quality pass {check['qualityPassFraction']:.3f}", flush=True)
        if args.build_only:
            continue
        raw = raw_fugashi(info)
        print(f"  raw fugashi before the runs: {raw.chars_per_second / 1e6:.2f} M chars/s "
              f"({raw.chars_per_cpu_second / 1e6:.2f} M per CPU second)", flush=True)
        measure = (fugashi_rate(sample_texts(iter_texts(info))) if args.reference_every
                   else None)
        for w in args.workers:
            progress(f"corpus {label} MB: onboard with {w} worker(s)")
            run = runs[(size, w)] = onboard(args, Path(info.folder), label, w, measure)
            status = (f", CPU-time ratio to raw fugashi (before) {_cpu_ratio(info, run, raw):.3f}"
                      if run.ok else f" FAILED: {run.error}")
            print(f"  {w} worker(s): {run.wall_seconds:.1f} s, peak RSS "
                  f"{run.peak_rss_bytes / GB:.2f} GB over {run.peak_processes} process(es), "
                  f"counts {run.counts}{status}", flush=True)
            if run.reference_rates:
                print(f"    raw fugashi in its {len(run.reference_rates)} pause(s), "
                      f"{run.paused_seconds:.1f} s left out of its wall time: "
                      f"{pool_rates(run.reference_rates) / 1e6:.2f} M chars/s (from "
                      f"{min(run.reference_rates) / 1e6:.2f} to "
                      f"{max(run.reference_rates) / 1e6:.2f})", flush=True)
        after = raw_fugashi(info)
        outside = pooled([raw, after])
        raw = raws[size] = in_run_reference(outside, [runs[(size, w)] for w in args.workers])
        which = "the runs' pauses" if raw is not outside else "before and after, pooled"
        print(f"  raw fugashi after the runs: {after.chars_per_second / 1e6:.2f} M chars/s; "
              f"before and after pooled {outside.chars_per_second / 1e6:.2f} M chars/s; the "
              f"reference of this size ({which}): {raw.chars_per_second / 1e6:.2f} M chars/s",
              flush=True)
    if args.build_only:
        return _finish(args, corpora, checks, raws, runs, [], [], [], [], started)
    return _finish(args, corpora, checks, raws, runs, *report(args, corpora, raws, runs),
                   started)


def onboard(args: argparse.Namespace, corpus: Path, label: str, workers: int,
            measure: Callable[[], float] | None = None) -> RunFigures:
    """One timed onboard with the chosen runner (a fresh local job service and worker pool for
    each portable run, started before the clock starts, so its memory is this run's alone),
    paused for `measure` every `--reference-every` seconds."""
    runs = args.work / "runs"
    pauses = {"reference": measure, "reference_every": args.reference_every}
    if args.runner == "direct":
        return run_onboard(corpus, runs / f"{label}mb-w{workers}", workers, args.interval,
                           args.keep, args.work, **pauses)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with local_cluster(runs / f"{label}mb-portable-w{workers}-services") as cluster:
        figures = run_onboard(corpus, runs / f"{label}mb-portable-w{workers}", workers,
                              args.interval, args.keep, args.work, runner="PortableRunner",
                              beam_args=cluster.beam_args(), extra_roots=cluster.pids,
                              **pauses)
    # The services are this process's children too: once stopped (their workers reaped by the
    # pool), their CPU time is in the children's usage, start-up included.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return replace(figures, cpu_seconds=round(cpu, 2))


def report(args: argparse.Namespace, corpora: dict[float, CorpusInfo],
           raws: dict[float, RawRate], runs: dict[tuple[float, int], RunFigures]
           ) -> tuple[list, list, list, list]:
    """Prints the table, speed-ups, marginal rates, targets and shard comparisons."""
    rows = [row(corpora[s], runs[(s, w)], raws[s]) for s in args.sizes for w in args.workers]
    runner = ("DirectRunner" if args.runner == "direct" else
              "PortableRunner on kura's local job service + worker pool, whose trees are in the "
              "RSS and, start-up included, in cpu s")
    print(f"\nwhole pipeline (kura onboard, {runner}; RSS of the process tree, "
          f"{'psutil' if psutil else '/proc'}, every {args.interval:g} s; GB = 10^9 bytes; "
          f"cpu s = user + system seconds of the tree; load = 1-minute load average "
          f"before-after, on {os.cpu_count()} CPUs)")
    print(table(rows))
    ups = speedups(runs, args.sizes, args.workers)
    for u in ups:
        print(f"speed-up at {size_label(u['sizeMb'])} MB: {u['workers']} workers over "
              f"{u['overWorkers']}: {_speedup_text(u)}")
    marginal = marginal_rates(corpora, raws, runs, args.workers)
    for m in marginal:
        rate = (f"{m['charsPerSecond'] / 1e6:.2f} M chars/s = {m['ratioToRawFugashi']:.3f}x raw "
                f"fugashi" if m["charsPerSecond"] else "undefined (the larger run was not slower)")
        print(f"marginal rate {size_label(m['fromMb'])} -> {size_label(m['toMb'])} MB, "
              f"{m['workers']} worker(s): {rate}")
    goals = targets(corpora, runs, marginal, ups)
    print("\ntargets of issue 14:")
    for goal in goals:
        verdict = "n/a " if goal["passed"] is None else _verdict(goal["passed"])
        print(f"  {verdict}  {goal['text']}")
    same = identical(runs, args.sizes, args.workers) if args.check_identical else []
    if args.check_identical and not same:
        print("shards: one worker count only, nothing to compare")
    for check in same:
        state = ("not compared (a run failed)" if check["identical"] is None else
                 "identical" if check["identical"] else
                 "DIFFERENT: " + ", ".join(check["differing"]))
        print(f"shards at {size_label(check['sizeMb'])} MB, {check['workers']} workers vs "
              f"{check['against']}: {state}")
    return ups, marginal, goals, same


def _finish(args: argparse.Namespace, corpora: dict, checks: dict, raws: dict, runs: dict,
            ups: list, marginal: list, goals: list, same: list, started: float) -> int:
    if args.json_out:
        document = {
            "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "cpus": os.cpu_count(), "rssSampler": "psutil" if psutil else "/proc",
            "runner": args.runner,
            "corpora": [{**asdict(corpora[s]), "sampleCheck": checks.get(s),
                         "rawFugashi": asdict(raws[s]) if s in raws else None}
                        for s in sorted(corpora)],
            "runs": [{"sizeMb": s, **asdict(r),
                      "charsPerSecond": _rate(corpora[s], r) if r.ok else None,
                      "ratioToRawFugashi": (_rate(corpora[s], r) / raws[s].chars_per_second
                                            if r.ok else None),
                      "cpuRatioToRawFugashi": (_cpu_ratio(corpora[s], r, raws[s])
                                               if r.ok else None)}
                     for (s, _), r in sorted(runs.items())],
            "speedups": ups, "marginalRates": marginal, "targets": goals, "identical": same,
        }
        args.json_out.write_text(json.dumps(_camel_dict(document), indent=1) + "\n")
    failed = [r for r in runs.values() if not r.ok]
    return 1 if failed or any(check["identical"] is False for check in same) else 0


if __name__ == "__main__":
    sys.exit(main())

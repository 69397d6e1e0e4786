"""Where one whole onboard spends its time and memory, on the one-worker DirectRunner.

    .venv/bin/python -m bench.scale_profile [CORPUS.jsonl] [--out FILE] [--top 25]
        [--part both|time|memory] [--frames 1] [--py-spy PATH] [--note TEXT]

- time: cProfile of an in-process `kura onboard` (as bench/pipeline.py runs it): the top
  functions by cumulative time, by self time, and Kura's own by cumulative time. The one-worker
  DirectRunner runs every bundle in the calling thread, so the DoFns' work is all under `launch`.
- py-spy (when given or on PATH): a sampling profile of `kura onboard` as a subprocess, free of
  cProfile's per-call overhead, which inflates code that makes millions of small calls.
- memory, in a fresh child process (memory kept from the timed run would hide growth): the RSS
  growth charged to the Kura frame running when it grew, the frame running at the peak, and
  tracemalloc's allocations alive near the traced peak (`--frames` deep; 20 frames made a man
  page run ~15x slower, 1 frame is cheap).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench._common import REPO, corpus_path, manpages_manifest
from bench.scale_run import tree_rss

KURA_PACKAGES = tuple(str(REPO / name) + os.sep for name in
                      ("pipelines", "transforms", "schemas", "lineage"))


def onboard_in_process(corpus: Path, folder: Path) -> Callable[[], object]:
    """A zero-argument call that runs the whole onboard of `corpus` into a new store."""
    from pipelines.curate import run_curation
    from pipelines.launch import launch
    from pipelines.options import RunnerChoice
    from schemas.manifest import load_manifest

    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.toml"
    manifest_path.write_text(manpages_manifest(corpus))
    runner = RunnerChoice(workers=1)

    def run() -> object:
        return launch(
            load_manifest(manifest_path), manifest_path, folder / "store", runner,
            run=lambda plan, stages, run_id: run_curation(plan, stages, runner, run_id=run_id),
            create_local_site=True)

    return run


def _label(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    for prefix in ("site-packages" + os.sep, "lib/python3.11" + os.sep, str(REPO) + os.sep):
        if prefix in filename:
            filename = filename.split(prefix, 1)[1]
            break
    return f"{filename}:{line}({name})"


def time_tables(stats: pstats.Stats, top: int) -> str:
    bench = str(REPO / "bench") + os.sep  # this profiler's own wrappers are not the pipeline
    entries = {key: value for key, value in stats.stats.items()  # key: (file, line, name);
               if not key[0].startswith(bench)}  # value: (primitive calls, calls, self, cum., _)
    total = sum(value[2] for value in entries.values())

    def render(title: str, keys: list) -> list[str]:
        lines = [title, f"{'cumulative s':>12} {'%':>6} {'self s':>9} {'%':>6} {'calls':>10}  "
                        "function"]
        for key in keys:
            _, calls, self_s, cumulative, _ = entries[key]
            lines.append(f"{cumulative:12.2f} {cumulative / total:6.1%} {self_s:9.2f} "
                         f"{self_s / total:6.1%} {calls:10d}  {_label(key)}")
        return [*lines, ""]

    by_cumulative = sorted(entries, key=lambda k: entries[k][3], reverse=True)
    by_self = sorted(entries, key=lambda k: entries[k][2], reverse=True)
    kura = [k for k in by_cumulative if k[0].startswith(KURA_PACKAGES)]
    return "\n".join([
        f"profiled time {total:.1f} s (sum of self times, cProfile overhead included)", "",
        *render(f"top {top} by cumulative time", by_cumulative[:top]),
        *render(f"top {top} by self time", by_self[:top]),
        *render(f"top {top} of Kura's own functions by cumulative time", kura[:top]),
    ])


def _kura_frame(frame: FrameType | None) -> str:
    """The innermost frame of Kura's own code on a stack (else the innermost frame)."""
    innermost = frame
    while frame is not None:
        if frame.f_code.co_filename.startswith(KURA_PACKAGES):
            break
        frame = frame.f_back
    chosen = frame or innermost
    if chosen is None:
        return "?"
    return _label((chosen.f_code.co_filename, chosen.f_lineno, chosen.f_code.co_name))


class MemoryWatch(threading.Thread):
    """Every `interval`: this process's RSS and what the main thread is running. RSS growth is
    charged to the innermost Kura frame running when it grew (Arrow buffers, MeCab and freed
    memory the allocator keeps included, which tracemalloc cannot see); under tracemalloc it
    also keeps the snapshot taken nearest the traced peak."""

    def __init__(self, interval: float = 0.1, growth: float = 1.05) -> None:
        super().__init__(daemon=True)
        self.interval, self.growth = interval, growth
        self.main = threading.main_thread().ident
        self.grew: dict[str, int] = defaultdict(int)
        self.start_rss = self.peak_rss = 0
        self.at_peak = "?"
        self.snapshot: tracemalloc.Snapshot | None = None
        self.snapshot_bytes = self.snapshots = self.rss_at_snapshot = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        last = self.start_rss = tree_rss(os.getpid())[0]
        while not self._stop_event.wait(self.interval):
            rss = tree_rss(os.getpid())[0]
            where = _kura_frame(sys._current_frames().get(self.main))
            if rss > last:
                self.grew[where] += rss - last
            last = rss
            if rss > self.peak_rss:
                self.peak_rss, self.at_peak = rss, where
            if tracemalloc.is_tracing():
                current, _ = tracemalloc.get_traced_memory()
                if current > self.snapshot_bytes * self.growth:
                    self.snapshot, self.snapshot_bytes = tracemalloc.take_snapshot(), current
                    self.rss_at_snapshot = rss
                    self.snapshots += 1

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def memory_tables(snapshot: tracemalloc.Snapshot, top: int, frames: int) -> list[str]:
    lines = []
    if frames > 1:
        by_kura: dict[str, int] = defaultdict(int)
        for trace in snapshot.traces:
            stack = list(reversed(trace.traceback))  # the traceback lists the oldest frame first
            where = next((f for f in stack if f.filename.startswith(KURA_PACKAGES)), stack[0])
            by_kura[_label((where.filename, where.lineno, ""))[:-2]] += trace.size
        lines += [f"traced memory alive at the last snapshot, by the innermost Kura frame (else "
                  f"the allocating line), top {top}", f"{'MB':>9}  where"]
        for where, size in sorted(by_kura.items(), key=lambda item: -item[1])[:top]:
            lines.append(f"{size / 1e6:9.1f}  {where}")
        lines.append("")
    lines += [f"traced memory alive at the last snapshot, by allocating line, top {top}",
              f"{'MB':>9} {'blocks':>9}  line"]
    for stat in snapshot.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        lines.append(f"{stat.size / 1e6:9.1f} {stat.count:9d}  "
                     f"{_label((frame.filename, frame.lineno, ''))[:-2]}")
    return [*lines, ""]


def profile_time(corpus: Path, top: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        run = onboard_in_process(corpus, Path(tmp))
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(run)
        return [f"wall time under cProfile {time.perf_counter() - start:.1f} s",
                time_tables(pstats.Stats(profiler), top)]


def profile_memory(corpus: Path, top: int, frames: int) -> list[str]:
    """RSS growth by Kura frame, and tracemalloc (`frames` deep, 0: off), of a whole onboard in
    this process, which should be fresh: memory kept from an earlier run would hide growth."""
    with tempfile.TemporaryDirectory() as tmp:
        run = onboard_in_process(corpus, Path(tmp))
        import great_expectations  # noqa: F401 - imported before the watch: modules are not data

        if frames:
            tracemalloc.start(frames)
        watch = MemoryWatch()
        watch.start()
        start = time.perf_counter()
        run()
        watch.stop()
        wall = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory() if frames else (0, 0)
        tracemalloc.stop()
    lines = [f"memory of the whole onboard in a fresh process (wall {wall:.1f} s): RSS after the "
             f"imports {watch.start_rss / 1e9:.2f} GB, peak {watch.peak_rss / 1e9:.2f} GB, "
             f"reached in {watch.at_peak}", "",
             f"RSS growth by the innermost Kura frame running when it grew (sampled every "
             f"{watch.interval:g} s; releases are not subtracted), top {top}",
             f"{'MB':>9}  where"]
    for where, grown in sorted(watch.grew.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{grown / 1e6:9.1f}  {where}")
    lines.append("")
    if frames:
        lines += [f"tracemalloc ({frames} frame(s), started after the imports; its own records "
                  f"add to RSS): traced peak {peak / 1e6:.0f} MB; the last of {watch.snapshots} "
                  f"snapshots at {watch.snapshot_bytes / 1e6:.0f} MB traced, "
                  f"{watch.rss_at_snapshot / 1e9:.2f} GB RSS. It sees Python and numpy "
                  "allocations, not Arrow's memory pool, MeCab's dictionary or freed memory "
                  "the allocator keeps.", ""]
        if watch.snapshot:
            lines += memory_tables(watch.snapshot, top, frames)
    return lines


def spy_tables(raw: str, top: int) -> list[str]:
    """Self and inclusive sample counts per function from py-spy's raw (collapsed) stacks."""
    inclusive: dict[str, int] = defaultdict(int)
    leaf: dict[str, int] = defaultdict(int)
    total = imports = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += int(count)
        imports += int(count) * any(f.startswith("_find_and_load ") for f in frames)
        leaf[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    kura = {frame: count for frame, count in inclusive.items()
            if frame.rpartition("(")[2].startswith(("pipelines/", "transforms/", "schemas/",
                                                    "lineage/"))}
    lines = [f"py-spy: {total} samples of active threads (100 per second, every process of "
             f"the tree); {imports} ({imports / max(1, total):.1%}) inside imports"]
    for title, counts in (("by inclusive samples", inclusive), ("by self samples", leaf),
                          ("of Kura's own functions by inclusive samples", kura)):
        lines += ["", f"top {top} {title}", f"{'samples':>8} {'%':>6}  function"]
        for frame, count in sorted(counts.items(), key=lambda item: -item[1])[:top]:
            lines.append(f"{count:8d} {count / max(1, total):6.1%}  {frame}")
    return [*lines, ""]


def profile_spy(corpus: Path, top: int, py_spy: str, stacks_out: Path | None = None
                ) -> list[str]:
    """py-spy of the `kura onboard` subprocess: sampling, so no per-call overhead skews it."""
    from bench.scale_run import REGION, SITE_ID, _cli, _env

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "manifest.toml").write_text(manpages_manifest(corpus))
        env = _env(folder)
        store = str(folder / "store")
        subprocess.run(_cli("keys", "init", "--site", SITE_ID, "--region", REGION, "--store",
                            store), cwd=REPO, env=env, check=True, capture_output=True)
        start = time.perf_counter()
        # Not check=True: py-spy passes on onboard's status, and 3 (documents withheld) is a
        # finished run. A missing stacks file is the failure.
        subprocess.run([py_spy, "record", "--format", "raw", "--function", "--subprocesses",
                        "--output", str(folder / "stacks.txt"), "--",
                        *_cli("onboard", str(folder / "manifest.toml"), "--store", store)],
                       cwd=REPO, env=env, capture_output=True)
        wall = time.perf_counter() - start
        if stacks_out:
            shutil.copyfile(folder / "stacks.txt", stacks_out)
        return [f"py-spy record of `kura onboard` (subprocess): wall {wall:.1f} s",
                *spy_tables((folder / "stacks.txt").read_text(), top)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--part", choices=("both", "time", "memory"), default="both",
                        help="both: the memory profile runs in a fresh child process")
    parser.add_argument("--frames", type=int, default=1,
                        help="tracemalloc frames per allocation (0: no tracemalloc; 20 costs "
                        "~15x the run's time)")
    parser.add_argument("--note", default="", help="a line for the header (e.g. which code)")
    parser.add_argument("--py-spy", dest="py_spy", default=shutil.which("py-spy"),
                        help="a py-spy executable: adds a sampling profile of the subprocess, "
                        "its raw stacks beside --out (default: py-spy on PATH, if any)")
    args = parser.parse_args(argv)
    corpus = corpus_path(args.corpus)
    os.environ.setdefault("KURA_CONFIG_DIR", tempfile.mkdtemp(prefix="kura-profile-config-"))
    if args.part == "memory":
        print("\n".join(profile_memory(corpus, args.top, args.frames)))
        return
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    report = [f"whole onboard of {corpus.name} ({corpus.stat().st_size / 1e6:.1f} MB), in "
              f"process, DirectRunner, 1 worker; code {REPO} at {head or '?'} plus its working "
              f"tree; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
              *([args.note] if args.note else []), "", *profile_time(corpus, args.top)]
    if args.py_spy:
        stacks = args.out.with_suffix(".stacks.txt") if args.out else None
        report += profile_spy(corpus, args.top, args.py_spy, stacks)
    if args.part == "both":
        child = subprocess.run(
            [sys.executable, "-m", "bench.scale_profile", str(corpus), "--part", "memory",
             "--top", str(args.top), "--frames", str(args.frames)],
            cwd=REPO, capture_output=True, text=True, check=True)
        report.append(child.stdout)
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

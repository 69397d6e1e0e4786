"""One `kura onboard` of a corpus, as a subprocess into a fresh store: its wall time, the peak RSS
of its whole process tree, the run summary's counts and the digests of the shards it wrote.

The tree is sampled every `interval` seconds (psutil when importable, else /proc): every process
descended from the onboard process, their RSS summed at each sample. RSS counts pages shared
between a parent and its forked workers once per process, as `ps` and the issue's figures do.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench._common import REPO
from bench.scale_reference import PausedReference

CORPUS_ID = "bench-scale"
SITE_ID = "bench-scale"
REGION = "jp-tokyo"
SHARD_FOLDERS = ("shards", "quarantine")  # written and withheld shards: both must agree
MANIFEST = """\
[corpus]
id = "{corpus_id}"
root = "{root}"
member = "debian"
license = "GPL and others (Debian manpages-ja), recombined"
sensitivity = "public"
language = "ja"

[[sources]]
uri = "{uri}"
format = "jsonl"
location = {{ provider = "onprem", country = "JP", region = "{region}" }}
"""

try:
    import psutil
except ImportError:  # psutil is only a transitive dependency: /proc does the same on Linux
    psutil = None


def _psutil_tree(pid: int) -> tuple[int, int]:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total, len(procs)


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _proc_tree(pid: int) -> tuple[int, int]:
    total = count = 0
    for current in _descendants(pid):
        try:
            total += int(Path(f"/proc/{current}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
        count += 1
    return total, count


def tree_pids(*roots: int) -> list[int]:
    """The pids of `roots` and all their descendants that are alive now."""
    return [pid for root in roots if Path(f"/proc/{root}").exists()
            for pid in _descendants(root)]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def tree_rss(pid: int) -> tuple[int, int]:
    """(summed RSS in bytes, number of processes) of `pid` and all its descendants."""
    return _psutil_tree(pid) if psutil is not None else _proc_tree(pid)


class TreeSampler(threading.Thread):
    """Samples a process tree's RSS until stopped; keeps the peak and a timeline."""

    def __init__(self, pid: int, interval: float, extra_roots: tuple[int, ...] = ()) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.roots = (pid, *extra_roots)  # a portable run: the job service and worker pool too
        self.peak_bytes = self.peak_processes = self.samples = 0
        self.timeline: list[tuple[float, int]] = []
        self._stop_event = threading.Event()
        self._start = time.perf_counter()

    def run(self) -> None:
        while True:
            trees = [tree_rss(root) for root in self.roots]
            rss, processes = sum(t[0] for t in trees), sum(t[1] for t in trees)
            self.samples += 1
            self.peak_bytes = max(self.peak_bytes, rss)
            self.peak_processes = max(self.peak_processes, processes)
            self.timeline.append((round(time.perf_counter() - self._start, 2), rss))
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def downsample(timeline: list[tuple[float, int]], points: int = 400) -> list[tuple[float, int]]:
    """At most `points` samples, each the largest of its stretch: the peak always survives."""
    step = max(1, -(-len(timeline) // points))
    return [max(timeline[i : i + step], key=lambda s: s[1]) for i in range(0, len(timeline), step)]


@dataclass
class RunFigures:
    workers: int
    exit_code: int
    wall_seconds: float
    cpu_seconds: float  # user + system of every descendant, from the kernel's child rusage
    peak_rss_bytes: int
    peak_processes: int
    samples: int
    load_before: float
    load_after: float
    counts: dict = field(default_factory=dict)
    shards: dict[str, str] = field(default_factory=dict)  # store-relative path -> sha256
    error: str | None = None  # the last line of stderr, when the run failed
    store: str | None = None  # kept stores only
    rss_timeline: list[tuple[float, int]] = field(default_factory=list)
    # Raw fugashi measured in the run's pauses (chars/s each), and the pauses' length, which
    # wall_seconds leaves out (bench/scale_reference.py).
    reference_rates: list[float] = field(default_factory=list)
    paused_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code in (0, 3)  # 3: some documents withheld; the pipeline still ran


def venv_python() -> str:
    """The repository's own venv python when it has one, else the one running the bench."""
    candidate = REPO / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


def _env(work: Path) -> dict[str, str]:
    # Root private keys of `keys init` go to the work folder, never to ~/.config/kura.
    return {**os.environ, "KURA_CONFIG_DIR": str(work / "config"), "GX_ANALYTICS_ENABLED": "False"}


def _cli(*args: str) -> list[str]:
    return [venv_python(), "-m", "pipelines.cli", *args]


def shard_digests(store: Path, corpus_id: str = CORPUS_ID) -> dict[str, str]:
    digests = {}
    for name in SHARD_FOLDERS:
        folder = store / name / corpus_id
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file() and not path.name.startswith("."):
                h = hashlib.sha256()
                with path.open("rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 20), b""):
                        h.update(block)
                digests[str(path.relative_to(store))] = h.hexdigest()
    return digests


def _summary_counts(store: Path) -> dict:
    summaries = sorted((store / "runs").glob("*.json"))
    if not summaries:
        return {}
    summary = json.loads(summaries[-1].read_text())
    counts = summary.get("counts", {})
    return {"read": counts.get("read"), "written": counts.get("written"),
            "rejected": sum((counts.get("rejected") or {}).values()),
            "duplicates": sum((counts.get("duplicates") or {}).values()),
            "shards": len(summary.get("shards") or [])}


def run_onboard(corpus_folder: Path, run_dir: Path, workers: int, interval: float,
                keep: bool, work: Path, runner: str = "DirectRunner",
                beam_args: tuple[str, ...] = (), extra_roots: tuple[int, ...] = (),
                reference: Callable[[], float] | None = None, reference_every: float = 0.0
                ) -> RunFigures:
    """Fresh store (`keys init`), then the timed, sampled `onboard` of every part file, with
    `runner` and the `beam_args` after `--`; `extra_roots` are process trees outside the onboard
    process that do its work (a portable runner's job service and worker pool), sampled too.
    With `reference` and `reference_every`, the run is paused every `reference_every` seconds
    for a call of `reference` (raw fugashi's rate), and its wall time leaves the pauses out."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    store = run_dir / "store"
    manifest = run_dir / "manifest.toml"
    manifest.write_text(MANIFEST.format(corpus_id=CORPUS_ID, region=REGION,
                                        root=corpus_folder.resolve(),
                                        uri=corpus_folder.resolve() / "part-*.jsonl"))
    env = _env(work)
    keys = subprocess.run(_cli("keys", "init", "--site", SITE_ID, "--region", REGION,
                               "--store", str(store)),
                          cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if keys.returncode:
        lines = keys.stderr.strip().splitlines()
        return RunFigures(workers=workers, exit_code=keys.returncode, wall_seconds=0.0,
                          cpu_seconds=0.0, peak_rss_bytes=0, peak_processes=0, samples=0,
                          load_before=0.0, load_after=0.0,
                          error="keys init: " + (lines[-1] if lines else "failed"))
    command = _cli("onboard", str(manifest), "--store", str(store))
    if workers > 1:
        command += ["--workers", str(workers)]
    if runner != "DirectRunner":
        command += ["--runner", runner]
    if beam_args:
        command += ["--", *beam_args]
    load_before = os.getloadavg()[0]
    with (run_dir / "stdout.txt").open("wb") as out, (run_dir / "stderr.txt").open("wb") as err:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(process.pid, interval, extra_roots)
        sampler.start()
        pauses = None
        if reference is not None and reference_every > 0:
            pauses = PausedReference(lambda: tree_pids(process.pid, *extra_roots), reference,
                                     reference_every)
            pauses.start()
        try:
            code = process.wait()
        finally:
            if pauses is not None:
                pauses.stop()  # resumes the tree if it stands in a pause
            if process.poll() is None:
                # The harness was interrupted: the run goes with it (SIGTERM: kura's one-line
                # stop, the run's staging recovered), never left orphaned, or stopped for good.
                process.terminate()
                process.wait()
        paused = pauses.paused_seconds if pauses is not None else 0.0
        wall = time.perf_counter() - start - paused
        sampler.stop()
        if pauses is not None and pauses.error is not None:
            raise RuntimeError("the reference measured in the run's pauses failed"
                               ) from pauses.error
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    lines = (run_dir / "stderr.txt").read_text(errors="replace").strip().splitlines()
    figures = RunFigures(
        workers=workers, exit_code=code, wall_seconds=round(wall, 2), cpu_seconds=round(cpu, 2),
        peak_rss_bytes=sampler.peak_bytes, peak_processes=sampler.peak_processes,
        samples=sampler.samples, load_before=round(load_before, 2),
        load_after=round(os.getloadavg()[0], 2), counts=_summary_counts(store),
        shards=shard_digests(store), rss_timeline=downsample(sampler.timeline),
        error=None if code in (0, 3) else (lines[-1] if lines else f"exit {code}"),
        store=str(store) if keep else None,
        reference_rates=[round(r) for r in pauses.rates] if pauses is not None else [],
        paused_seconds=round(paused, 2))
    if not keep:
        shutil.rmtree(store, ignore_errors=True)
    return figures

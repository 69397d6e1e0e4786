"""Raw fugashi measured during a timed run, in the pauses of that run.

On a shared machine the CPU's speed drifts: raw fugashi moved by 19% within one four-minute
onboard of the 600 MB corpus, so a reference measured before and after the run may describe
neither. `PausedReference` stops the run's process tree (SIGSTOP) every `every` seconds, times
raw tokenization of a fixed sample (1-2.5 s), and resumes the tree (SIGCONT): the
reference samples the same stretch of time as the run without the two sharing the cores, and
the run's wall time leaves the pauses out. A stopped process uses no CPU, so its CPU time is
untouched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

# A pause's tokenization: 0.7-2.5 s on these machines (raw fugashi ran at 0.8-3 M chars/s).
SAMPLE_CHARS = 2_000_000


def sample_texts(texts: Iterable[str], max_chars: int = SAMPLE_CHARS) -> list[str]:
    """The first texts of `texts` up to `max_chars` characters in all."""
    taken, sample = 0, []
    for text in texts:
        if taken >= max_chars:
            break
        sample.append(text)
        taken += len(text)
    return sample


def fugashi_rate(texts: Sequence[str]) -> Callable[[], float]:
    """A call that tokenizes `texts` with raw fugashi (`tagger(text)`, surfaces read, as the
    harness's reference does) and returns characters per wall second."""
    import fugashi

    tagger = fugashi.Tagger()
    chars = sum(map(len, texts))

    def measure() -> float:
        start = time.perf_counter()
        for text in texts:
            for word in tagger(text):
                word.surface  # noqa: B018 - reading the surface is the work measured
        return chars / (time.perf_counter() - start)

    for text in texts[:20]:  # untimed: pages the dictionary in
        tagger(text)
    return measure


def pool_rates(rates: Sequence[float]) -> float:
    """Rates of the same work as one: the work over the summed time."""
    return len(rates) / sum(1 / rate for rate in rates)


def _signal_all(pids: Sequence[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # ended since the listing
            os.kill(pid, signum)


def _stopped(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # ended, or no /proc: nothing left to wait for
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t", "Z", "X")


def _wait_stopped(pids: Sequence[int], timeout: float = 0.5) -> None:
    """SIGSTOP lands asynchronously: wait, briefly, until every process has stopped, so the
    measurement has the machine to itself from its first instruction."""
    deadline = time.monotonic() + timeout
    waiting = list(pids)
    while waiting and time.monotonic() < deadline:
        waiting = [pid for pid in waiting if not _stopped(pid)]
        if waiting:
            time.sleep(0.001)


class PausedReference(threading.Thread):
    """Every `every` seconds, pause the processes `tree()` lists, call `measure()`, resume them.

    `rates` holds each pause's measurement, `paused_seconds` the time the tree stood still. The
    tree is always resumed, whatever `measure` raises."""

    def __init__(self, tree: Callable[[], list[int]], measure: Callable[[], float],
                 every: float) -> None:
        super().__init__(daemon=True)
        if every <= 0:
            raise ValueError(f"every must be positive, not {every}")
        self._tree, self._measure, self._every = tree, measure, every
        self.rates: list[float] = []
        self.paused_seconds = 0.0
        self.error: BaseException | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._every):
            pids = self._tree()
            if not pids:
                return
            paused = time.perf_counter()
            _signal_all(pids, signal.SIGSTOP)
            try:
                _wait_stopped(pids)
                self.rates.append(self._measure())
            except BaseException as exc:  # reported by the caller; the run must go on
                self.error = exc
                return
            finally:
                _signal_all(pids, signal.SIGCONT)
                self.paused_seconds += time.perf_counter() - paused

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

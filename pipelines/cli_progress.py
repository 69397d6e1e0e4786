"""The progress line of `kura onboard` and `kura demo`: which stage a run is in, and how far.

A run's stages are reading (decode, normalize, MeCab, quality and PII are fused into one Beam
stage, measured in bytes of finished source files), dedup and shard writing (one shuffle; Beam
reports nothing finer), then validation and signing. The bar names the stage and never moves
backwards: bytes done only ever grow, and a later stage starts where the earlier one ended. It is
drawn on a terminal only; with -v each stage is also an INFO line, so a piped run can be
followed too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

log = logging.getLogger(__name__)

PLANNING = "checking residency and planning"
READING = "reading, normalizing, analyzing and scrubbing"
DEDUPLICATING = "deduplicating and writing shards"
VALIDATING = "validating shards and signing lineage"


def finished_bytes(progress_dir: Path) -> int:
    """Bytes of the source files the reading stage has finished (one marker file each)."""
    total = 0
    try:
        markers = list(progress_dir.glob("*.done"))
    except OSError:
        return 0
    for marker in markers:
        try:
            total += int(marker.read_text() or 0)
        except (OSError, ValueError):
            continue  # a marker being written, or gone with its staging
    return total


class RunProgress:
    """One line naming the stage; completion only grows within a stage, and each stage is a new
    task (an earlier one is hidden), so a bar never goes from full back to empty."""

    def __init__(self, console: Console, corpus_id: str) -> None:
        self._corpus_id = corpus_id
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TimeElapsedColumn(), console=console, transient=True,
            disable=not console.is_terminal)
        self._task = self._progress.add_task(corpus_id, total=None)
        self._done = 0
        self._lock = threading.Lock()

    def __enter__(self) -> RunProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def stage(self, name: str, total: int | None = None) -> None:
        """Start stage `name`: a bar over `total` bytes, or a pulse when Beam tells nothing."""
        log.info("%s: %s", self._corpus_id, name)
        with self._lock:
            self._done = 0
            self._progress.update(self._task, visible=False)
            self._task = self._progress.add_task(f"{self._corpus_id}: {name}", total=total)

    def advance_to(self, done: int) -> None:
        with self._lock:
            if done > self._done:  # a marker read half-written, or gone, never moves it back
                self._done = done
                self._progress.update(self._task, completed=done)

    @contextmanager
    def watching_reads(self, progress_dir: Path, total_bytes: int) -> Iterator[None]:
        """Follow the reading stage's markers while the pipeline runs in this thread (so that
        Ctrl-C and SIGTERM stop it where it is); past the last byte, the dedup stage begins."""
        self.stage(READING, total=total_bytes or None)
        finished = threading.Event()

        def follow() -> None:
            reading = True
            while not finished.wait(0.25):
                if not reading:
                    continue
                self.advance_to(finished_bytes(progress_dir))
                if self._done >= total_bytes:
                    reading = False
                    self.stage(DEDUPLICATING)

        follower = threading.Thread(target=follow, name="kura-progress", daemon=True)
        follower.start()
        try:
            yield
        finally:
            finished.set()
            follower.join(1)

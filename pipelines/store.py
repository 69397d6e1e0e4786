"""A run as a transaction on the store: staged, then published atomically under the store lock.

    <store>/.kura-store.lock            held by the one command writing the store (a run, a
                                        repair); released by the OS when its process dies
    <store>/staging/<run_id>/           everything a run writes, laid out as the store is
    <store>/staging/<run_id>/PUBLISH    written (fsync'd) once the run is complete and validated:
                                        the summary and verdicts to publish

Nothing ever reads staging/ as data. A run holds the store lock from before it reads the
store's prior signatures until its outputs are published, so store-wide dedup always sees every
corpus published before its own publish, and concurrent onboards give the shards of the same
onboards in sequence (in the order they took the lock).

Publishing moves each staged file to its place (os.replace: same file system), replaces the
corpus's signature folder (an append run adds its files to it instead), appends the signed
records (unless the log already has them) and writes the run summary and report; every step can
be repeated. So a run that dies before PUBLISH changes nothing and its staging is removed by the
next command; one that dies while publishing is completed by the next command. Each says so in
one line.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from lineage.record import RecordedRun, record_run, recorded_run
from lineage.repair import repair_log
from pipelines.report import write_report
from schemas.run import RunSummary
from schemas.store import StoreLayout

log = logging.getLogger(__name__)

LOCK_NAME = ".kura-store.lock"
HOLDER_NAME = ".kura-store.holder"
STAGING = "staging"
MARKER = "PUBLISH"
# Staged folders that are published by other means than moving their files.
_NOT_MOVED = ("tmp", "runs", "signatures", MARKER)

Announce = Callable[[str], None]


class StoreBusy(RuntimeError):
    """The store lock could not be had in time."""


@dataclass(frozen=True)
class Published:
    summary: RunSummary
    recorded: RecordedRun
    report: Path


def staging_root(store_root: Path, run_id: str) -> Path:
    return Path(store_root) / STAGING / run_id


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


@contextmanager
def store_lock(store_root: Path, command: str, announce: Announce,
               timeout_s: float = 24 * 3600) -> Iterator[None]:
    """Hold the store's write lock; say once who holds it if we have to wait."""
    store_root = Path(store_root)
    store_root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(store_root / LOCK_NAME))
    holder = store_root / HOLDER_NAME
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            who = holder.read_text().strip()
        except OSError:
            who = "another command"
        announce(f"waiting for {who} to finish with store {store_root}")
        try:
            lock.acquire(timeout=timeout_s)
        except Timeout:
            raise StoreBusy(f"store {store_root} stayed locked by {who}") from None
    try:
        holder.write_text(f"{command} (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})\n")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _staged_files(staging: Path) -> list[Path]:
    files = []
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging)
        if relative.parts[0] in _NOT_MOVED or not path.is_file():
            continue
        files.append(relative)
    return files


def _move_into_place(staging: Path, store_root: Path) -> None:
    for relative in _staged_files(staging):
        target = store_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, target)


def _replace_signatures(staging: Path, store_root: Path, corpus_id: str) -> None:
    staged = StoreLayout(staging).signatures(corpus_id)
    if not staged.is_dir():
        return  # published already (or the run kept none)
    target = StoreLayout(store_root).signatures(corpus_id)
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _add_signatures(staging: Path, store_root: Path, corpus_id: str, run_id: str) -> None:
    """An append run's signatures join the corpus's folder (the documents it already holds
    keep theirs), each under a name of its own: `<run_id>-signatures-....parquet`."""
    staged = StoreLayout(staging).signatures(corpus_id)
    if not staged.is_dir():
        return  # published already (or the run kept none)
    target = StoreLayout(store_root).signatures(corpus_id)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(staged.glob("*.parquet")):
        os.replace(path, target / f"{run_id}-{path.name}")
    shutil.rmtree(staged)


def publish(store_root: Path, staging: Path, summary: RunSummary,
            validation_digests: dict[str, str], validation_passed: dict[str, bool]) -> Published:
    """Mark the staged run complete, then publish it (the caller holds the store lock)."""
    marker = {
        "summary": json.loads(summary.model_dump_json()),
        "validation_digests": validation_digests,
        "validation_passed": validation_passed,
    }
    _fsync_write(staging / MARKER, json.dumps(marker, sort_keys=True).encode())
    return _publish_marked(Path(store_root), staging)


def _publish_marked(store_root: Path, staging: Path) -> Published:
    marker = json.loads((staging / MARKER).read_text())
    summary = RunSummary.model_validate(marker["summary"])
    _move_into_place(staging, store_root)
    if summary.mode == "append":
        _add_signatures(staging, store_root, summary.corpus_id, summary.run_id)
    else:
        _replace_signatures(staging, store_root, summary.corpus_id)
    layout = StoreLayout(store_root)
    layout.runs.mkdir(parents=True, exist_ok=True)
    summary_path = layout.run_summary(summary.run_id)
    _fsync_write(summary_path, (summary.model_dump_json(indent=2) + "\n").encode())
    recorded = recorded_run(store_root, summary.run_id)
    if recorded is None:
        recorded = record_run(store_root, summary,
                              validation_digests=marker["validation_digests"],
                              validation_passed=marker["validation_passed"],
                              also_attest=(str(summary_path.relative_to(store_root)),))
    report = write_report(store_root, summary)
    shutil.rmtree(staging)
    return Published(summary, recorded, report)


def recover(store_root: Path) -> list[str]:
    """Finish or undo what interrupted commands left (the caller holds the store lock).

    Returns one line per thing done, for the user."""
    store_root = Path(store_root)
    said = repair_log(store_root)
    root = store_root / STAGING
    for staging in sorted(root.iterdir()) if root.is_dir() else []:
        if (staging / MARKER).is_file():
            published = _publish_marked(store_root, staging)
            said.append(f"completed the publishing of run {staging.name} (corpus "
                        f"{published.summary.corpus_id}), which was interrupted")
        else:
            shutil.rmtree(staging)
            said.append(f"removed the staging of run {staging.name}: it stopped before "
                        "publishing, so nothing of it was published")
    for leftover in _legacy_scratch(store_root):
        shutil.rmtree(leftover, ignore_errors=True)
        said.append(f"removed {leftover.relative_to(store_root)}: scratch of an interrupted run")
    return said


def _legacy_scratch(store_root: Path) -> list[Path]:
    """Scratch that runs before staging left in the store's own folders."""
    layout = StoreLayout(store_root)
    found = []
    if layout.signatures().is_dir():
        found += [p for p in layout.signatures().iterdir() if p.name.startswith(".")]
    tmp = layout.root / "tmp"
    if tmp.is_dir():
        found += list(tmp.iterdir())
    return sorted(p for p in found if p.is_dir())


def discard(staging: Path) -> None:
    """Remove a run's staging that will not be published (the run failed or was stopped)."""
    if not (staging / MARKER).exists():
        shutil.rmtree(staging, ignore_errors=True)

"""Shards validated side by side: a pool of processes, each streaming one shard at a time.

The pool's processes fork from a forkserver, never from the driver: the driver has just run a
Beam pipeline and holds gRPC and Arrow threads, which a plain fork would copy half-alive. The
forkserver is a fresh interpreter that imports great-expectations (seconds of imports) once;
every worker forks from it with those imports done and builds its own great-expectations context
once. The driver itself never imports great-expectations on this path. Results come back in the
order the paths were given.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from transforms.validate import ShardValidation, ShardValidator

# What the forkserver imports once for every worker it forks: great-expectations is most of a
# worker's start-up.
PRELOAD = ["great_expectations", "transforms.validate", __name__]

# The validator of a pool worker, built once per process by `_start_worker`.
_worker_validator: ShardValidator | None = None
_worker_setup_seconds = 0.0


def _start_worker(validator: ShardValidator) -> None:
    global _worker_validator, _worker_setup_seconds
    started = time.perf_counter()
    validator.setup()  # builds the suite and the great-expectations context: once per process
    _worker_validator, _worker_setup_seconds = validator, time.perf_counter() - started


def _validate_in_worker(path: Path) -> tuple[ShardValidation, float]:
    """One shard, read and validated in a pool worker; with the worker's setup time the first
    time it reports (0 after), so the driver can tell setup from validation."""
    global _worker_setup_seconds
    if _worker_validator is None:
        raise RuntimeError("validation worker used without its initializer")
    setup, _worker_setup_seconds = _worker_setup_seconds, 0.0
    return _worker_validator.validate_file(path), setup


def _pool_context() -> multiprocessing.context.BaseContext:
    # GX reads this at import time: the forkserver inherits it (schemas.expectations sets the
    # same default when it imports GX itself).
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_forkserver() -> None:
    """Start the pool's forkserver now, so its imports run beside the pipeline instead of after
    it. Measured at 150 MB with two workers: eight seconds of one core between the pipeline's
    end and the first validation, a twelfth of the run. Spawned, not forked: safe before Beam."""
    from multiprocessing import forkserver

    _pool_context()
    forkserver.ensure_running()


def validate_in_pool(paths: Sequence[Path], validator: ShardValidator, workers: int
                     ) -> Iterator[tuple[ShardValidation, float]]:
    """(validation, setup seconds) of each shard, in the order of `paths`, from at most
    `workers` processes."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context(),
                             initializer=_start_worker, initargs=(validator,)) as pool:
        yield from pool.map(_validate_in_worker, paths)

"""Hand the memory one phase of a run freed back to the system before the next phase starts.

A phase's high-water mark (a writer's full spill buffer of rows, the pipeline as a whole) is
freed when the phase ends, but CPython's allocator, glibc's heap and Arrow's memory pool keep
freed pages for reuse, and they do not share them: Arrow's row groups in the shard writers, then
great-expectations in validation, would stack on that high-water mark instead of on what is
still alive, and the run's peak would grow with the corpus (until a spill buffer first fills).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Any


@functools.cache
def _glibc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None  # glibc only (not musl, macOS)
    except OSError:
        return None


def release_freed_memory(collect_cycles: bool = True) -> None:
    """Collect cycles, then return freed pages: Arrow's pool, then glibc's heap.

    `collect_cycles=False` where what was just freed holds no cycles (a spill buffer's rows):
    a full collection walks every object alive, a quarter of a second on a large run's heap,
    while the trim itself costs next to nothing."""
    if collect_cycles:
        gc.collect()
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)

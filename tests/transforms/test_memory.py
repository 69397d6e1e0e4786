"""release_freed_memory hands freed heap pages back to the system (glibc's malloc_trim)."""

from __future__ import annotations

from pathlib import Path

import pytest

from transforms.memory import _glibc, release_freed_memory

MB = 2**20


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    import resource

    return pages * resource.getpagesize()


@pytest.mark.skipif(_glibc() is None or not Path("/proc/self/statm").exists(),
                    reason="malloc_trim is glibc's, and RSS is read from Linux /proc")
def test_memory_freed_below_a_live_object_goes_back_to_the_system() -> None:
    # 1 KB blocks come from glibc's heap (pymalloc takes 512 bytes and less); the block allocated
    # after them pins the heap's top, so glibc cannot shrink the heap by itself when they are
    # freed: only a trim returns the pages below it.
    blocks = [bytes(1000) + i.to_bytes(8, "little") for i in range(200_000)]
    pin = bytes(1000) + b"pin"
    del blocks
    before = resident_bytes()
    release_freed_memory()
    after = resident_bytes()
    assert pin.endswith(b"pin")
    assert before - after > 100 * MB


@pytest.mark.skipif(_glibc() is None or not Path("/proc/self/statm").exists(),
                    reason="malloc_trim is glibc's, and RSS is read from Linux /proc")
def test_pages_go_back_without_collecting_cycles(monkeypatch) -> None:
    import gc

    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    blocks = [bytes(1000) + i.to_bytes(8, "little") for i in range(200_000)]
    pin = bytes(1000) + b"pin"
    del blocks
    before = resident_bytes()
    release_freed_memory(collect_cycles=False)
    assert before - resident_bytes() > 100 * MB and pin.endswith(b"pin")
    assert not collected
    release_freed_memory()
    assert collected == [1]


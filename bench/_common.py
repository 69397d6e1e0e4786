"""Helpers shared by the benchmarks: the corpus path, best-of-N timing and a ratio line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANPAGES = REPO.parent / "shared" / "data" / "manpages-ja.jsonl"


def corpus_path(argv_path: str | None) -> Path:
    path = Path(argv_path) if argv_path else MANPAGES
    if not path.is_file():
        raise SystemExit(f"benchmark corpus not found: {path} (pass a JSONL path)")
    return path


def load_texts(path: Path, field: str = "text") -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)[field] for line in handle if line.strip()]


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The fastest of `repeats` runs, in seconds: the least disturbed by a shared machine."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best

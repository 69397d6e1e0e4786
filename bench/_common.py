"""Helpers shared by the benchmarks: the corpus path, best-of-N timing and a ratio line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from schemas.records import Document

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


def bench_documents(texts: Sequence[str]) -> list[Document]:
    """`texts` as the documents a pipeline step takes, numbered in order."""
    return [
        Document(doc_id=str(i), corpus_id="bench", member="bench", source_uri="bench.jsonl",
                 source_sha256="0" * 64, locator=i, text=text)
        for i, text in enumerate(texts)
    ]


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The fastest of `repeats` runs, in seconds: the least disturbed by a shared machine."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


# The man pages as a corpus at default settings; `root` is the corpus file's folder (sources are
# recorded relative to it) and `extra` any further manifest sections.
MANPAGES_MANIFEST = """
[corpus]
id = "manpages-ja"
member = "debian"
license = "GPL and others (Debian manpages-ja)"
sensitivity = "public"
language = "ja"
root = "{root}"

[[sources]]
uri = "{uri}"
format = "jsonl"
location = {{ provider = "onprem", country = "JP", region = "jp-tokyo" }}
{extra}"""


def manpages_manifest(corpus: Path, extra: str = "") -> str:
    """The manifest text of `corpus` (a JSONL file of man pages) at default settings."""
    resolved = corpus.resolve()
    return MANPAGES_MANIFEST.format(root=resolved.parent, uri=resolved, extra=extra)

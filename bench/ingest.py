"""Ingestion throughput against plain-Python reading and decoding of the same file.

    .venv/bin/python -m bench.ingest [PATH]

The reference reads the file, decodes it as UTF-8 and parses each JSON line, the least any
reader must do. Kura additionally hashes the file, detects its encoding, checks every record's
size and text, and builds a Document with a stable id per record.
"""

from __future__ import annotations

import json
import sys

from bench._common import best_of, corpus_path
from schemas.records import SourceFile
from transforms.ingest import read_source


def plain_python(data: bytes) -> int:
    return sum(1 for line in data.decode("utf-8").splitlines() if line.strip()
               and json.loads(line)["text"])


def kura(data: bytes, source: SourceFile) -> int:
    _, items = read_source(source, data)
    return sum(1 for _ in items)


def main() -> None:
    path = corpus_path(sys.argv[1] if len(sys.argv) > 1 else None)
    data = path.read_bytes()
    source = SourceFile(corpus_id="bench", member="bench", uri=path.as_uri(), path=str(path),
                        format="jsonl", text_field="text", encoding="auto",
                        max_record_bytes=16_000_000)
    assert plain_python(data) == kura(data, source)
    reference = best_of(5, lambda: plain_python(data))
    ours = best_of(5, lambda: kura(data, source))
    mb = len(data) / 1e6
    print(f"corpus: {path.name}, {mb:.1f} MB")
    print(f"plain Python read+decode+json: {mb / reference:8.1f} MB/s")
    print(f"Kura ingestion (read_source):  {mb / ours:8.1f} MB/s")
    print(f"ratio Kura / plain Python: {reference / ours:.2f}")


if __name__ == "__main__":
    main()

"""Shard validation cost per 10k-row shard, against MeCab tokenization of the same text.

    .venv/bin/python -m bench.validate_shard [--rows 10000] [--corpus PATH]

Rows are the man-page corpus of ../shared (or synthetic Japanese when it is absent), cycled to
`--rows` with a distinct doc_id and a distinct last line each, so the shard has no duplicates.
Prints the time of each part of `validate_shard` and its ratio to fugashi's tokenization of the
same characters, measured in the same run (the floor of any pipeline that reads every token),
and what the regex backstop finds in the raw corpus (before any PII scrub).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from schemas.records import DOCUMENT_SCHEMA, QUALITY_SIGNALS, doc_id_for
from transforms.validate import (
    ShardBounds,
    check_columns,
    residual_pii_counts,
    validate_shard,
)

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "manpages-ja.jsonl"
BOUNDS = ShardBounds({"hiragana_fraction": (0.01, None), "char_count": (1, 10_000_000)})


def load_texts(path: Path) -> list[str]:
    if path.is_file():
        with path.open(encoding="utf-8") as lines:
            return [json.loads(line)["text"] for line in lines]
    base = "本日の会議は10時〜12時に第3会議室で行います。売上は前年比で12.5%増加しました。\n"
    return [base * (1 + i % 40) for i in range(500)]


def make_shard(texts: list[str], rows: int, max_chars: int | None) -> pa.Table:
    docs = []
    for i in range(rows):
        text = texts[i % len(texts)]
        text = (text[:max_chars] if max_chars else text) + f"\n(第{i}版)"
        row = {
            "doc_id": doc_id_for("bench", "00" * 32, i), "corpus_id": "bench", "member": "bench",
            "source_uri": "file:///bench.jsonl", "source_sha256": "00" * 32, "locator": i,
            "text": text, "char_count": len(text), "lang": "ja", "token_count": 1,
            **{name: 0.2 for name in QUALITY_SIGNALS},
            "pii": [], "dup_cluster": None, "pipeline_version": "bench",
        }
        docs.append(row)
    return pa.Table.from_pylist(docs, schema=DOCUMENT_SCHEMA)


def tokenize_seconds(texts: list[str]) -> float:
    import fugashi

    tagger = fugashi.Tagger()
    start = time.perf_counter()
    for text in texts:
        for word in tagger(text):
            _ = word.surface, word.feature_raw
    return time.perf_counter() - start


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()

    texts = load_texts(args.corpus)
    corpus_chars = sum(map(len, texts))
    tok_s = tokenize_seconds(texts)
    tok_rate = corpus_chars / tok_s
    print(f"reference: fugashi over {len(texts)} docs, {corpus_chars / 1e6:.1f} M chars: "
          f"{tok_s:.2f} s ({tok_rate / 1e6:.2f} M chars/s)")

    found = Counter()
    rows_with = Counter()
    for text in texts:
        for kind, n in residual_pii_counts(text).items():
            found[kind] += n
            rows_with[kind] += n > 0
    print(f"backstop on the raw corpus (before any scrub): matches {dict(found)}, "
          f"documents {dict(rows_with)}")

    _, first_s = timed(validate_shard, make_shard(texts, 10, 200), BOUNDS)
    print(f"first call (GX import, context, suite): {first_s:.2f} s")

    for label, max_chars in (("man-page rows", None), ("rows cut to 500 chars", 500)):
        shard = make_shard(texts, args.rows, max_chars)
        chars = sum(shard.column("char_count").to_pylist())
        _, checks_s = timed(check_columns, shard)
        runs = []
        for _ in range(3):
            result, total_s = timed(validate_shard, shard, BOUNDS)
            runs.append(total_s)
        total_s = min(runs)
        fugashi_s = chars / tok_rate
        print(f"{label}: {shard.num_rows} rows, {chars / 1e6:.1f} M chars, passed={result.passed}, "
              f"{int(result.statistics['evaluated_expectations'])} expectations")
        failed = sorted({f"{f.expectation}({f.column})" for f in result.failures})
        print(f"  failed (raw text, not scrubbed): {failed}")
        print(f"  validate_shard {total_s:.2f} s (best of 3; derived checks {checks_s:.2f} s, "
              f"GX and the rest {total_s - checks_s:.2f} s)")
        print(f"  fugashi on the same chars (scaled) {fugashi_s:.2f} s; "
              f"validation / tokenization = {total_s / fugashi_s:.3f}")


if __name__ == "__main__":
    main()

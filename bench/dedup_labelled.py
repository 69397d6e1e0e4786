"""Generator of the labelled near-duplicate set, built from ../shared/data/manpages-ja.jsonl.

    .venv/bin/python -m bench.dedup_labelled [--out bench/dedup_labelled.jsonl.gz]

Every man page (cut to its first `--chars` characters) is an original. Seeded, so the set is the
same on every run:
- exact copies;
- edited copies: random character substitutions, insertions and deletions at rates 1-30 %;
- notational variants: full-width <-> half-width ASCII, 〜/～/~, ー/－/-, half-width katakana;
- hard negatives: different pages wrapped in the same long boilerplate header and footer.
Rows: {"id", "text", "family" (the original's id), "variant"}. Ids are random, so "keep the
lowest id" is not "keep the original". Ground truth is not stored: `bench.dedup_quality`
computes exact Jaccard of the matching keys' 5-gram sets for every pair.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "manpages-ja.jsonl"
DEFAULT_OUT = Path(__file__).resolve().parent / "dedup_labelled.jsonl.gz"
EDIT_RATES = (0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3)
KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん"
BOILERPLATE_HEAD = (
    "【社内資料】本文書は株式会社サンプルの社内向け技術文書です。無断での複製、転載、第三者への"
    "開示を禁じます。内容は作成時点の情報に基づいており、予告なく変更されることがあります。"
    "お問い合わせは情報システム部ヘルプデスク(内線1234)までご連絡ください。\n"
)
BOILERPLATE_FOOT = (
    "\n――――――――――\n改訂履歴: 第1版 2023年4月1日 初版発行 / 第2版 2024年10月1日 表記統一。"
    "本文書の著作権は株式会社サンプルに帰属します。Copyright (C) 2024 Sample Corporation. "
    "All rights reserved. 本文書に関するご意見は文書管理担当までお寄せください。\n"
)
_HALF_KATAKANA = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン",
    "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ", strict=True))


def edited(text: str, rate: float, rng: random.Random) -> str:
    out = []
    for ch in text:
        if rng.random() >= rate:
            out.append(ch)
            continue
        op = rng.random()
        if op < 0.5:
            out.append(rng.choice(KANA))  # substitute
        elif op < 0.75:
            out.append(ch + rng.choice(KANA))  # insert
        # else: delete
    return "".join(out)


def notational_variant(text: str, rng: random.Random) -> str:
    to_full = rng.random() < 0.7
    tilde = rng.choice("～~〜")
    dash = rng.choice("－-‐")
    half_kana = rng.random() < 0.4
    out = []
    for ch in text:
        if to_full and ("0" <= ch <= "9" or "A" <= ch <= "Z" or "a" <= ch <= "z"):
            out.append(chr(ord(ch) + 0xFEE0))
        elif ch in "〜～~":
            out.append(tilde)
        elif ch in "-－":
            out.append(dash)
        elif ch == "ー" and rng.random() < 0.5:
            out.append(rng.choice("－-ｰ"))
        elif half_kana and ch in _HALF_KATAKANA:
            out.append(_HALF_KATAKANA[ch])
        else:
            out.append(ch)
    return "".join(out)


def build(source: Path, chars: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    with source.open(encoding="utf-8") as lines:
        pages = [json.loads(line) for line in lines]
    pages = [p for p in pages if len(p["text"]) >= 200]
    rows: list[dict] = []
    for page in pages:
        family, text = page["id"], page["text"][:chars]
        rows.append({"text": text, "family": family, "variant": "original"})
        if rng.random() < 0.15:
            rows.append({"text": text, "family": family, "variant": "exact"})
        if rng.random() < 0.4:
            rate = rng.choice(EDIT_RATES)
            rows.append({"text": edited(text, rate, rng), "family": family,
                         "variant": f"edit-{rate:.2f}"})
        if rng.random() < 0.2:
            rows.append({"text": notational_variant(text, rng), "family": family,
                         "variant": "notation"})
        if rng.random() < 0.12:
            body = page["text"][: rng.randint(300, 900)]
            rows.append({"text": BOILERPLATE_HEAD + body + BOILERPLATE_FOOT,
                         "family": "boilerplate:" + family, "variant": "hard-negative"})
    rng.shuffle(rows)
    ids = rng.sample(range(16**8), len(rows))
    for row, n in zip(rows, ids, strict=True):
        row["id"] = f"{n:08x}"
    return rows


def load(path: Path = DEFAULT_OUT) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    rows = build(args.source, args.chars, args.seed)
    # mtime=0: the same rows give the same bytes
    with args.out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode())
    counts: dict[str, int] = {}
    for row in rows:
        kind = row["variant"].split("-")[0]
        counts[kind] = counts.get(kind, 0) + 1
    print(f"{len(rows)} documents -> {args.out}: {counts}")


if __name__ == "__main__":
    main()

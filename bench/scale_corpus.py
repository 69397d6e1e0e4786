"""Distinct-document corpora of a chosen size, recombined from the man pages, for bench.scale.

The man pages hold 1,784 pages, 13.5 MB; a 600 MB corpus must reuse every paragraph ~50 times
without making near-duplicates (Jaccard 0.8 over character 5-grams), or the pipeline's dedup
would drop part of it and the measurement would be of a smaller corpus. So a document is a mix
of *units* (~55,000 distinct paragraphs, long ones cut at line ends) taken in the order of a
seeded permutation of all units, a new permutation per pass: within a pass no two documents
share a unit. Across passes two documents do share one now and then (at 600 MB, millions of
pairs share one unit), so no unit may be more than a quarter of its document: to reach 0.8 two
documents must share four or more units that make ~90 % of both, and the expected number of such
pairs at 600 MB is far below one. (Generator 1 allowed one long unit plus two short ones: its
600 MB corpus had a pair at Jaccard 0.78 in a sample of 5,000.) Lengths follow the pages' own
length distribution.

Deterministic for (source bytes, size, seed, files, GENERATOR); built once into a cache folder
and reused. `sample_check` then measures on a sample, with datasketch MinHash and Kura's own
quality rules, that the documents are distinct and survive the filters.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

# Bump when the recombination changes: cached corpora of another generator are rebuilt.
GENERATOR = "2"
MAX_UNIT_CHARS = 1500  # no unit dominates a document, so one shared unit cannot make a twin
MIN_UNITS = 4
MAX_UNIT_SHARE = 4  # a document holds at least 4x its longest unit (see the module doc)
MIN_DOC_CHARS, MAX_DOC_CHARS = 800, 20000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u3000]*\n")


@dataclass(frozen=True)
class CorpusInfo:
    """A built corpus: its folder, files and the figures every report needs."""

    folder: str
    files: list[str]
    size_mb: float
    seed: int
    documents: int
    chars: int
    bytes: int
    source_sha256: str
    generator: str
    build_seconds: float
    reused: bool = False


def size_label(size_mb: float) -> str:
    """`15`, `0.3`: a size as the user wrote it, for folder names and tables."""
    return f"{size_mb:g}"


def _cut(paragraph: str) -> Iterator[str]:
    """A paragraph in pieces of at most MAX_UNIT_CHARS, cut at line ends where possible."""
    piece: list[str] = []
    length = 0
    for line in paragraph.split("\n"):
        while len(line) > MAX_UNIT_CHARS:  # one huge line: hard cuts
            if piece:
                yield "\n".join(piece)
                piece, length = [], 0
            yield line[:MAX_UNIT_CHARS]
            line = line[MAX_UNIT_CHARS:]
        if piece and length + len(line) + 1 > MAX_UNIT_CHARS:
            yield "\n".join(piece)
            piece, length = [], 0
        piece.append(line)
        length += len(line) + 1
    if piece:
        yield "\n".join(piece)


def page_units(pages: list[str]) -> tuple[list[str], list[int]]:
    """Every distinct unit of the pages, in page order, and the pages' lengths in characters.

    Exact repeats (boilerplate paragraphs common to many pages) are kept once: a document with
    two copies of one paragraph would fail the duplicate-paragraph rule.
    """
    units: list[str] = []
    seen: set[str] = set()
    for text in pages:
        for paragraph in _PARAGRAPH_BREAK.split(text):
            for unit in _cut(paragraph.strip()):
                if unit.strip() and unit not in seen:
                    seen.add(unit)
                    units.append(unit)
    return units, [len(text) for text in pages]


def recombined_documents(units: list[str], lengths: list[int], seed: int) -> Iterator[str]:
    """An endless, seeded stream of documents mixing units of different pages (see module doc)."""
    rng = random.Random(seed)
    order: list[int] = []
    position = 0
    while True:
        target = min(max(rng.choice(lengths), MIN_DOC_CHARS), MAX_DOC_CHARS)
        chosen: list[int] = []
        chars = 0
        longest = 0
        while chars < max(target, MAX_UNIT_SHARE * longest) or len(chosen) < MIN_UNITS:
            if position == len(order):  # a new pass: a fresh permutation of every unit
                order = list(range(len(units)))
                rng.shuffle(order)
                position = 0
            unit = order[position]
            position += 1
            if unit not in chosen:  # only at a pass boundary can a unit come back at once
                chosen.append(unit)
                chars += len(units[unit]) + 2
                longest = max(longest, len(units[unit]))
        yield "\n\n".join(units[i] for i in chosen)


def _source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_folder(work: Path, size_mb: float, seed: int, files: int) -> Path:
    return work / "corpora" / f"{size_label(size_mb)}mb-seed{seed}-files{files}-g{GENERATOR}"


def _cached(folder: Path, size_mb: float, seed: int, files: int, source_sha: str
            ) -> CorpusInfo | None:
    meta = folder / "corpus.json"
    if not meta.is_file():
        return None
    info = CorpusInfo(**json.loads(meta.read_text()))
    wanted = (size_mb, seed, source_sha, GENERATOR, files)
    if (info.size_mb, info.seed, info.source_sha256, info.generator, len(info.files)) != wanted:
        return None
    if sum((folder / name).stat().st_size for name in info.files
           if (folder / name).is_file()) != info.bytes:
        return None
    return CorpusInfo(**{**asdict(info), "reused": True})


def build_corpus(source: Path, work: Path, size_mb: float, seed: int, files: int = 1
                 ) -> CorpusInfo:
    """The corpus of `size_mb` (10^6 bytes of JSONL) for `seed`, built or reused from `work`."""
    source_sha = _source_digest(source)
    folder = corpus_folder(work, size_mb, seed, files)
    cached = _cached(folder, size_mb, seed, files, source_sha)
    if cached:
        return cached
    start = time.perf_counter()
    with source.open(encoding="utf-8") as handle:
        pages = [json.loads(line)["text"] for line in handle if line.strip()]
    units, lengths = page_units(pages)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"part-{index:03d}.jsonl" for index in range(files)]
    handles = [(folder / f".{name}.tmp").open("w", encoding="utf-8") for name in names]
    target, written, documents, chars = int(size_mb * 1e6), 0, 0, 0
    try:
        for text in recombined_documents(units, lengths, seed):
            if written >= target:
                break
            line = json.dumps({"id": f"scale-s{seed}-{documents:08d}", "text": text},
                              ensure_ascii=False) + "\n"
            handles[documents % files].write(line)  # round-robin: parts of equal size
            written += len(line.encode("utf-8"))
            chars += len(text)
            documents += 1
    finally:
        for handle in handles:
            handle.close()
    for name in names:
        os.replace(folder / f".{name}.tmp", folder / name)
    info = CorpusInfo(folder=str(folder), files=names, size_mb=size_mb, seed=seed,
                      documents=documents, chars=chars, bytes=written,
                      source_sha256=source_sha, generator=GENERATOR,
                      build_seconds=round(time.perf_counter() - start, 2))
    (folder / "corpus.json").write_text(json.dumps(asdict(info), indent=1))  # written last
    return info


def iter_texts(info: CorpusInfo) -> Iterator[str]:
    for name in info.files:
        with (Path(info.folder) / name).open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)["text"]


def _shingles(text: str, size: int = 5) -> set[str]:
    key = "".join(unicodedata.normalize("NFKC", text).split())
    return {key[i : i + size] for i in range(max(1, len(key) - size + 1))}


def _sample(info: CorpusInfo, sample: int, seed: int) -> list[str]:
    picked = set(random.Random(seed).sample(range(info.documents),
                                            min(sample, info.documents)))
    return [text for index, text in enumerate(iter_texts(info)) if index in picked]


def near_duplicates(texts: list[str], threshold: float = 0.8) -> dict[str, float | int]:
    """Pairs of `texts` at Jaccard >= threshold over character 5-grams of NFKC text without
    spaces: datasketch MinHash LSH finds candidates, exact Jaccard confirms them."""
    from datasketch import MinHash, MinHashLSH

    shingles = [_shingles(text) for text in texts]
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = MinHash.bulk([[s.encode() for s in group] for group in shingles], num_perm=128)
    pairs, max_jaccard = set(), 0.0
    for index, minhash in enumerate(hashes):
        for other in lsh.query(minhash):
            a, b = shingles[index], shingles[other]
            jaccard = len(a & b) / len(a | b)
            max_jaccard = max(max_jaccard, jaccard)
            if jaccard >= threshold:
                pairs.add((other, index))
        lsh.insert(index, minhash)
    in_pairs = {i for pair in pairs for i in pair}
    return {"sampled": len(texts), "nearDuplicatePairs": len(pairs),
            "nearDuplicateFraction": len(in_pairs) / max(1, len(texts)),
            "maxCandidateJaccard": round(max_jaccard, 4)}


def quality_pass_fraction(texts: list[str]) -> float:
    """The share of `texts` that Kura's default quality rules keep, computed with Kura's own
    normalization, signals and rules (token counts from fugashi, as the analysis stage does)."""
    import fugashi

    from schemas.quality import QualityConfig
    from transforms.normalize import stored_text
    from transforms.quality import first_failure, quality_rules, quality_signals

    config = QualityConfig()
    rules = quality_rules(config)
    tagger = fugashi.Tagger()
    kept = 0
    for text in texts:
        stored = stored_text(text)
        values = {**quality_signals(stored, config.top_ngram_n), "char_count": len(stored),
                  "token_count": len(tagger(stored))}
        kept += first_failure(rules, values, "ja") is None
    return kept / max(1, len(texts))


def sample_check(info: CorpusInfo, sample: int = 1000, seed: int = 0) -> dict[str, float | int]:
    """Distinctness and quality of a random sample of the corpus's documents."""
    texts = _sample(info, sample, seed)
    return {**near_duplicates(texts), "qualityPassFraction": round(
        quality_pass_fraction(texts), 4)}

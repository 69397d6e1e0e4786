"""Scores Kura's dedup and two baselines on the labelled near-duplicate set, in one run.

    .venv/bin/python -m bench.dedup_quality [--set bench/dedup_labelled.jsonl.gz] [--tune]

Ground truth: exact Jaccard of the matching keys' character 5-gram sets, for every pair.
- removable: in each cluster of the ground-truth graph at Jaccard >= 0.8, all but one document;
  recall = removed removable documents (at most size - 1 per cluster) / removable.
- unique: documents with no other document at Jaccard >= 0.6; false removals = unique removed.
- lost clusters: ground-truth clusters every document of which was removed.
- precision: removed documents whose kept document resembles them at J >= 0.8 (and >= 0.6).
Baselines: datasketch MinHashLSH (threshold 0.8, 128 permutations, character 5-grams after NFKC,
keep-first in file order) and HojiChar's GenerateDedupLSH + InlineDeduplicator (its defaults:
500 permutations, seed 42, threshold 0.8, character 5-grams) on the same NFKC text.

Then Kura under each shingle hash (`[dedup] shingle_hash`): the same scores, checked-edge
precision and recall, the estimate's error against exact Jaccard on every pair at J >= 0.3, and
hash collisions: distinct shingles that share a hash within a document (they bias its estimate)
and across the set, next to what an ideal random 32-bit hash would give.
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from bench.dedup_labelled import DEFAULT_OUT, load
from schemas.dedup import DedupConfig
from transforms.dedup import checked_edges, config_bands, connected_components, deduplicate_keys
from transforms.minhash import MinHasher, estimated_jaccard, shingles
from transforms.shingle_hash import SHINGLE_HASHES, hashfunc

try:
    from transforms.normalize import matching_key, stored_text

    def key_of(text: str) -> str:
        return matching_key(stored_text(text))
except ImportError:  # normalization not merged yet: the closest fold

    def key_of(text: str) -> str:
        return unicodedata.normalize("NFKC", text).casefold()


def exact_jaccard(keys: Sequence[str], size: int = 5) -> np.ndarray:
    """Dense matrix of exact Jaccard similarities of the keys' shingle sets."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, key in enumerate(keys):
        for gram in shingles(key, size):
            rows.append(i)
            cols.append(vocab.setdefault(gram, len(vocab)))
    x = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                          shape=(len(keys), len(vocab)))
    inter = (x @ x.T).toarray()
    sizes = np.asarray(x.sum(axis=1)).ravel()
    union = sizes[:, None] + sizes[None, :] - inter
    jac = inter / np.maximum(union, 1)
    np.fill_diagonal(jac, 0.0)
    return jac


class Truth:
    def __init__(self, ids: Sequence[str], jac: np.ndarray) -> None:
        self.ids = list(ids)
        a, b = np.nonzero(np.triu(jac >= 0.8))
        heads = connected_components((self.ids[i], self.ids[j]) for i, j in zip(a, b, strict=True))
        self.clusters: dict[str, list[str]] = {}
        for node, head in heads.items():
            self.clusters.setdefault(head, []).append(node)
        self.removable = sum(len(c) - 1 for c in self.clusters.values())
        self.unique = {self.ids[i] for i in np.nonzero(jac.max(axis=1) < 0.6)[0]}
        self.jac = jac
        self.index = {d: i for i, d in enumerate(self.ids)}

    def _represented(self, cluster: list[str], kept_of: dict[str, str | None]) -> bool:
        """A member's kept document (outside the cluster) resembles it at J >= 0.6."""
        return any(kept_of[d] is not None and kept_of[d] in self.index
                   and self.jac[self.index[d], self.index[kept_of[d]]] >= 0.6 for d in cluster)

    def score(self, kept_of: dict[str, str | None]) -> dict[str, float]:
        """kept_of: removed doc_id -> the document it was removed for (None: unknown)."""
        removed = set(kept_of)
        caught = sum(min(len(set(c) & removed), len(c) - 1) for c in self.clusters.values())
        gone = [c for c in self.clusters.values() if set(c) <= removed]
        lost = sum(1 for c in gone if not self._represented(c, kept_of))
        false = len(self.unique & removed)
        pairs = [(self.index[d], self.index[k]) for d, k in kept_of.items()
                 if k is not None and k in self.index]
        resemblance = np.array([self.jac[i, j] for i, j in pairs])
        return {"removed": len(removed), "recall": caught / self.removable, "caught": caught,
                "false_removals": false, "false_rate": false / len(self.unique),
                "all_removed": len(gone), "lost_clusters": lost,
                "precision_08": float(np.mean(resemblance >= 0.8)) if pairs else float("nan"),
                "precision_06": float(np.mean(resemblance >= 0.6)) if pairs else float("nan")}


def kura(ids: Sequence[str], texts: Sequence[str], config: DedupConfig) -> dict[str, str | None]:
    result = deduplicate_keys(ids, [key_of(t) for t in texts], config)
    return {v.doc_id: v.kept_doc_id for v in result.verdicts if v.removed}


def datasketch_baseline(ids: Sequence[str], texts: Sequence[str]) -> dict[str, str | None]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    removed: dict[str, str | None] = {}
    for doc_id, text in zip(ids, texts, strict=True):
        m = MinHash(num_perm=128)
        nfkc = unicodedata.normalize("NFKC", text)
        m.update_batch([g.encode("utf-8") for g in shingles(nfkc, 5)])
        found = lsh.query(m)
        if found:
            removed[doc_id] = min(found)
        else:
            lsh.insert(doc_id, m)
    return removed


def hojichar_baseline(ids: Sequence[str], texts: Sequence[str]) -> dict[str, str | None]:
    from hojichar import Document
    from hojichar.filters.deduplication import GenerateDedupLSH, InlineDeduplicator

    generate, dedup = GenerateDedupLSH(threshold=0.8), InlineDeduplicator()
    removed: dict[str, str | None] = {}  # HojiChar does not say which document it matched
    for doc_id, text in zip(ids, texts, strict=True):
        doc = dedup.apply(generate.apply(Document(unicodedata.normalize("NFKC", text))))
        if doc.is_rejected:
            removed[doc_id] = None
    return removed


def collisions(keys: Sequence[str], name: str, size: int = 5) -> tuple[int, float, int, float]:
    """Distinct shingles sharing a hash: (within documents, ideal), (across the set, ideal)."""
    func = hashfunc(name)
    within, ideal_within = 0, 0.0
    vocabulary: set[str] = set()
    for key in keys:
        grams = shingles(key, size)
        vocabulary |= grams
        within += len(grams) - len({func(g) for g in grams})
        ideal_within += len(grams) * (len(grams) - 1) / 2 / 2**32
    n = len(vocabulary)
    across = n - len({func(g) for g in vocabulary})
    return within, ideal_within, across, n * (n - 1) / 2 / 2**32


def estimate_error(keys: Sequence[str], truth: Truth, config: DedupConfig) -> tuple[float, float,
                                                                                     int]:
    """(mean error, RMS error, pairs) of estimated vs exact Jaccard, pairs at J >= 0.3."""
    sigs = MinHasher.from_config(config).signatures(keys)
    a, b = np.nonzero(np.triu(truth.jac >= 0.3))
    errors = np.array([estimated_jaccard(sigs[i], sigs[j]) - truth.jac[i, j]
                       for i, j in zip(a, b, strict=True)])
    return float(errors.mean()), float(np.sqrt(np.mean(errors**2))), len(errors)


def by_shingle_hash(ids: Sequence[str], texts: Sequence[str], keys: Sequence[str],
                    truth: Truth) -> None:
    print("\nkura by shingle hash (default parameters otherwise):")
    for name in SHINGLE_HASHES:
        config = DedupConfig(shingle_hash=name)
        start = time.perf_counter()
        score = truth.score(kura(ids, texts, config))
        seconds = time.perf_counter() - start
        p8, p6, r8 = edge_quality(ids, keys, truth, config)
        bias, rmse, pairs = estimate_error(keys, truth, config)
        within, ideal_within, across, ideal_across = collisions(keys, name)
        print(f"  {name:<14} recall {score['recall']:.4f} ({score['caught']})  precision@0.8 "
              f"{score['precision_08']:.4f} @0.6 {score['precision_06']:.4f}  false "
              f"{score['false_removals']}  lost {score['lost_clusters']}  {seconds:.1f}s")
        print(f"  {'':<14} edges: precision@0.8 {p8:.4f} @0.6 {p6:.4f} recall@0.8 {r8:.4f};"
              f"  estimate - exact on {pairs} pairs: mean {bias:+.4f} rms {rmse:.4f}")
        print(f"  {'':<14} collisions: within documents {within} (ideal 32-bit hash "
              f"{ideal_within:.1f}), across the set {across} (ideal {ideal_across:.1f})")


def edge_quality(ids, keys, truth: Truth, config: DedupConfig) -> tuple[float, float, float]:
    """Checked LSH edges: precision at J >= 0.8, precision at J >= 0.6, recall of J >= 0.8 pairs."""
    sigs = MinHasher.from_config(config).signatures(keys)
    edges = [(truth.index[a], truth.index[b]) for a, b, _ in checked_edges(ids, sigs, config)]
    true_j = np.array([truth.jac[i, j] for i, j in edges]) if edges else np.zeros(0)
    pairs_08 = int(np.count_nonzero(np.triu(truth.jac >= 0.8)))
    return (float(np.mean(true_j >= 0.8)) if edges else 0.0,
            float(np.mean(true_j >= 0.6)) if edges else 0.0,
            int(np.count_nonzero(true_j >= 0.8)) / max(pairs_08, 1))


def _line(name: str, s: dict[str, float], seconds: float) -> str:
    return (f"{name:<34} removed {s['removed']:>5}  recall {s['recall']:.4f} "
            f"({s['caught']})  precision {s['precision_08']:.4f}  "
            f"false {s['false_removals']:>3} ({s['false_rate']:.4%})  "
            f"all-removed clusters {s['all_removed']} (lost {s['lost_clusters']})  "
            f"{seconds:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="path", default=str(DEFAULT_OUT))
    parser.add_argument("--tune", action="store_true", help="also sweep band/check thresholds")
    args = parser.parse_args()
    rows = load(args.path)
    ids = [r["id"] for r in rows]
    texts = [r["text"] for r in rows]
    keys = [key_of(t) for t in texts]
    start = time.perf_counter()
    truth = Truth(ids, exact_jaccard(keys))
    print(f"{len(ids)} documents; ground truth in {time.perf_counter() - start:.1f}s: "
          f"{len(truth.clusters)} clusters at J>=0.8, {truth.removable} removable, "
          f"{len(truth.unique)} unique at J<0.6")
    contenders: list[tuple[str, Callable[[], dict[str, str | None]]]] = [
        ("kura (default)", lambda: kura(ids, texts, DedupConfig())),
        ("datasketch MinHashLSH keep-first", lambda: datasketch_baseline(ids, texts)),
        ("hojichar GenerateDedupLSH+Inline", lambda: hojichar_baseline(ids, texts)),
    ]
    default = DedupConfig()
    bands, rows = config_bands(default)
    print(f"kura: bands x rows {bands} x {rows} (band threshold "
          f"{default.effective_band_threshold}), check {default.effective_check_threshold}")
    for name, run in contenders:
        start = time.perf_counter()
        removed = run()
        print(_line(name, truth.score(removed), time.perf_counter() - start))
    by_shingle_hash(ids, texts, keys, truth)
    if args.tune:
        print("\nband_threshold check_threshold (b,r)  edge precision@0.8 @0.6  edge recall@0.8")
        for band in (0.8, 0.7, 0.65, 0.6):
            for check in (0.8, 0.75, 0.72, 0.7, 0.65):
                if check < band - 0.15:
                    continue
                config = DedupConfig(band_threshold=band, check_threshold=check)
                p8, p6, r8 = edge_quality(ids, keys, truth, config)
                score = truth.score(kura(ids, texts, config))
                print(f"{band:<14} {check:<15} {config_bands(config)!s:<7} {p8:.3f} {p6:.3f} "
                      f"{r8:.3f}   {_line('', score, 0)[35:-5]}")


if __name__ == "__main__":
    main()

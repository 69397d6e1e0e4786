"""An append run's documents against what its own corpus already holds ("earlier-run")."""

from __future__ import annotations

import random

import numpy as np

from schemas.dedup import DedupConfig
from transforms.dedup import (
    Member,
    PriorIndex,
    cluster_verdicts,
    deduplicate_keys,
    is_earlier_run,
    node_doc_id,
    stored_node,
)
from transforms.signature_store import write_signatures

KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろ"


def _texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(KANA) for _ in range(300)) for _ in range(n)]


def test_an_earlier_run_node_is_stored_and_names_its_document() -> None:
    node = stored_node("abc", earlier=True)
    assert is_earlier_run(node) and node_doc_id(node) == "abc"
    assert not is_earlier_run(stored_node("abc")) and node_doc_id(stored_node("abc")) == "abc"
    # it heads a cluster before another corpus's document, and before this run's
    assert sorted([stored_node("000"), node, "000"])[0] == node


def test_a_cluster_headed_by_an_earlier_run_removes_the_new_documents_as_earlier_run() -> None:
    sig = np.arange(8, dtype=np.uint32)
    verdicts = cluster_verdicts([Member("b2", b"k", sig), Member("b1", b"k", sig),
                                 Member(stored_node("a0", earlier=True), b"", sig),
                                 Member(stored_node("00", earlier=False), b"", sig)])
    assert [(v.doc_id, v.kind, v.kept_doc_id) for v in verdicts] == [
        ("b1", "earlier-run", "a0"), ("b2", "earlier-run", "a0")]


def test_an_append_run_keeps_what_the_corpus_holds_and_drops_its_copies(tmp_path) -> None:
    config = DedupConfig()
    held_ids = [f"a{i:03d}" for i in range(30)]
    held_texts = _texts(1, 30)
    first = deduplicate_keys(held_ids, held_texts, config)
    kept_ids, kept_sigs = first.kept_signatures()
    own = tmp_path / "signatures" / "corpus-a" / "run-1-signatures-00000-of-00001.parquet"
    write_signatures(own, kept_ids, kept_sigs, config)
    other = tmp_path / "signatures" / "corpus-b" / "signatures-00000-of-00001.parquet"
    write_signatures(other, ["zz"], first.signatures[5:6], config)  # another corpus holds a005
    prior = PriorIndex(config, [other], earlier=[own])
    new_texts = [*_texts(2, 5), held_texts[3], held_texts[5]]
    new_ids = [f"n{i}" for i in range(len(new_texts))]
    result = deduplicate_keys(new_ids, new_texts, config, prior=prior)
    assert [(v.doc_id, v.kind, v.kept_doc_id) for v in result.verdicts] == [
        ("n5", "earlier-run", "a003"), ("n6", "earlier-run", "a005")]

from __future__ import annotations

import random

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.dedup import DedupConfig
from schemas.records import Document
from transforms.dedup import (
    MAX_ALL_PAIRS_BUCKET,
    PriorIndex,
    band_key_matrix,
    config_bands,
    connected_components,
    deduplicate_keys,
    shared_buckets,
)
from transforms.dedup_beam import (
    Deduplicate,
    _StarComponents,
    signature_file_name,
    signature_file_of,
)
from transforms.minhash import MinHasher
from transforms.signature_store import read_signatures, recorded_hash, write_signatures

KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろ"


def _corpus(seed: int = 0, n: int = 60) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    keys = []
    for i in range(n):
        base = "".join(rng.choice(KANA) for _ in range(250))
        keys.append(base)
        if i % 3 == 0:
            keys.append(base)
        if i % 4 == 0:
            chars = list(base)
            for _ in range(3):
                chars[rng.randrange(len(chars))] = rng.choice(KANA)
            keys.append("".join(chars))
    ids = [f"{seed}-{i:04d}" for i in range(len(keys))]
    rng.shuffle(ids)
    return ids, keys


def _docs(ids: list[str], keys: list[str], corpus_id: str = "corpus-a") -> list[Document]:
    return [Document(doc_id=d, corpus_id=corpus_id, member="m", source_uri="file:///x.jsonl",
                     source_sha256="0" * 64, locator=i, text="(text)", match_key=k)
            for i, (d, k) in enumerate(zip(ids, keys, strict=True))]


@pytest.mark.parametrize("components", ["union-find", "distributed"])
def test_beam_verdicts_equal_the_pure_core_on_shuffled_input(components: str, tmp_path) -> None:
    config = DedupConfig()
    ids, keys = _corpus()
    expected = deduplicate_keys(ids, keys, config).verdicts
    docs = _docs(ids, keys)
    random.Random(7).shuffle(docs)
    with TestPipeline() as p:
        verdicts = p | beam.Create(docs) | Deduplicate(
            config, "corpus-a", signatures_dir=tmp_path / components, components=components,
            star_rounds=2 if components == "distributed" else 8)
        assert_that(verdicts, equal_to(expected))


def test_signature_files_hold_the_documents_that_stay_and_are_deterministic(tmp_path) -> None:
    config = DedupConfig()
    ids, keys = _corpus(seed=1, n=30)
    docs = _docs(ids, keys)
    with TestPipeline() as p:
        _ = p | beam.Create(docs) | Deduplicate(config, "corpus-a", signatures_dir=tmp_path / "a",
                                                signature_files=2)
    reordered = list(reversed(docs))
    with TestPipeline() as p:
        _ = p | beam.Create(reordered) | Deduplicate(config, "corpus-a",
                                                     signatures_dir=tmp_path / "b",
                                                     signature_files=2)
    names = sorted(f.name for f in (tmp_path / "a").iterdir())
    assert names == ["signatures-00000-of-00002.parquet", "signatures-00001-of-00002.parquet"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    stored = [d for name in names for d in read_signatures(tmp_path / "a" / name, config)[0]]
    kept = deduplicate_keys(ids, keys, config).kept_signatures()[0]
    assert sorted(stored) == sorted(kept)


def test_reonboarding_under_a_second_corpus_id_removes_every_document(tmp_path) -> None:
    config = DedupConfig()
    ids, keys = _corpus(seed=2, n=30)
    sig_dir = tmp_path / "signatures" / "corpus-a"
    with TestPipeline() as p:
        _ = p | beam.Create(_docs(ids, keys)) | Deduplicate(config, "corpus-a",
                                                            signatures_dir=sig_dir)
    prior = sorted(sig_dir.iterdir())
    second_ids = ["b" + d for d in ids]
    first_ids = set(ids)

    def every_document_is_a_cross_corpus_duplicate(verdicts) -> None:
        assert sorted(v.doc_id for v in verdicts) == sorted(second_ids)
        assert {v.kind for v in verdicts} == {"cross-corpus"}
        assert all(v.kept_doc_id in first_ids for v in verdicts)

    with TestPipeline() as p:
        verdicts = p | beam.Create(_docs(second_ids, keys, "corpus-b")) | Deduplicate(
            config, "corpus-b", prior_signatures=prior,
            signatures_dir=tmp_path / "signatures" / "corpus-b")
        assert_that(verdicts, every_document_is_a_cross_corpus_duplicate)


def test_own_signatures_are_refused_as_prior(tmp_path) -> None:
    with pytest.raises(ValueError, match="own signatures"):
        Deduplicate(DedupConfig(), "corpus-a",
                    prior_signatures=[tmp_path / "signatures" / "corpus-a" / "s.parquet"])


@pytest.mark.parametrize("rounds", [2, 12])
def test_beam_star_components_on_an_adversarial_chain(rounds: int) -> None:
    order = list(range(120))
    random.Random(3).shuffle(order)
    edges = [(f"v{order[i]:03d}", f"v{order[i + 1]:03d}") for i in range(len(order) - 1)]
    expected = sorted(connected_components(edges).items())

    def same_heads(heads) -> None:  # the star path repeats (centre, centre): compare as a set
        assert sorted(set(heads)) == expected

    with TestPipeline() as p:
        heads = p | beam.Create(edges) | _StarComponents(rounds)
        assert_that(heads, same_heads)


def test_duplicate_row_fits_the_duplicates_schema() -> None:
    import pyarrow as pa

    from schemas.records import DUPLICATE_SCHEMA
    from transforms.dedup import DedupVerdict
    from transforms.dedup_beam import duplicate_row

    doc = _docs(["d2"], ["key"])[0]
    row = duplicate_row(doc, DedupVerdict("d2", "near", "c-d1", "d1", 0.9))
    table = pa.Table.from_pylist([row], schema=DUPLICATE_SCHEMA)
    assert table.column("kept_doc_id").to_pylist() == ["d1"]


def _big_family(n: int = 100, seed: int = 4) -> tuple[list[str], list[str]]:
    """n light edits of one text: buckets of more than MAX_ALL_PAIRS_BUCKET documents."""
    rng = random.Random(seed)
    base = "".join(rng.choice(KANA) for _ in range(400))
    keys = []
    for _ in range(n):
        chars = list(base)
        for _ in range(rng.randint(0, 4)):
            chars[rng.randrange(len(chars))] = rng.choice(KANA)
        keys.append("".join(chars))
    ids = [f"f-{i:04d}" for i in range(n)]
    rng.shuffle(ids)
    return ids, keys


def test_many_small_batches_and_large_buckets_give_the_pure_core_verdicts(tmp_path) -> None:
    config = DedupConfig()
    ids, keys = _corpus(seed=5, n=40)
    family_ids, family_keys = _big_family()
    ids, keys = ids + family_ids, keys + family_keys
    expected = deduplicate_keys(ids, keys, config).verdicts
    family_bands = band_key_matrix(MinHasher.from_config(config).signatures(family_keys),
                                   *config_bands(config))
    assert max(len(group) for band in family_bands.T
               for group in shared_buckets(band)) > MAX_ALL_PAIRS_BUCKET  # windowed pairs
    scratch = tmp_path / "scratch"
    with TestPipeline() as p:
        verdicts = p | beam.Create(_docs(ids, keys)) | Deduplicate(
            config, "corpus-a", batch_size=16, scratch_dir=scratch)
        assert_that(verdicts, equal_to(expected))
    assert list(scratch.iterdir()) == []  # spilled batches are removed at the end


def test_signature_files_have_the_bytes_of_the_pure_core_kept_signatures(tmp_path) -> None:
    config = DedupConfig()
    ids, keys = _corpus(seed=6, n=30)
    with TestPipeline() as p:
        _ = p | beam.Create(_docs(ids, keys)) | Deduplicate(
            config, "corpus-a", signatures_dir=tmp_path / "beam", signature_files=3,
            batch_size=8, scratch_dir=tmp_path / "scratch")
    kept_ids, kept_sigs = deduplicate_keys(ids, keys, config).kept_signatures()
    for index in range(3):
        rows = [i for i, d in enumerate(kept_ids) if signature_file_of(d, 3) == index]
        name = signature_file_name(index, 3)
        write_signatures(tmp_path / "pure" / name, [kept_ids[i] for i in rows],
                         kept_sigs[rows], config)
        assert (tmp_path / "beam" / name).read_bytes() == (tmp_path / "pure" / name).read_bytes()
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_store_signed_with_the_old_hash_still_dedups_a_new_run(tmp_path) -> None:
    old = DedupConfig(shingle_hash="sha1_hash32")
    a_ids, a_keys = _corpus(seed=7, n=30)
    # corpus A as Kura stored it before murmur3_utf32: sha1 signatures (the same bytes)
    kept_in_a, a_sigs = deduplicate_keys(a_ids, a_keys, old).kept_signatures()
    prior = [tmp_path / "signatures" / "corpus-a" / "signatures-00000-of-00001.parquet"]
    write_signatures(prior[0], kept_in_a, a_sigs, old)
    rng = random.Random(8)
    b_keys, b_ids = [], []
    for i, key in enumerate(a_keys[:25]):  # near copies of A, and texts of B's own
        chars = list(key)
        chars[rng.randrange(len(chars))] = "ん"
        b_keys += ["".join(chars), "".join(rng.choice(KANA) for _ in range(250))]
        b_ids += [f"b-near-{i:03d}", f"b-own-{i:03d}"]
    new = DedupConfig()
    expected = deduplicate_keys(b_ids, b_keys, new, prior=PriorIndex(new, prior)).verdicts

    def b_copies_of_a_are_cross_corpus(verdicts) -> None:
        assert sorted(verdicts, key=lambda v: v.doc_id) == expected
        removed = {v.doc_id for v in verdicts if v.kind == "cross-corpus"}
        assert removed == {d for d in b_ids if d.startswith("b-near")}
        assert {v.kept_doc_id for v in verdicts} <= set(kept_in_a)

    with TestPipeline() as p:
        verdicts = p | beam.Create(_docs(b_ids, b_keys, "corpus-b")) | Deduplicate(
            new, "corpus-b", prior_signatures=prior, batch_size=16,
            signatures_dir=tmp_path / "signatures" / "corpus-b")
        assert_that(verdicts, b_copies_of_a_are_cross_corpus)
    written = sorted((tmp_path / "signatures" / "corpus-b").iterdir())
    assert {recorded_hash(p) for p in written} == {"murmur3_utf32"}
    assert sum(len(read_signatures(p, new)[0]) for p in written) == 25  # B's own documents


def _run_with_workers(workers: int, docs: list[Document], config: DedupConfig, prior, out):
    """Deduplicate on the DirectRunner with `workers` processes: verdicts, as the pipeline
    wrote them out, and the signature files' bytes."""
    import json

    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(["--direct_num_workers", str(workers),
                               "--direct_running_mode",
                               "multi_processing" if workers > 1 else "in_memory"])
    with beam.Pipeline(runner="DirectRunner", options=options) as p:
        _ = (p | beam.Create(docs) | Deduplicate(
                config, "corpus-b", prior_signatures=prior, signatures_dir=out / "sigs",
                batch_size=16, signature_files=2, bucket_shards=3, scratch_dir=out / "scratch")
             | beam.Map(lambda v: json.dumps(v.__dict__, sort_keys=True))
             | beam.io.WriteToText(str(out / "verdicts"), shard_name_template=""))
    verdicts = [json.loads(line) for line in (out / "verdicts").read_text().splitlines()]
    verdicts.sort(key=lambda v: v["doc_id"])
    files = {f.name: f.read_bytes() for f in sorted((out / "sigs").iterdir())}
    assert list((out / "scratch").iterdir()) == []
    return verdicts, files


@pytest.mark.slow
def test_verdicts_and_signature_files_are_the_same_for_one_and_two_workers(tmp_path) -> None:
    """Store-wide, against a store holding both shingle hashes: every bucket group, both
    namespaces and the clusters spread over two processes decide what one process does."""
    new, old = DedupConfig(), DedupConfig(shingle_hash="sha1_hash32")
    store = tmp_path / "signatures"
    prior = []
    for corpus, seed, config in (("corpus-old", 11, old), ("corpus-new", 12, new)):
        ids, keys = _corpus(seed=seed, n=20)
        kept, sigs = deduplicate_keys(ids, keys, config).kept_signatures()
        prior.append(store / corpus / "signatures-00000-of-00001.parquet")
        write_signatures(prior[-1], kept, sigs, config)
        if corpus == "corpus-old":
            old_ids, old_keys = ids, keys
    b_ids, b_keys = _corpus(seed=13, n=30)
    b_ids, b_keys = b_ids + ["b-copy-" + d for d in old_ids[:15]], b_keys + old_keys[:15]
    expected = deduplicate_keys(b_ids, b_keys, new, prior=PriorIndex(new, prior)).verdicts
    assert any(v.kind == "cross-corpus" for v in expected)
    docs = _docs(b_ids, b_keys, "corpus-b")
    random.Random(9).shuffle(docs)
    one = _run_with_workers(1, docs, new, prior, tmp_path / "one")
    two = _run_with_workers(2, docs, new, prior, tmp_path / "two")
    assert one == two
    assert one[0] == [v.__dict__ for v in expected]  # sorted by doc_id, as the pure core's

"""`open_release`: a Dataset over verified bytes only, whatever happens to the files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from lineage.certified import CertifiedReadError, open_release
from lineage.certify import create_release
from lineage.keys import load_site_context
from lineage.release import ReleaseError
from schemas.records import DOCUMENT_SCHEMA, PII_COUNTS_TYPE, pii_counts
from tests.lineage.test_release_support import (
    flip_byte,
    forge_release,
    record_document_run,
    record_validated_run,
)

pytestmark = pytest.mark.usefixtures("pin_env")


@pytest.fixture
def released(store: Path) -> Path:
    record_validated_run(store, shards=3, failing={1})
    create_release(store, "r1")
    return store


def test_open_release_yields_exactly_the_certified_rows(released):
    dataset = open_release(released, "r1")
    assert isinstance(dataset, ds.Dataset)
    table = dataset.to_table()
    expected = pa.concat_tables([
        pq.read_table(released / "shards" / "acme-news" / f"run-1-part-0000{n}.parquet")
        for n in (0, 2)])
    assert sorted(table.column("doc_id").to_pylist()) == sorted(
        expected.column("doc_id").to_pylist())
    assert "run-1-1-0" not in table.column("doc_id").to_pylist()  # the quarantined shard
    assert dataset.count_rows(filter=ds.field("doc_id") == "run-1-2-3") == 1


def test_a_flipped_shard_yields_no_rows_at_all(released):
    flip_byte(released / "shards" / "acme-news" / "run-1-part-00002.parquet")
    with pytest.raises(CertifiedReadError, match=r"^shards/acme-news/run-1-part-00002\.parquet: "
                       r"sha256 .* certified by release r1"):
        open_release(released, "r1")


def test_a_substituted_valid_shard_is_refused(released):
    """A well-formed Parquet file with other rows under the certified name is still refused."""
    path = released / "shards" / "acme-news" / "run-1-part-00000.parquet"
    pq.write_table(pa.table({"doc_id": ["injected"], "text": ["注入された行"]}), path)
    with pytest.raises(CertifiedReadError, match=r"run-1-part-00000\.parquet: sha256"):
        open_release(released, "r1")


def test_files_changed_after_opening_are_never_read(released):
    """The dataset holds the verified bytes: rewriting the files afterwards changes nothing."""
    dataset = open_release(released, "r1")
    for path in (released / "shards" / "acme-news").glob("*.parquet"):
        pq.write_table(pa.table({"doc_id": ["injected"], "text": ["注入された行"]}), path)
    ids = dataset.to_table(columns=["doc_id"]).column("doc_id").to_pylist()
    assert len(ids) == 8 and "injected" not in ids


def test_a_release_signed_by_a_site_key_is_not_opened(store):
    summary = record_validated_run(store, shards=1)
    forge_release(store, "forged", load_site_context(store).site_key, summary)
    with pytest.raises(CertifiedReadError, match="which may not sign certifications"):
        open_release(store, "forged")


def test_a_foreign_trust_root_is_refused(released, tmp_path):
    from lineage.signing import SigningKey

    pinned = tmp_path / "pinned-root.pem"
    pinned.write_text(SigningKey.generate().public_pem)
    with pytest.raises(CertifiedReadError, match=r"policy v1 is not signed by root key"):
        open_release(released, "r1", trust_root=pinned)
    pinned_ok = released / "keys" / "root.pub.pem"
    assert open_release(released, "r1", trust_root=pinned_ok).count_rows() == 8


def test_an_unknown_release_is_a_user_error(store):
    with pytest.raises(ReleaseError, match="no release named 'r9'"):
        open_release(store, "r9")


def test_a_release_mixing_v1_and_v2_shards_reads_as_one_dataset(store):
    """A v1 shard (`pii` as a map, which HF datasets cannot read) comes out of open_release in
    the v2 shape, beside v2 shards, as one dataset; its bytes are still the certified ones."""
    record_document_run(store, "legacy-news", shards=1, rows=4, run_id="run-old", v1=True)
    record_document_run(store, "acme-manuals", shards=2, rows=3, run_id="run-new")
    old = store / "shards" / "legacy-news" / "run-old-part-00000.parquet"
    assert pa.types.is_map(pq.read_schema(old).field("pii").type)
    create_release(store, "mixed")
    dataset = open_release(store, "mixed")
    assert dataset.schema.field("pii").type == PII_COUNTS_TYPE
    assert dataset.schema.names == DOCUMENT_SCHEMA.names
    table = dataset.to_table()
    assert table.num_rows == 10
    assert table.schema.field("pii").type == PII_COUNTS_TYPE
    by_corpus = {}
    for corpus, cell in zip(table.column("corpus_id").to_pylist(),
                            table.column("pii").to_pylist(), strict=True):
        by_corpus.setdefault(corpus, []).append(pii_counts(cell))
    expected = [{}, {"PERSON": 1, "PHONE_NUMBER": 2}]
    assert sorted(by_corpus["legacy-news"], key=len) == sorted(expected * 2, key=len)
    assert dataset.count_rows(filter=ds.field("corpus_id") == "legacy-news") == 4

"""The spilling shard writer on Beam: verdicts joined by shard, files identical to in-memory."""

from __future__ import annotations

from dataclasses import replace

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.curate import shard_row_key
from schemas.records import (
    DOCUMENT_SCHEMA,
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    Document,
    RejectedRecord,
    doc_id_for,
    document_row,
    reject_row,
)
from transforms.dedup import DedupVerdict
from transforms.shards import GroupFileSpec, SortedFileSpec, shard_index
from transforms.shards_beam import WriteShards, WriteSortedFiles

SHARDS = 3


def documents(n: int) -> list[Document]:
    return [Document(doc_id=doc_id_for("c", "0" * 64, i), corpus_id="c", member="m",
                     source_uri=f"s{i % 2}.jsonl", source_sha256="0" * 64, locator=i,
                     text=f"文書{i}です。" * 20) for i in range(n)]


def write_with_beam(tmp_path, docs, verdicts, buffer_bytes):
    out = tmp_path / "store"
    shard_spec = SortedFileSpec(schema=DOCUMENT_SCHEMA, row_key=shard_row_key,
                                path_for=lambda i, d: str(out / f"shard-{d}-{i}.parquet"),
                                kura_version="v", row_group_rows=16)
    duplicate_spec = SortedFileSpec(schema=DUPLICATE_SCHEMA, row_key=lambda r: r["doc_id"],
                                    path_for=lambda _k, d: str(out / f"duplicates-{d}.parquet"),
                                    kura_version="v")
    with TestPipeline() as p:
        digest = beam.pvalue.AsSingleton(p | "Digest" >> beam.Create(["d1"]))
        shard_files, duplicate_files = {
            "documents": p | "Docs" >> beam.Create(docs),
            "verdicts": p | "Verdicts" >> beam.Create(verdicts),
        } | WriteShards(shard_spec, duplicate_spec,
                        shard_of_id=lambda doc_id: shard_index(doc_id, SHARDS),
                        to_row=lambda d: document_row(d, "v"), duplicates_key="c",
                        spill_dir=str(tmp_path / "spill"), side_inputs=(digest,),
                        buffer_bytes=buffer_bytes)
        _ = shard_files | "Shards" >> beam.Map(lambda f: f)
        _ = duplicate_files | "Dups" >> beam.Map(lambda f: f)
    return out


def test_shards_from_spilled_runs_equal_the_in_memory_writer_and_duplicates_leave(tmp_path) -> None:
    docs = documents(90)
    head, exact, near = docs[10], docs[11], docs[40]
    cluster = f"c-{head.doc_id}"
    verdicts = [DedupVerdict(head.doc_id, "kept", cluster, head.doc_id, 1.0),
                DedupVerdict(exact.doc_id, "exact", cluster, head.doc_id, 1.0),
                DedupVerdict(near.doc_id, "near", cluster, head.doc_id, 0.875)]
    # A budget of a few rows: every shard is merged from many runs.
    out = write_with_beam(tmp_path, docs, verdicts, buffer_bytes=4096)
    assert len(list((tmp_path / "spill" / "documents").glob("run-*.parquet"))) > 3 * SHARDS

    kept = [replace(d, dup_cluster=cluster) if d is head else d
            for d in docs if d not in (exact, near)]
    reference = GroupFileSpec(schema=DOCUMENT_SCHEMA, to_row=lambda d: document_row(d, "v"),
                              sort_key=lambda d: (d.source_uri, d.locator),
                              path_for=lambda i, d: str(tmp_path / "ref" / f"{i}.parquet"),
                              kura_version="v", row_group_rows=16)
    for index in range(SHARDS):
        expected = reference.write(index, [d for d in kept
                                           if shard_index(d.doc_id, SHARDS) == index], "d1")
        written = out / f"shard-d1-{index}.parquet"
        assert written.read_bytes() == (tmp_path / "ref" / f"{index}.parquet").read_bytes()
        assert expected.rows == pq.read_metadata(written).num_rows
    duplicates = pq.read_table(out / "duplicates-d1.parquet").to_pylist()
    assert [(r["doc_id"], r["kind"], r["kept_doc_id"]) for r in duplicates] == sorted(
        [(exact.doc_id, "exact", head.doc_id), (near.doc_id, "near", head.doc_id)])
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["duplicates-d1.parquet", *(f"shard-d1-{i}.parquet" for i in range(SHARDS))])


def test_budget_does_not_change_the_bytes_and_no_verdicts_write_no_duplicates(tmp_path) -> None:
    docs = documents(40)
    small = write_with_beam(tmp_path / "small", docs, [], buffer_bytes=2048)
    large = write_with_beam(tmp_path / "large", docs, [], buffer_bytes=1 << 26)
    names = sorted(p.name for p in small.iterdir())
    assert names == sorted(p.name for p in large.iterdir())
    assert not any(n.startswith("duplicates") for n in names)
    assert all((small / n).read_bytes() == (large / n).read_bytes() for n in names)


def test_rejects_are_written_per_key_sorted_from_runs(tmp_path) -> None:
    rejects = [RejectedRecord(corpus_id="c", source_uri=f"s{i % 2}", source_sha256=str(i % 2) * 64,
                              locator=50 - i, step="ingest.json", reason="{}", raw=b"x" * i)
               for i in range(30)]
    out = tmp_path / "rejects"
    spec = SortedFileSpec(schema=REJECT_SCHEMA,
                          row_key=lambda r: (r["locator"], r["step"], r["reason"]),
                          path_for=lambda k, d: str(out / f"{k}-{d}.parquet"),
                          kura_version="v", private=True)
    with TestPipeline() as p:
        digest = beam.pvalue.AsSingleton(p | "Digest" >> beam.Create(["d"]))
        _ = (p | beam.Create(rejects)
             | WriteSortedFiles(spec, key_of=lambda r: r.source_sha256[0], to_row=reject_row,
                                spill_dir=str(tmp_path / "spill"), side_inputs=(digest,),
                                buffer_bytes=1024))
    for k in "01":
        table = pq.read_table(out / f"{k}-d.parquet")
        expected = sorted((r for r in rejects if r.source_sha256[0] == k),
                          key=lambda r: r.locator)
        assert table.column("locator").to_pylist() == [r.locator for r in expected]
        assert table.column("raw").to_pylist() == [r.raw for r in expected]

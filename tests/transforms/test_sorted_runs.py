"""Spilled sorted runs and the streaming shard writer, without Beam."""

from __future__ import annotations

import random
import stat

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.curate import shard_row_key
from schemas.records import DOCUMENT_SCHEMA, REJECT_SCHEMA, Document, doc_id_for, document_row
from transforms.dedup import DedupVerdict
from transforms.shards import GroupFileSpec, SortedFileSpec, write_rows_atomically
from transforms.shards_beam import UnmatchedVerdictError, apply_verdicts
from transforms.sorted_runs import RunBuffer, estimated_bytes, merge_runs, read_run, write_run

ROW_SCHEMA = pa.schema([("name", pa.string()), ("n", pa.int64()), ("raw", pa.binary())])


def key(row: dict) -> tuple:
    return row["name"], row["n"]


def document(i: int, source: int = 0, text: str = "") -> Document:
    return Document(doc_id=doc_id_for("c", f"{source:064d}", i), corpus_id="c", member="m",
                    source_uri=f"s{source}.jsonl", source_sha256=f"{source:064d}", locator=i,
                    text=text or f"文書{i}。" * (1 + i % 7),
                    signals={"kanji_fraction": i / 1000}, pii={"PERSON": i % 3} if i % 3 else {})


def test_a_run_is_written_sorted_and_read_back_whole(tmp_path) -> None:
    rows = [{"name": f"n{i % 5}", "n": -i, "raw": bytes([i % 256])} for i in range(1500)]
    path = write_run(list(rows), ROW_SCHEMA, key, tmp_path / "runs")
    assert list(read_run(path, batch_rows=100)) == sorted(rows, key=key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # runs may hold raw rejected bytes
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name]  # no temporary left


def test_a_buffer_spills_one_run_per_key_when_its_budget_fills(tmp_path) -> None:
    row = {"name": "a" * 100, "n": 0, "raw": b""}
    per_row = estimated_bytes(row)
    buffer = RunBuffer(ROW_SCHEMA, key, tmp_path, budget_bytes=per_row * 3)
    assert buffer.add("k1", {**row, "n": 2}) == []
    assert buffer.add("k2", {**row, "n": 1}) == []
    spilled = buffer.add("k1", {**row, "n": 1})
    assert [k for k, _ in spilled] == ["k1", "k2"] and buffer.buffered_bytes == 0
    runs = dict(spilled)
    assert [r["n"] for r in read_run(runs["k1"])] == [1, 2]
    assert buffer.flush() == []  # nothing buffered: nothing written
    with pytest.raises(ValueError, match="budget_bytes"):
        RunBuffer(ROW_SCHEMA, key, tmp_path, budget_bytes=0)


def test_the_estimate_counts_text_at_two_bytes_a_character_and_bytes_at_one() -> None:
    small, large = estimated_bytes({"t": "あ"}), estimated_bytes({"t": "あ" * 1001})
    assert large - small == 2000
    assert estimated_bytes({"b": b"x" * 11}) - estimated_bytes({"b": b"x"}) == 10


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "ぽ"]), st.integers(-50, 50)),
                unique=True, max_size=60),
       st.integers(1, 12), st.integers(2, 5), st.randoms(use_true_random=False))
def test_merging_runs_gives_one_order_however_the_rows_were_split(tmp_path_factory, keys, runs,
                                                                   fan_in, rnd) -> None:
    folder = tmp_path_factory.mktemp("runs")
    rows = [{"name": name, "n": n, "raw": b""} for name, n in keys]
    rnd.shuffle(rows)
    parts: list[list[dict]] = [[] for _ in range(runs)]
    for row in rows:
        parts[rnd.randrange(runs)].append(row)
    paths = [write_run(part, ROW_SCHEMA, key, folder) for part in parts]
    # A fan-in below the run count merges in passes through longer runs: same rows, same order.
    assert list(merge_runs(paths, key, batch_rows=7, fan_in=fan_in)) == sorted(rows, key=key)


def test_a_merge_never_opens_more_runs_than_its_fan_in(tmp_path, monkeypatch) -> None:
    import transforms.sorted_runs as sorted_runs

    rows = [{"name": "a", "n": n, "raw": b""} for n in range(40)]
    paths = [write_run(rows[i::10], ROW_SCHEMA, key, tmp_path) for i in range(10)]
    open_runs = peak = 0
    real_read_run = sorted_runs.read_run

    def counting_read_run(path, batch_rows):
        nonlocal open_runs, peak
        open_runs += 1
        peak = max(peak, open_runs)
        try:
            yield from real_read_run(path, batch_rows)
        finally:
            open_runs -= 1

    monkeypatch.setattr(sorted_runs, "read_run", counting_read_run)
    assert list(merge_runs(paths, key, fan_in=3)) == sorted(rows, key=key)
    assert peak == 3
    with pytest.raises(ValueError, match="fan_in"):
        merge_runs(paths, key, fan_in=1)


def spec(folder, row_group_rows: int) -> GroupFileSpec:
    return GroupFileSpec(schema=DOCUMENT_SCHEMA, to_row=lambda d: document_row(d, "v"),
                         sort_key=lambda d: (d.source_uri, d.locator),
                         path_for=lambda k, digest: str(folder / f"{k}-{digest}.parquet"),
                         kura_version="v", row_group_rows=row_group_rows)


@pytest.mark.parametrize(("count", "row_group_rows"), [(30, 4), (2500, 1000), (2500, 3000)])
def test_a_streamed_shard_has_the_bytes_of_the_one_table_writer(tmp_path, count,
                                                                 row_group_rows) -> None:
    docs = [document(i, source=i % 2) for i in range(count)]
    reference = spec(tmp_path / "table", row_group_rows).write(0, docs, "d")
    rnd = random.Random(3)
    runs = []
    for part in range(3):  # the rows spread over runs in no particular order
        chunk = [document_row(d, "v") for d in docs[part::3]]
        rnd.shuffle(chunk)
        runs.append(write_run(chunk, DOCUMENT_SCHEMA, shard_row_key, tmp_path / "runs"))
    streamed = SortedFileSpec(
        schema=DOCUMENT_SCHEMA, row_key=shard_row_key,
        path_for=lambda k, digest: str(tmp_path / "streamed" / f"{k}-{digest}.parquet"),
        kura_version="v", row_group_rows=row_group_rows,
    ).write(0, merge_runs(runs, shard_row_key), "d")
    assert streamed is not None
    assert (streamed.sha256, streamed.rows, streamed.bytes) == (
        reference.sha256, reference.rows, reference.bytes)
    assert pq.read_metadata(streamed.path).num_row_groups == -(-count // row_group_rows)


def test_no_rows_write_no_file_and_private_files_are_the_owners_only(tmp_path) -> None:
    assert write_rows_atomically(iter(()), REJECT_SCHEMA, tmp_path / "empty.parquet", 10,
                                 "v") is None
    assert list(tmp_path.iterdir()) == []
    row = {"corpus_id": "c", "source_uri": "s", "source_sha256": "0" * 64, "locator": 1,
           "step": "ingest.json", "reason": "{}", "raw": b"\x00"}
    written = write_rows_atomically([row], REJECT_SCHEMA, tmp_path / "r.parquet", 10, "v",
                                    private=True)
    assert written is not None and written.rows == 1
    assert stat.S_IMODE((tmp_path / "r.parquet").stat().st_mode) == 0o600
    assert pq.read_schema(written.path).metadata[b"kura.version"] == b"v"


def verdict(doc: Document, kind: str, head: Document) -> DedupVerdict:
    return DedupVerdict(doc_id=doc.doc_id, kind=kind, cluster_id=f"c-{head.doc_id}",
                        kept_doc_id=head.doc_id, estimated_jaccard=1.0 if kind != "near" else 0.9)


def test_verdicts_mark_the_kept_head_and_move_removed_documents_to_the_duplicates_table() -> None:
    docs = [document(i) for i in range(6)]
    head, exact, near = docs[1], docs[3], docs[4]
    verdicts = {v.doc_id: v for v in (verdict(head, "kept", head), verdict(exact, "exact", head),
                                      verdict(near, "near", head))}
    removed: list[dict] = []
    kept = list(apply_verdicts((document_row(d, "v") for d in docs), verdicts, removed.append))
    assert [r["doc_id"] for r in kept] == [d.doc_id for d in docs if d not in (exact, near)]
    assert [r["dup_cluster"] for r in kept] == [None, f"c-{head.doc_id}", None, None]
    assert [(r["doc_id"], r["kind"], r["kept_doc_id"], r["locator"]) for r in removed] == [
        (exact.doc_id, "exact", head.doc_id, 3), (near.doc_id, "near", head.doc_id, 4)]


def test_a_verdict_for_a_document_the_shard_never_saw_is_an_error() -> None:
    docs = [document(i) for i in range(3)]
    stray = document(99)
    with pytest.raises(UnmatchedVerdictError, match="1 dedup verdict"):
        list(apply_verdicts((document_row(d, "v") for d in docs),
                            {stray.doc_id: verdict(stray, "exact", docs[0])}, lambda _row: None))

from __future__ import annotations

import pyarrow.parquet as pq

from schemas.records import DOCUMENT_SCHEMA, Document, doc_id_for, document_row
from transforms.shards import GroupFileSpec, shard_count, shard_index, shard_name


def docs(n: int) -> list[Document]:
    return [Document(doc_id=doc_id_for("c", "0" * 64, i), corpus_id="c", member="m",
                     source_uri=f"file:///s{i % 3}", source_sha256="0" * 64, locator=i,
                     text=f"文書{i}です。") for i in range(n)]


def spec(folder) -> GroupFileSpec:
    return GroupFileSpec(schema=DOCUMENT_SCHEMA, to_row=lambda d: document_row(d, "v"),
                         sort_key=lambda d: (d.source_uri, d.locator),
                         path_for=lambda key, digest: str(folder / f"{key}-{digest}.parquet"),
                         kura_version="v", row_group_rows=4)


def test_a_group_is_written_sorted_with_the_same_bytes_whatever_the_order(tmp_path) -> None:
    values = docs(10)
    first = spec(tmp_path / "a").write(0, values, "d1")
    second = spec(tmp_path / "b").write(0, list(reversed(values)), "d1")
    assert first.sha256 == second.sha256 and first.rows == 10
    table = pq.read_table(first.path)
    assert table.column("source_uri").to_pylist() == sorted(table.column("source_uri").to_pylist())
    assert pq.read_metadata(first.path).num_row_groups == 3
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["0-d1.parquet"]  # no temporary left


def test_shard_assignment_and_names_are_pure_functions_of_the_inputs() -> None:
    assert shard_count(0, 100) == 1 and shard_count(250, 100) == 3
    ids = [d.doc_id for d in docs(50)]
    assert [shard_index(i, 3) for i in ids] == [shard_index(i, 3) for i in ids]
    assert {shard_index(i, 3) for i in ids} == {0, 1, 2}
    assert shard_name("c", "ab" * 32, 2, 3) == "c-abababababab-00002-of-00003.parquet"

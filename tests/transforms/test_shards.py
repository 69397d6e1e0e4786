from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import (
    DOCUMENT_COLUMNS,
    DOCUMENT_SCHEMA,
    PII_COUNTS_TYPE,
    PII_COUNTS_TYPE_V1,
    SCHEMA_VERSION,
    Document,
    doc_id_for,
    document_row,
    document_schema,
    pii_counts,
    shard_license_and_sensitivity,
    upgrade_document_table,
)
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


def test_a_shard_carries_schema_version_license_and_sensitivity_and_stays_deterministic(
        tmp_path) -> None:
    values = [replace(d, pii={"PHONE_NUMBER": 2, "EMAIL_ADDRESS": 1} if i % 2 else {})
              for i, d in enumerate(docs(6))]
    licensed = replace(spec(tmp_path / "a"), schema=document_schema("cc-by-4.0", "restricted"))
    first = licensed.write(0, values, "d1")
    second = replace(licensed, path_for=lambda key, digest: str(
        tmp_path / "b" / f"{key}-{digest}.parquet")).write(0, list(reversed(values)), "d1")
    assert first.sha256 == second.sha256
    schema = pq.read_schema(first.path)
    assert schema.metadata[b"kura.schema_version"] == b"2" == SCHEMA_VERSION.encode()
    assert shard_license_and_sensitivity(schema.metadata) == ("cc-by-4.0", "restricted")
    assert schema.field("pii").type == PII_COUNTS_TYPE
    table = pq.read_table(first.path)
    cells = dict(zip(table.column("doc_id").to_pylist(), table.column("pii").to_pylist(),
                     strict=True))
    assert cells[values[1].doc_id] == [{"entity": "EMAIL_ADDRESS", "count": 1},
                                       {"entity": "PHONE_NUMBER", "count": 2}]  # by entity
    assert {doc_id: pii_counts(c) for doc_id, c in cells.items()} == {
        d.doc_id: d.pii for d in values}


def test_pii_counts_reads_both_shard_versions() -> None:
    v1 = pa.array([[("EMAIL_ADDRESS", 1), ("PERSON", 3)], []], PII_COUNTS_TYPE_V1)
    v2 = v1.cast(PII_COUNTS_TYPE)
    assert [pii_counts(c) for c in v1.to_pylist()] == [{"EMAIL_ADDRESS": 1, "PERSON": 3}, {}]
    assert [pii_counts(c) for c in v2.to_pylist()] == [{"EMAIL_ADDRESS": 1, "PERSON": 3}, {}]
    assert pii_counts(None) == {} and pii_counts({"PERSON": 2}) == {"PERSON": 2}


def test_a_v1_table_is_upgraded_to_the_v2_shape_and_a_v2_table_left_alone() -> None:
    v2 = pa.Table.from_pylist([document_row(d, "v") for d in docs(3)], schema=DOCUMENT_SCHEMA)
    v1_schema = DOCUMENT_SCHEMA.set(DOCUMENT_SCHEMA.get_field_index("pii"),
                                    pa.field("pii", PII_COUNTS_TYPE_V1, nullable=False))
    v1 = pa.Table.from_pylist([{**document_row(d, "v"), "pii": [("PERSON", 1)]} for d in docs(3)],
                              schema=v1_schema)
    upgraded = upgrade_document_table(v1)
    assert upgraded.schema.field("pii").type == PII_COUNTS_TYPE
    assert upgraded.column("pii").to_pylist() == [[{"entity": "PERSON", "count": 1}]] * 3
    assert upgrade_document_table(v2) is v2


def test_every_document_column_is_described_once() -> None:
    assert list(DOCUMENT_COLUMNS) == DOCUMENT_SCHEMA.names
    assert all(len(meaning) > 10 for meaning in DOCUMENT_COLUMNS.values())

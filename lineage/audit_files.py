"""The store's Parquet files as Arrow datasets for the audit catalog: documents (shards), rejects
and duplicates, each over exactly the files the log names, with the columns that may be shown.

Why Arrow datasets rather than DuckDB's read_parquet: DuckDB can only read a file it is allowed
to open, and a DuckDB allowed to open a store file may also overwrite it (`COPY ... TO` with
`USE_TMP_FILE false`, measured on the locked DuckDB) or read its raw bytes (`read_blob`, which
would hand out the `raw` bytes of rejects and the text of shards). Here pyarrow reads the files
and DuckDB gets no file access at all. A dataset's schema is the union of its files' schemas
(a column missing from a file reads as null) minus the hidden columns, so no query can select
them, plus the file each row came from. Shard schema v1's `pii` map is read as v2's list of
{entity, count} structs (Arrow casts one to the other), so both versions read as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lineage.audit_log import StoreFile
from schemas.records import DOCUMENT_SCHEMA, DUPLICATE_SCHEMA, PII_COUNTS_TYPE, REJECT_SCHEMA

# Never selectable: a shard's text (a trainer reads text from a release) and a reject's raw
# bytes (they may hold personal data the pipeline never scrubbed).
HIDDEN_COLUMNS = {"shard": frozenset({"text"}), "reject": frozenset({"raw"}),
                  "duplicate": frozenset()}
BASE_SCHEMAS = {"shard": DOCUMENT_SCHEMA, "reject": REJECT_SCHEMA, "duplicate": DUPLICATE_SCHEMA}
LICENSE_KEY, SENSITIVITY_KEY = b"kura.license", b"kura.sensitivity"


class CatalogFileError(ValueError):
    """A file the log names that cannot be read as the catalog needs; one line naming it."""


@dataclass(frozen=True)
class FileDatasets:
    documents: ds.Dataset
    rejects: ds.Dataset
    duplicates: ds.Dataset
    footers: Mapping[str, tuple[str | None, str | None]]  # shard -> (license, sensitivity)
    left_out: tuple[str, ...] = ()  # files not readable as Parquet (only when not strict)


def _shown(schema: pa.Schema, kind: str) -> list[pa.Field]:
    """The schema's visible fields, nullable (a file may lack one), v1 `pii` as v2."""
    fields = []
    for field in schema:
        if field.name in HIDDEN_COLUMNS[kind]:
            continue
        if field.name == "pii" and pa.types.is_map(field.type):
            field = pa.field("pii", PII_COUNTS_TYPE)
        fields.append(pa.field(field.name, field.type, nullable=True))
    return fields


def _extra_fields(kind: str) -> list[pa.Field]:
    if kind == "shard":
        return [pa.field("shard", pa.string())]
    extra = [pa.field("file", pa.string()), pa.field("run_id", pa.string())]
    return [*extra, pa.field("withheld", pa.bool_())] if kind == "reject" else extra


def _partition(kind: str, file: StoreFile) -> ds.Expression:
    """The per-file columns, as the fragment's partition expression (how Arrow fills them)."""
    if kind == "shard":
        return ds.field("shard") == file.name
    expression = (ds.field("file") == file.name) & (ds.field("run_id") == (file.run_id or ""))
    if kind == "reject":
        expression = expression & (ds.field("withheld") == file.withheld)
    return expression


def _dataset(store_root: Path, kind: str, files: list[StoreFile],
             schemas: Mapping[str, pa.Schema]) -> ds.Dataset:
    parts = [pa.schema(_shown(BASE_SCHEMAS[kind], kind))]
    parts += [pa.schema(_shown(schemas[f.name], kind)) for f in files]
    try:
        unified = pa.unify_schemas(parts)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise CatalogFileError(f"the {kind} files' columns do not agree: {exc}") from None
    schema = pa.schema([*unified, *_extra_fields(kind)])
    local = pafs.LocalFileSystem()
    fmt = ds.ParquetFileFormat()
    fragments = [fmt.make_fragment(str(store_root / f.name), local,
                                   partition_expression=_partition(kind, f)) for f in files]
    return ds.FileSystemDataset(fragments, schema, fmt, local)


def file_datasets(store_root: Path, files: Mapping[str, StoreFile],
                  strict: bool = True) -> FileDatasets:
    """Datasets over the named files present in the store. `strict` (after verification, which
    checked their digests): a file that is not Parquet is an error; otherwise a file missing
    or unreadable is left out and named in `left_out`."""
    root = Path(store_root).resolve()
    present: dict[str, list[StoreFile]] = {"shard": [], "reject": [], "duplicate": []}
    schemas: dict[str, pa.Schema] = {}
    footers: dict[str, tuple[str | None, str | None]] = {}
    left_out: list[str] = []
    for name, file in sorted(files.items()):
        path = (root / name).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            left_out.append(name)
            continue
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            if strict:
                raise CatalogFileError(f"{name}: not readable as Parquet ({exc})") from None
            left_out.append(name)
            continue
        schemas[name] = schema
        present[file.kind].append(file)
        if file.kind == "shard":
            meta = schema.metadata or {}
            footers[name] = tuple(  # type: ignore[assignment]
                meta[k].decode("utf-8", "replace") if k in meta else None
                for k in (LICENSE_KEY, SENSITIVITY_KEY))
    return FileDatasets(
        documents=_dataset(root, "shard", present["shard"], schemas),
        rejects=_dataset(root, "reject", present["reject"], schemas),
        duplicates=_dataset(root, "duplicate", present["duplicate"], schemas),
        footers=footers,
        left_out=tuple(left_out),
    )

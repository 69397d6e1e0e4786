"""The withdrawn-documents file of a withdrawal: withdrawals/<corpus>/<id>.parquet.

One row per document (or rejected record) a withdrawal took out of its corpus: ids, sources and
the store file that held it, never text. The withdrawal record (schemas/predicates.py
`WithdrawalPredicate`) names this file, with its sha256, as a subject.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa

from schemas.records import SCHEMA_VERSION

# kept: a document of a shard; duplicate: a removed duplicate (a duplicates/ row); reject: a
# rejected record of a withdrawn source (rejects/); withheld: a document the residual-PII gate
# withheld (quarantine/<corpus>/documents-*.parquet).
WithdrawnKind = Literal["kept", "duplicate", "reject", "withheld"]
WITHDRAWN_KINDS: tuple[str, ...] = ("kept", "duplicate", "reject", "withheld")

WITHDRAWN_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("corpus_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=True),
        pa.field("locator", pa.int64(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
    ],
    metadata={b"kura.schema": b"withdrawn", b"kura.schema_version": SCHEMA_VERSION.encode()},
)

WITHDRAWN_COLUMNS = {
    "doc_id": "the document's id (for a rejected record: the id its record would have had)",
    "corpus_id": "the corpus it was withdrawn from",
    "source_uri": "its source, as the run recorded it",
    "source_sha256": "sha256 of the source file's bytes",
    "locator": "the record's place in its source file",
    "path": "the store file that held it (a shard, duplicates, rejects or quarantine file)",
    "kind": "kept (in a shard), duplicate, reject or withheld",
}

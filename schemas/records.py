"""The values that flow through a curation run, and the Arrow schemas they are stored with.

Every field list lives here once: the pipeline, the shard writer, the audit catalog and the
expectation suites all read these schemas rather than re-declaring columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import pyarrow as pa

# 2: `pii` is a list of {entity, count} structs (1: a map, which HF datasets cannot read), shards
# carry their corpus's license and sensitivity, local source_uris are relative to corpus.root.
SCHEMA_VERSION = "2"

# Quality signals computed by the analysis stage; each is a float column of the shards.
QUALITY_SIGNALS: tuple[str, ...] = (
    "hiragana_fraction",
    "katakana_fraction",
    "kanji_fraction",
    "ascii_letter_fraction",
    "digit_fraction",
    "symbol_fraction",
    "japanese_fraction",
    "mean_sentence_chars",
    "duplicate_line_fraction",
    "duplicate_paragraph_fraction",
    "top_ngram_fraction",
)


class Token(NamedTuple):
    """One MeCab token of a document's stored text, as the analysis stage emits it.

    `start`/`end` are character offsets into `Document.text`; `pos` is UniDic's first four POS
    fields joined by "," (e.g. "名詞,固有名詞,人名,姓"); `lemma` is UniDic's lemma, or the surface
    where UniDic has none. Later stages (PII) read these instead of tokenizing again.
    """

    start: int
    end: int
    pos: str
    lemma: str


@dataclass(frozen=True)
class Reject:
    """What a step returns instead of a value: the step's name and a structured reason.

    The reason holds the rule's parameters and the observed value, never document text.
    """

    step: str
    reason: Mapping[str, Any]
    # True for data that was taken back (a withdrawal): the reject row counts the record but
    # keeps none of its bytes.
    withhold_raw: bool = False


@dataclass(frozen=True)
class SourceFile:
    """One input file of a corpus, resolved at launch from a manifest source."""

    corpus_id: str
    member: str
    uri: str
    path: str
    format: str
    text_field: str
    encoding: str
    max_record_bytes: int
    name: str = ""  # relative to the manifest's folder (remote: the URI): part of doc ids


@dataclass(frozen=True)
class RawRecord:
    """One record cut out of a source file: its bytes and where they came from."""

    source: SourceFile
    source_sha256: str
    encoding: str
    locator: int
    raw: bytes


@dataclass(frozen=True)
class Document:
    """A document between stages. Fields after `text` are filled in by later stages.

    `match_key` and `tokens` are transient: used by dedup and PII, never written to a shard.
    `tokens` is a `Sequence[Token]` (`transforms.analyze.TokenTable`) once the analysis stage
    has run, else None.
    """

    doc_id: str
    corpus_id: str
    member: str
    source_uri: str
    source_sha256: str
    locator: int
    text: str
    lang: str = "ja"
    token_count: int = 0
    signals: Mapping[str, float] = field(default_factory=dict)
    pii: Mapping[str, int] = field(default_factory=dict)
    dup_cluster: str | None = None
    match_key: str = ""
    tokens: Any = None


@dataclass(frozen=True)
class RejectedRecord:
    """A record that left the pipeline before a shard, with the raw bytes quarantined."""

    corpus_id: str
    source_uri: str
    source_sha256: str
    locator: int
    step: str
    reason: str
    raw: bytes


def doc_id_for(corpus_id: str, source_sha256: str, locator: int, source_name: str = "") -> str:
    """Stable id: the same corpus, source bytes and record number give the same id on any run.

    `source_name` (the file's path relative to its manifest) tells apart two files with the
    same bytes, whose records are then exact duplicates of each other rather than one id twice.
    """
    key = f"{corpus_id}\x00{source_sha256}\x00{locator}\x00{source_name}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


def reason_json(reason: Mapping[str, Any]) -> str:
    """Canonical JSON of a reject reason (sorted keys, so equal reasons compare equal as text)."""
    return json.dumps(dict(reason), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def rejected(record_source: Document | RawRecord, rej: Reject, raw: bytes) -> RejectedRecord:
    """Turn a step's `Reject` of a document or raw record into the stored reject row."""
    if isinstance(record_source, RawRecord):
        corpus_id = record_source.source.corpus_id
        source_uri = record_source.source.uri
    else:
        corpus_id = record_source.corpus_id
        source_uri = record_source.source_uri
    reason = {"step": rej.step, **rej.reason}
    return RejectedRecord(
        corpus_id=corpus_id,
        source_uri=source_uri,
        source_sha256=record_source.source_sha256,
        locator=record_source.locator,
        step=rej.step,
        reason=reason_json(reason),
        raw=raw,
    )


# A document's PII counts: one {entity, count} per entity type found, sorted by entity. A list of
# structs rather than a map: Hugging Face datasets has no dtype for an Arrow map.
PII_ENTRY_TYPE = pa.struct([
    pa.field("entity", pa.string(), nullable=False),
    pa.field("count", pa.int32(), nullable=False),
])
PII_COUNTS_TYPE = pa.list_(pa.field("item", PII_ENTRY_TYPE, nullable=False))
PII_COUNTS_TYPE_V1 = pa.map_(pa.string(), pa.int32())  # schema version 1 shards

DOCUMENT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("corpus_id", pa.string(), nullable=False),
        pa.field("member", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("locator", pa.int64(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("char_count", pa.int64(), nullable=False),
        pa.field("lang", pa.string(), nullable=False),
        pa.field("token_count", pa.int64(), nullable=False),
        *[pa.field(name, pa.float32(), nullable=False) for name in QUALITY_SIGNALS],
        pa.field("pii", PII_COUNTS_TYPE, nullable=False),
        pa.field("dup_cluster", pa.string(), nullable=True),
        pa.field("pipeline_version", pa.string(), nullable=False),
    ],
    metadata={b"kura.schema": b"document", b"kura.schema_version": SCHEMA_VERSION.encode()},
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("corpus_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("locator", pa.int64(), nullable=False),
        pa.field("step", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.binary(), nullable=False),
    ],
    metadata={b"kura.schema": b"reject", b"kura.schema_version": SCHEMA_VERSION.encode()},
)

DUPLICATE_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("corpus_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("locator", pa.int64(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("kept_doc_id", pa.string(), nullable=False),
        pa.field("estimated_jaccard", pa.float32(), nullable=False),
    ],
    metadata={b"kura.schema": b"duplicate", b"kura.schema_version": SCHEMA_VERSION.encode()},
)


# What each shard column means, for dataset cards and the audit catalog; a test checks that every
# column of DOCUMENT_SCHEMA is described here and nothing else is.
_SIGNAL_MEANINGS = {
    "hiragana_fraction": "share of the text's non-whitespace characters that are hiragana",
    "katakana_fraction": "share of non-whitespace characters that are katakana (ー included)",
    "kanji_fraction": "share of non-whitespace characters that are kanji (々 〆 〇 included)",
    "ascii_letter_fraction": "share of non-whitespace characters that are ASCII letters",
    "digit_fraction": "share of non-whitespace characters that are decimal digits",
    "symbol_fraction": "share of non-whitespace characters that are punctuation or symbols",
    "japanese_fraction": "share of non-whitespace characters that are kana or kanji",
    "mean_sentence_chars": "non-whitespace characters per sentence (sentences end at 。！？!? or "
                           "a newline)",
    "duplicate_line_fraction": "share of the characters of non-blank lines in lines that "
                               "already occurred earlier in the document (Gopher)",
    "duplicate_paragraph_fraction": "the same for paragraphs separated by blank lines (Gopher)",
    "top_ngram_fraction": "share of non-whitespace characters covered by the document's most "
                          "frequent character n-gram (Gopher's top n-gram repetition)",
}
DOCUMENT_COLUMNS: Mapping[str, str] = MappingProxyType({
    "doc_id": "stable id: 32 hex digits of sha256 over corpus, source file digest and locator",
    "corpus_id": "the corpus, as its manifest declares it",
    "member": "the consortium member that onboarded the corpus",
    "source_uri": "the source file: relative to the manifest's corpus.root for a local file "
                  "(file:// when the steward asked for absolute URIs), or a gs:// / s3:// URI",
    "source_sha256": "sha256 of the source file's bytes",
    "locator": "the record's place in its source file, from 1: JSONL line, CSV data row, "
               "Parquet row; 1 for a whole text file",
    "text": "the curated text: normalized (NFC, width-folded, newlines unified), personal data "
            "replaced by typed placeholders or keyed pseudonyms (corporate numbers, which are "
            "public, are kept unless the manifest scrubs them)",
    "char_count": "length of text in Unicode code points",
    "lang": "the corpus language (BCP 47), as its manifest declares it",
    "token_count": "MeCab (UniDic) tokens in text",
    **_SIGNAL_MEANINGS,
    "pii": "personal data found and scrubbed in this document: one {entity, count} per entity "
           "type, sorted by entity; never the values",
    "dup_cluster": "the duplicate cluster this document was kept for: c- and the cluster's "
                   "lowest doc_id, which is this document's; null when it had no duplicate",
    "pipeline_version": "the Kura version that wrote the shard",
})

# Footer metadata of a document shard: its corpus's license and sensitivity from the manifest.
# The shard's sha256 is signed, so these are signed facts wherever the shard is certified.
LICENSE_KEY = b"kura.license"
SENSITIVITY_KEY = b"kura.sensitivity"


def document_schema(license: str, sensitivity: str) -> pa.Schema:
    """DOCUMENT_SCHEMA with the corpus's license and sensitivity in its metadata (the shards of
    one run all carry the same, so their bytes stay a pure function of the inputs)."""
    metadata = dict(DOCUMENT_SCHEMA.metadata or {})
    metadata[LICENSE_KEY] = license.encode()
    metadata[SENSITIVITY_KEY] = sensitivity.encode()
    return DOCUMENT_SCHEMA.with_metadata(metadata)


def shard_license_and_sensitivity(metadata: Mapping[bytes, bytes] | None
                                  ) -> tuple[str, str] | None:
    """(license, sensitivity) from a shard's schema metadata; None for a shard written before
    they were recorded (schema version 1)."""
    metadata = metadata or {}
    license, sensitivity = metadata.get(LICENSE_KEY), metadata.get(SENSITIVITY_KEY)
    if license is None or sensitivity is None:
        return None
    return license.decode("utf-8", "replace"), sensitivity.decode("utf-8", "replace")


def pii_counts(value: Any) -> dict[str, int]:
    """A `pii` cell as {entity: count}, whatever the shard's schema version: a list of
    {"entity", "count"} dicts (v2), a list of (key, value) pairs (v1 map, as pyarrow returns
    it), a mapping, or None."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): int(v) for k, v in value.items()}
    counts: dict[str, int] = {}
    for entry in value:
        entity, count = (entry["entity"], entry["count"]) if isinstance(entry, Mapping) else entry
        counts[str(entity)] = counts.get(str(entity), 0) + int(count)
    return counts


def upgraded_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` with a v1 `pii` map column retyped as the v2 list of structs (other columns and
    the metadata unchanged): Arrow casts one to the other, so a dataset with this schema reads
    v1 shards as v2 rows."""
    index = schema.get_field_index("pii")
    if index < 0 or not pa.types.is_map(schema.field(index).type):
        return schema
    old = schema.field(index)
    return schema.set(index, pa.field("pii", PII_COUNTS_TYPE, nullable=old.nullable,
                                      metadata=old.metadata))


def upgrade_document_table(table: pa.Table) -> pa.Table:
    """A v1 shard's table in the v2 shape (its `pii` map cast to the list of structs; v1 wrote
    each map sorted by entity, so the lists are sorted too); any other table unchanged."""
    schema = table.schema
    upgraded = upgraded_schema(schema)
    return table if upgraded is schema else table.cast(upgraded)


def document_row(doc: Document, pipeline_version: str) -> dict[str, Any]:
    """The shard row of a document, in DOCUMENT_SCHEMA's column order."""
    row: dict[str, Any] = {
        "doc_id": doc.doc_id,
        "corpus_id": doc.corpus_id,
        "member": doc.member,
        "source_uri": doc.source_uri,
        "source_sha256": doc.source_sha256,
        "locator": doc.locator,
        "text": doc.text,
        "char_count": len(doc.text),
        "lang": doc.lang,
        "token_count": doc.token_count,
    }
    for name in QUALITY_SIGNALS:
        row[name] = float(doc.signals.get(name, 0.0))
    row["pii"] = [{"entity": entity, "count": count} for entity, count in sorted(doc.pii.items())]
    row["dup_cluster"] = doc.dup_cluster
    row["pipeline_version"] = pipeline_version
    return row


def reject_row(rec: RejectedRecord) -> dict[str, Any]:
    return {
        "corpus_id": rec.corpus_id,
        "source_uri": rec.source_uri,
        "source_sha256": rec.source_sha256,
        "locator": rec.locator,
        "step": rec.step,
        "reason": rec.reason,
        "raw": rec.raw,
    }

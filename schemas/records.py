"""The values that flow through a curation run, and the Arrow schemas they are stored with.

Every field list lives here once: the pipeline, the shard writer, the audit catalog and the
expectation suites all read these schemas rather than re-declaring columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pyarrow as pa

SCHEMA_VERSION = "1"

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


PII_COUNTS_TYPE = pa.map_(pa.string(), pa.int32())

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
    row["pii"] = sorted(doc.pii.items())
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

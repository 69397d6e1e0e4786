"""Builders shared by the release, pull and certified-reader tests (no tests here).

`record_validated_run` writes tiny shards (tests/lineage/conftest.py's `write_run`), quarantines
the ones said to fail, and records the run with validation digests and verdicts, as the pipeline
does after running the shard suite; like an onboard, it leaves the corpus manifest in the store
(`store_manifest`), where a release reads the license and sensitivity of shards that carry none.
`document_shard` builds a real DOCUMENT_SCHEMA shard for the tests that run the real
great-expectations suite.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Collection
from pathlib import Path

import pyarrow as pa

from lineage.certify import AttestedShard, CertificationFacts, certification_statement
from lineage.code import code_identity
from lineage.dsse import Envelope, canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.record import record_run
from lineage.release import ReleaseFile, ReleaseShard, write_release_file
from lineage.signing import SigningKey
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE
from schemas.records import (
    PII_COUNTS_TYPE_V1,
    Document,
    doc_id_for,
    document_row,
    document_schema,
    pii_counts,
)
from schemas.run import Counts, RunSummary, StoredFile
from tests.lineage.conftest import write_run, write_stored_file

SENTENCES = (
    "本日の会議は10時〜12時に第3会議室で行います。",
    "2024年4月1日より新しい規程が施行されます。",
    "売上は前年比で12.5%増加し、1,234,567円となりました。",
)


def quarantine(store: Path, stored: StoredFile, corpus: str) -> StoredFile:
    """Move a failed shard to quarantine/<corpus>/, as the pipeline does."""
    target = f"quarantine/{corpus}/{Path(stored.path).name}"
    (store / target).parent.mkdir(parents=True, exist_ok=True)
    shutil.move(store / stored.path, store / target)
    return stored.model_copy(update={"path": target})


def store_manifest(store: Path, corpus: str, license: str = "consortium-internal",
                   sensitivity: str = "internal", member: str = "acme") -> Path:
    """The manifest an onboard copies to manifests/<corpus>.toml."""
    path = store / "manifests" / f"{corpus}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[corpus]\nid = "{corpus}"\nmember = "{member}"\nlicense = "{license}"\n'
        f'sensitivity = "{sensitivity}"\n\n[[sources]]\nuri = "gs://acme-raw-tokyo/{corpus}/*"\n'
        'format = "jsonl"\nlocation = { provider = "gcp", country = "JP", '
        'region = "asia-northeast1" }\n', encoding="utf-8")
    return path


def record_validated_run(
    store: Path,
    run_id: str = "run-1",
    shards: int = 3,
    failing: Collection[int] = (),
    corpus: str = "acme-news",
    unvalidated: Collection[int] = (),
    sensitivity: str = "internal",
) -> RunSummary:
    """Write and record a run whose shard suite passed except for the `failing` shards
    (quarantined, attested as failed) and the `unvalidated` ones (no verdict)."""
    store_manifest(store, corpus, sensitivity=sensitivity)
    summary = write_run(store, run_id=run_id, shards=shards, corpus=corpus)
    stored = [quarantine(store, s, corpus) if i in failing else s
              for i, s in enumerate(summary.shards)]
    summary = summary.model_copy(update={"shards": stored})
    digests = {s.path: hashlib.sha256(f"result of {s.path}".encode()).hexdigest()
               for i, s in enumerate(stored) if i not in unvalidated}
    verdicts = {s.path: i not in failing for i, s in enumerate(stored) if i not in unvalidated}
    record_run(store, summary, digests, verdicts)
    return summary


def document_shard(corpus: str, count: int, planted_text: str | None = None,
                   license: str = "cc-by-4.0", sensitivity: str = "confidential") -> pa.Table:
    """A real shard of `count` clean documents; the first one's text replaced if given. Its
    schema metadata carries `license` and `sensitivity`, as an onboard writes them."""
    docs = []
    for i in range(count):
        text = f"第{i}号 " + SENTENCES[i % len(SENTENCES)]
        if i == 0 and planted_text is not None:
            text = planted_text
        docs.append(Document(
            doc_id=doc_id_for(corpus, "ab" * 32, i), corpus_id=corpus, member="acme",
            source_uri="file:///data/acme/a.jsonl", source_sha256="ab" * 32, locator=i,
            text=text, token_count=12,
            signals={"hiragana_fraction": 0.3, "katakana_fraction": 0.05, "kanji_fraction": 0.4,
                     "ascii_letter_fraction": 0.0, "digit_fraction": 0.05,
                     "symbol_fraction": 0.05, "japanese_fraction": 0.8,
                     "mean_sentence_chars": 25.0, "duplicate_line_fraction": 0.0,
                     "duplicate_paragraph_fraction": 0.0, "top_ngram_fraction": 0.04},
            pii={"PERSON": 1, "PHONE_NUMBER": 2} if i % 2 else {},
        ))
    return pa.Table.from_pylist([document_row(d, "kura-0.1.0") for d in docs],
                                schema=document_schema(license, sensitivity))


def v1_shard(table: pa.Table) -> pa.Table:
    """`table` as Kura wrote shards before schema version 2: `pii` a map, no license or
    sensitivity in the metadata."""
    index = table.schema.get_field_index("pii")
    cells = [sorted(pii_counts(c).items()) for c in table.column("pii").to_pylist()]
    return table.set_column(index, pa.field("pii", PII_COUNTS_TYPE_V1, nullable=False),
                            pa.array(cells, PII_COUNTS_TYPE_V1)).replace_schema_metadata(
        {b"kura.schema": b"document", b"kura.schema_version": b"1"})


def record_document_run(store: Path, corpus: str, shards: int = 1, rows: int = 4,
                        run_id: str = "run-d", license: str = "cc-by-4.0",
                        sensitivity: str = "confidential", v1: bool = False) -> RunSummary:
    """Write and record a run of real document shards whose suite passed, as an onboard of a
    corpus with that license and sensitivity would (`v1`: shards of schema version 1)."""
    stored = []
    for n in range(shards):
        table = document_shard(corpus, rows, license=license, sensitivity=sensitivity)
        rel = f"shards/{corpus}/{run_id}-part-{n:05d}.parquet"
        stored.append(write_stored_file(store, rel, v1_shard(table) if v1 else table))
    store_manifest(store, corpus, license=license, sensitivity=sensitivity)
    written = shards * rows
    summary = write_run(store, run_id=run_id, shards=0, corpus=corpus).model_copy(update={
        "shards": stored, "counts": Counts(read=written + 3, written=written,
                                           rejected={"quality.length": 1},
                                           duplicates={"exact": 2})})
    digests = {s.path: hashlib.sha256(f"result of {s.path}".encode()).hexdigest() for s in stored}
    record_run(store, summary, digests, dict.fromkeys(digests, True))
    return summary


def forge_release(store: Path, name: str, key: SigningKey, summary: RunSummary) -> Envelope:
    """A release over `summary`'s shards whose record is signed by `key` (say, a site key),
    appended with a valid checkpoint and indexed like a real one."""
    context = load_site_context(store)
    lines = TransparencyLog(store).read().lines
    shards = [AttestedShard(s.path, s.sha256, s.rows, s.bytes, 0, "0" * 64, "d", True)
              for s in summary.shards]
    facts = CertificationFacts(context.certifier_id, code_identity().version,
                               context.policy.version, context.signed_policy.digest,
                               "2030-01-01T00:00:00.000000Z")
    envelope = sign(IN_TOTO_PAYLOAD_TYPE,
                    canonical_json(certification_statement(name, shards, facts)), key)
    TransparencyLog(store).append([envelope.to_json_line()], context.site_key, context.log_origin)
    write_release_file(store, ReleaseFile(
        release=name, created_at=facts.time_verified, certifier_id=context.certifier_id,
        corpora=[summary.corpus_id], log_index=len(lines), envelope_digest=envelope.digest,
        shards=[ReleaseShard(name=s.path, sha256=s.sha256, rows=s.rows, bytes=s.bytes)
                for s in summary.shards],
    ))
    return envelope


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

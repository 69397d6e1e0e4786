"""Builders shared by the release, pull and certified-reader tests (no tests here).

`record_validated_run` writes tiny shards (tests/lineage/conftest.py's `write_run`), quarantines
the ones said to fail, and records the run with validation digests and verdicts, as the pipeline
does after running the shard suite. `document_shard` builds a real DOCUMENT_SCHEMA shard for the
tests that run the real great-expectations suite.
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
from schemas.records import DOCUMENT_SCHEMA, Document, doc_id_for, document_row
from schemas.run import RunSummary, StoredFile
from tests.lineage.conftest import write_run

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


def record_validated_run(
    store: Path,
    run_id: str = "run-1",
    shards: int = 3,
    failing: Collection[int] = (),
    corpus: str = "acme-news",
    unvalidated: Collection[int] = (),
) -> RunSummary:
    """Write and record a run whose shard suite passed except for the `failing` shards
    (quarantined, attested as failed) and the `unvalidated` ones (no verdict)."""
    summary = write_run(store, run_id=run_id, shards=shards, corpus=corpus)
    stored = [quarantine(store, s, corpus) if i in failing else s
              for i, s in enumerate(summary.shards)]
    summary = summary.model_copy(update={"shards": stored})
    digests = {s.path: hashlib.sha256(f"result of {s.path}".encode()).hexdigest()
               for i, s in enumerate(stored) if i not in unvalidated}
    verdicts = {s.path: i not in failing for i, s in enumerate(stored) if i not in unvalidated}
    record_run(store, summary, digests, verdicts)
    return summary


def document_shard(corpus: str, count: int, planted_text: str | None = None) -> pa.Table:
    """A real shard of `count` clean documents; the first one's text replaced if given."""
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
        ))
    return pa.Table.from_pylist([document_row(d, "kura-0.1.0") for d in docs],
                                schema=DOCUMENT_SCHEMA)


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

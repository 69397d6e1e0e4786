"""The per-document residual-PII gate: scrub again with the same definition, or quarantine the
document alone, naming types and counts and never a value."""

from __future__ import annotations

import pickle

import pytest

from schemas.pii import PII_ENTITIES, PiiConfig
from schemas.records import Document, Reject, reason_json, rejected
from transforms.gate import STEP_NAME, ResidualPiiGate
from transforms.pii import pseudonym

PHONE = "03-5555-0123"


def document(text: str, pii: dict[str, int] | None = None) -> Document:
    return Document(doc_id="ab" * 16, corpus_id="acme", member="acme",
                    source_uri="file:///data/a.jsonl", source_sha256="cd" * 32, locator=3,
                    text=text, pii=pii or {})


def test_a_clean_document_passes_unchanged() -> None:
    doc = document("本日の会議は<PHONE_NUMBER>の担当者が進行します。")
    assert ResidualPiiGate(PiiConfig())(doc) is doc


def test_what_the_pii_stage_left_is_scrubbed_again_and_counted() -> None:
    # A steward's high threshold let the PII stage keep the number; the definition is certain.
    config = PiiConfig(score_threshold=0.95)
    out = ResidualPiiGate(config)(document(f"連絡先は{PHONE}です。", {"PERSON": 1}))
    assert isinstance(out, Document)
    assert out.text == "連絡先は<PHONE_NUMBER>です。"
    assert out.pii == {"PERSON": 1, "PHONE_NUMBER": 1}


def test_pseudonym_mode_scrubs_again_with_the_corpus_pseudonym() -> None:
    config = PiiConfig(mode="pseudonym", secret_env="X", score_threshold=0.95)
    out = ResidualPiiGate(config, b"secret")(document(f"電話 {PHONE}"))
    assert out.text == "電話 " + pseudonym(b"secret", "PHONE_NUMBER", PHONE)


def test_a_type_the_manifest_leaves_unscrubbed_quarantines_the_document_alone() -> None:
    config = PiiConfig(entities=tuple(e for e in PII_ENTITIES if e != "PHONE_NUMBER"))
    doc = document(f"担当の携帯は{PHONE}、予備は090-1234-5678です。")
    out = ResidualPiiGate(config)(doc)
    assert isinstance(out, Reject)
    assert out.step == STEP_NAME == "validate.residual_pii"
    assert dict(out.reason) == {"doc_id": doc.doc_id, "column": "text",
                                "entities": {"PHONE_NUMBER": 2}, "count": 2}
    row = rejected(doc, out, doc.text.encode())
    assert PHONE not in row.reason and "5678" not in reason_json(out.reason)


def test_the_gate_pickles_without_its_engine() -> None:
    gate = ResidualPiiGate(PiiConfig())
    gate(document(f"TEL {PHONE}"))
    clone = pickle.loads(pickle.dumps(gate))
    assert clone(document(f"TEL {PHONE}")).text == "TEL <PHONE_NUMBER>"


def test_pseudonym_mode_needs_its_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        ResidualPiiGate(PiiConfig(mode="pseudonym", secret_env="X"))

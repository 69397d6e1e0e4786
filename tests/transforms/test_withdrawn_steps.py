"""The "withdrawn" steps: by doc id before any work, by a forgotten person's token hash after
the PII step; both keep no bytes of what they reject."""

from __future__ import annotations

from dataclasses import replace

from schemas.records import Document, Reject
from transforms.pseudonym_tokens import token_hash
from transforms.withdrawn import ForgottenPersonStep, WithdrawnIdStep, WithdrawnSet


def _doc(doc_id: str, text: str) -> Document:
    return Document(doc_id=doc_id, corpus_id="c", member="m", source_uri="a.jsonl",
                    source_sha256="0" * 64, locator=1, text=text)


def test_a_withdrawn_id_is_rejected_without_its_bytes() -> None:
    step = WithdrawnIdStep(WithdrawnSet(doc_ids={"gone": 7}))
    kept = _doc("kept", "本文")
    assert step(kept) is kept
    result = step(_doc("gone", "本文"))
    assert isinstance(result, Reject) and result.withhold_raw
    assert result.reason == {"rule": "withdrawn.document", "withdrawal": 7}


def test_a_forgotten_token_is_found_wherever_it_sits_in_the_text() -> None:
    token = "<PERSON_0123456789ab>"
    step = ForgottenPersonStep(WithdrawnSet(forgotten={token_hash(token): 3, "f" * 64: 1}))
    other = _doc("x", "担当は<PERSON_ba9876543210>です。")
    assert step(other) is other
    for text in (f"{token}様", f"担当{token}", f"a {token} と <PERSON_ba9876543210>"):
        result = step(replace(other, text=text))
        assert isinstance(result, Reject) and result.withhold_raw
        assert result.reason == {"rule": "withdrawn.forgotten_person", "withdrawal": 3}


def test_an_empty_set_is_false_so_no_step_is_added() -> None:
    assert not WithdrawnSet()
    assert WithdrawnSet(doc_ids={"a": 1})

"""Steps that keep withdrawn documents out of every later run.

A withdrawal is permanent: once the log holds it, a full re-run (or an append run) of the corpus
must not bring the documents back. Doc ids are stable (corpus, source digest, locator), so a
document withdrawn by id is recognized before any work is spent on it; a forgotten person is
recognized after the PII step by the hashes of the keyed pseudonyms the scrubbed text carries,
which also catches a document the person appears in that the store never held.

Both reject the document as step "withdrawn" with the withdrawal's log index and no raw bytes:
the reject row then counts it (conservation holds) without keeping what was taken back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from schemas.records import Document, Reject
from transforms.pseudonym_tokens import token_hashes

STEP_NAME = "withdrawn"


@dataclass(frozen=True)
class WithdrawnSet:
    """What the log has withdrawn: doc id -> log index, pseudonym-token hash -> log index."""

    doc_ids: Mapping[str, int] = field(default_factory=dict)
    forgotten: Mapping[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.forgotten)


def withdrawn_reason(log_index: int, rule: str) -> Reject:
    return Reject(STEP_NAME, {"rule": rule, "withdrawal": log_index}, withhold_raw=True)


class WithdrawnIdStep:
    """Step "withdrawn" (first): a document whose id a withdrawal listed is not processed."""

    name = STEP_NAME

    def __init__(self, withdrawn: WithdrawnSet) -> None:
        self._ids = dict(withdrawn.doc_ids)

    def setup(self) -> None:
        pass

    def __call__(self, doc: Document) -> Document | Reject:
        index = self._ids.get(doc.doc_id)
        return doc if index is None else withdrawn_reason(index, "withdrawn.document")


class ForgottenPersonStep:
    """Step "withdrawn" (after PII): a document whose scrubbed text names a forgotten person
    (by the hash of their keyed pseudonym) is not kept."""

    name = STEP_NAME
    label = "withdrawn_person"  # the graph's label: the id step has the name's

    def __init__(self, withdrawn: WithdrawnSet) -> None:
        self._forgotten = dict(withdrawn.forgotten)

    def setup(self) -> None:
        pass

    def __call__(self, doc: Document) -> Document | Reject:
        hits = [self._forgotten[h] for h in token_hashes(doc.text) if h in self._forgotten]
        return doc if not hits else withdrawn_reason(min(hits), "withdrawn.forgotten_person")

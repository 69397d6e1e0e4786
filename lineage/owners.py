"""A corpus id belongs to the member that first onboarded it.

The binding is in the signed records: every run's provenance names its corpus and member
(`externalParameters.corpusId` / `.member`), so the first run that names a corpus id fixes its
owner, and the log, not an unsigned file, answers who that is.
"""

from __future__ import annotations

from pathlib import Path

from lineage.log import TransparencyLog
from lineage.statements import logged_statements
from schemas.predicates import PROVENANCE_PREDICATE


class CorpusOwnerError(ValueError):
    """A manifest for a corpus id that another member owns; one line for the user."""


def corpus_owners(lines: list[bytes]) -> dict[str, tuple[str, int]]:
    """corpus id -> (member, log index) of the first run that named it."""
    owners: dict[str, tuple[str, int]] = {}
    for record in logged_statements(lines, PROVENANCE_PREDICATE):
        params = (record.predicate.get("buildDefinition") or {}).get("externalParameters") or {}
        corpus, member = params.get("corpusId"), params.get("member")
        if isinstance(corpus, str) and isinstance(member, str):
            owners.setdefault(corpus, (member, record.index))
    return owners


def check_corpus_owner(store_root: Path, corpus_id: str, member: str) -> None:
    owner = corpus_owners(TransparencyLog(Path(store_root)).read().lines).get(corpus_id)
    if owner is not None and owner[0] != member:
        raise CorpusOwnerError(
            f"corpus.id {corpus_id} belongs to member {owner[0]} (first onboarded at log index "
            f"{owner[1]}); member {member} cannot onboard it: choose another corpus.id"
        )

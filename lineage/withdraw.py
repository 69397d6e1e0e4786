"""Withdrawal records: what no release may hold from their log index on, and who said so.

A withdrawal is an in-toto Statement (predicateType WITHDRAWAL_PREDICATE) signed by a certifier
key: its subjects are the withdrawn-documents file (withdrawals/<corpus>/<id>.parquet, ids only,
schemas/withdrawal.py) and every store file that held one of them (name, sha256 as last
attested); its predicate names the corpus, the kind, the sources, the reason as given and when.
The documents leave the store's current files through a rewrite run that cites the record
(`pipelines/withdraw.py`, which also holds `withdraw_documents`, the API `kura forget` uses:
lineage knows no text processing, so the rewrite lives with the pipelines).

This module is the record side: building and signing a statement, reading the withdrawals of a
log, the doc ids they withdrew, and which (name, sha256) files they touched, for `release
create` (which never certifies a withdrawn document), `release show` and `audit trace` (which
flag earlier releases that hold withdrawn data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import ValidationError

from lineage.dsse import canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.policy import role_allows
from lineage.statements import logged_statements
from schemas.predicates import (
    IN_TOTO_PAYLOAD_TYPE,
    WITHDRAWAL_PREDICATE,
    Statement,
    Subject,
    WithdrawalPredicate,
)


class WithdrawalError(ValueError):
    """A withdrawal that cannot be made as asked; one line saying what to change."""


@dataclass(frozen=True)
class Withdrawal:
    """A logged withdrawal record."""

    log_index: int
    envelope_digest: str
    predicate: WithdrawalPredicate
    documents_file: tuple[str, str]  # (store-relative name, sha256)
    affected: tuple[tuple[str, str], ...]  # the files that held withdrawn documents

    @property
    def corpus_id(self) -> str:
        return self.predicate.corpus_id

    def describe(self) -> str:
        """One clause for people: which record, when, what kind, how many, why (as given)."""
        p = self.predicate
        what = {"source": "source " + ", ".join(s.uri for s in p.sources),
                "all": "every source", "forget": "a person's documents (forget)"}[p.kind]
        return (f"withdrawal at log index {self.log_index} ({p.withdrawn_at}, {what} of corpus "
                f"{p.corpus_id}, {p.documents} documents): {p.reason}")

    def to_json(self) -> dict:
        p = self.predicate
        return {"logIndex": self.log_index, "corpusId": p.corpus_id, "kind": p.kind,
                "reason": p.reason, "sources": [s.to_json_dict() for s in p.sources],
                "documents": p.documents, "withdrawnAt": p.withdrawn_at,
                "certifierId": p.certifier_id, "documentsFile": self.documents_file[0]}


def withdrawal_statement(predicate: WithdrawalPredicate, documents_sha256: str,
                         affected: Sequence[tuple[str, str]]) -> dict:
    """The in-toto statement of a withdrawal (pure): the documents file first, then the files
    that held them."""
    subjects = [Subject(name=predicate.documents_file, digest={"sha256": documents_sha256})]
    subjects += [Subject(name=name, digest={"sha256": sha}) for name, sha in sorted(affected)]
    return Statement(subject=subjects, predicate_type=WITHDRAWAL_PREDICATE,
                     predicate=predicate.to_json_dict()).to_json_dict()


def logged_withdrawals(lines: Iterable[bytes]) -> list[Withdrawal]:
    """Every withdrawal of the log, in log order (a line that does not parse is skipped:
    `verify_store` reports it)."""
    found = []
    for record in logged_statements(lines, WITHDRAWAL_PREDICATE):
        try:
            predicate = WithdrawalPredicate.model_validate(record.predicate)
        except ValidationError:
            continue
        subjects = [(s.get("name", ""), (s.get("digest") or {}).get("sha256", ""))
                    for s in record.statement.get("subject") or []]
        documents = next((s for s in subjects if s[0] == predicate.documents_file), ("", ""))
        found.append(Withdrawal(record.index, record.envelope.digest, predicate, documents,
                                tuple(s for s in subjects if s[0] != predicate.documents_file)))
    return found


def withdrawn_documents(store_root: Path, withdrawals: Iterable[Withdrawal],
                        corpus_id: str | None = None) -> dict[str, int]:
    """doc_id -> the log index of the (first) withdrawal that took it, from the withdrawn-
    documents files (only the ids are read). A missing file is an error: without it nobody can
    say which documents left."""
    found: dict[str, int] = {}
    for withdrawal in withdrawals:
        if corpus_id is not None and withdrawal.corpus_id != corpus_id:
            continue
        path = Path(store_root) / withdrawal.documents_file[0]
        try:
            ids = pq.read_table(path, columns=["doc_id"]).column("doc_id").to_pylist()
        except (OSError, ValueError) as exc:
            raise WithdrawalError(f"{withdrawal.documents_file[0]}: the documents of the "
                                  f"withdrawal at log index {withdrawal.log_index} cannot be "
                                  f"read ({exc})") from None
        for doc_id in ids:
            found.setdefault(doc_id, withdrawal.log_index)
    return found


def withdrawals_of_files(withdrawals: Iterable[Withdrawal]
                         ) -> dict[tuple[str, str], tuple[Withdrawal, ...]]:
    """(file name, sha256) -> the withdrawals that took documents out of exactly those bytes:
    a release that certified such a file holds withdrawn data."""
    found: dict[tuple[str, str], list[Withdrawal]] = {}
    for withdrawal in withdrawals:
        for subject in withdrawal.affected:
            found.setdefault(subject, []).append(withdrawal)
    return {k: tuple(v) for k, v in found.items()}


@dataclass(frozen=True)
class SignedWithdrawal:
    log_index: int
    envelope_digest: str
    tree_size: int
    checkpoint: Path


def sign_withdrawal(store_root: Path,
                    statement_for: Callable[[str], dict[str, Any]]) -> SignedWithdrawal:
    """Sign the statement `statement_for(certifier_id)` gives with the store's certifier key and
    append it to the log with a checkpoint (the site key signs checkpoints), under the log lock.
    Refuses, before signing, a policy whose certifier role may not sign withdrawals."""
    tlog = TransparencyLog(Path(store_root))
    with tlog.lock:
        context = load_site_context(Path(store_root))
        if not role_allows(context.policy, "certifier", WITHDRAWAL_PREDICATE):
            raise WithdrawalError(
                f"trust policy v{context.policy.version} does not let certifier keys sign "
                f"withdrawals ({WITHDRAWAL_PREDICATE}): it predates withdrawals; run `kura keys "
                "grant-defaults --root-key ROOT_KEY` (a root-signed policy change) first")
        statement = statement_for(context.certifier_id)
        envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.certifier_key)
        result = tlog.append([envelope.to_json_line()], context.site_key, context.log_origin)
    assert result.checkpoint is not None and result.checkpoint.path is not None
    return SignedWithdrawal(result.first_index, envelope.digest, result.tree_size,
                            result.checkpoint.path)


@dataclass(frozen=True)
class WithdrawnShard:
    """A certified shard that holds documents withdrawn since (or before) it was certified."""

    name: str
    sha256: str
    documents: int  # withdrawn documents among its rows (0: its bytes are gone, named only)
    withdrawals: tuple[Withdrawal, ...]

    def to_json(self) -> dict:
        return {"shard": self.name, "sha256": self.sha256, "documents": self.documents,
                "withdrawals": [w.to_json() for w in self.withdrawals]}


def withdrawn_in_shards(store_root: Path, lines: Sequence[bytes],
                        shards: Iterable[tuple[str, str]]) -> list[WithdrawnShard]:
    """Which of `shards` (name, sha256) hold withdrawn data: by their doc_id column against
    every withdrawn-documents file (so a shard of an earlier, superseded run is caught too),
    and, for a shard whose bytes are gone, by being a withdrawal's subject."""
    withdrawals = logged_withdrawals(lines)
    if not withdrawals:
        return []
    by_index = {w.log_index: w for w in withdrawals}
    withdrawn = withdrawn_documents(store_root, withdrawals)
    named = withdrawals_of_files(withdrawals)
    found = []
    for name, sha in shards:
        path = Path(store_root) / name
        hits: set[int] = {w.log_index for w in named.get((name, sha), ())}
        count = 0
        if path.is_file():
            ids = pq.read_table(path, columns=["doc_id"]).column("doc_id").to_pylist()
            matched = [withdrawn[i] for i in ids if i in withdrawn]
            count = len(matched)
            hits |= set(matched)
        if hits:
            found.append(WithdrawnShard(name, sha, count,
                                        tuple(by_index[i] for i in sorted(hits))))
    return found

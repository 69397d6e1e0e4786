"""`kura forget`: find every current document that mentions a person, through the keyed
pseudonyms of pseudonym-mode corpora, and withdraw those documents (kind "forget").

For each corpus: the store's copy of its manifest names the mode and where the secret is
(pii.secret_env / secret_file). In pseudonym mode the value is tokenized as the PII step would
have tokenized it under each scrubbed entity type (transforms/pii.py `pseudonym`), each token is
hashed, and the pseudonym index of every current shard (pipelines/pseudonym_index.py, built now
for a shard without one) names the documents holding one of those hashes. The withdrawal
(pipelines/withdraw.py) records the hashes (`forgottenTokens`), never the value or the token.

In placeholder mode every name became the same `<PERSON>` tag: nothing in the shards tells one
person from another, so the documents cannot be found; `placeholder_advice` says what the
steward can do instead. Nothing here logs, prints or returns the value.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lineage.certify import latest_residency
from lineage.gc import current_files
from lineage.log import TransparencyLog
from lineage.policy import TrustRoot
from pipelines.pseudonym_index import lookup, prune_index
from pipelines.store import store_lock
from schemas.manifest import Manifest, ManifestError, load_manifest
from schemas.records import doc_id_for
from schemas.store import StoreLayout
from transforms.pseudonym_tokens import token_hashes, value_identity, value_token_hashes

log = logging.getLogger(__name__)

Announce = Callable[[str], None]


class ForgetError(ValueError):
    """A forget request that cannot be served as given; one line, never quoting the value."""


def placeholder_advice(corpus_id: str) -> str:
    return (f"corpus {corpus_id} was scrubbed in placeholder mode: every value became the same "
            "typed tag (<PERSON>), so nothing in its shards tells one person from another and "
            "Kura cannot find the documents that mentioned this one. Instead: find the records "
            "that mention the person in the member's own sources and withdraw those sources "
            f"(`kura withdraw --corpus {corpus_id} --source URI --reason TEXT`), and onboard the "
            "corpus in pseudonym mode (pii.mode = \"pseudonym\" with pii.secret_env or "
            "secret_file) so that later requests can be served")


@dataclass(frozen=True)
class CorpusSearch:
    """What forget found in one corpus (ids and counts only)."""

    corpus_id: str
    searchable: bool
    why_not: str = ""
    shards: int = 0
    indexed_now: int = 0
    matches: dict[str, list[str]] = field(default_factory=dict)  # shard -> doc_ids
    token_hashes: tuple[str, ...] = ()  # sha256 of the value's pseudonym per scrubbed type

    @property
    def doc_ids(self) -> list[str]:
        return sorted({doc for ids in self.matches.values() for doc in ids})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"corpus": self.corpus_id, "searchable": self.searchable}
        if not self.searchable:
            data["whyNot"] = self.why_not
            return data
        data.update({"shardsSearched": self.shards, "indexBuiltNow": self.indexed_now,
                     "documents": len(self.doc_ids),
                     "shards": {shard: len(ids) for shard, ids in self.matches.items()}})
        return data


def check_request(value: str, reason: str) -> None:
    """Refuse an empty value, and a reason that holds the value: the reason is recorded as
    given, in the append-only log."""
    if not value.strip():
        raise ForgetError("--value is empty: give the name or value to forget")
    if not reason.strip():
        raise ForgetError("--reason is empty: say why (it is recorded in the signed log)")
    folds = (value_identity, _nfkc_identity)
    if value.strip() in reason or any(f(value) and f(value) in f(reason) for f in folds):
        raise ForgetError("--reason contains the value to forget; the reason is recorded in the "
                          "append-only log as given: describe the request without the value "
                          "(e.g. \"APPI deletion request 2026-118\")")


def _nfkc_identity(text: str) -> str:
    """A wider fold than the pseudonym's: NFKC (half-width kana, compatibility forms)."""
    return value_identity(unicodedata.normalize("NFKC", text))


def store_corpora(store_root: Path) -> list[str]:
    """Every corpus whose manifest the store keeps (manifests/<corpus>.toml)."""
    folder = StoreLayout(Path(store_root)).root / "manifests"
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _stored_manifest(store_root: Path, corpus_id: str) -> Manifest | str:
    path = StoreLayout(Path(store_root)).manifest(corpus_id)
    if not path.is_file():
        return f"corpus {corpus_id}: the store keeps no manifest of it ({path}); onboard it first"
    try:
        return load_manifest(path)
    except ManifestError as exc:
        return f"corpus {corpus_id}: its stored manifest cannot be read ({exc})"


def search_corpus(store_root: Path, corpus_id: str, value: str, lines: list[bytes]
                  ) -> CorpusSearch:
    """Find the current documents of one corpus whose text holds the value's pseudonym."""
    manifest = _stored_manifest(store_root, corpus_id)
    if isinstance(manifest, str):
        return CorpusSearch(corpus_id, False, manifest)
    if manifest.pii.mode != "pseudonym":
        return CorpusSearch(corpus_id, False, placeholder_advice(corpus_id))
    from transforms.pii import PiiConfigError, read_secret  # presidio: only for a search

    try:
        secret = read_secret(manifest.pii)
    except PiiConfigError as exc:
        return CorpusSearch(corpus_id, False, f"corpus {corpus_id} is in pseudonym mode but its "
                            f"secret is not available here: {exc}")
    assert secret is not None
    hashes = value_token_hashes(secret, sorted(manifest.pii.scrubbed_entities()), value)
    del secret
    prefix = f"shards/{corpus_id}/"
    attested = latest_residency(lines)
    current = current_files(lines).get(corpus_id, frozenset())
    shards = {name: attested[name].sha256 for name in sorted(current)
              if name.startswith(prefix) and name in attested}
    matches, built = lookup(store_root, shards, set(hashes.values()))
    records = records_mentioning(store_root, corpus_id, current, value, set(hashes.values()))
    return CorpusSearch(corpus_id, True, shards=len(shards), indexed_now=len(built),
                        matches={**matches, **records},
                        token_hashes=tuple(sorted(hashes.values())))


# How rejected records' raw bytes may be encoded (the decoders ingest tries, and UTF-16).
_RAW_ENCODINGS = ("utf-8", "cp932", "euc_jp", "iso2022_jp", "utf-16")


def _mentions(text: str, identity: str, hashes: set[str]) -> bool:
    return bool(identity and identity in value_identity(text)) or bool(token_hashes(text) & hashes)


def records_mentioning(store_root: Path, corpus_id: str, current: frozenset[str], value: str,
                       hashes: set[str]) -> dict[str, list[str]]:
    """The current rejected records (raw bytes, any of the encodings ingest reads) and withheld
    documents (quarantine/<corpus>/documents-*) that mention the value as written or as its
    pseudonym: file -> doc ids. They are never released, but they hold the person's data.
    The value is compared in memory only."""
    identity = value_identity(value)
    found: dict[str, list[str]] = {}
    for name in sorted(current):
        parts = name.split("/")
        if len(parts) != 3 or parts[1] != corpus_id:
            continue
        path = Path(store_root) / name
        if parts[0] == "rejects":
            table = pq.read_table(path, columns=["source_uri", "source_sha256", "locator", "raw"])
            ids = [doc_id_for(corpus_id, row["source_sha256"], row["locator"], row["source_uri"])
                   for row in table.to_pylist()
                   if any(_mentions(row["raw"].decode(encoding, errors="ignore"), identity,
                                    hashes) for encoding in _RAW_ENCODINGS)]
        elif parts[0] == "quarantine" and parts[2].startswith("documents-"):
            table = pq.read_table(path, columns=["doc_id", "text"])
            ids = [row["doc_id"] for row in table.to_pylist()
                   if _mentions(row["text"], identity, hashes)]
        else:
            continue
        if ids:
            found[name] = sorted(set(ids))
    return found


@dataclass(frozen=True)
class ForgetOutcome:
    searches: tuple[CorpusSearch, ...]
    withdrawals: dict[str, Any]  # corpus -> the withdraw helper's outcome
    pruned: tuple[str, ...] = ()

    @property
    def unsearched(self) -> list[CorpusSearch]:
        return [s for s in self.searches if not s.searchable]


def search(store_root: Path, value: str, corpora: Sequence[str] = (),
           announce: Announce = lambda _line: None) -> tuple[CorpusSearch, ...]:
    """Search every asked corpus (default: every corpus with a stored manifest) under the
    store lock (lazily built index files are written then)."""
    store_root = Path(store_root)
    known = store_corpora(store_root)
    unknown = [c for c in corpora if c not in known]
    if unknown:
        raise ForgetError(f"--corpus {unknown[0]}: not onboarded into this store (corpora: "
                          f"{', '.join(known) or 'none'})")
    wanted = list(dict.fromkeys(corpora)) or known
    if not wanted:
        raise ForgetError(f"--store {store_root}: no onboarded corpus to search")
    with store_lock(store_root, "forget (search)", announce):
        lines = TransparencyLog(store_root).read().lines
        return tuple(search_corpus(store_root, corpus, value, lines) for corpus in wanted)


def forget(store_root: Path, value: str, reason: str, corpora: Sequence[str] = (),
           trust_root: TrustRoot | None = None,
           announce: Announce = lambda _line: None) -> ForgetOutcome:
    """Search, then withdraw the documents found, one withdrawal per corpus. Raises ForgetError
    before anything is written when the request cannot be served as asked: the reason holds the
    value, a corpus named with --corpus cannot be searched, or no corpus can."""
    check_request(value, reason)
    searches = search(store_root, value, corpora, announce)
    blocked = [s for s in searches if not s.searchable]
    if corpora and blocked:
        raise ForgetError(f"{blocked[0].why_not}; nothing was withdrawn")
    if all(not s.searchable for s in searches):
        raise ForgetError(f"no corpus of the store can be searched: {searches[0].why_not}"
                          + (f" (+{len(searches) - 1} more)" if len(searches) > 1 else ""))
    from pipelines.withdraw import withdraw_documents  # heavy: promotion re-processes documents

    withdrawals: dict[str, Any] = {}
    for found in searches:
        if not found.doc_ids:
            continue
        withdrawals[found.corpus_id] = withdraw_documents(
            store_root, found.corpus_id, reason=reason, kind="forget", doc_ids=found.doc_ids,
            forgotten_tokens=found.token_hashes, trust_root=trust_root, announce=announce)
    pruned: list[str] = []
    if withdrawals:
        with store_lock(Path(store_root), "forget (index)", announce):
            lines = TransparencyLog(Path(store_root)).read().lines
            pruned = prune_index(Path(store_root), current_files(lines))
    log.info("forget: %d corpora searched, %d documents withdrawn",
             sum(s.searchable for s in searches), sum(len(s.doc_ids) for s in searches))
    return ForgetOutcome(searches, withdrawals, tuple(pruned))

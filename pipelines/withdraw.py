"""`kura withdraw` and `withdraw_documents`: take sources or documents back out of a corpus.

Decided (issue 15): a withdrawal REWRITES the affected shards rather than filtering at release
time. Under the store lock, in order:

1. find what leaves (pipelines/withdraw_scan.py) in the corpus's current files, and re-read,
   re-process and re-cluster the survivors of every duplicate cluster whose kept document leaves
   (pipelines/withdraw_promote.py), against the corpus's signatures less the withdrawn ones;
2. write the withdrawn-documents file (withdrawals/<corpus>/<id>.parquet: ids only) and append
   the withdrawal record, signed by the certifier key (lineage/withdraw.py): from here on no
   release may hold those documents, and `release create` leaves out any shard that does;
3. stage a run of mode "rewrite" (pipelines/withdraw_rewrite.py) that writes every affected file
   again without them, validate its shards with the shard suite, and publish it as any run is
   published (record_run: residency per shard, provenance citing the withdrawal's log index and
   the files it `replaces`).

So a release never certifies a file whose bytes hold withdrawn data, and a trainer's digests
still describe exactly what they get. The old files stay (earlier releases certified them and
still verify; `release show` and `audit trace` flag those releases) until `kura gc`.

Exit status of the command: 0 done; 3 the withdrawal happened but some duplicates it stood for
could not be restored (each named, with why); 2 a user error, nothing written.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from lineage.clock import utc_now
from lineage.code import file_sha256
from lineage.corpus_state import corpus_states
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.statements import logged_statements
from lineage.withdraw import (
    Withdrawal,
    WithdrawalError,
    logged_withdrawals,
    sign_withdrawal,
    withdrawal_statement,
    withdrawn_documents,
)
from pipelines.curate import new_run_id
from pipelines.plan import kura_version, resolve_source, source_root
from pipelines.store import discard, publish, recover, staging_root, store_lock
from pipelines.validation import validate_run
from pipelines.withdraw_promote import Promotion, Unrestored, promote
from pipelines.withdraw_rewrite import (
    add_promoted_signatures,
    recorded_inputs,
    rewrite_summary,
    stage_rewrite,
    stage_signatures,
)
from pipelines.withdraw_scan import Found, Selection, WithdrawScanError, resolve_sources, scan
from schemas.manifest import Manifest, ManifestError, load_manifest
from schemas.predicates import PROVENANCE_PREDICATE, WithdrawalPredicate, WithdrawnSource
from schemas.store import StoreLayout
from schemas.withdrawal import WITHDRAWN_SCHEMA
from transforms.shards import write_table_atomically

log = logging.getLogger(__name__)
Announce = Callable[[str], None]
KINDS = ("source", "all", "forget")


def _quiet(_line: str) -> None:
    """Announcements are dropped unless the caller shows them."""


@dataclass(frozen=True)
class WithdrawalOutcome:
    corpus_id: str
    kind: str
    withdrawal_id: str
    log_index: int  # of the withdrawal record
    sources: tuple[tuple[str, str | None], ...]
    documents: int
    by_kind: dict[str, int]
    affected: tuple[str, ...]  # the files the rewrite replaces
    documents_file: str
    run_id: str
    provenance_index: int
    new_files: tuple[str, ...]
    promoted: tuple[str, ...]  # doc ids now kept in place of a withdrawn kept document
    repointed: int
    unrestored: tuple[Unrestored, ...]
    elsewhere: tuple[tuple[str, str, str, str], ...]  # other corpora's duplicates of withdrawn
    quarantined: tuple[str, ...] = ()  # rewritten shards whose suite failed
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> int:
        return 3 if self.unrestored or self.elsewhere or self.quarantined else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "corpusId": self.corpus_id, "kind": self.kind, "withdrawalId": self.withdrawal_id,
            "logIndex": self.log_index,
            "sources": [{"uri": u, "sha256": s} for u, s in self.sources],
            "documents": self.documents, "byKind": self.by_kind,
            "documentsFile": self.documents_file, "replaces": list(self.affected),
            "runId": self.run_id, "provenanceLogIndex": self.provenance_index,
            "newFiles": list(self.new_files), "promoted": list(self.promoted),
            "repointed": self.repointed,
            "unrestored": [{"docId": u.doc_id, "sourceUri": u.source_uri, "reason": u.reason}
                           for u in self.unrestored],
            "elsewhere": [{"corpusId": c, "docId": d, "sourceUri": s, "keptDocId": k}
                          for c, d, s, k in self.elsewhere],
            "quarantined": list(self.quarantined), "status": self.status,
            "seconds": round(self.seconds, 3), "notes": list(self.notes),
        }


def new_withdrawal_id() -> str:
    return "w" + new_run_id()


def _attested_digests(lines: list[bytes]) -> dict[str, str]:
    """Store path -> the sha256 the latest provenance record signed for it."""
    found: dict[str, str] = {}
    for record in logged_statements(lines, PROVENANCE_PREDICATE):
        for subject in record.statement.get("subject") or []:
            sha = (subject.get("digest") or {}).get("sha256")
            if subject.get("name") and sha:
                found[subject["name"]] = sha
    return found


def _check_bytes(store_root: Path, names: Sequence[str], attested: dict[str, str]) -> None:
    """Refuse to rewrite a file whose bytes are not the ones its run signed: the site never
    signs what it did not compute from attested bytes."""
    for name in names:
        try:
            actual = file_sha256(store_root / name)
        except OSError as exc:
            raise WithdrawalError(f"{name}: cannot read ({exc.strerror}); nothing was "
                                  "withdrawn") from None
        if actual != attested.get(name):
            raise WithdrawalError(f"{name}: sha256 on disk {actual[:16]}… is not the attested "
                                  f"{(attested.get(name) or '?')[:16]}…; run `kura audit verify`"
                                  "; nothing was withdrawn")


def _source_files(manifest: Manifest, store_root: Path, manifest_path: Path | None,
                  sources_root: Path | None) -> dict[str, Any]:
    """Recorded uri -> SourceFile of every file the manifest names now (to re-read promoted
    members). With the steward's manifest, exactly as a run resolves it; with the store's copy,
    relative to `sources_root` (default: the current folder)."""
    if manifest_path is not None:
        base = manifest_path.resolve().parent
        root = source_root(manifest, base)
    else:
        base = root = (sources_root or Path.cwd()).resolve()
    found: dict[str, Any] = {}
    for index, section in enumerate(manifest.sources):
        try:
            planned = resolve_source(index, section, manifest, base, store_root, root)
        except ManifestError:
            continue  # a source that is gone: its members are reported as not restored
        for item in planned:
            found.setdefault(item.source.uri, item.source)
    return found


def _sources_root_from(query: str, uri: str, cwd: Path | None) -> Path | None:
    """The folder recorded relative uris start from, read off a local path the steward gave
    (`/data/corpus/jsonl/a.jsonl` naming `jsonl/a.jsonl` -> `/data/corpus`)."""
    if "://" in query or uri.startswith("/") or "://" in uri:
        return None
    path = Path(query).expanduser()
    path = Path(os.path.abspath(path if path.is_absolute() else (cwd or Path.cwd()) / path))
    tail = Path(uri).parts
    if len(path.parts) > len(tail) and path.parts[-len(tail):] == tail:
        return Path(*path.parts[: -len(tail)])
    return None


def withdraw_documents(
    store_root: Path | str, corpus_id: str, *, reason: str, kind: str,
    sources: Sequence[str] = (), doc_ids: Sequence[str] = (),
    forgotten_tokens: Sequence[str] = (), trust_root: Any = None,
    announce: Announce = _quiet, manifest_path: Path | None = None,
    sources_root: Path | None = None, cwd: Path | None = None,
) -> WithdrawalOutcome:
    """Withdraw from `corpus_id`: the `sources` (paths, URIs or digests, as `audit trace
    --source` matches them; kind "source"), every source (kind "all"), or `doc_ids` (kind
    "forget", with the sha256 hex of the forgotten pseudonym tokens). See the module docstring
    for what happens; raises WithdrawalError / WithdrawScanError (user errors, nothing written).
    `trust_root` is accepted for symmetry with readers; the withdrawal is signed by the store's
    own certifier key. `manifest_path` / `sources_root`: where promoted members are re-read."""
    started = time.perf_counter()
    store_root = Path(store_root)
    if kind not in KINDS:
        raise WithdrawalError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    if not reason.strip():
        raise WithdrawalError("--reason: say why the data leaves (it is recorded as given)")
    if kind == "source" and not sources:
        raise WithdrawalError("--source: name the source to withdraw (or --all)")
    if kind == "forget" and not doc_ids:
        raise WithdrawalError("forget: no documents to withdraw")
    with store_lock(store_root, f"withdraw from {corpus_id}", announce):
        for line in recover(store_root):
            announce(line)
        return _withdraw_locked(store_root, corpus_id, reason, kind, sources, doc_ids,
                                forgotten_tokens, announce, manifest_path, sources_root, cwd,
                                started)


def _enacted(lines: list[bytes]) -> set[int]:
    """Log indexes of the withdrawals some rewrite run's provenance cites."""
    found = set()
    for record in logged_statements(lines, PROVENANCE_PREDICATE):
        external = (record.predicate.get("buildDefinition") or {}).get("externalParameters")
        index = (external or {}).get("withdrawal")
        if isinstance(index, int):
            found.add(index)
    return found


def _corpus_provenance(lines: list[bytes], corpus_id: str) -> list[tuple[str, dict]]:
    return [(corpus_id, r.predicate) for r in logged_statements(lines, PROVENANCE_PREDICATE)
            if ((r.predicate.get("buildDefinition") or {}).get("externalParameters")
                or {}).get("corpusId") == corpus_id]


@dataclass(frozen=True)
class _Request:
    """One withdrawal to make (or, with `pending`, one signed earlier whose rewrite did not
    run: it is enacted from its own record and documents file, nothing is signed again)."""

    corpus_id: str
    kind: str
    reason: str
    selection: Selection
    named: tuple[tuple[str, str | None], ...]
    forgotten_tokens: tuple[str, ...] = ()
    pending: Withdrawal | None = None


def _withdraw_locked(store_root: Path, corpus_id: str, reason: str, kind: str,
                     sources: Sequence[str], doc_ids: Sequence[str],
                     forgotten_tokens: Sequence[str], announce: Announce,
                     manifest_path: Path | None, sources_root: Path | None, cwd: Path | None,
                     started: float) -> WithdrawalOutcome:
    lines = TransparencyLog(store_root).read().lines
    if corpus_id not in corpus_states(lines):
        known = ", ".join(sorted(corpus_states(lines))) or "none"
        raise WithdrawalError(f"--corpus {corpus_id}: no run of that corpus in the log "
                              f"(corpora: {known})")
    named: list[tuple[str, str | None]] = []
    for query in sources:  # first: a path given also says where the sources are
        for pair in resolve_sources(store_root, lines, corpus_id, query, cwd):
            named.append(pair)
            if sources_root is None and manifest_path is None:
                sources_root = _sources_root_from(query, pair[0], cwd)
    completed = []
    enacted = _enacted(lines)
    for earlier in logged_withdrawals(lines):
        if earlier.corpus_id != corpus_id or earlier.log_index in enacted:
            continue
        p = earlier.predicate
        ids = frozenset(withdrawn_documents(store_root, [earlier]))
        request = _Request(corpus_id, p.kind, p.reason,
                           Selection(p.kind, frozenset(s.uri for s in p.sources), ids),
                           tuple((s.uri, s.sha256) for s in p.sources),
                           tuple(p.forgotten_tokens), pending=earlier)
        announce(f"completing the withdrawal at log index {earlier.log_index}, whose rewrite "
                 "did not run")
        try:
            completed.append(_withdraw_one(store_root, lines, request, announce, manifest_path,
                                           sources_root, started))
        except _NothingLeft:
            announce(f"the withdrawal at log index {earlier.log_index} has nothing left to "
                     "rewrite")
        lines = TransparencyLog(store_root).read().lines
    if kind == "all":
        named = sorted({(u, f.sha256) for u, f in corpus_states(lines)[corpus_id].inputs.items()})
    request = _Request(corpus_id, kind, reason,
                       Selection(kind, frozenset(u for u, _ in named), frozenset(doc_ids)),
                       tuple(sorted(set(named))), tuple(sorted(forgotten_tokens)))
    try:
        return _withdraw_one(store_root, lines, request, announce, manifest_path, sources_root,
                             started)
    except _NothingLeft as exc:
        if completed:  # the same command again, after an interrupted one: it is done now
            return completed[-1]
        raise WithdrawalError(str(exc)) from None


class _NothingLeft(WithdrawalError):
    """The selection takes nothing from the corpus's current files."""


def _withdraw_one(store_root: Path, lines: list[bytes], request: _Request, announce: Announce,
                  manifest_path: Path | None, sources_root: Path | None,
                  started: float) -> WithdrawalOutcome:
    corpus_id = request.corpus_id
    states = corpus_states(lines)
    state = states[corpus_id]
    selection = request.selection
    recorded = recorded_inputs(_corpus_provenance(lines, corpus_id))
    found = scan(store_root, state, selection, states, state.inputs)
    if not found.rows:
        what = ", ".join(u for u, _ in request.named) or f"{len(selection.doc_ids)} documents"
        withdrawn = {u: i for u, i in state.withdrawn_sources.items() if u in selection.uris}
        already = (f" (withdrawn at log index {min(withdrawn.values())})" if withdrawn else "")
        raise _NothingLeft(f"nothing of {what} is in the current files of corpus "
                           f"{corpus_id}{already}; nothing was withdrawn")
    _check_bytes(store_root, found.files, _attested_digests(lines))
    log.info("withdraw from %s: %d rows in %d files found in %.2f s", corpus_id,
             len(found.rows), len(found.files), time.perf_counter() - started)
    # The store's copy is what the corpus was onboarded with: its steps process promoted
    # members. The steward's manifest, if given, only says where the sources are now.
    manifest_file = StoreLayout(store_root).manifest(corpus_id)
    manifest = _load(manifest_file, corpus_id)
    locating = _load(manifest_path, corpus_id) if manifest_path is not None else manifest
    pending = request.pending
    withdrawal_id = (Path(pending.documents_file[0]).stem if pending is not None
                     else new_withdrawal_id())
    run_id = new_run_id()
    staging = staging_root(store_root, run_id)
    try:
        withdrawn_ids = set(found.kept) | {r["doc_id"] for r in found.rows
                                           if r["kind"] == "duplicate"}
        staged_sigs, own_ids = stage_signatures(store_root, staging, corpus_id, manifest,
                                                withdrawn_ids)
        promotion = _promote(store_root, found, manifest, locating, staged_sigs, own_ids,
                             recorded, request.forgotten_tokens, manifest_path, sources_root)
        log.info("promotion: %d members re-read, %d kept, %d re-pointed, %d not restored "
                 "(%.2f s since start)", sum(len(r) for r in found.members.values()),
                 len(promotion.kept), len(promotion.duplicates), len(promotion.unrestored),
                 time.perf_counter() - started)
        for row in promotion.withdrawn:
            row["path"] = next(r["path"] for rows in found.members.values() for r in rows
                               if r["doc_id"] == row["doc_id"])
        rows = sorted([*found.rows, *promotion.withdrawn],
                      key=lambda r: (r["path"], r["source_uri"], r["locator"]))
        if pending is None:
            log_index, documents_name = _sign(store_root, lines, request, found, rows,
                                              withdrawal_id)
            announce(f"withdrawal of {len(rows)} documents signed at log index {log_index}; "
                     "rewriting the affected files")
        else:
            log_index, documents_name = pending.log_index, pending.documents_file[0]
        published = _rewrite(store_root, staging, found, promotion, manifest, manifest_file,
                             run_id, log_index, withdrawal_id, recorded, utc_now())
    except BaseException:
        discard(staging)
        raise
    summary = published.summary
    by_kind: dict[str, int] = {}
    for r in rows:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
    return WithdrawalOutcome(
        corpus_id=corpus_id, kind=request.kind, withdrawal_id=withdrawal_id,
        log_index=log_index, sources=request.named, documents=len(rows),
        by_kind=dict(sorted(by_kind.items())), affected=tuple(found.files),
        documents_file=documents_name, run_id=run_id,
        provenance_index=published.recorded.provenance_index,
        new_files=tuple(f.path for f in [*summary.shards, *summary.duplicates,
                                         *summary.rejects]),
        promoted=tuple(sorted(d.doc_id for d in promotion.kept)),
        repointed=len(promotion.duplicates), unrestored=tuple(promotion.unrestored),
        elsewhere=tuple(found.elsewhere),
        quarantined=tuple(p for p, c in summary.validation.items() if not c.passed),
        seconds=time.perf_counter() - started,
        notes=((f"completed the withdrawal signed at log index {log_index}",)
               if pending is not None else ()),
    )


def _sign(store_root: Path, lines: list[bytes], request: _Request, found: Found,
          rows: list[dict[str, Any]], withdrawal_id: str) -> tuple[int, str]:
    """Write the withdrawn-documents file, then sign and log the withdrawal record."""
    documents_name = f"withdrawals/{request.corpus_id}/{withdrawal_id}.parquet"
    written = write_table_atomically(
        pa.Table.from_pylist([{k: r.get(k) for k in WITHDRAWN_SCHEMA.names} for r in rows],
                             schema=WITHDRAWN_SCHEMA),
        store_root / documents_name, 8192, kura_version())
    attested = _attested_digests(lines)
    affected = [(name, attested[name]) for name in found.files]
    withdrawn_at = utc_now()

    def statement(certifier_id: str) -> dict:
        predicate = WithdrawalPredicate(
            corpus_id=request.corpus_id, kind=request.kind, reason=request.reason,
            sources=[WithdrawnSource(uri=u, sha256=s) for u, s in request.named],
            documents=len(rows), documents_file=documents_name,
            forgotten_tokens=list(request.forgotten_tokens), withdrawn_at=withdrawn_at,
            certifier_id=certifier_id)
        return withdrawal_statement(predicate, written.sha256, affected)

    signed = sign_withdrawal(store_root, statement)
    return signed.log_index, documents_name


def _load(path: Path, corpus_id: str) -> Manifest:
    try:
        manifest = load_manifest(path)
    except (ManifestError, OSError) as exc:
        raise WithdrawalError(f"{path}: {exc}") from None
    if manifest.corpus.id != corpus_id:
        raise WithdrawalError(f"{path}: declares corpus {manifest.corpus.id}, not {corpus_id}")
    return manifest


def _promote(store_root: Path, found: Found, manifest: Manifest, locating: Manifest,
             staged_sigs: list[Path], own_ids: set[str], recorded: dict,
             forgotten_tokens: Sequence[str], manifest_path: Path | None,
             sources_root: Path | None) -> Promotion:
    if not found.members:
        return Promotion()
    from transforms.dedup import PriorIndex

    others = []
    if manifest.dedup.scope == "store":
        base = StoreLayout(store_root).signatures()
        others = sorted(p for p in base.glob("*/*.parquet")
                        if p.parent.name != manifest.corpus.id
                        and not p.parent.name.startswith("."))
    prior_files = [*staged_sigs, *others]
    prior = PriorIndex(manifest.dedup, prior_files) if prior_files else None
    files = _source_files(locating, store_root, manifest_path, sources_root)
    shas = {uri: fact.sha256 for uri, fact in recorded.items()}
    return promote(found.members, found.kept, manifest, files, shas, own_ids, prior,
                   frozenset(forgotten_tokens))


def _rewrite(store_root: Path, staging: Path, found: Found, promotion: Promotion,
             manifest: Manifest, manifest_file: Path, run_id: str, withdrawal_index: int,
             withdrawal_id: str, recorded: dict, started_at: str):
    began = time.perf_counter()
    add_promoted_signatures(staging, manifest.corpus.id, manifest, promotion, withdrawal_id)
    staged = stage_rewrite(store_root, staging, found, promotion, manifest, withdrawal_id)
    site = load_site_context(store_root)
    summary = rewrite_summary(staging, staged, found, promotion, manifest,
                              file_sha256(manifest_file), run_id, withdrawal_index,
                              withdrawal_id, recorded, site.location, started_at, utc_now())
    written = time.perf_counter()
    validated = validate_run(staging, summary, manifest)
    published = publish(
        store_root, staging, validated.summary,
        validation_digests={p: v.result_digest for p, v in validated.validations.items()},
        validation_passed={p: v.passed for p, v in validated.validations.items()},
    )
    log.info("rewrite %s: %d files written in %.2f s, validated in %.2f s (+%.2f s setup), "
             "published and signed in %.2f s", run_id, len(staged.shards) + len(staged.duplicates)
             + len(staged.rejects), written - began, validated.seconds, validated.setup_seconds,
             time.perf_counter() - written - validated.seconds - validated.setup_seconds)
    return published


__all__ = ["WithdrawScanError", "WithdrawalError", "WithdrawalOutcome", "withdraw_documents"]

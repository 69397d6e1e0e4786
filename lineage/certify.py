"""(C) certification: pick a store's certified shards, verify the store, and sign a SLSA VSA v1
over them with the certifier key; `kura release create`.

A shard is certified when it lies under shards/<corpus>/ and the latest residency attestation
of its path in the log says its shard suite passed (`validationPassed: true`). A shard whose
suite failed was moved to quarantine/ and attested there, so it is never under shards/; a shard
attested without a verdict, or not attested at all, is left out and the caller is told why.

The record names each corpus with its member, license and sensitivity (lineage/corpus_facts.py:
from the shards' signed bytes, or the store's manifest for shards that predate them). A
`restricted` corpus is certified only when the caller names it in `allow_restricted` (`kura
release create --allow-restricted CORPUS`); otherwise nothing is certified, and the record of a
release that has one says it was released explicitly.

Everything from verifying the store to appending the record happens under the log's lock, so
the shards certified are exactly those `verify_store` vouched for, and no key is rotated
between choosing it and placing the record.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lineage.clock import utc_now
from lineage.code import code_identity
from lineage.corpus_facts import CorpusFactsError, ShardBytes, corpus_facts, fallback_note
from lineage.corpus_state import corpus_states
from lineage.dsse import Envelope, canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.owners import corpus_owners
from lineage.policy import TrustRoot
from lineage.release import (
    SHARDS_PREFIX,
    certifier_uri,
    release_path,
    release_record_index,
    release_uri,
    shard_corpus,
    shard_file_name,
    write_release_file,
)
from lineage.statements import LoggedStatement, logged_statements
from lineage.verify import verify_store
from lineage.withdraw import WithdrawalError, logged_withdrawals, withdrawn_documents
from schemas.predicates import (
    CONSERVATION_BYPRODUCT,
    IN_TOTO_PAYLOAD_TYPE,
    JP_RESIDENCY_LEVEL,
    PROVENANCE_PREDICATE,
    RELEASE_NAME_PATTERN,
    RESIDENCY_PREDICATE,
    SHARD_SUITE_LEVEL,
    VSA_PREDICATE,
    VSA_SLSA_VERSION,
    CertifiedCorpus,
    ResourceDescriptor,
    Statement,
    Subject,
    VsaPolicy,
    VsaPredicate,
    VsaVerifier,
)
from schemas.release import ReleaseFile, ReleaseShard
from schemas.store import StoreLayout

log = logging.getLogger(__name__)


class CertifyError(ValueError):
    """A release that cannot be created as asked; one line saying what to change."""


class StoreNotVerified(CertifyError):
    """`verify_store` failed: nothing in the store is certified until it verifies."""


class RestrictedNotAllowed(CertifyError):
    """A restricted corpus that the caller did not name in `allow_restricted`."""


@dataclass(frozen=True)
class AttestedShard:
    """A shard path as its latest residency attestation in the log describes it."""

    name: str  # store-relative path, the attestation's subject name
    sha256: str
    rows: int
    bytes: int
    log_index: int
    envelope_digest: str
    validation_digest: str | None
    validation_passed: bool | None


@dataclass(frozen=True)
class ShardSelection:
    certified: tuple[AttestedShard, ...]
    left_out: tuple[tuple[str, str], ...]  # (store-relative path, why), why never quotes data


@dataclass(frozen=True)
class CertificationFacts:
    """What the certifier states about itself and the moment of certification."""

    certifier_id: str
    kura_version: str
    policy_version: int
    policy_digest: str  # "sha256:<hex>", as SignedPolicy.digest
    time_verified: str


@dataclass(frozen=True)
class CreatedRelease:
    release: ReleaseFile
    left_out: tuple[tuple[str, str], ...]
    checkpoint_path: Path
    empty_corpora: tuple[tuple[str, str], ...] = ()  # (corpus, why it contributes nothing)
    completed: bool = False  # an interrupted `release create` of this name, finished now
    notes: tuple[str, ...] = ()  # where a fact came from an unsigned file, say so


def check_release_name(name: str) -> None:
    if not re.fullmatch(RELEASE_NAME_PATTERN, name):
        raise CertifyError(
            f"release name {name!r}: use lower-case letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 128 characters)"
        )


corpus_of = shard_corpus  # the name repair.py and older callers use


def latest_residency(lines: Iterable[bytes]) -> dict[str, AttestedShard]:
    """The latest residency attestation of every subject path in the log (later lines win: a
    re-run that rewrote a path supersedes the earlier claim). Lines that do not parse are
    skipped: `verify_store` reports them, and a release is only made from a store that verifies."""
    latest: dict[str, AttestedShard] = {}
    for record in logged_statements(lines, RESIDENCY_PREDICATE):
        predicate = record.predicate
        counts = predicate.get("counts") or {}
        for subject in record.statement.get("subject") or []:
            name = subject.get("name")
            sha = (subject.get("digest") or {}).get("sha256")
            if not name or not sha:
                continue
            passed = predicate.get("validationPassed")
            latest[name] = AttestedShard(
                name=name,
                sha256=sha,
                rows=int(counts.get("rows", 0)),
                bytes=int(counts.get("bytes", 0)),
                log_index=record.index,
                envelope_digest=record.envelope.digest,
                validation_digest=predicate.get("validationDigest"),
                validation_passed=passed if isinstance(passed, bool) else None,
            )
    return latest


def _run_corpus(record: LoggedStatement) -> str | None:
    """The corpus a run's provenance names."""
    build = record.predicate.get("buildDefinition") or {}
    corpus = (build.get("externalParameters") or {}).get("corpusId")
    return corpus if isinstance(corpus, str) else None


def latest_run_counts(lines: Iterable[bytes]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every corpus's latest run: its log index and the conservation counts it signed."""
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for record in logged_statements(lines, PROVENANCE_PREDICATE):
        byproducts = (record.predicate.get("runDetails") or {}).get("byproducts") or []
        counts = next((b.get("annotations") or {} for b in byproducts
                       if b.get("name") == CONSERVATION_BYPRODUCT), {})
        corpus = _run_corpus(record)
        if corpus is not None:
            latest[corpus] = (record.index, counts)
    return latest


def nothing_to_release(corpus: str, left_out: Sequence[tuple[str, str]],
                       run: tuple[int, dict[str, Any]] | None,
                       run_outputs: Iterable[str] = ()) -> str:
    """Why `corpus` contributes no shard, in one clause: names and counts, never data."""
    own = [(name, why) for name, why in left_out if corpus_of(name) == corpus]
    if own:
        more = f" (+{len(own) - 1} more)" if len(own) > 1 else ""
        return f"{own[0][0]} left out: {own[0][1]}{more}"
    if run is None:
        return "never onboarded into this store"
    index, counts = run
    failed = sorted(
        name for name in run_outputs
        if name.startswith(f"quarantine/{corpus}/")
        and not name.split("/")[-1].startswith("documents-")  # the gate's withheld documents
    )
    if failed:
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        return (f"every shard of its latest run (log index {index}) failed its suite and is "
                f"in quarantine: {failed[0]}{more}")
    rejected = counts.get("rejected") or {}
    withheld = rejected.get("validate.residual_pii", 0)
    parts = [f"read {counts.get('read', '?')}", f"written {counts.get('written', '?')}",
             f"rejected {sum(rejected.values())}",
             f"duplicates {sum((counts.get('duplicates') or {}).values())}"]
    if withheld:
        parts.append(f"withheld for residual PII {withheld}")
    return f"its latest run (log index {index}) wrote no shard: {', '.join(parts)}"


def store_corpora(store_root: Path) -> list[str]:
    """Every corpus with a shard folder in the store."""
    base = StoreLayout(store_root).root / "shards"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files_on_disk(store_root: Path, corpus: str) -> list[str]:
    folder = StoreLayout(store_root).shards(corpus)
    if not folder.is_dir():
        return []
    return sorted(
        f"{SHARDS_PREFIX}{corpus}/{p.name}"
        for p in folder.glob("*.parquet")
        if not p.name.startswith(".")  # a writer's temporary name, never a finished shard
    )


def select_certified(
    latest: dict[str, AttestedShard], corpora: Sequence[str], on_disk: Iterable[str] = (),
    current: dict[str, frozenset[str]] | None = None,
) -> ShardSelection:
    """Split the shards of `corpora` into certified ones and those left out, with the reason.

    `on_disk` names shard files present in the store, so one that no record attests is reported
    rather than silently ignored. `current` (from lineage/corpus_state.py `corpus_states`)
    names each corpus's current files: its latest full run's, plus those of the append runs
    since, less what rewrites replaced; a shard of an earlier run is left out as superseded."""
    wanted = set(corpora)
    certified: list[AttestedShard] = []
    left_out: list[tuple[str, str]] = []
    for name, shard in sorted(latest.items()):
        corpus = corpus_of(name)
        if corpus not in wanted:
            continue
        if current is not None and corpus in current and name not in current[corpus]:
            left_out.append((name, "superseded by a later run of its corpus"))
        elif shard.validation_passed is True and shard.validation_digest:
            certified.append(shard)
        elif shard.validation_passed is False:
            left_out.append((name, f"its shard suite failed (log index {shard.log_index})"))
        else:
            left_out.append((name, f"its attestation (log index {shard.log_index}) records "
                                   "no validation verdict"))
    for name in sorted(set(on_disk) - set(latest)):
        if corpus_of(name) in wanted:
            left_out.append((name, "no residency attestation in the log"))
    return ShardSelection(tuple(certified), tuple(left_out))


def without_withdrawn(store_root: Path, selection: ShardSelection,
                      lines: Sequence[bytes]) -> ShardSelection:
    """The safety net under withdrawal: a shard that still holds a withdrawn document (its
    rewrite has not run, or an onboard brought the document back) is left out, saying which
    withdrawal. Only the shards' doc_id columns are read, and only when the log has a
    withdrawal."""
    withdrawals = logged_withdrawals(lines)
    if not withdrawals:
        return selection
    try:
        withdrawn = withdrawn_documents(store_root, withdrawals)
    except WithdrawalError as exc:
        raise CertifyError(f"{exc}; nothing was certified") from None
    certified: list[AttestedShard] = []
    replaced = {name: w.log_index for w in withdrawals for name, _ in w.affected}
    left_out = [(name, f"its withdrawn documents left it at log index {replaced[name]} (a "
                       "rewrite replaced it)" if name in replaced and why.startswith("superseded")
                 else why) for name, why in selection.left_out]
    for shard in selection.certified:
        path = Path(store_root) / shard_file_name(shard.name)
        ids = pq.read_table(path, columns=["doc_id"]).column("doc_id").to_pylist()
        hits = sorted({withdrawn[i] for i in ids if i in withdrawn})
        if hits:
            count = sum(1 for i in ids if i in withdrawn)
            left_out.append((shard.name, f"holds {count} withdrawn document(s) (withdrawal at "
                                         f"log index {', '.join(map(str, hits))})"))
        else:
            certified.append(shard)
    return ShardSelection(tuple(certified), tuple(left_out))


def certification_statement(
    release_name: str, shards: Sequence[AttestedShard], facts: CertificationFacts,
    corpora: Sequence[CertifiedCorpus] | None = None,
) -> dict[str, Any]:
    """The (C) statement of a release: a VSA over every shard, citing each shard's residency
    envelope as an input attestation, naming each corpus's facts (pure: values in, in-toto
    Statement dict out)."""
    predicate = VsaPredicate(
        verifier=VsaVerifier(
            id=certifier_uri(facts.certifier_id), version={"kura": facts.kura_version}
        ),
        time_verified=facts.time_verified,
        resource_uri=release_uri(release_name),
        policy=VsaPolicy(
            uri=f"kura:policy/v{facts.policy_version}",
            digest={"sha256": facts.policy_digest.removeprefix("sha256:")},
        ),
        input_attestations=[
            ResourceDescriptor(uri=f"kura:log/{s.log_index}", digest={"sha256": s.envelope_digest})
            for s in shards
        ],
        verification_result="PASSED",
        verified_levels=[JP_RESIDENCY_LEVEL, SHARD_SUITE_LEVEL],
        slsa_version=VSA_SLSA_VERSION,
        corpus_facts=list(corpora) if corpora is not None else None,
    )
    statement = Statement(
        subject=[Subject(name=s.name, digest={"sha256": s.sha256}) for s in shards],
        predicate_type=VSA_PREDICATE,
        predicate=predicate.to_json_dict(),
    )
    return statement.to_json_dict()


def _resolve_corpora(store_root: Path, asked: Sequence[str] | None,
                     latest: dict[str, AttestedShard], onboarded: Iterable[str]) -> list[str]:
    present = sorted({*store_corpora(store_root), *onboarded})
    if not asked:
        if not present:
            raise CertifyError(f"{StoreLayout(store_root).root / 'shards'}: no corpus in the "
                               "store; onboard one first")
        return present
    attested = {corpus_of(name) for name in latest}
    unknown = [c for c in asked if c not in present and c not in attested]
    if unknown:
        raise CertifyError(f"--corpus {unknown[0]}: no shards of that corpus in the store "
                           f"(corpora: {', '.join(present) or 'none'})")
    return sorted(set(asked))


def _verification_failure(store_root: Path, trust_root: TrustRoot | None) -> str | None:
    report = verify_store(store_root, trust_root=trust_root)
    if report.ok:
        return None
    return f"{report.first_failure()}; run `kura audit verify` for the full report"


def release_corpus_facts(
    store_root: Path, shards: Sequence[AttestedShard], owners: dict[str, tuple[str, int]],
    allow_restricted: Sequence[str], wanted: Sequence[str],
) -> tuple[CertifiedCorpus, ...]:
    """Each released corpus's facts; a restricted corpus must be named in `allow_restricted`
    (and is then recorded as released explicitly). Raises CertifyError, naming the corpus and
    the flag, before anything is signed."""
    unknown = sorted(set(allow_restricted) - set(wanted))
    if unknown:
        raise CertifyError(f"--allow-restricted {unknown[0]}: corpus {unknown[0]} is not in this "
                           f"release (corpora: {', '.join(wanted)})")
    by_corpus: dict[str, list[ShardBytes]] = {}
    for shard in shards:
        corpus = corpus_of(shard.name) or ""
        path = Path(store_root) / shard_file_name(shard.name)
        by_corpus.setdefault(corpus, []).append(ShardBytes(shard.name, path, shard.sha256))
    facts = []
    for corpus, files in sorted(by_corpus.items()):
        try:
            facts.append(corpus_facts(Path(store_root), corpus, files, owners))
        except CorpusFactsError as exc:
            raise CertifyError(f"{exc}; nothing was certified") from None
    refused = [f.corpus_id for f in facts
               if f.sensitivity == "restricted" and f.corpus_id not in allow_restricted]
    if refused:
        flags = " ".join(f"--allow-restricted {corpus}" for corpus in refused)
        one = len(refused) == 1
        raise RestrictedNotAllowed(
            f"{'corpus' if one else 'corpora'} {', '.join(refused)} {'is' if one else 'are'} "
            f"restricted: add {flags} to release {'it' if one else 'them'}; nothing was certified")
    return tuple(f.model_copy(update={"allow_restricted": True}) if f.sensitivity == "restricted"
                 else f for f in facts)


def create_release(
    store_root: Path | str, name: str, corpora: Sequence[str] | None = None,
    trust_root: TrustRoot | None = None, allow_restricted: Sequence[str] = (),
) -> CreatedRelease:
    """Certify every certified shard of `corpora` (default: every corpus of the store) as
    release `name`: verify the store (against `trust_root`, else KURA_TRUST_ROOT, else the
    site's own keys/root.pub.pem: the certifier runs at the site that writes this store), read
    each corpus's facts (a restricted one only if named in `allow_restricted`), sign the VSA
    with the certifier key, append it to the log with a checkpoint, and write
    releases/<name>.json."""
    store_root = Path(store_root)
    check_release_name(name)
    tlog = TransparencyLog(store_root)
    with tlog.lock:
        existing = release_path(store_root, name)
        if existing.exists():
            raise CertifyError(f"release {name} exists ({existing}); choose another name")
        context = load_site_context(store_root)  # fresh: the current keys and policy
        problem = _verification_failure(store_root, trust_root)
        if problem:
            raise StoreNotVerified(f"the store does not verify, so nothing is certified: {problem}")
        lines = tlog.read().lines
        recorded = release_record_index(lines, name)
        if recorded is not None:
            # Certified, but the command died before writing its file: complete it.
            from lineage.repair import release_file_from_record

            envelope = Envelope.from_json(lines[recorded])
            release = release_file_from_record(lines, recorded, envelope,
                                               json.loads(envelope.payload))
            write_release_file(store_root, release)
            checkpoint = tlog.checkpoints()[-1]
            assert checkpoint.path is not None
            return CreatedRelease(release, (), checkpoint.path, (), completed=True)
        latest = latest_residency(lines)
        runs = latest_run_counts(lines)
        wanted = _resolve_corpora(store_root, corpora, latest, runs)
        on_disk = [f for corpus in wanted for f in _files_on_disk(store_root, corpus)]
        outputs = {corpus: state.current for corpus, state in corpus_states(lines).items()}
        selection = select_certified(latest, wanted, on_disk, outputs)
        selection = without_withdrawn(store_root, selection, lines)
        contributing = {corpus_of(s.name) for s in selection.certified}
        empty = tuple(
            (corpus, nothing_to_release(corpus, selection.left_out, runs.get(corpus),
                                        outputs.get(corpus, ())))
            for corpus in wanted if corpus not in contributing
        )
        if not selection.certified:
            raise CertifyError("nothing to release: " + "; ".join(
                f"corpus {corpus}: {why}" for corpus, why in empty))
        released = release_corpus_facts(store_root, selection.certified, corpus_owners(lines),
                                         allow_restricted, wanted)
        facts = CertificationFacts(
            certifier_id=context.certifier_id,
            kura_version=code_identity().version,
            policy_version=context.policy.version,
            policy_digest=context.signed_policy.digest,
            time_verified=utc_now(),
        )
        statement = certification_statement(name, selection.certified, facts, released)
        envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.certifier_key)
        result = tlog.append([envelope.to_json_line()], context.site_key, context.log_origin)
        assert result.checkpoint is not None and result.checkpoint.path is not None
        release = ReleaseFile(
            release=name,
            created_at=facts.time_verified,
            certifier_id=context.certifier_id,
            corpora=wanted,
            log_index=result.first_index,
            envelope_digest=envelope.digest,
            shards=[ReleaseShard(name=s.name, sha256=s.sha256, rows=s.rows, bytes=s.bytes)
                    for s in selection.certified],
            corpus_facts=list(released),
        )
        write_release_file(store_root, release)
    log.info("release %s: %d shards certified at log index %d, %d left out", name,
             len(release.shards), release.log_index, len(selection.left_out))
    notes = tuple(note for fact in released if (note := fallback_note(fact)))
    return CreatedRelease(release, selection.left_out, result.checkpoint.path, empty,
                          notes=notes)

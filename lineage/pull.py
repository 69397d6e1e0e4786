"""`kura pull NAME --dest DIR`: copy a verified release out of the store, all or nothing.

Nothing happens without a pinned root (`--trust-root` / KURA_TRUST_ROOT). The store is verified
first, as `audit verify` does, against that root (policy chain, records, checkpoints), then the
release's record (signature under a certifier key of the policy, inclusion in the latest signed
checkpoint); then each shard is copied into a temporary folder beside DIR while
its bytes are hashed, so what is checked is exactly what was written. Only when every shard
matched does the folder get its metadata and take DIR's name (one rename); on any failure it
is removed and DIR is left as it was.

The layout is for readers that take a folder: DIR/<corpus>/<file>.parquet and nothing else
where they look, so `pyarrow.dataset.dataset(DIR)`, `datasets.load_dataset("parquet",
data_dir=DIR)` and DuckDB's `read_parquet('DIR/**/*.parquet')` read it as is. The metadata
goes to DIR/__kura/ (lineage/release.py says why that name): release.json (names, digests,
the signed facts and the certification envelope) and README.md, the Hugging Face dataset card
(lineage/dataset_card.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lineage.corpus_facts import CorpusFactsError, ShardBytes, corpus_facts
from lineage.dataset_card import CardFacts, dataset_card
from lineage.log import TransparencyLog
from lineage.owners import corpus_owners
from lineage.policy import TrustRoot
from lineage.release import (
    PULLED_CARD_FILE,
    PULLED_METADATA_DIR,
    PULLED_RELEASE_FILE,
    ReleaseError,
    VerifiedRelease,
    copy_certified_shard,
    pulled_path,
    shard_corpus,
    verify_release,
    withdrawn_note,
)
from schemas.predicates import CertifiedCorpus
from schemas.release import PulledReleaseFile, PulledShard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PulledRelease:
    name: str
    dest: Path
    shards: tuple[PulledShard, ...]
    bytes_copied: int
    seconds: float
    corpus_facts: tuple[CertifiedCorpus, ...] = ()
    v1_shards: int = 0
    withdrawn: str | None = None  # the warning when the release holds withdrawn data

    @property
    def data_files(self) -> list[str]:
        """The shard files, for `datasets.load_dataset("parquet", data_files=...)`."""
        return [str(self.dest / s.path) for s in self.shards]

    @property
    def release_file(self) -> Path:
        return self.dest / PULLED_METADATA_DIR / PULLED_RELEASE_FILE

    @property
    def card(self) -> Path:
        return self.dest / PULLED_METADATA_DIR / PULLED_CARD_FILE


@dataclass(frozen=True)
class _CopiedShards:
    """What the verified copies say about themselves (read from the copies, after the check)."""

    v1: int
    languages: tuple[str, ...]


def _inspect_copies(paths: list[Path]) -> _CopiedShards:
    v1, languages = 0, set()
    for path in paths:
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError):
            continue  # certified bytes that are not Parquet: copied as they are, nothing to say
        if "pii" in schema.names and pa.types.is_map(schema.field("pii").type):
            v1 += 1
        if "lang" in schema.names:
            column = pq.read_table(path, columns=["lang"]).column("lang")
            languages.update(v for v in pc.unique(column).to_pylist() if v)
    return _CopiedShards(v1, tuple(sorted(languages)))


def _facts_of_old_release(store_root: Path, release: VerifiedRelease, copies: dict[str, Path]
                          ) -> tuple[tuple[CertifiedCorpus, ...], tuple[str, ...]]:
    """For a release certified before corpus facts were recorded: each corpus's facts from its
    verified copies' metadata or the store's manifest; the corpora neither tells about."""
    owners = corpus_owners(TransparencyLog(store_root).read().lines)
    facts, unknown = [], []
    for corpus in release.corpora:
        files = [ShardBytes(s.name, copies[s.name], s.sha256) for s in release.shards
                 if shard_corpus(s.name) == corpus]
        try:
            facts.append(corpus_facts(store_root, corpus, files, owners))
        except CorpusFactsError:
            unknown.append(corpus)
    return tuple(facts), tuple(unknown)


def _check_dest(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ReleaseError(f"--dest {dest}: exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise ReleaseError(f"--dest {dest}: exists and is not empty; pull into a new directory")


def pull_release(
    store_root: Path | str, name: str, dest: Path | str, trust_root: TrustRoot | None = None
) -> PulledRelease:
    """Verify the store and release `name` against the pinned root (`trust_root`, else
    KURA_TRUST_ROOT) and copy its shards to `dest` (which must not exist or be empty), with
    dest/__kura/release.json listing names, digests and the signed facts, and the dataset card
    dest/__kura/README.md. Raises
    ReleaseVerificationError naming the culprit, ReleaseError for a user error (UnpinnedRootError
    without a pin); either way nothing appears at `dest`."""
    started = time.perf_counter()
    store_root, dest = Path(store_root), Path(dest)
    _check_dest(dest)
    release = verify_release(store_root, name, trust_root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.pull-", dir=dest.parent))
    try:
        copied = 0
        pulled = []
        copies: dict[str, Path] = {}
        for shard in release.shards:
            relative = pulled_path(shard.name)
            copied += copy_certified_shard(store_root, release, shard, staging / relative)
            copies[shard.name] = staging / relative
            pulled.append(PulledShard(name=shard.name, path=relative, sha256=shard.sha256,
                                      rows=shard.rows, bytes=shard.bytes))
        inspected = _inspect_copies(list(copies.values()))
        facts, unrecorded = release.corpus_facts, ()
        if not facts:
            facts, unrecorded = _facts_of_old_release(store_root, release, copies)
        index = PulledReleaseFile(
            release=name,
            certifier_id=release.certifier_id,
            time_verified=release.time_verified,
            log_index=release.log_index,
            envelope_digest=release.envelope.digest,
            checkpoint_tree_size=release.checkpoint_tree_size,
            trust_root=release.anchor_keyid,
            shards=pulled,
            corpus_facts=list(release.corpus_facts),  # signed facts only
            certification=release.envelope.to_dict(),
        )
        card = CardFacts(
            release=name, certifier_id=release.certifier_id,
            time_verified=release.time_verified, log_index=release.log_index,
            envelope_digest=release.envelope.digest,
            checkpoint_tree_size=release.checkpoint_tree_size,
            trust_root_keyid=release.anchor_keyid, corpora=facts,
            facts_certified=bool(release.corpus_facts), languages=inspected.languages,
            rows=sum(s.rows for s in pulled), shards=len(pulled), bytes=copied,
            v1_shards=inspected.v1, unrecorded=unrecorded,
        )
        metadata = staging / PULLED_METADATA_DIR
        metadata.mkdir()
        (metadata / PULLED_RELEASE_FILE).write_text(
            json.dumps(index.to_json_dict(), indent=2, ensure_ascii=False) + "\n")
        (metadata / PULLED_CARD_FILE).write_text(dataset_card(card), encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp made it private; a pulled release is ordinary data
        _check_dest(dest)  # nothing appeared there meanwhile
        # rename(2) replaces an empty directory atomically, and fails if it is not empty.
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    log.info("pulled release %s: %d shards, %d bytes into %s in %.2f s", name, len(pulled),
             copied, dest, seconds)
    return PulledRelease(name, dest, tuple(pulled), copied, seconds, facts, inspected.v1,
                         withdrawn_note(release))

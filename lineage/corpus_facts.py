"""Each corpus's member, license and sensitivity, from signed facts, for a certification.

- license and sensitivity: the footer metadata of the corpus's shards (`kura.license`,
  `kura.sensitivity`, written from the manifest). A shard's sha256 is signed by its residency
  record, so once the bytes are hashed against it, their metadata is a signed fact. Shards
  written before they carried it (schema version 1) fall back to the store's copy of the corpus
  manifest, `manifests/<corpus>.toml`, which is unsigned: the fact says where it came from.
- member: the first run's signed provenance (lineage/owners.py), which owns the corpus id.

Nothing here decides what may be released; `lineage/certify.py` does, from these facts.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.predicates import (
    FACTS_FROM_MANIFEST,
    FACTS_FROM_SHARDS,
    CertifiedCorpus,
    Sensitivity,
)
from schemas.records import shard_license_and_sensitivity
from schemas.store import StoreLayout

SENSITIVITIES: tuple[str, ...] = get_args(Sensitivity)  # least to most sensitive


class CorpusFactsError(ValueError):
    """A corpus whose license or sensitivity cannot be established; one line for the user."""


@dataclass(frozen=True)
class ShardBytes:
    """A shard to read facts from: its store-relative name, the file, its certified sha256."""

    name: str
    path: Path
    sha256: str


def shard_metadata_facts(shard: ShardBytes) -> tuple[str, str] | None:
    """(license, sensitivity) from the shard's footer, read from bytes hashed against the
    certified digest in the same read (so what is read is what is signed)."""
    try:
        data = shard.path.read_bytes()
    except OSError as exc:
        raise CorpusFactsError(f"{shard.name}: cannot read ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != shard.sha256:
        raise CorpusFactsError(f"{shard.name}: changed on disk since it was attested; run "
                               "`kura audit verify`")
    try:
        schema = pq.read_schema(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError):
        raise CorpusFactsError(f"{shard.name}: not a readable Parquet file") from None
    return shard_license_and_sensitivity(schema.metadata)


def _manifest_corpus(store_root: Path, corpus: str) -> dict:
    """The [corpus] table of the store's copy of the manifest ({} if it cannot be read): read
    as TOML only, so a manifest of an older Kura still answers."""
    path = StoreLayout(store_root).manifest(corpus)
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("corpus")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return section if isinstance(section, dict) else {}


def _manifest_member(store_root: Path, corpus: str) -> str:
    member = _manifest_corpus(store_root, corpus).get("member")
    return member if isinstance(member, str) else "unknown"


def manifest_facts(store_root: Path, corpus: str) -> tuple[str, str] | None:
    """(license, sensitivity) from the store's copy of the corpus manifest, if it holds both."""
    section = _manifest_corpus(store_root, corpus)
    license, sensitivity = section.get("license"), section.get("sensitivity")
    if not isinstance(license, str) or sensitivity not in SENSITIVITIES:
        return None
    return license, sensitivity


def corpus_facts(store_root: Path, corpus: str, shards: Iterable[ShardBytes],
                 owners: Mapping[str, tuple[str, int]]) -> CertifiedCorpus:
    """The certified facts of `corpus`, from its shards (all must agree) or, when none carries
    them, from the store's manifest. Raises CorpusFactsError when neither says."""
    distinct = {shard_metadata_facts(shard) for shard in shards}
    member = owners[corpus][0] if corpus in owners else _manifest_member(store_root, corpus)
    if None not in distinct and len(distinct) == 1:
        (license, sensitivity), = distinct
        if sensitivity not in SENSITIVITIES:
            raise CorpusFactsError(f"corpus {corpus}: its shards name sensitivity "
                                   f"{sensitivity!r}, not one of {', '.join(SENSITIVITIES)}")
        return CertifiedCorpus(corpus_id=corpus, member=member, license=license,
                               sensitivity=sensitivity, facts_from=FACTS_FROM_SHARDS)
    if len(distinct) > 1:
        raise CorpusFactsError(f"corpus {corpus}: its shards disagree on license or sensitivity; "
                               "re-onboard it")
    from_manifest = manifest_facts(store_root, corpus)
    if from_manifest is None:
        raise CorpusFactsError(
            f"corpus {corpus}: its shards carry no license or sensitivity and "
            f"{StoreLayout(store_root).manifest(corpus)} does not give them; re-onboard it")
    license, sensitivity = from_manifest
    return CertifiedCorpus(corpus_id=corpus, member=member, license=license,
                           sensitivity=sensitivity, facts_from=FACTS_FROM_MANIFEST)


def fallback_note(fact: CertifiedCorpus) -> str | None:
    """The line that says a fact came from the unsigned manifest, when it did."""
    if fact.facts_from != FACTS_FROM_MANIFEST:
        return None
    return (f"corpus {fact.corpus_id}: license and sensitivity read from the store's "
            f"manifests/{fact.corpus_id}.toml (unsigned): its shards predate shard metadata")

"""Release files: the store's release index and the `release.json` a pull writes.

    <store>/releases/<name>.json  ReleaseFile: a pointer to the certification (C) in the log,
                                  written by `kura release create`. Unsigned: readers use it
                                  only to find the record (log index and envelope digest) and
                                  take every fact they show or copy from signed records.
    <dest>/__kura/release.json    PulledReleaseFile: what `kura pull` copied, every fact taken
                                  from the signed records it verified, with the certification
                                  envelope itself so the folder can be checked again offline.
                                  (Format 1 pulls wrote it at <dest>/release.json.)
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from schemas.predicates import CamelModel, CertifiedCorpus

# 2: corpusFacts (member, license, sensitivity per corpus); a pull's release.json under __kura/.
RELEASE_FILE_FORMAT = "2"


class ReleaseShard(CamelModel):
    name: str = Field(description="store-relative path, as the certification's subject")
    sha256: str
    rows: int
    bytes: int


class ReleaseFile(CamelModel):
    """<store>/releases/<name>.json (an unsigned index; see the module docstring)."""

    format: str = RELEASE_FILE_FORMAT
    release: str
    created_at: str
    certifier_id: str
    corpora: list[str]
    log_index: int = Field(ge=0, description="log index (0-based) of the certification")
    envelope_digest: str = Field(description="sha256 of the certification's envelope line")
    shards: list[ReleaseShard]
    corpus_facts: list[CertifiedCorpus] = Field(
        default_factory=list, description="each corpus's member, license and sensitivity, as "
        "certified (empty for releases certified before they were recorded)")


class PulledShard(CamelModel):
    name: str = Field(description="store-relative path, as the certification's subject")
    path: str = Field(description="path of the copy, relative to the pulled directory")
    sha256: str
    rows: int = Field(description="from the shard's signed residency attestation")
    bytes: int = Field(description="from the shard's signed residency attestation")


class PulledReleaseFile(CamelModel):
    """<dest>/__kura/release.json, written by `kura pull`. `certification` is the signed
    envelope itself, so the pulled folder can be checked again without the store."""

    format: str = RELEASE_FILE_FORMAT
    release: str
    certifier_id: str
    time_verified: str
    log_index: int
    envelope_digest: str
    checkpoint_tree_size: int
    trust_root: str = Field(description="key id of the pinned root the pull verified against")
    shards: list[PulledShard]
    corpus_facts: list[CertifiedCorpus] = Field(default_factory=list)
    certification: dict[str, Any]

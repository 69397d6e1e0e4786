"""The manifest's `[dedup]` section, and the Arrow schema of stored MinHash signatures.

Two documents are duplicates when the Jaccard similarity of their matching keys' character
`shingle_size`-gram sets reaches `threshold`. MinHash estimates that similarity; LSH banding finds
the candidate pairs; each candidate is then checked against its signatures' estimated Jaccard.

    [dedup]
    threshold = 0.8       # Jaccard at which two documents are duplicates
    shingle_size = 5      # characters per shingle; a shorter key is one shingle (the whole key)
    num_perm = 128        # MinHash permutations (signature length)
    seed = 1              # permutation seed; stored signatures only compare under the same seed
    scope = "store"       # "store": also against earlier corpora's signatures; "corpus": alone
    shingle_hash = "murmur3_utf32"   # or "sha1_hash32", datasketch's default (older stores)

Stored signatures record the shingle hash that made them; a run compares each stored file with
signatures of the same hash, signing its documents with both hashes when the store holds the
other one (transforms.signature_store), so older stores keep deduplicating new corpora.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

SIGNATURES_SCHEMA_VERSION = "1"

# datasketch's permutation schemes: "affine32" is datasketch 2.x's default (uint32 values);
# "legacy" is the pre-2.0 (a*h+b mod 2^61-1) scheme, kept so older stored signatures still load.
Scheme = Literal["affine32", "legacy"]

# The 32-bit hash of each shingle (transforms.shingle_hash): "murmur3_utf32" is MurmurHash3 of
# the shingle's UTF-32-LE bytes, computed in numpy; "sha1_hash32" is datasketch's default, what
# every store signed before murmur3_utf32 holds. A signature file without the key is sha1_hash32.
ShingleHash = Literal["murmur3_utf32", "sha1_hash32"]
DEFAULT_SHINGLE_HASH: ShingleHash = "murmur3_utf32"
LEGACY_SHINGLE_HASH: ShingleHash = "sha1_hash32"


class DedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="Jaccard of the matching keys' shingle sets at or above "
        "which two documents are duplicates")
    shingle_size: int = Field(
        5, ge=1, le=32, description="characters per shingle of the matching key; a key shorter "
        "than this is one shingle (the whole key)")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    seed: int = Field(1, ge=0, description="MinHash permutation seed (datasketch's `seed`)")
    scope: Literal["corpus", "store"] = Field(
        "store", description="'store': also remove documents already held by earlier corpora "
        "of the store; 'corpus': deduplicate within this corpus only")
    scheme: Scheme = Field(
        "affine32", description="datasketch permutation scheme of the signatures")
    shingle_hash: ShingleHash = Field(
        DEFAULT_SHINGLE_HASH, description="32-bit hash of each shingle: 'murmur3_utf32' "
        "(MurmurHash3_x86_32, seed 0, of the shingle's UTF-32-LE bytes; vectorized) or "
        "'sha1_hash32' (datasketch's default, one SHA-1 per shingle). This corpus's signatures "
        "are stored with it; stored signatures of the other hash still dedup this corpus, at "
        "the cost of signing it with both")
    band_threshold: float | None = Field(
        None, gt=0.0, lt=1.0, description="threshold the LSH bands x rows are optimised for "
        "(datasketch's optimal parameters, default weights); default threshold - 0.15, so a "
        "pair at `threshold` is a candidate with probability >= 0.95")
    check_threshold: float | None = Field(
        None, gt=0.0, le=1.0, description="estimated Jaccard a candidate pair's signatures must "
        "reach to join a cluster; default threshold - 0.08 (the estimate's standard error at "
        "0.8 and 128 permutations is 0.035)")

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> DedupConfig:
        if self.band_threshold is not None and self.band_threshold > self.threshold:
            raise ValueError("band_threshold must not exceed threshold")
        return self

    @property
    def effective_band_threshold(self) -> float:
        if self.band_threshold is not None:
            return self.band_threshold
        return max(0.05, round(self.threshold - 0.15, 4))

    @property
    def effective_check_threshold(self) -> float:
        if self.check_threshold is not None:
            return self.check_threshold
        return max(0.05, round(self.threshold - 0.08, 4))


def signature_value_type(scheme: Scheme) -> pa.DataType:
    return pa.uint32() if scheme == "affine32" else pa.uint64()


def signatures_schema(config: DedupConfig) -> pa.Schema:
    """Stored signatures of one corpus: one row per document kept by dedup.

    The footer metadata carries what a reader needs to rebuild datasketch `LeanMinHash`es and to
    refuse signatures made under other parameters.
    """
    return pa.schema(
        [
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field(
                "signature",
                pa.list_(pa.field("item", signature_value_type(config.scheme), nullable=False),
                         config.num_perm),
                nullable=False,
            ),
        ],
        metadata={
            b"kura.schema": b"signatures",
            b"kura.schema_version": SIGNATURES_SCHEMA_VERSION.encode(),
            b"kura.minhash.num_perm": str(config.num_perm).encode(),
            b"kura.minhash.seed": str(config.seed).encode(),
            b"kura.minhash.scheme": config.scheme.encode(),
            b"kura.minhash.shingle_size": str(config.shingle_size).encode(),
            b"kura.minhash.hashfunc": config.shingle_hash.encode(),
        },
    )

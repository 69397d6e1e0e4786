"""The corpus manifest (TOML): what a data steward declares when onboarding a corpus.

Each stage's section is its own model in its own module; this file composes them. A bad manifest
raises `ManifestProblems` (a `ManifestError`) naming every problem at once, each with its key
and, where likely, what the steward meant (schemas/manifest_errors.py).
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from schemas.dedup import DedupConfig
from schemas.manifest_errors import (
    ManifestError,
    ManifestProblem,
    ManifestProblems,
    validation_problems,
)
from schemas.pii import PiiConfig
from schemas.quality import QualityConfig

# ManifestError and its kin live in schemas/manifest_errors.py; importers keep this module.
__all__ = ["MANIFEST_VERSION", "CorpusSection", "LimitsSection", "Location", "Manifest",
           "ManifestError", "ManifestProblem", "ManifestProblems", "Provider", "ShardsSection",
           "SourceFormat", "SourceSection", "load_manifest", "manifest_json_schema",
           "manifest_problems", "parse_manifest", "read_manifest_data"]

MANIFEST_VERSION = "1"

SourceFormat = Literal["jsonl", "text", "csv", "parquet"]
Provider = Literal["onprem", "gcp", "aws", "azure"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Strict):
    """Where bytes live: the claim the residency guard checks and the attestation records."""

    provider: Provider
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str = Field(min_length=1)


class CorpusSection(_Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$", max_length=64)
    member: str = Field(min_length=1)
    license: str = Field(min_length=1)
    sensitivity: Literal["public", "internal", "confidential", "restricted"]
    language: str = "ja"
    root: str | None = Field(
        None, description="the folder local source paths are recorded relative to (a path, "
        "relative to the manifest); default: the manifest's own folder")
    source_uris: Literal["relative", "absolute"] = Field(
        "relative", description="record local sources relative to `root` (stewards' absolute "
        "paths stay private), or as absolute file:// URIs")


class SourceSection(_Strict):
    uri: str = Field(min_length=1, description="a path or glob, file://, gs:// or s3://")
    format: SourceFormat
    text_field: str = "text"
    encoding: str = Field("auto", description="auto, or a Python codec name")
    location: Location

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        if value != "auto":
            try:
                info = codecs.lookup(value)
            except LookupError as exc:
                raise ValueError(f"unknown codec {value!r}; use 'auto' or a codec name") from exc
            try:  # rot13, base64 and the like are codecs, but not from bytes to text
                usable = info._is_text_encoding and isinstance(b"\n\n".decode(value), str)
            except UnicodeDecodeError:  # a text codec that wants more bytes
                usable = True
            except (LookupError, UnicodeError):  # "undefined" refuses any input
                usable = False
            if not usable:
                raise ValueError(f"{value!r} is not a text encoding; use 'auto' or a text "
                                 "encoding such as 'utf-8', 'cp932' or 'euc_jp'")
        return value


class LimitsSection(_Strict):
    max_record_bytes: int = Field(4_000_000, gt=0, description="larger records are rejected")


class ShardsSection(_Strict):
    target_bytes: int = Field(128 * 1024 * 1024, gt=0, description="input bytes per shard")
    row_group_rows: int = Field(8192, gt=0)


class Manifest(_Strict):
    corpus: CorpusSection
    sources: list[SourceSection] = Field(min_length=1)
    limits: LimitsSection = LimitsSection()
    shards: ShardsSection = ShardsSection()
    quality: QualityConfig = QualityConfig()
    dedup: DedupConfig = DedupConfig()
    pii: PiiConfig = PiiConfig()


def manifest_problems(data: dict) -> tuple[Manifest | None, list[ManifestProblem]]:
    """The manifest, or None and every problem of `data` (pure: no file is looked at)."""
    try:
        return Manifest.model_validate(data), []
    except ValidationError as exc:
        return None, validation_problems(exc, Manifest)


def parse_manifest(data: dict, origin: str = "manifest") -> Manifest:
    manifest, problems = manifest_problems(data)
    if manifest is None:
        raise ManifestProblems(origin, problems)
    return manifest


def read_manifest_data(path: Path) -> dict:
    """The TOML table of a manifest file; a `ManifestError` (one line) if it cannot be read.
    A syntax error keeps tomllib's line and column."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such manifest file") from None
    except IsADirectoryError:
        raise ManifestError(f"{path}: is a folder; give the manifest file (TOML)") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the manifest: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML: {exc}") from None


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest file; source paths stay as written (see `resolve_sources`)."""
    return parse_manifest(read_manifest_data(path), origin=str(path))


def manifest_json_schema() -> dict:
    return Manifest.model_json_schema()

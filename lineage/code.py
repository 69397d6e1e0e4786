"""What code made a record: Kura's version and a digest of its source.

The code digest is sha256 over the sorted (relative path, sha256 of bytes) of every .py file of
Kura's four packages, so two installs of the same code give the same digest whatever git says.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PACKAGES = ("pipelines", "transforms", "schemas", "lineage")


@dataclass(frozen=True)
class CodeIdentity:
    version: str
    digest: str  # "sha256:<hex>"


@functools.cache
def code_identity() -> CodeIdentity:
    root = Path(__file__).resolve().parents[1]
    outer = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            outer.update(f"{rel}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    try:
        version = metadata.version("kura")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return CodeIdentity(version, "sha256:" + outer.hexdigest())


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(chunk):
            digest.update(block)
    return digest.hexdigest()

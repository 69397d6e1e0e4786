"""`kura pull NAME --dest DIR`: copy a verified release out of the store, all or nothing.

Nothing happens without a pinned root (`--trust-root` / KURA_TRUST_ROOT). The store is verified
first, as `audit verify` does, against that root (policy chain, records, checkpoints), then the
release's record (signature under a certifier key of the policy, inclusion in the latest signed
checkpoint); then each shard is copied into a temporary folder beside DIR while
its bytes are hashed, so what is checked is exactly what was written. Only when every shard
matched does the folder get its release.json and take DIR's name (one rename); on any failure it
is removed and DIR is left as it was.
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

from lineage.policy import TrustRoot
from lineage.release import (
    PULLED_RELEASE_FILE,
    ReleaseError,
    copy_certified_shard,
    pulled_path,
    verify_release,
)
from schemas.release import PulledReleaseFile, PulledShard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PulledRelease:
    name: str
    dest: Path
    shards: tuple[PulledShard, ...]
    bytes_copied: int
    seconds: float

    @property
    def data_files(self) -> list[str]:
        """The shard files, for `datasets.load_dataset("parquet", data_files=...)`."""
        return [str(self.dest / s.path) for s in self.shards]


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
    dest/release.json listing names, digests and the signed facts. Raises
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
        for shard in release.shards:
            relative = pulled_path(shard.name)
            copied += copy_certified_shard(store_root, release, shard, staging / relative)
            pulled.append(PulledShard(name=shard.name, path=relative, sha256=shard.sha256,
                                      rows=shard.rows, bytes=shard.bytes))
        index = PulledReleaseFile(
            release=name,
            certifier_id=release.certifier_id,
            time_verified=release.time_verified,
            log_index=release.log_index,
            envelope_digest=release.envelope.digest,
            checkpoint_tree_size=release.checkpoint_tree_size,
            trust_root=release.anchor_keyid,
            shards=pulled,
            certification=release.envelope.to_dict(),
        )
        (staging / PULLED_RELEASE_FILE).write_text(
            json.dumps(index.to_json_dict(), indent=2, ensure_ascii=False) + "\n")
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
    return PulledRelease(name, dest, tuple(pulled), copied, seconds)

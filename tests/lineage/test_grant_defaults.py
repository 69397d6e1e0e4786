"""A store whose signed policy predates withdrawals and gc tombstones (`kura withdraw` and
`kura gc` then refuse, naming `kura keys grant-defaults`): the command adds exactly what is
missing, in a root-signed, logged version, and the store still verifies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lineage.keys import (
    _change_policy,
    default_root_key_path,
    ensure_local_site,
    missing_default_permissions,
)
from lineage.policy import load_policy, role_allows
from lineage.verify import verify_store
from schemas.predicates import TOMBSTONE_PREDICATE, WITHDRAWAL_PREDICATE


def _old_store(tmp_path: Path) -> tuple[Path, Path]:
    store = tmp_path / "store"
    ensure_local_site(store)
    root_key = default_root_key_path(load_policy(store).policy.root_keys[0].keyid)

    def before_withdrawals(policy, _now, _size):
        roles = {role: [t for t in types if t not in (WITHDRAWAL_PREDICATE, TOMBSTONE_PREDICATE)]
                 for role, types in policy.roles.items()}
        return policy.model_copy(update={"roles": roles})

    _change_policy(store, root_key, before_withdrawals)
    return store, root_key


def kura(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_grant_defaults_adds_only_what_an_old_policy_lacks(tmp_path: Path) -> None:
    store, root_key = _old_store(tmp_path)
    old = load_policy(store)
    assert missing_default_permissions(old.policy) == {
        "site": [TOMBSTONE_PREDICATE], "certifier": [WITHDRAWAL_PREDICATE]}
    assert not role_allows(old.policy, "certifier", WITHDRAWAL_PREDICATE)
    granted = kura("keys", "grant-defaults", "--root-key", str(root_key), "--store", str(store),
                   cwd=tmp_path)
    assert granted.returncode == 0, granted.stderr
    new = load_policy(store)
    assert new.policy.version == old.policy.version + 1
    assert role_allows(new.policy, "site", TOMBSTONE_PREDICATE)
    assert role_allows(new.policy, "certifier", WITHDRAWAL_PREDICATE)
    for role, types in old.policy.roles.items():  # nothing taken away
        assert set(types) <= set(new.policy.roles[role])
    assert verify_store(store).ok
    again = kura("keys", "grant-defaults", "--root-key", str(root_key), "--store", str(store),
                 cwd=tmp_path)
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert load_policy(store).policy.version == new.policy.version

"""Keys and the trust policy: init, the embedded default, rotation and revocation."""

from __future__ import annotations

import base64
import json
import shutil
import stat

import pytest

from lineage.clock import utc_now
from lineage.dsse import canonical_json, sign
from lineage.keys import (
    KeyStoreError,
    ensure_local_site,
    init_keys,
    load_site_context,
    private_key_path,
    revoke_key,
    rotate_key,
)
from lineage.log import TransparencyLog
from lineage.policy import load_policy, policy_history
from lineage.record import record_run
from lineage.signing import load_private_key
from lineage.verify import verify_store
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE
from tests.lineage.conftest import write_run


def test_init_creates_private_keys_readable_by_owner_only(site, store, root_key):
    context = load_site_context(store)
    private_dir = store / "keys" / "private"
    assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700
    files = sorted(private_dir.iterdir())
    assert len(files) == 2  # site, certifier: the root key is not in the store
    for path in [*files, root_key]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert private_key_path(store, context.site_key.keyid) in files
    assert not root_key.resolve().is_relative_to(store.resolve())
    assert load_private_key(root_key).keyid == load_policy(store).policy.root_keys[0].keyid
    assert context.site_id == "jp-local-1"
    assert context.location.model_dump() == {
        "provider": "onprem", "country": "JP", "region": "jp-tokyo"
    }


def test_policy_is_signed_versioned_and_lists_japanese_locations(store):
    signed = load_policy(store)
    policy = signed.policy
    assert policy.version == 1
    assert policy.allowed_countries == ["JP"]
    regions = {(a.provider, a.region) for a in policy.allowed_locations}
    assert {("gcp", "asia-northeast1"), ("gcp", "asia-northeast2"), ("aws", "ap-northeast-1"),
            ("aws", "ap-northeast-3"), ("azure", "japaneast"), ("azure", "japanwest"),
            ("onprem", "jp-tokyo")} == regions
    assert signed.digest in policy_history(store)


def test_ensure_local_site_is_idempotent(store):
    before = load_site_context(store)
    after = ensure_local_site(store)
    assert after.site_key.keyid == before.site_key.keyid
    assert after.signed_policy.digest == before.signed_policy.digest


def test_init_refuses_an_existing_store_and_places_outside_japan(tmp_path, store):
    with pytest.raises(KeyStoreError, match="already has keys"):
        init_keys(store, "jp-local-2", "JP", "jp-osaka")
    with pytest.raises(KeyStoreError, match="--country US"):
        init_keys(tmp_path / "us", "us-1", "US", "us-east")
    with pytest.raises(KeyStoreError, match="us-central1 is not a Japanese gcp region"):
        init_keys(tmp_path / "gcp", "gcp-1", "JP", "us-central1", provider="gcp")


def test_cloud_site_init(tmp_path):
    context = init_keys(tmp_path / "s", "jp-gcp-1", "JP", "asia-northeast2", provider="gcp")
    assert context.location.region == "asia-northeast2"


def _forged_append(store, key_file, template_index=1, signed_at=None):
    """Re-sign an existing record (optionally backdated) with a given key and append it."""
    tlog = TransparencyLog(store)
    line = tlog.read().lines[template_index]
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    if signed_at is not None:
        statement["predicate"]["signedAt"] = signed_at
    key = load_private_key(key_file)
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), key)
    context = load_site_context(store)
    tlog.append([envelope.to_json_line()], context.site_key, context.log_origin)
    return len(tlog.read().lines)


def test_rotation_keeps_old_records_valid_and_refuses_the_old_key_after(store, root_key, tmp_path):
    record_run(store, write_run(store, run_id="run-1"))
    old_keyid = load_site_context(store).site_key.keyid
    stolen = tmp_path / "copied-before-rotation.pem"  # a copy someone made while it was online
    shutil.copyfile(private_key_path(store, old_keyid), stolen)
    old, new = rotate_key(store, "site", root_key=root_key)
    assert not private_key_path(store, old_keyid).exists()  # retired keys are deleted
    assert old.keyid == old_keyid and old.valid_until and new is not None
    assert load_site_context(store).site_key.keyid == new.keyid
    assert load_policy(store).policy.version == 2
    record_run(store, write_run(store, run_id="run-2"))
    report = verify_store(store)
    assert report.ok, report.failures()

    line = _forged_append(store, stolen)
    report = verify_store(store)
    failures = report.check("record.key_validity").failures
    assert len(failures) == 1
    assert f"log index {line - 1}" in failures[0] and "rotated out" in failures[0]


def test_revoked_key_keeps_what_it_signed_before_and_fails_backdated_records(
    store, root_key, tmp_path
):
    record_run(store, write_run(store, run_id="run-1"))
    stolen = load_site_context(store).site_key.keyid
    thief_copy = tmp_path / "thief.pem"
    shutil.copyfile(private_key_path(store, stolen), thief_copy)
    before_revocation = utc_now()
    old, replacement = revoke_key(store, stolen, reason="key-compromise", root_key=root_key)
    assert old.revoked is not None and old.revoked.log_size == 5
    assert not private_key_path(store, stolen).exists()
    assert replacement is not None
    record_run(store, write_run(store, run_id="run-2"))  # signed by the replacement
    assert verify_store(store).ok

    # The thief signs a new record claiming a time before the revocation: the log position
    # (after the revocation's checkpoint) gives it away.
    line = _forged_append(store, thief_copy, signed_at=before_revocation)
    failures = verify_store(store).check("record.key_validity").failures
    assert len(failures) == 1
    assert f"log index {line - 1}" in failures[0] and "revoked at log size 5" in failures[0]


def test_revoking_unknown_or_root_keys_is_refused(store, root_key):
    with pytest.raises(KeyStoreError, match="no such unrevoked"):
        revoke_key(store, "sha256:" + "0" * 64, root_key=root_key)
    root = load_policy(store).policy.root_keys[0].keyid
    with pytest.raises(KeyStoreError, match="root key"):
        revoke_key(store, root, root_key=root_key)

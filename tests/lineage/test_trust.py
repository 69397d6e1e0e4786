"""The root of trust outside the store (issue 12): each scenario that used to pass, now refused
with one line naming the key or record at fault, and nothing written on a refusal.

    1  an attacker who can write the store but holds no private key forges a release
    2  the root private key is not in the store; policy changes need it; named locations
    3  a rolled-back policy.json, and a revoked key signing again
    4  --since-checkpoint against an emptied store
    5  a retired key's backdated checkpoint; unsigned release fields
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lineage.certified import CertifiedReadError, open_release
from lineage.certify import (
    AttestedShard,
    CertificationFacts,
    certification_statement,
    create_release,
)
from lineage.code import code_identity
from lineage.dsse import Envelope, canonical_json, sign
from lineage.keys import (
    KeyStoreError,
    allow_location,
    init_keys,
    load_site_context,
    private_key_path,
    revoke_key,
    rotate_key,
)
from lineage.log import Checkpoint, TransparencyLog, sign_checkpoint
from lineage.policy import (
    PolicyError,
    load_policy,
    location_problem,
    policy_history_dir,
    policy_path,
    sign_policy,
    uri_covers,
)
from lineage.record import record_run
from lineage.release import ReleaseVerificationError, UnpinnedRootError, write_release_file
from lineage.signing import SigningKey, load_private_key
from lineage.verify import verify_store
from pipelines.cli_lineage import audit_app, keys_app
from pipelines.cli_release import pull, release_app
from schemas.policy import AllowedLocation, KeyEntry
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE
from schemas.release import ReleaseFile, ReleaseShard
from tests.lineage.conftest import write_run
from tests.lineage.test_release_support import flip_byte, record_validated_run

app = typer.Typer()
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(release_app, name="release")
app.command("pull")(pull)
runner = CliRunner()


def _run(*args: str, **env: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "300", **env})


def _failures(report) -> list[str]:
    return report.failures()


@pytest.fixture
def released(store: Path) -> Path:
    record_validated_run(store, shards=2)
    create_release(store, "r1")
    return store


# --- 1: an attacker who writes the store, with no private key of it -----------------------------


def _attacker_forges_a_release(store: Path) -> SigningKey:
    """What someone who can write the store but holds none of its keys can do: make their own
    root, site and certifier keys, rewrite keys/ (root.pub.pem, policy.json, the history) with a
    policy of theirs, swap a shard's bytes, and append a release their certifier signed over it,
    with a checkpoint their site key signed (release "evil"). Returns their certifier key."""
    root, site_key, certifier = (SigningKey.generate() for _ in range(3))
    policy = load_policy(store).policy
    now = policy.issued_at

    def entry(key: SigningKey, role: str) -> KeyEntry:
        return KeyEntry(keyid=key.keyid, role=role, public_key=key.public_pem, valid_from=now)

    theirs = policy.model_copy(update={
        "root_keys": [entry(root, "root")],
        "sites": [s.model_copy(update={"keys": [*s.keys, entry(site_key, "site")]})
                  for s in policy.sites],
        "certifiers": [c.model_copy(update={"keys": [*c.keys, entry(certifier, "certifier")]})
                       for c in policy.certifiers],
    })
    signed = sign_policy(theirs, root)
    (store / "keys" / "root.pub.pem").write_text(root.public_pem)
    line = signed.envelope.to_json_line() + "\n"
    policy_path(store).write_text(line)
    for old in policy_history_dir(store).iterdir():
        old.write_text(line)

    shard = store / "shards" / "acme-news" / "run-1-part-00000.parquet"
    shard.write_bytes(b"PAR1 forged rows PAR1")
    forged = AttestedShard("shards/acme-news/run-1-part-00000.parquet",
                           hashlib.sha256(shard.read_bytes()).hexdigest(),
                           4, shard.stat().st_size, 1, "0" * 64, "d", True)
    facts = CertificationFacts(policy.certifiers[0].certifier_id, code_identity().version, 1,
                               signed.digest, now)
    envelope = sign(IN_TOTO_PAYLOAD_TYPE,
                    canonical_json(certification_statement("evil", [forged], facts)), certifier)
    tlog = TransparencyLog(store)
    appended = tlog.append([envelope.to_json_line()], site_key, "kura:jp-local-1")
    write_release_file(store, ReleaseFile(
        release="evil", created_at=now, certifier_id=facts.certifier_id, corpora=["acme-news"],
        log_index=appended.first_index, envelope_digest=envelope.digest,
        shards=[ReleaseShard(name=forged.name, sha256=forged.sha256, rows=4, bytes=1)]))
    return certifier


def test_a_store_rewritten_without_its_keys_is_refused_by_every_pinned_reader(
    released, pinned_root, tmp_path, monkeypatch
):
    certifier = _attacker_forges_a_release(released)
    why = {
        # their certifier is no key of the chain the pinned root signed
        "evil": f"no signature verifies under a key of the trust policy (signed by "
                f"{certifier.keyid})",
        # and the store as a whole no longer verifies: the log still holds the real policy v1
        "r1": "the store does not verify against the pinned root sha256:",
    }
    for release, reason in why.items():
        dest = tmp_path / f"pulled-{release}"
        refused = _run("pull", release, "--dest", str(dest), "--store", str(released),
                       "--trust-root", str(pinned_root))
        assert refused.exit_code == 1, refused.output
        assert refused.output.count("\n") == 1 and reason in refused.output
        assert "nothing was written" in refused.output
        assert not dest.exists()
        with pytest.raises(CertifiedReadError, match=reason.split("(")[0]):
            open_release(released, release, trust_root=pinned_root)
        shown = _run("release", "show", release, "--store", str(released),
                     "--trust-root", str(pinned_root))
        assert shown.exit_code == 1 and "NOT verified" in shown.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pinned-root.pub.pem", "store"]
    # The same through KURA_TRUST_ROOT, the trainer's usual way of pinning.
    monkeypatch.setenv("KURA_TRUST_ROOT", str(pinned_root))
    with pytest.raises(ReleaseVerificationError, match="no signature verifies"):
        open_release(released, "evil")
    report = verify_store(released, trust_root=pinned_root)
    assert "policy.signature: keys/policy-history/v0001.json is not the policy v1 logged at log " \
        "index 0" in report.failures()


def test_readers_refuse_to_run_without_a_pinned_root(released, tmp_path):
    dest = tmp_path / "d"
    refused = _run("pull", "r1", "--dest", str(dest), "--store", str(released))
    assert refused.exit_code == 2
    assert "no pinned trust root: pass --trust-root ROOT.pub.pem or set KURA_TRUST_ROOT" in \
        refused.output
    assert not dest.exists()
    with pytest.raises(UnpinnedRootError, match="no pinned trust root"):
        open_release(released, "r1")
    shown = _run("release", "show", "r1", "--store", str(released))
    assert shown.exit_code == 2 and "no pinned trust root" in shown.output


# --- 2: the root key lives outside the store ---------------------------------------------------


def test_init_refuses_a_root_key_path_inside_the_store_even_through_a_symlink(tmp_path):
    store = tmp_path / "s"
    with pytest.raises(KeyStoreError, match=r"--root-key-out .* is inside the store"):
        init_keys(store, "jp-a", "JP", "jp-tokyo", root_key_out=store / "root.pem")
    store.mkdir()
    link = tmp_path / "looks-outside"
    link.symlink_to(store / "keys", target_is_directory=True)
    with pytest.raises(KeyStoreError, match="is inside the store"):
        init_keys(store, "jp-a", "JP", "jp-tokyo", root_key_out=link / "root.pem")
    assert list(store.iterdir()) == []  # nothing written on a refusal


def test_policy_changes_need_the_root_key_from_outside_the_store(store, root_key, tmp_path):
    assert not any(p.name == root_key.name for p in (store / "keys" / "private").iterdir())
    inside = store / "keys" / "private" / root_key.name  # as in a store made before this
    shutil.copyfile(root_key, inside)
    with pytest.raises(KeyStoreError, match=r"--root-key .* is inside the store: move it out"):
        rotate_key(store, "site", root_key=inside)
    report = verify_store(store)
    assert report.ok  # an old store still verifies, and is told what to do
    assert any("is inside the store" in w and "move it out" in w for w in report.warnings)
    inside.unlink()
    other = tmp_path / "other-root.pem"
    from lineage.signing import write_private_key

    write_private_key(other, SigningKey.generate())
    with pytest.raises(KeyStoreError, match="which is not a root key of policy v1"):
        rotate_key(store, "site", root_key=other)
    assert load_policy(store).policy.version == 1  # nothing written on a refusal


def test_a_policy_signed_with_a_key_read_from_the_store_does_not_verify(store, pinned_root):
    """Everything private in the store (site and certifier keys) cannot sign a policy that
    allows aws us-east-1: the pinned root's chain refuses it."""
    context = load_site_context(store)
    policy = load_policy(store).policy
    us = policy.model_copy(update={
        "version": 2, "allowed_countries": ["JP", "US"],
        "allowed_locations": [*policy.allowed_locations,
                              AllowedLocation(provider="aws", country="US", region="us-east-1")],
    })
    for key in (context.site_key, context.certifier_key):
        signed = sign_policy(us, key)
        TransparencyLog(store).append([signed.envelope.to_json_line()], context.site_key,
                                      context.log_origin)
        policy_path(store).write_text(signed.envelope.to_json_line() + "\n")
        failures = _failures(verify_store(store, trust_root=pinned_root))
        size = len(TransparencyLog(store).read().lines)
        assert failures[0] == (f"policy.signature: log index {size - 1}: policy v2 is not signed "
                               f"by a root key of policy v1 ({policy.root_keys[0].keyid})")
        with pytest.raises(KeyStoreError, match="policy v2 is not signed by a root key"):
            load_site_context(store)  # the guard's policy: no US source gets onboarded
        lines = (store / "lineage" / "log.jsonl").read_text().splitlines()[:-1]
        (store / "lineage" / "log.jsonl").write_text("".join(x + "\n" for x in lines))
        shutil.rmtree(store / "lineage" / "checkpoints")
        TransparencyLog(store).write_checkpoint(context.site_key, context.log_origin)


def test_allow_location_adds_a_named_bucket_matched_on_slash_boundaries(store, root_key,
                                                                         pinned_root):
    entry = allow_location(store, "hdfs://osaka-cluster/kura/", "onprem", "JP", "jp-osaka",
                           root_key=root_key)
    assert entry.uri == "hdfs://osaka-cluster/kura"
    signed = load_policy(store, pinned_root)
    assert signed.policy.version == 2 and entry in signed.policy.allowed_locations
    policy = signed.policy
    assert location_problem(policy, "onprem", "JP", "jp-osaka",
                            uri="hdfs://osaka-cluster/kura/a/b.jsonl") is None
    assert location_problem(policy, "onprem", "JP", "jp-osaka",
                            uri="hdfs://osaka-cluster/kura-us-mirror/a") is not None
    assert location_problem(policy, "onprem", "JP", "jp-osaka") is not None  # not the region
    assert uri_covers("gs://kura-jp", "gs://kura-jp/x") and uri_covers("gs://kura-jp/", "gs://kura-jp")
    assert not uri_covers("gs://kura-jp", "gs://kura-jp-us-mirror/x")
    report = verify_store(store, trust_root=pinned_root)
    assert report.ok, report.failures()
    assert len(report.check("policy.signature").failures) == 0
    with pytest.raises(KeyStoreError, match="--country US: policy v2 allows only JP"):
        allow_location(store, "s3://kura-us", "aws", "US", "us-east-1", root_key=root_key)
    with pytest.raises(KeyStoreError, match="--region us-east-1 is not a Japanese aws region"):
        allow_location(store, "s3://kura-us", "aws", "JP", "us-east-1", root_key=root_key)
    with pytest.raises(KeyStoreError, match="already allowed"):
        allow_location(store, "hdfs://osaka-cluster/kura/sub", "onprem", "JP", "jp-osaka",
                       root_key=root_key)
    assert load_policy(store).policy.version == 2


def test_allow_location_through_the_cli(store, root_key):
    done = _run("keys", "allow-location", "gs://kura-jp-raw", "--provider", "gcp", "--region",
                "asia-northeast1", "--root-key", str(root_key), "--store", str(store))
    assert done.exit_code == 0, done.output
    assert "allowed gs://kura-jp-raw (gcp JP asia-northeast1) in policy v2" in done.output
    bad = _run("keys", "allow-location", "gs://kura-jp-raw2", "--provider", "aws", "--region",
               "ap-northeast-1", "--root-key", str(root_key), "--store", str(store))
    assert bad.exit_code == 2 and "gs:// locations are gcp" in bad.output


# --- 3: a rolled-back policy, a revoked key signing again ------------------------------------


def test_a_rolled_back_policy_fails_verify_naming_the_version(store, root_key, pinned_root,
                                                             tmp_path):
    record_run(store, write_run(store, run_id="run-1"))
    site_key = load_site_context(store).site_key
    thief = tmp_path / "thief.pem"
    shutil.copyfile(private_key_path(store, site_key.keyid), thief)
    revoke_key(store, site_key.keyid, reason="key-compromise", root_key=root_key)
    assert not private_key_path(store, site_key.keyid).exists()  # never again readable here
    shutil.copyfile(policy_history_dir(store) / "v0001.json", policy_path(store))
    failures = _failures(verify_store(store, trust_root=pinned_root))
    assert failures == ["policy.signature: keys/policy.json is policy v1 but the newest policy "
                        "is v2 (log index 5): a rolled-back policy"]
    with pytest.raises(KeyStoreError, match="a rolled-back policy"):
        load_site_context(store)  # nothing signs under the rolled-back policy

    # The thief's copy still signs, but the log position gives it away under the newest policy.
    statement = json.loads(base64.b64decode(json.loads(
        (store / "lineage" / "log.jsonl").read_text().splitlines()[1])["payload"]))
    forged = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), load_private_key(thief))
    TransparencyLog(store).append([forged.to_json_line()], load_private_key(thief),
                                  "kura:jp-local-1")
    report = verify_store(store, trust_root=pinned_root)
    assert any(f"key {site_key.keyid} was revoked at log size 5; the record is at log index 6" in f
               for f in report.check("record.key_validity").failures)


def test_a_policy_version_missing_from_the_log_fails(store, root_key, pinned_root):
    rotate_key(store, "certifier", root_key=root_key)
    lines = (store / "lineage" / "log.jsonl").read_text().splitlines()
    (store / "lineage" / "log.jsonl").write_text(lines[0] + "\n")  # drop v2's line
    failures = _failures(verify_store(store, trust_root=pinned_root))
    assert "policy.signature: policy v2 is not in the log, though policy v2 says every " \
        "version from v1 is" in failures


# --- 4: an auditor's saved checkpoint against an emptied store ----------------------------------


def test_since_checkpoint_is_checked_against_an_emptied_store(released, pinned_root, tmp_path):
    saved = tmp_path / "saved.json"
    assert _run("audit", "checkpoint", "--out", str(saved), "--store",
                str(released)).exit_code == 0
    size = Checkpoint.from_payload(Envelope.from_json(saved.read_bytes()).payload).tree_size
    (released / "lineage" / "log.jsonl").write_text("")
    shutil.rmtree(released / "lineage" / "checkpoints")
    shutil.rmtree(released / "releases")
    report = verify_store(released, since_checkpoint=saved, trust_root=pinned_root)
    assert not report.ok
    assert (f"log.consistency: --since-checkpoint saved.json (size {size}) covers {size} lines "
            f"but the log has 0: log indexes 0..{size - 1} are missing") in report.failures()
    assert "policy.signature: policy v1 is not in the log, though policy v1 says every " \
        "version from v1 is" in report.failures()
    done = _run("audit", "verify", "--since-checkpoint", str(saved), "--trust-root",
                str(pinned_root), "--store", str(released))
    assert done.exit_code == 1 and "all checks hold" not in done.output
    assert f"log indexes 0..{size - 1} are missing" in done.output


def test_since_checkpoint_catches_a_truncated_store(released, pinned_root, tmp_path):
    saved = tmp_path / "saved.json"
    shutil.copyfile(TransparencyLog(released).checkpoint_paths()[-1], saved)
    lines = (released / "lineage" / "log.jsonl").read_text().splitlines()
    (released / "lineage" / "log.jsonl").write_text("".join(x + "\n" for x in lines[:3]))
    for path in TransparencyLog(released).checkpoint_paths():
        if int(path.stem.split("-")[0]) > 3:
            path.unlink()
    report = verify_store(released, since_checkpoint=saved, trust_root=pinned_root)
    assert [f for f in report.failures() if f.startswith("log.consistency")] == [
        f"log.consistency: --since-checkpoint saved.json (size {len(lines)}) covers "
        f"{len(lines)} lines but the log has 3: log indexes 3..{len(lines) - 1} are missing"]


# --- 5: a retired key's backdated checkpoint; unsigned release fields ---------------------------


def test_a_retired_key_cannot_sign_a_backdated_checkpoint(released, root_key, pinned_root,
                                                          tmp_path):
    old = load_site_context(released).site_key
    before = TransparencyLog(released).checkpoints()[-1].checkpoint
    rotate_key(released, "site", root_key=root_key)
    record_validated_run(released, run_id="run-2", shards=1)
    retired_at = len(TransparencyLog(released).read().lines) - 3  # v2, residency, provenance
    tlog = TransparencyLog(released)
    contents = tlog.read()
    from lineage import merkle

    backdated = sign_checkpoint(Checkpoint(
        before.origin, len(contents.lines), merkle.root(contents.leaf_hashes()).hex(),
        "2000-01-01T00:00:00.000000Z", before.policy_digest), old)
    path = tlog.checkpoint_dir / f"{len(contents.lines):012d}-9.json"
    path.write_text(backdated.envelope.to_json_line() + "\n")
    failures = verify_store(released, trust_root=pinned_root).failures()
    assert failures == [f"log.consistency: {path.name}: key {old.keyid} was rotated out at log "
                        f"size {retired_at}; the checkpoint covers {len(contents.lines)} lines"]
    dest = tmp_path / "d"
    refused = _run("pull", "r1", "--dest", str(dest), "--store", str(released), "--trust-root",
                   str(pinned_root))
    assert refused.exit_code == 1 and f"key {old.keyid} was rotated out" in refused.output
    assert not dest.exists()


def test_show_and_pull_take_their_facts_from_signed_records(released, pinned_root, tmp_path):
    index_path = released / "releases" / "r1.json"
    index = json.loads(index_path.read_text())
    signed_rows = [s["rows"] for s in index["shards"]]
    for shard in index["shards"]:
        shard["rows"] = 1_000_000
    index.update(createdAt="1999-01-01T00:00:00Z", corpora=["not-a-corpus"])
    index_path.write_text(json.dumps(index))
    shown = _run("release", "show", "r1", "--store", str(released), "--trust-root",
                 str(pinned_root))
    assert shown.exit_code == 0, shown.output
    assert "1,000,000" not in shown.output and "1999" not in shown.output
    assert "not-a-corpus" not in shown.output and "corpora acme-news" in shown.output
    dest = tmp_path / "d"
    assert _run("pull", "r1", "--dest", str(dest), "--store", str(released), "--trust-root",
                str(pinned_root)).exit_code == 0
    pulled = json.loads((dest / "__kura" / "release.json").read_text())
    assert [s["rows"] for s in pulled["shards"]] == signed_rows
    assert pulled["trustRoot"] == load_policy(released).policy.root_keys[0].keyid


def test_a_flipped_shard_of_the_release_is_refused_with_the_pin(released, pinned_root, tmp_path):
    flip_byte(released / "shards" / "acme-news" / "run-1-part-00001.parquet")
    with pytest.raises(CertifiedReadError, match=r"run-1-part-00001\.parquet: sha256"):
        open_release(released, "r1", trust_root=pinned_root)


def test_a_pinned_store_and_an_upgraded_old_store_verify(store, pinned_root):
    assert verify_store(store, trust_root=pinned_root).ok
    with pytest.raises(PolicyError, match="no pinned trust root"):
        from lineage.policy import require_pinned_root

        require_pinned_root(None)


def _store_made_before_this(store: Path) -> Path:
    """A store as `kura keys init` made it before the root left the store: all three private
    keys in keys/private, policy v1 only in keys/ (not in the log). Returns the root key file."""
    from lineage.keys import _new_entry, site_config_path
    from lineage.policy import root_public_key_path, write_policy
    from lineage.signing import write_private_key
    from schemas.policy import JAPAN_CLOUD_LOCATIONS, Certifier, Site, TrustPolicy

    root, site_key, certifier = (SigningKey.generate() for _ in range(3))
    for key in (root, site_key, certifier):
        write_private_key(private_key_path(store, key.keyid), key)
    now = "2025-01-01T00:00:00.000000Z"
    policy = TrustPolicy(
        version=1, issued_at=now, allowed_countries=["JP"],
        allowed_locations=[*JAPAN_CLOUD_LOCATIONS,
                           AllowedLocation(provider="onprem", country="JP", region="jp-tokyo")],
        root_keys=[_new_entry(root, "root", now)],
        sites=[Site(site_id="jp-local-1", country="JP", provider="onprem", regions=["jp-tokyo"],
                    keys=[_new_entry(site_key, "site", now)])],
        certifiers=[Certifier(certifier_id="certifier@jp-local-1",
                              keys=[_new_entry(certifier, "certifier", now)])],
    )
    root_public_key_path(store).write_text(root.public_pem)
    write_policy(store, sign_policy(policy, root))
    site_config_path(store).write_text(json.dumps(
        {"siteId": "jp-local-1", "region": "jp-tokyo", "certifierId": "certifier@jp-local-1"}))
    return private_key_path(store, root.keyid)


def test_a_store_made_before_this_still_verifies_and_moves_its_root_key_out(tmp_path):
    store = tmp_path / "old-store"
    inside = _store_made_before_this(store)
    pinned = tmp_path / "root.pub.pem"
    shutil.copyfile(store / "keys" / "root.pub.pem", pinned)
    record_run(store, write_run(store, run_id="run-1"))
    report = verify_store(store, trust_root=pinned)
    assert report.ok, report.failures()
    assert next(w for w in report.warnings if "keys/private" in w).startswith(
        f"root private key keys/private/{inside.name} is inside the store")
    with pytest.raises(KeyStoreError, match="is inside the store: move it out"):
        rotate_key(store, "site", root_key=inside)
    outside = tmp_path / "offline" / "root.pem"
    outside.parent.mkdir()
    shutil.move(inside, outside)
    rotate_key(store, "site", root_key=outside)
    record_run(store, write_run(store, run_id="run-2"))
    report = verify_store(store, trust_root=pinned)
    assert report.ok and not report.warnings, report.failures()
    assert load_policy(store, pinned).policy.logged_since == 2  # logged from its first change
    shutil.copyfile(policy_history_dir(store) / "v0001.json", policy_path(store))
    assert "a rolled-back policy" in verify_store(store, trust_root=pinned).failures()[0]

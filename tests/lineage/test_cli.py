"""`kura keys ...` and `kura audit ...` through typer, as the lead mounts them."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from lineage.keys import load_site_context
from lineage.record import record_run
from pipelines.cli_lineage import audit_app, keys_app
from tests.lineage.conftest import write_run

app = typer.Typer()
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_keys_init_show_rotate_revoke(tmp_path):
    store = str(tmp_path / "s")
    root_key = str(tmp_path / "offline" / "root.pem")
    done = _run("keys", "init", "--site", "jp-osaka-2", "--country", "JP", "--region", "jp-osaka",
                "--root-key-out", root_key, "--store", store)
    assert done.exit_code == 0, done.output
    assert "root key      sha256:" in done.output
    assert f"root private key: {root_key}" in done.output
    again = _run("keys", "init", "--site", "x", "--region", "y", "--store", store)
    assert again.exit_code == 2
    assert "already has keys" in again.output
    old = load_site_context(tmp_path / "s").site_key.keyid
    no_root = _run("keys", "rotate", "--role", "site", "--store", store)
    assert no_root.exit_code == 2 and "--root-key" in no_root.output
    assert _run("keys", "rotate", "--role", "site", "--root-key", root_key,
                "--store", store).exit_code == 0
    revoked = _run("keys", "revoke", old, "--reason", "test", "--root-key", root_key,
                   "--store", store)
    assert revoked.exit_code == 0, revoked.output
    shown = _run("keys", "show", "--store", store)
    assert shown.exit_code == 0
    assert "policy v3" in shown.output
    assert "revoked" in shown.output


def test_audit_verify_passes_then_fails_naming_the_shard(store, tmp_path):
    summary = write_run(store, shards=2)
    record_run(store, summary)
    ok = _run("audit", "verify", "--store", str(store))
    assert ok.exit_code == 0, ok.output
    for check in ("policy.signature", "record.signature", "subject.digest", "log.checkpoint",
                  "run.conservation", "residency.locations"):
        assert check in ok.output
    assert "all checks hold" in ok.output

    saved = tmp_path / "cp.json"
    assert _run("audit", "checkpoint", "--out", str(saved), "--store", str(store)).exit_code == 0
    record_run(store, write_run(store, run_id="run-2"))
    since = _run("audit", "verify", "--since-checkpoint", str(saved), "--store", str(store))
    assert since.exit_code == 0, since.output

    shard = store / summary.shards[0].path
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x00")
    bad = _run("audit", "verify", "--store", str(store))
    assert bad.exit_code == 1
    assert f"✗ subject.digest: {summary.shards[0].path}: sha256 on disk" in bad.output
    assert "verification FAILED" in bad.output


def test_audit_trace_both_ways(store):
    summary = write_run(store, shards=2)
    record_run(store, summary)
    by_shard = _run("audit", "trace", "--shard", summary.shards[0].path, "--store", str(store))
    assert by_shard.exit_code == 0, by_shard.output
    assert "run run-1 (direct) at site jp-local-1" in by_shard.output
    assert "residency attestation, log index 1" in by_shard.output
    assert "source gs://acme-raw-tokyo/acme-news/a.jsonl" in by_shard.output
    assert "inclusion proof verified" in by_shard.output
    by_source = _run("audit", "trace", "--source", "gs://acme-raw-tokyo/acme-news/a.jsonl",
                     "--store", str(store))
    assert by_source.exit_code == 0
    assert f"-> shard {summary.shards[1].path}" in by_source.output
    neither = _run("audit", "trace", "--store", str(store))
    assert neither.exit_code == 2


def _json(*args: str) -> dict:
    done = _run(*args, "--json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_keys_commands_print_one_json_document(tmp_path):
    store = str(tmp_path / "s")
    root_key = str(tmp_path / "offline" / "root.pem")
    init = _json("keys", "init", "--site", "jp-osaka-2", "--region", "jp-osaka",
                 "--root-key-out", root_key, "--store", store)
    assert init["policy"]["version"] == 1 and init["policy"]["logIndex"] == 0
    assert init["site"] == {"siteId": "jp-osaka-2", "provider": "onprem", "country": "JP",
                            "region": "jp-osaka"}
    assert init["rootPrivateKey"] == root_key
    site_key = init["siteKeyId"]
    rotated = _json("keys", "rotate", "--role", "site", "--root-key", root_key, "--store", store)
    assert rotated["retired"]["keyid"] == site_key and rotated["retired"]["validUntilLogSize"]
    assert rotated["policy"]["version"] == 2 and rotated["policy"]["logIndex"] >= 1
    revoked = _json("keys", "revoke", rotated["new"]["keyid"], "--reason", "test", "--root-key",
                    root_key, "--store", store)
    assert revoked["revoked"]["revoked"]["reason"] == "test" and revoked["replacement"]
    allowed = _json("keys", "allow-location", "gs://kura-jp-raw", "--provider", "gcp",
                    "--region", "asia-northeast1", "--root-key", root_key, "--store", store)
    assert allowed["allowed"]["uri"] == "gs://kura-jp-raw" and allowed["policy"]["version"] == 4
    shown = _json("keys", "show", "--store", store)
    assert shown["version"] == 4 and shown["logIndex"] == allowed["policy"]["logIndex"]
    statuses = {row["keyid"]: row["status"] for row in shown["keys"]}
    assert statuses[site_key].startswith("rotated")
    assert shown["policy"]["allowedLocations"][-1]["uri"] == "gs://kura-jp-raw"


def test_keys_init_names_the_policy_by_its_log_index(tmp_path):
    done = _run("keys", "init", "--site", "jp-osaka-2", "--region", "jp-osaka", "--store",
                str(tmp_path / "s"))
    assert done.exit_code == 0, done.output
    assert "(log index 0)" in done.output and "log line" not in done.output


def test_audit_commands_print_one_json_document(store, tmp_path):
    summary = write_run(store, shards=2)
    record_run(store, summary)
    verified = _json("audit", "verify", "--store", str(store))
    assert verified["ok"] is True and verified["logSize"] == 4
    assert [c["name"] for c in verified["checks"]][:2] == ["policy.signature", "log.format"]
    assert verified["anchor"]["pinned"] is False and verified["warnings"]
    saved = _json("audit", "checkpoint", "--out", str(tmp_path / "cp.json"), "--store",
                  str(store))
    assert saved["treeSize"] == 4 and (tmp_path / "cp.json").is_file()
    shard = _json("audit", "trace", "--shard", summary.shards[0].path, "--store", str(store))
    assert shard["logIndex"] == 1 and shard["includedInCheckpoint"] == 4
    assert shard["provenanceLogIndex"] == 3 and shard["releases"] == []
    source = _json("audit", "trace", "--source", "gs://acme-raw-tokyo/acme-news/a.jsonl",
                   "--store", str(store))
    assert [s["name"] for s in source["runs"][0]["shards"]] == [s.path for s in summary.shards]

    path = store / summary.shards[0].path
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    failed = _run("audit", "verify", "--store", str(store), "--json")
    assert failed.exit_code == 1
    document = json.loads(failed.stdout)
    assert document["ok"] is False
    assert document["failures"][0].startswith(f"subject.digest: {summary.shards[0].path}")

"""`verify_store` on a clean store, and each tampering failing with a message naming the culprit."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from lineage.dsse import canonical_json, sign
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.record import record_run
from lineage.signing import SigningKey
from lineage.verify import verify_store
from schemas.manifest import Location
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, VSA_PREDICATE
from tests.lineage.conftest import write_run


@pytest.fixture
def two_runs(store: Path) -> Path:
    record_run(store, write_run(store, run_id="run-1", shards=3))
    record_run(store, write_run(store, run_id="run-2", shards=2))
    return store


def _lines(store: Path) -> list[str]:
    return (store / "lineage" / "log.jsonl").read_text().splitlines()


def _write_lines(store: Path, lines: list[str]) -> None:
    (store / "lineage" / "log.jsonl").write_text("".join(line + "\n" for line in lines))


def _statement(line: str) -> dict:
    return json.loads(base64.b64decode(json.loads(line)["payload"]))


def _only_failures(report) -> dict[str, tuple[str, ...]]:
    return {c.name: c.failures for c in report.checks if c.failures}


def _certification(shard: str, digest: dict) -> dict:
    """A minimal certification (VSA) statement over one shard."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": shard, "digest": digest}],
        "predicateType": VSA_PREDICATE,
        "predicate": {
            "verifier": {"id": "https://kura.dev/certifier"},
            "timeVerified": "2030-01-01T00:00:00Z",
            "resourceUri": "kura:release/1",
            "policy": {"uri": "kura:policy"},
            "verificationResult": "PASSED",
            "verifiedLevels": ["KURA_RESIDENCY_JP_1"],
        },
    }


def test_clean_store_passes_every_check(two_runs):
    report = verify_store(two_runs)
    assert report.ok, report.failures()
    assert report.log_size == 1 + 4 + 3  # policy v1, then the runs
    for check in report.checks:
        assert check.checked > 0, check.name


def test_flipped_shard_byte_names_the_shard(two_runs):
    shard = two_runs / "shards" / "acme-news" / "run-1-part-00001.parquet"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    failures = _only_failures(verify_store(two_runs))
    assert list(failures) == ["subject.digest"]
    assert "shards/acme-news/run-1-part-00001.parquet: sha256 on disk" in failures[
        "subject.digest"][0]


def test_deleted_shard_is_reported_missing(two_runs):
    (two_runs / "shards" / "acme-news" / "run-2-part-00000.parquet").unlink()
    failures = _only_failures(verify_store(two_runs))["subject.digest"]
    assert failures == ("shards/acme-news/run-2-part-00000.parquet: attested by log index 5 "
                        "(residency of shards/acme-news/run-2-part-00000.parquet) but missing on "
                        "disk",)


def test_edited_log_line_fails_its_signature_and_the_checkpoint(two_runs):
    lines = _lines(two_runs)
    envelope = json.loads(lines[2])
    statement = _statement(lines[2])
    statement["predicate"]["counts"]["rows"] += 1  # inflate a shard's row count
    envelope["payload"] = base64.b64encode(canonical_json(statement)).decode()
    lines[2] = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    _write_lines(two_runs, lines)
    failures = _only_failures(verify_store(two_runs))
    assert "log index 2 (residency of shards/acme-news/run-1-part-00001.parquet)" in failures[
        "record.signature"][0]
    assert "does not verify" in failures["record.signature"][0]
    assert "the log was altered" in failures["log.checkpoint"][0]
    # init's checkpoint covers policy v1 alone, which still matches
    assert "altered after log index 0 (the log still matches checkpoint size 1)" in failures[
        "log.checkpoint"][0]


def test_removed_log_line_breaks_the_checkpoint_and_the_run_sums(two_runs):
    lines = _lines(two_runs)
    del lines[6]  # the second shard attestation of run-2
    _write_lines(two_runs, lines)
    failures = _only_failures(verify_store(two_runs))
    assert "lines were removed after log index 4" in failures["log.checkpoint"][0]
    assert failures["run.conservation"] == (
        "run run-2: its shards attest 4 rows but the provenance says 8 written",
    )


def test_line_resigned_with_a_key_outside_the_policy_names_line_and_key(two_runs):
    outsider = SigningKey.generate()
    lines = _lines(two_runs)
    statement = _statement(lines[1])
    lines[1] = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), outsider).to_json_line()
    _write_lines(two_runs, lines)
    failures = _only_failures(verify_store(two_runs))
    assert failures["record.signature"] == (
        f"log index 1 (residency of shards/acme-news/run-1-part-00000.parquet): signed by "
        f"{outsider.keyid}, a key not in the trust policy",
    )


def test_site_key_signing_a_certification_is_refused(two_runs):
    context = load_site_context(two_runs)
    vsa = _certification("shards/acme-news/run-1-part-00000.parquet", {"sha256": "0" * 64})
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(vsa), context.site_key)
    TransparencyLog(two_runs).append([envelope.to_json_line()], context.site_key,
                                     context.log_origin)
    failures = _only_failures(verify_store(two_runs))["record.role"]
    assert failures == (
        f"log index 8 (verification_summary of shards/acme-news/run-1-part-00000.parquet): "
        f"site key {context.site_key.keyid} (jp-local-1) may not sign {VSA_PREDICATE}",
    )


def test_certifier_key_may_sign_a_certification(two_runs):
    context = load_site_context(two_runs)
    shard = "shards/acme-news/run-1-part-00000.parquet"
    digest = _statement(_lines(two_runs)[1])["subject"][0]["digest"]
    vsa = _certification(shard, digest)
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(vsa), context.certifier_key)
    TransparencyLog(two_runs).append([envelope.to_json_line()], context.site_key,
                                     context.log_origin)
    report = verify_store(two_runs)
    assert report.ok, report.failures()


def test_record_claiming_a_source_outside_japan_is_refused(store):
    us_east = Location(provider="aws", country="US", region="us-east-1")
    record_run(store, write_run(store, run_id="run-us", source_location=us_east))
    failures = _only_failures(verify_store(store))
    assert list(failures) == ["residency.locations"]
    first = failures["residency.locations"][0]
    assert first.startswith("log index 1 (residency of shards/acme-news/run-us-part-00000"
                            ".parquet): inputs[0].location aws US us-east-1 (claimed by "
                            "manifest): country US is not allowed")
    assert any("resolvedDependencies[0].location" in f for f in failures["residency.locations"])


def _rewrite_history(store: Path) -> None:
    """What someone holding the site key could do: change an old record, re-sign it validly,
    and replace every checkpoint with fresh ones over the rewritten log."""
    context = load_site_context(store)
    lines = _lines(store)
    statement = _statement(lines[1])
    statement["predicate"]["parameters"]["note"] = "rewritten"
    lines[1] = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.site_key
                    ).to_json_line()
    _write_lines(store, lines)
    shutil.rmtree(store / "lineage" / "checkpoints")
    TransparencyLog(store).write_checkpoint(context.site_key, context.log_origin)


def test_rewritten_history_is_caught_by_an_earlier_checkpoint(store, tmp_path):
    record_run(store, write_run(store, run_id="run-1"))
    saved = tmp_path / "auditor-saw.json"
    shutil.copyfile(TransparencyLog(store).checkpoint_paths()[-1], saved)
    record_run(store, write_run(store, run_id="run-2"))
    assert verify_store(store, since_checkpoint=saved).ok

    _rewrite_history(store)
    assert verify_store(store).ok  # self-consistent: only an outside memory can tell
    failures = _only_failures(verify_store(store, since_checkpoint=saved))
    assert list(failures) == ["log.consistency"]
    assert failures["log.consistency"][0].startswith(
        "--since-checkpoint auditor-saw.json (size 5, root ")
    assert "is not a prefix of the latest checkpoint (size 9): history was rewritten" in \
        failures["log.consistency"][0]


def test_stored_checkpoints_catch_a_rewrite_that_keeps_them(two_runs):
    context = load_site_context(two_runs)
    lines = _lines(two_runs)
    statement = _statement(lines[1])
    statement["predicate"]["parameters"]["note"] = "rewritten"
    lines[1] = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.site_key
                    ).to_json_line()
    _write_lines(two_runs, lines)
    TransparencyLog(two_runs).write_checkpoint(context.site_key, context.log_origin)
    failures = _only_failures(verify_store(two_runs))
    assert list(failures) == ["log.consistency"]
    assert len(failures["log.consistency"]) == 2  # the two checkpoints of the original runs
    assert "000000000005.json (size 5" in failures["log.consistency"][0]


def test_tampered_policy_or_foreign_trust_root_fails_the_policy_check(two_runs, tmp_path):
    foreign = tmp_path / "foreign.pem"
    foreign.write_text(SigningKey.generate().public_pem)
    failures = _only_failures(verify_store(two_runs, trust_root=foreign))
    assert "is not signed by root key" in failures["policy.signature"][0]

    path = two_runs / "keys" / "policy.json"
    envelope = json.loads(path.read_text())
    policy = json.loads(base64.b64decode(envelope["payload"]))
    policy["allowedCountries"].append("US")
    envelope["payload"] = base64.b64encode(canonical_json(policy)).decode()
    path.write_text(json.dumps(envelope))
    failures = _only_failures(verify_store(two_runs))
    assert "signature by sha256:" in failures["policy.signature"][0]
    assert "does not verify" in failures["policy.signature"][0]


def test_verify_of_twenty_shards_is_fast(store):
    record_run(store, write_run(store, run_id="run-big", shards=20, rows_per_shard=50))
    report = verify_store(store)
    assert report.ok, report.failures()
    assert report.check("subject.digest").checked == 21  # 20 shards + the reject file

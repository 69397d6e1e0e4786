"""A real pipeline run's signed records verify with implementations that are not Kura's."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest

from tests.lineage.test_dsse import _all_envelopes_and_keys, _der_from_pem, _independent_pae

pytestmark = pytest.mark.slow


def test_every_envelope_of_a_pipeline_run_verifies_with_securesystemslib(onboarded,
                                                                        monkeypatch) -> None:
    from securesystemslib import dsse as sslib_dsse
    from securesystemslib.signer import _key as sslib_key

    monkeypatch.setattr(sslib_key, "CRYPTO_IMPORT_ERROR", "forced: its pure-Python Ed25519")
    envelopes, pems = _all_envelopes_and_keys(onboarded.store)
    shards = len(onboarded.result.summary.shards)
    assert len(envelopes) >= shards + 1 + 1  # residency per shard, provenance, checkpoint(s)
    for env in envelopes:
        keyid = env["signatures"][0]["keyid"]
        key = sslib_key.SSlibKey(keyid, "ed25519", "ed25519",
                                 {"public": _der_from_pem(pems[keyid])[-32:].hex()})
        assert keyid in sslib_dsse.Envelope.from_dict(json.loads(json.dumps(env))).verify([key], 1)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_every_log_line_of_a_pipeline_run_verifies_with_openssl(onboarded, tmp_path) -> None:
    envelopes, pems = _all_envelopes_and_keys(onboarded.store)
    for n, env in enumerate(envelopes):
        sig = env["signatures"][0]
        files = {ext: tmp_path / f"{n}.{ext}" for ext in ("pem", "pae", "sig")}
        files["pem"].write_text(pems[sig["keyid"]])
        files["pae"].write_bytes(
            _independent_pae(env["payloadType"], base64.b64decode(env["payload"])))
        files["sig"].write_bytes(base64.b64decode(sig["sig"]))
        done = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(files["pem"]), "-rawin",
             "-in", str(files["pae"]), "-sigfile", str(files["sig"])],
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def test_each_shard_attestation_names_its_digest_and_a_japanese_site(onboarded) -> None:
    envelopes, _ = _all_envelopes_and_keys(onboarded.store)
    statements = [json.loads(base64.b64decode(e["payload"])) for e in envelopes
                  if e["payloadType"] == "application/vnd.in-toto+json"]
    subjects = {s["name"]: s["digest"]["sha256"] for st in statements
                for s in st.get("subject", []) if s["name"].startswith("shards/")}
    for shard in onboarded.result.summary.shards:
        assert subjects[shard.path] == shard.sha256
    sites = [st["predicate"]["site"] for st in statements if "site" in st.get("predicate", {})]
    assert sites and all(site["country"] == "JP" for site in sites)


def test_a_shard_attestation_names_exactly_the_inputs_of_its_documents(onboarded) -> None:
    import pyarrow.parquet as pq

    envelopes, _ = _all_envelopes_and_keys(onboarded.store)
    statements = [json.loads(base64.b64decode(e["payload"])) for e in envelopes
                  if e["payloadType"] == "application/vnd.in-toto+json"]
    from schemas.predicates import RESIDENCY_PREDICATE

    by_shard = {st["subject"][0]["name"]: st["predicate"] for st in statements
                if st["predicateType"] == RESIDENCY_PREDICATE}
    for shard in onboarded.result.summary.shards:
        rows = pq.read_table(onboarded.store / shard.path, columns=["source_sha256"])
        attested = {item["sha256"].removeprefix("sha256:")
                    for item in by_shard[shard.path]["inputs"]}
        assert attested == set(rows.column("source_sha256").to_pylist())

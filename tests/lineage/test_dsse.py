"""DSSE envelopes: the spec's PAE vector, strict encoding, and every envelope of a real recorded
run verified by implementations that are not Kura's (OpenSSL, securesystemslib's pure-Python
Ed25519, Node's crypto), each reading the files on disk and building the PAE itself."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.dsse import Envelope, EnvelopeError, pae, sign, signature_valid
from lineage.record import record_run
from lineage.signing import SigningKey
from tests.lineage.conftest import write_run


def test_pae_matches_dsse_spec_vector():
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters():
    assert pae("t", "文書".encode()) == b"DSSEv1 1 t 6 " + "文書".encode()


@given(st.text(max_size=30), st.binary(max_size=64))
def test_signed_envelopes_round_trip_and_verify(payload_type, payload):
    key = SigningKey.generate()
    envelope = sign(payload_type, payload, key)
    again = Envelope.from_json(envelope.to_json_line())
    assert again == envelope
    assert signature_valid(again, again.signatures[0], key.public_key)


def test_altered_payload_fails_verification():
    key = SigningKey.generate()
    envelope = sign("application/vnd.in-toto+json", b'{"a":1}', key)
    forged = Envelope(envelope.payload_type, b'{"a":2}', envelope.signatures)
    assert not signature_valid(forged, forged.signatures[0], key.public_key)


def test_unpadded_or_urlsafe_base64_is_refused():
    key = SigningKey.generate()
    data = sign("t", b"\xfb\xff payload", key).to_dict()
    data["payload"] = data["payload"].rstrip("=").replace("+", "-").replace("/", "_")
    with pytest.raises(EnvelopeError):
        Envelope.from_dict(data)


def test_signing_keys_refuse_to_pickle():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(SigningKey.generate())


# --- independent verifiers over a real store -------------------------------------------------

def _independent_pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 " + str(len(t)).encode() + b" " + t + b" " + str(len(payload)).encode() + \
        b" " + payload


def _der_from_pem(pem: str) -> bytes:
    body = "".join(line for line in pem.splitlines() if "-----" not in line)
    return base64.b64decode(body)


@pytest.fixture
def recorded_store(store: Path) -> Path:
    summary = write_run(store, shards=3)
    record_run(store, summary)
    return store


def _all_envelopes_and_keys(store: Path) -> tuple[list[dict], dict[str, str]]:
    """Every envelope on disk (log lines, checkpoints, policy) and the policy's keys by id.

    Reads the raw JSON with the standard library only: no Kura code."""
    policy_env = json.loads((store / "keys" / "policy.json").read_text())
    policy = json.loads(base64.b64decode(policy_env["payload"]))
    pems = {}
    for entry in policy["rootKeys"] + [k for s in policy["sites"] for k in s["keys"]] + [
        k for c in policy["certifiers"] for k in c["keys"]
    ]:
        pems[entry["keyid"]] = entry["publicKey"]
    envelopes = [json.loads(line) for line in (store / "lineage" / "log.jsonl").read_text()
                 .splitlines()]
    envelopes += [json.loads(p.read_text()) for p in (store / "lineage" / "checkpoints").iterdir()]
    envelopes.append(policy_env)
    return envelopes, pems


def test_key_ids_are_sha256_of_der_public_keys(recorded_store):
    _, pems = _all_envelopes_and_keys(recorded_store)
    for keyid, pem in pems.items():
        assert keyid == "sha256:" + hashlib.sha256(_der_from_pem(pem)).hexdigest()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_every_envelope_verifies_with_openssl(recorded_store, tmp_path):
    envelopes, pems = _all_envelopes_and_keys(recorded_store)
    # policy v1 (in the log and in keys/), 3 residency, 1 provenance, 2 checkpoints
    assert len(envelopes) == 1 + 3 + 1 + 2 + 1
    for n, env in enumerate(envelopes):
        sig = env["signatures"][0]
        pub, pae_file, sig_file = (tmp_path / f"{n}.{ext}" for ext in ("pem", "pae", "sig"))
        pub.write_text(pems[sig["keyid"]])
        pae_file.write_bytes(_independent_pae(env["payloadType"], base64.b64decode(env["payload"])))
        sig_file.write_bytes(base64.b64decode(sig["sig"]))
        cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin",
               "-in", str(pae_file), "-sigfile", str(sig_file)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        # and a flipped payload byte must fail
        bad = bytearray(pae_file.read_bytes())
        bad[-1] ^= 1
        pae_file.write_bytes(bytes(bad))
        assert subprocess.run(cmd, capture_output=True).returncode != 0


def test_every_envelope_verifies_with_securesystemslib_pure_python(recorded_store, monkeypatch):
    from securesystemslib import dsse as sslib_dsse
    from securesystemslib.signer import _key as sslib_key

    # Force securesystemslib's own pure-Python Ed25519 (as in a venv without `cryptography`).
    monkeypatch.setattr(sslib_key, "CRYPTO_IMPORT_ERROR", "forced for an independent check")
    envelopes, pems = _all_envelopes_and_keys(recorded_store)
    for env in envelopes:
        keyid = env["signatures"][0]["keyid"]
        raw = _der_from_pem(pems[keyid])[-32:]  # Ed25519 SPKI ends with the 32-byte key
        key = sslib_key.SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})
        verified = sslib_dsse.Envelope.from_dict(json.loads(json.dumps(env))).verify([key], 1)
        assert keyid in verified


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_every_envelope_verifies_with_node_crypto(recorded_store, tmp_path):
    envelopes, pems = _all_envelopes_and_keys(recorded_store)
    (tmp_path / "in.json").write_text(json.dumps({"envelopes": envelopes, "pems": pems}))
    script = r"""
const crypto = require('crypto'); const fs = require('fs');
const {envelopes, pems} = JSON.parse(fs.readFileSync(process.argv[2]));
let ok = 0;
for (const env of envelopes) {
  const payload = Buffer.from(env.payload, 'base64');
  const type = Buffer.from(env.payloadType, 'utf8');
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type,
                             Buffer.from(` ${payload.length} `), payload]);
  const sig = env.signatures[0];
  if (!crypto.verify(null, pae, pems[sig.keyid], Buffer.from(sig.sig, 'base64'))) process.exit(3);
  ok++;
}
console.log(ok);
"""
    (tmp_path / "verify.js").write_text(script)
    done = subprocess.run(["node", str(tmp_path / "verify.js"), str(tmp_path / "in.json")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(envelopes)

"""`kura audit prove`: the JSON proof checked by a verifier written here from RFC 9162 section
2.1.3.2 (not lineage.merkle) and the checkpoint signature by OpenSSL (not Kura's code)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.record import record_run
from pipelines.cli_audit import audit_app
from tests.lineage.conftest import write_run

app = typer.Typer()
app.add_typer(audit_app, name="audit")
runner = CliRunner()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def rfc9162_root_from_inclusion(index: int, size: int, leaf: bytes,
                                path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2, step by step; None where the RFC says to fail."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _sha256(b"\x01" + p + r)
            if fn % 2 == 0:  # right-shift until LSB(fn) is set or fn is 0
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def openssl_ed25519_verifies(public_pem: str, message: bytes, signature: bytes,
                             folder: Path) -> bool:
    (folder / "pub.pem").write_text(public_pem)
    (folder / "msg.bin").write_bytes(message)
    (folder / "sig.bin").write_bytes(signature)
    done = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(folder / "pub.pem"), "-rawin",
         "-in", str(folder / "msg.bin"), "-sigfile", str(folder / "sig.bin")],
        capture_output=True, check=False)
    return done.returncode == 0


def independently_verified(proof: dict, folder: Path) -> bool:
    """Everything the documented JSON form asks a verifier to check, without Kura."""
    entry = proof["entry"].encode("utf-8")
    leaf = _sha256(b"\x00" + entry)
    if leaf.hex() != proof["leafHash"] or hashlib.sha256(entry).hexdigest() != proof[
            "entrySha256"]:
        return False
    root = rfc9162_root_from_inclusion(proof["logIndex"], proof["treeSize"], leaf,
                                       [bytes.fromhex(h) for h in proof["hashes"]])
    if root is None or root.hex() != proof["rootHash"]:
        return False
    envelope = proof["checkpoint"]["envelope"]
    payload = base64.b64decode(envelope["payload"], validate=True)
    body = json.loads(payload)
    if (body["treeSize"], body["rootHash"]) != (proof["treeSize"], proof["rootHash"]):
        return False
    kind = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    signature = next(s for s in envelope["signatures"]
                     if s["keyid"] == proof["checkpoint"]["keyid"])
    return openssl_ed25519_verifies(proof["checkpoint"]["publicKey"], pae,
                                    base64.b64decode(signature["sig"]), folder)


@pytest.fixture
def logged(store: Path) -> Path:
    """Policy v1, then two runs (3 shards + provenance, 2 shards + provenance): 8 records."""
    record_run(store, write_run(store, run_id="run-1", shards=3))
    record_run(store, write_run(store, run_id="run-2", shards=2))
    return store


def _prove(store: Path, *args: str):
    return runner.invoke(app, ["audit", "prove", *args, "--store", str(store)],
                         env={"COLUMNS": "200"})


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


@needs_openssl
@pytest.mark.parametrize("index", [0, 4, 7])  # first, middle, last
def test_proof_json_checks_out_with_an_independent_verifier(logged, pinned_root, tmp_path,
                                                            index):
    done = _prove(logged, "--index", str(index), "--trust-root", str(pinned_root), "--json")
    assert done.exit_code == 0, done.output
    proof = json.loads(done.stdout)
    assert proof["logIndex"] == index and proof["treeSize"] == 8
    assert proof["entry"].encode() == TransparencyLog(logged).read().lines[index]
    assert proof["checkpoint"]["keyid"] == load_site_context(logged).site_key.keyid
    assert proof["checkpoint"]["file"].startswith("lineage/checkpoints/")
    assert proof["trustAnchor"]["pinned"] is True
    assert independently_verified(proof, tmp_path)


@needs_openssl
def test_a_tampered_proof_is_rejected_by_the_independent_verifier(logged, tmp_path):
    proof = json.loads(_prove(logged, "--index", "4", "--json").stdout)
    assert independently_verified(proof, tmp_path)
    flipped_hash = copy.deepcopy(proof)
    first = flipped_hash["hashes"][0]
    flipped_hash["hashes"][0] = ("0" if first[0] != "0" else "1") + first[1:]
    other_index = {**copy.deepcopy(proof), "logIndex": 5}
    other_entry = {**copy.deepcopy(proof),
                   "entry": TransparencyLog(logged).read().lines[5].decode()}
    forged_root = copy.deepcopy(proof)
    body = json.loads(base64.b64decode(forged_root["checkpoint"]["envelope"]["payload"]))
    body["rootHash"] = "00" * 32
    forged_root["rootHash"] = "00" * 32
    forged_root["checkpoint"]["envelope"]["payload"] = base64.b64encode(
        json.dumps(body).encode()).decode()
    for bad in (flipped_hash, other_index, other_entry, forged_root):
        assert not independently_verified(bad, tmp_path)


def test_text_form_names_the_record_and_the_checkpoint(logged):
    done = _prove(logged, "--index", "1")
    assert done.exit_code == 0, done.output
    assert "log index 1 (residency of shards/acme-news/run-1-part-00000.parquet) in the tree " \
        "of size 8" in done.stdout
    assert "signed by site jp-local-1" in done.stdout
    assert "the store's own, NOT pinned" in done.stdout
    assert "inclusion proof verified" in done.stdout


def test_out_of_range_index_is_one_line_and_exit_2(logged):
    for index in ("8", "-1"):
        done = _prove(logged, "--index", index)
        assert done.exit_code == 2
        assert done.output.strip() == f"kura: --index {index}: the log holds log indexes 0..7"


def test_a_record_no_checkpoint_covers_yet_says_so(logged):
    line = TransparencyLog(logged).read().lines[1].decode()
    TransparencyLog(logged).append([line], None, "kura:test")  # appended, never checkpointed
    done = _prove(logged, "--index", "8", "--json")
    assert done.exit_code == 1
    assert "log index 8 is not yet covered by a signed checkpoint" in done.output
    assert "covers log indexes 0..7" in done.output
    assert _prove(logged, "--index", "7").exit_code == 0  # the covered ones still prove


def test_a_log_that_no_longer_matches_its_checkpoint_gives_no_proof(logged):
    path = TransparencyLog(logged).path
    lines = path.read_bytes().split(b"\n")
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"\n".join(lines))
    done = _prove(logged, "--index", "0")
    assert done.exit_code == 1
    assert "do not hash to the root" in done.output

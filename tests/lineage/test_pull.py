"""`pull_release`: verified shards land at DEST all at once, or nothing does."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml

from lineage.certify import (
    CertificationFacts,
    certification_statement,
    create_release,
    latest_residency,
)
from lineage.dsse import Envelope, canonical_json, sign, signature_valid
from lineage.keys import load_site_context
from lineage.log import TransparencyLog
from lineage.pull import pull_release
from lineage.release import (
    ReleaseError,
    ReleaseFile,
    ReleaseShard,
    ReleaseVerificationError,
    find_pulled_release_file,
    write_release_file,
)
from lineage.signing import load_public_key_pem
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE
from schemas.records import DOCUMENT_SCHEMA
from tests.lineage.test_release_support import (
    flip_byte,
    forge_release,
    record_document_run,
    record_validated_run,
)

pytestmark = pytest.mark.usefixtures("pin_env")


@pytest.fixture
def released(store: Path) -> Path:
    record_validated_run(store, run_id="run-1", shards=2, corpus="acme-news")
    record_validated_run(store, run_id="run-2", shards=1, corpus="beta-mail")
    create_release(store, "r1")
    return store


def _beside(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.iterdir())


def test_pull_copies_verified_shards_and_writes_release_json(released, tmp_path):
    dest = tmp_path / "out" / "r1"
    pulled = pull_release(released, "r1", dest)
    assert sorted(s.path for s in pulled.shards) == [
        "acme-news/run-1-part-00000.parquet", "acme-news/run-1-part-00001.parquet",
        "beta-mail/run-2-part-00000.parquet"]
    index = json.loads((dest / "__kura" / "release.json").read_text())
    assert index["release"] == "r1"
    for shard in index["shards"]:
        copy = dest / shard["path"]
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == shard["sha256"]
        assert (released / shard["name"]).read_bytes() == copy.read_bytes()
        assert pq.read_table(copy).num_rows == shard["rows"]
    # the signed record travels with the shards and verifies under the certifier's key
    envelope = Envelope.from_dict(index["certification"])
    certifier = load_site_context(released).certifier_key
    assert signature_valid(envelope, envelope.signatures[0],
                           load_public_key_pem(certifier.public_pem))
    assert envelope.digest == index["envelopeDigest"]
    assert _beside(dest) == ["r1"]  # no staging folder left behind
    assert pulled.data_files == [str(dest / s.path) for s in pulled.shards]


def test_a_shard_flipped_after_release_makes_pull_refuse_and_leaves_nothing(released, tmp_path):
    flip_byte(released / "shards" / "beta-mail" / "run-2-part-00000.parquet")
    dest = tmp_path / "out" / "r1"
    with pytest.raises(ReleaseVerificationError,
                       match=r"^shards/beta-mail/run-2-part-00000\.parquet: sha256 [0-9a-f]{16}… "
                             r"differs from [0-9a-f]{16}… certified by release r1 "
                             r"\(log index 6\)$"):
        pull_release(released, "r1", dest)
    assert not dest.exists()
    assert _beside(dest) == []


def test_pull_into_an_empty_directory_works_and_a_full_one_is_refused(released, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    pull_release(released, "r1", empty)
    assert (empty / "__kura" / "release.json").is_file()
    with pytest.raises(ReleaseError, match="exists and is not empty"):
        pull_release(released, "r1", empty)


def test_a_release_signed_by_a_site_key_is_not_pulled(store, tmp_path):
    summary = record_validated_run(store, shards=2)
    forge_release(store, "forged", load_site_context(store).site_key, summary)
    dest = tmp_path / "forged"
    with pytest.raises(ReleaseVerificationError, match="which may not sign certifications"):
        pull_release(store, "forged", dest)
    assert not dest.exists()


def test_a_rewritten_log_fails_the_inclusion_proof(released, tmp_path):
    log_path = released / "lineage" / "log.jsonl"
    lines = log_path.read_bytes().split(b"\n")
    lines[1], lines[2] = lines[2], lines[1]  # every line still signed, the tree is not the same
    log_path.write_bytes(b"\n".join(lines))
    with pytest.raises(ReleaseVerificationError, match=r"release r1 \(log index 6\): the store "
                       r"does not verify against the pinned root .*: log\.checkpoint: \d+\.json: "
                       r"the Merkle root of the first 7 lines .* the log was altered"):
        pull_release(released, "r1", tmp_path / "r1")
    assert not (tmp_path / "r1").exists()


def test_pulled_directory_loads_with_hf_datasets(released, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    pulled = pull_release(released, "r1", tmp_path / "r1")
    loaded = datasets.load_dataset("parquet", data_files=pulled.data_files, split="train",
                                   cache_dir=str(tmp_path / "hf-cache"))
    assert loaded.num_rows == sum(s.rows for s in pulled.shards) == 12
    assert set(loaded.column_names) == {"doc_id", "text"}
    assert sorted(loaded["doc_id"])[0] == "run-1-0-0"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_pulled_certification_verifies_with_openssl(released, tmp_path):
    """A trainer can check the pulled record with no Kura code: the certifier's public key from
    the policy, the DSSE PAE built by hand, and openssl."""
    pull_release(released, "r1", tmp_path / "r1")
    record = json.loads((tmp_path / "r1" / "__kura" / "release.json").read_text())[
        "certification"]
    policy = json.loads(base64.b64decode(
        json.loads((released / "keys" / "policy.json").read_text())["payload"]))
    certifier_keys = {k["keyid"]: k["publicKey"] for c in policy["certifiers"] for k in c["keys"]}
    signature = record["signatures"][0]
    payload = base64.b64decode(record["payload"])
    kind = record["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    pub, pae_file, sig_file = (tmp_path / name for name in ("c.pem", "pae.bin", "sig.bin"))
    pub.write_text(certifier_keys[signature["keyid"]])
    pae_file.write_bytes(pae)
    sig_file.write_bytes(base64.b64decode(signature["sig"]))
    done = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub),
                           "-rawin", "-in", str(pae_file), "-sigfile", str(sig_file)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(payload)["predicateType"] == "https://slsa.dev/verification_summary/v1"


def test_a_pulled_folder_holds_only_shards_where_readers_look(store, tmp_path):
    record_document_run(store, "acme-manuals", shards=2, rows=3, license="Apache-2.0")
    create_release(store, "r1")
    dest = tmp_path / "r1"
    pulled = pull_release(store, "r1", dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "__kura/README.md", "__kura/release.json",
        "acme-manuals/run-d-part-00000.parquet", "acme-manuals/run-d-part-00001.parquet"]
    assert pulled.release_file == dest / "__kura" / "release.json"
    assert find_pulled_release_file(dest) == pulled.release_file
    table = ds.dataset(dest).to_table()  # refuses any non-Parquet file outside _/. names
    assert table.num_rows == 6 and table.schema.names == DOCUMENT_SCHEMA.names
    index = json.loads(pulled.release_file.read_text())
    assert index["format"] == "2" and index["corpusFacts"] == [
        {"corpusId": "acme-manuals", "member": "acme", "license": "Apache-2.0",
         "sensitivity": "confidential", "factsFrom": "shard-metadata"}]
    meta = yaml.safe_load(pulled.card.read_text().split("---\n")[1])
    assert meta["license"] == "apache-2.0" and meta["language"] == ["ja"]
    assert meta["kura"]["logIndex"] == index["logIndex"]


def test_a_folder_pulled_in_the_old_layout_is_still_found(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "release.json").write_text("{}")
    assert find_pulled_release_file(tmp_path / "old") == tmp_path / "old" / "release.json"
    assert find_pulled_release_file(tmp_path) is None


def test_a_release_certified_before_corpus_facts_gets_them_from_the_store(store, tmp_path):
    """An older certification names no corpus facts: the pull still writes a card, reading the
    verified copies' metadata or the store's manifest, and says the facts were read then."""
    summary = record_document_run(store, "legacy-news", v1=True, license="cc-by-sa-4.0",
                                  sensitivity="internal")
    context = load_site_context(store)
    lines = TransparencyLog(store).read().lines
    attested = latest_residency(lines)
    shards = [attested[s.path] for s in summary.shards]
    facts = CertificationFacts(context.certifier_id, "0.1.0", context.policy.version,
                               context.signed_policy.digest, "2030-01-01T00:00:00.000000Z")
    statement = certification_statement("old", shards, facts)  # no corpus facts
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.certifier_key)
    TransparencyLog(store).append([envelope.to_json_line()], context.site_key, context.log_origin)
    write_release_file(store, ReleaseFile(
        release="old", created_at=facts.time_verified, certifier_id=context.certifier_id,
        corpora=["legacy-news"], log_index=len(lines), envelope_digest=envelope.digest,
        shards=[ReleaseShard(name=s.name, sha256=s.sha256, rows=s.rows, bytes=s.bytes)
                for s in shards]))
    pulled = pull_release(store, "old", tmp_path / "old")
    assert pulled.v1_shards == 1
    [fact] = pulled.corpus_facts
    assert (fact.license, fact.sensitivity, fact.facts_from) == (
        "cc-by-sa-4.0", "internal", "store-manifest")
    assert json.loads(pulled.release_file.read_text())["corpusFacts"] == []  # signed facts only
    card = pulled.card.read_text()
    assert "certified before Kura recorded each corpus's license" in card
    assert "1 shard(s) were written with shard schema version 1" in card
    assert yaml.safe_load(card.split("---\n")[1])["license"] == "cc-by-sa-4.0"

"""`create_release` and `verify_release`: which shards are certified, what the record says, and
what makes a release fail verification."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lineage.certify import (
    CertificationFacts,
    CertifyError,
    RestrictedNotAllowed,
    StoreNotVerified,
    certification_statement,
    create_release,
    latest_residency,
)
from lineage.dsse import canonical_json, sign
from lineage.keys import load_site_context, rotate_key
from lineage.log import TransparencyLog
from lineage.record import RecordError, record_run
from lineage.release import (
    ReleaseError,
    ReleaseFile,
    ReleaseShard,
    ReleaseVerificationError,
    list_releases,
    read_release,
    verify_release,
    write_release_file,
)
from lineage.verify import verify_store
from schemas.expectations import ShardBounds
from schemas.predicates import (
    IN_TOTO_PAYLOAD_TYPE,
    JP_RESIDENCY_LEVEL,
    SHARD_SUITE_LEVEL,
    STATEMENT_TYPE,
    VSA_PREDICATE,
    CertifiedCorpus,
    VsaPredicate,
)
from schemas.run import Counts
from tests.lineage.conftest import write_run, write_stored_file
from tests.lineage.test_release_support import (
    document_shard,
    flip_byte,
    forge_release,
    quarantine,
    record_document_run,
    record_validated_run,
    store_manifest,
)
from transforms.validate import ShardValidator

pytestmark = pytest.mark.usefixtures("pin_env")


def _statement_at(store: Path, index: int) -> dict:
    line = (store / "lineage" / "log.jsonl").read_text().splitlines()[index]
    return json.loads(base64.b64decode(json.loads(line)["payload"]))


def test_release_certifies_passed_shards_with_a_signed_vsa(store):
    summary = record_validated_run(store, shards=3)
    created = create_release(store, "2026-q1")
    release = created.release
    assert [s.name for s in release.shards] == [s.path for s in summary.shards]
    assert [s.sha256 for s in release.shards] == [s.sha256 for s in summary.shards]
    assert release.corpora == ["acme-news"] and created.left_out == ()

    statement = _statement_at(store, release.log_index)
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == VSA_PREDICATE
    assert [(s["name"], s["digest"]["sha256"]) for s in statement["subject"]] == [
        (s.path, s.sha256) for s in summary.shards]
    predicate = VsaPredicate.model_validate(statement["predicate"])
    context = load_site_context(store)
    assert predicate.verification_result == "PASSED"
    assert predicate.verified_levels == [JP_RESIDENCY_LEVEL, SHARD_SUITE_LEVEL]
    assert predicate.resource_uri == "kura:release/2026-q1"
    assert predicate.verifier.id == f"https://kura.dev/certifiers/{context.certifier_id}"
    assert predicate.policy.digest == {
        "sha256": context.signed_policy.digest.removeprefix("sha256:")}
    assert [a.uri for a in predicate.input_attestations] == ["kura:log/1", "kura:log/2",
                                                             "kura:log/3"]
    envelope = json.loads((store / "lineage" / "log.jsonl").read_text().splitlines()[-1])
    assert envelope["signatures"][0]["keyid"] == context.certifier_key.keyid
    # the log grew by one line, covered by a new checkpoint, and the whole store still verifies
    assert TransparencyLog(store).checkpoints()[-1].checkpoint.tree_size == release.log_index + 1
    report = verify_store(store)
    assert report.ok, report.failures()
    assert report.check("record.policy_digest").checked == 5  # 3 residency, provenance, VSA

    verified = verify_release(store, "2026-q1")
    assert verified.signer_keyid == context.certifier_key.keyid
    assert [s.name for s in verified.shards] == [s.path for s in summary.shards]
    assert [r.release for r in list_releases(store)] == ["2026-q1"]
    assert read_release(store, "2026-q1") == release


def test_shard_failing_its_real_suite_is_quarantined_and_left_out(store):
    """A planted residual phone number fails the great-expectations suite: the shard goes to
    quarantine/, is attested as failed, and the release holds only the clean shard."""
    validator = ShardValidator(ShardBounds())
    corpus = "acme-contracts"
    tables = {
        f"shards/{corpus}/run-v-part-00000.parquet": document_shard(corpus, 6),
        f"shards/{corpus}/run-v-part-00001.parquet": document_shard(
            corpus, 6, planted_text="担当の携帯は090-1234-5678です。よろしくお願いします。"),
    }
    stored, digests, verdicts = [], {}, {}
    for rel, table in tables.items():
        shard = write_stored_file(store, rel, table)
        result = validator(table)
        if not result.passed:
            assert [f.column for f in result.failures] == ["check__residual_phone"]
            shard = quarantine(store, shard, corpus)
        stored.append(shard)
        digests[shard.path] = result.result_digest
        verdicts[shard.path] = result.passed
    assert list(verdicts.values()) == [True, False]
    summary = write_run(store, run_id="run-v", shards=0, corpus=corpus).model_copy(update={
        "shards": stored, "counts": Counts(read=15, written=12, rejected={"quality.length": 1},
                                           duplicates={"exact": 2})})
    record_run(store, summary, digests, verdicts)

    residency = [latest_residency(TransparencyLog(store).read().lines)[s.path] for s in stored]
    assert [(r.validation_digest, r.validation_passed) for r in residency] == [
        (digests[s.path], verdicts[s.path]) for s in stored]
    created = create_release(store, "contracts-1")
    assert [s.name for s in created.release.shards] == [stored[0].path]
    assert all("quarantine" not in s.name for s in created.release.shards)


def test_failed_and_unvalidated_shards_are_left_out_with_the_reason(store):
    summary = record_validated_run(store, shards=4, failing={1}, unvalidated={2})
    stray = store / "shards" / "acme-news" / "stray.parquet"
    stray.write_bytes((store / summary.shards[0].path).read_bytes())
    created = create_release(store, "r1")
    assert [s.name for s in created.release.shards] == [summary.shards[0].path,
                                                        summary.shards[3].path]
    reasons = dict(created.left_out)
    assert reasons[summary.shards[2].path].endswith("records no validation verdict")
    assert reasons["shards/acme-news/stray.parquet"] == "no residency attestation in the log"
    assert summary.shards[1].path.startswith("quarantine/")  # never a candidate


def test_corpus_option_selects_corpora(store):
    record_validated_run(store, run_id="run-a", shards=2, corpus="acme-news")
    record_validated_run(store, run_id="run-b", shards=1, corpus="beta-mail")
    only_b = create_release(store, "beta", ["beta-mail"]).release
    assert only_b.corpora == ["beta-mail"]
    assert [s.name for s in only_b.shards] == ["shards/beta-mail/run-b-part-00000.parquet"]
    both = create_release(store, "all").release
    assert both.corpora == ["acme-news", "beta-mail"] and len(both.shards) == 3
    with pytest.raises(CertifyError, match="--corpus gamma: no shards of that corpus"):
        create_release(store, "gamma", ["gamma"])


def test_release_names_are_unique_and_plain(store):
    record_validated_run(store)
    create_release(store, "r1")
    with pytest.raises(CertifyError, match="release r1 exists"):
        create_release(store, "r1")
    for bad in ("R1", "../x", ".hidden", "a b", ""):
        with pytest.raises(CertifyError, match="release name"):
            create_release(store, bad)
    written = (store / "releases" / "r1.json").read_bytes()
    (store / "releases" / "r1.json").unlink()  # its record stays in the log
    completed = create_release(store, "r1")  # as after a crash before the file was written
    assert completed.completed and completed.release.log_index == 5
    assert json.loads((store / "releases" / "r1.json").read_bytes())["shards"] == json.loads(
        written)["shards"]


def test_a_release_without_certified_shards_is_an_error(store):
    record_validated_run(store, shards=2, failing={0, 1})
    with pytest.raises(CertifyError, match=r"nothing to release: corpus acme-news: every shard "
                                           r"of its latest run \(log index 3\) failed its suite "
                                           r"and is in quarantine: quarantine/acme-news/\S+ "
                                           r"\(\+1 more\)"):
        create_release(store, "empty")
    assert not (store / "releases").exists()


def test_a_store_that_does_not_verify_certifies_nothing(store):
    summary = record_validated_run(store, shards=2)
    size = len(TransparencyLog(store).read().lines)
    flip_byte(store / summary.shards[1].path)
    with pytest.raises(StoreNotVerified, match=r"subject\.digest: shards/acme-news/"
                       r"run-1-part-00001\.parquet: sha256 on disk"):
        create_release(store, "r1")
    assert len(TransparencyLog(store).read().lines) == size


def test_record_signed_by_a_site_key_is_refused(store):
    summary = record_validated_run(store, shards=2)
    site_key = load_site_context(store).site_key
    forge_release(store, "forged", site_key, summary)
    with pytest.raises(ReleaseVerificationError, match=r"release forged \(log index 4\): signed "
                       r"by site jp-local-1's site key sha256:[0-9a-f]+, which may not sign "
                       r"certifications"):
        verify_release(store, "forged")
    role = verify_store(store).check("record.role")
    assert len(role.failures) == 1 and "site key" in role.failures[0]


def test_unsigned_index_fields_are_never_taken_as_facts(store):
    """Item 5: rows, dates, corpora and the shard list of releases/<name>.json are unsigned;
    what verify_release returns comes from the signed records whatever the index says."""
    summary = record_validated_run(store, shards=2)
    release = create_release(store, "r1").release
    index_path = store / "releases" / "r1.json"
    index = json.loads(index_path.read_text())
    index["shards"] = [{**index["shards"][0], "rows": 999_999, "bytes": 1}]
    index.update(createdAt="1999-01-01T00:00:00Z", corpora=["someone-else"],
                 certifierId="certifier@elsewhere")
    index_path.write_text(json.dumps(index))
    verified = verify_release(store, "r1")
    assert [(s.name, s.rows, s.bytes) for s in verified.shards] == [
        (s.path, s.rows, s.bytes) for s in summary.shards]
    assert verified.time_verified == release.created_at
    assert verified.corpora == ["acme-news"] and verified.certifier_id == "certifier@jp-local-1"


def test_record_edited_in_the_log_is_refused(store):
    record_validated_run(store, shards=2)
    create_release(store, "r1")
    log_path = store / "lineage" / "log.jsonl"
    lines = log_path.read_text().splitlines()
    envelope = json.loads(lines[-1])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"] = statement["subject"][:1]
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    lines[-1] = json.dumps(envelope, sort_keys=True, separators=(",", ":"))
    log_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReleaseVerificationError, match=r"envelope digest .* is not the"):
        verify_release(store, "r1")


def test_record_outside_the_latest_checkpoint_is_refused(store):
    record_validated_run(store, shards=1)
    create_release(store, "r1")
    latest = TransparencyLog(store).checkpoint_paths()[-1]
    latest.unlink()  # the latest checkpoint now predates the record
    with pytest.raises(ReleaseVerificationError, match=r"the store does not verify against the "
                       r"pinned root .* log indexes 3\.\.3 are covered by no checkpoint"):
        verify_release(store, "r1")


def test_release_still_verifies_after_its_certifier_key_is_rotated(store, root_key):
    record_validated_run(store, shards=1)
    old = load_site_context(store).certifier_key.keyid
    create_release(store, "r1")
    rotate_key(store, "certifier", root_key=root_key)
    assert verify_release(store, "r1").signer_keyid == old
    record_validated_run(store, run_id="run-2", shards=1)
    assert verify_release(store, "r1").signer_keyid == old
    assert create_release(store, "r2").release.shards
    assert verify_release(store, "r2").signer_keyid != old


def test_unknown_release_is_a_user_error(store):
    with pytest.raises(ReleaseError, match="no release named 'nope'"):
        verify_release(store, "nope")


def test_record_run_refuses_a_verdict_without_its_result(store):
    summary = write_run(store, shards=1)
    with pytest.raises(RecordError, match="without its result digest"):
        record_run(store, summary, {}, {summary.shards[0].path: True})
    with pytest.raises(RecordError, match="not a shard of this run"):
        record_run(store, summary, {}, {"shards/x.parquet": True})


# --- each corpus's member, license and sensitivity ------------------------------------------------


def test_the_record_names_each_corpus_with_facts_from_its_signed_shards(store):
    record_document_run(store, "acme-manuals", shards=2, license="Apache-2.0",
                        sensitivity="confidential")
    store_manifest(store, "acme-manuals", license="edited-later", sensitivity="public")
    created = create_release(store, "r1")
    expected = [{"corpusId": "acme-manuals", "member": "acme", "license": "Apache-2.0",
                 "sensitivity": "confidential", "factsFrom": "shard-metadata"}]
    statement = _statement_at(store, created.release.log_index)
    assert statement["predicate"]["corpusFacts"] == expected  # the shards win over the manifest
    assert [f.to_json_dict() for f in created.release.corpus_facts] == expected
    assert [f.to_json_dict() for f in verify_release(store, "r1").corpus_facts] == expected
    assert created.notes == ()


def test_shards_without_facts_fall_back_to_the_store_manifest_and_say_so(store):
    record_document_run(store, "legacy-news", v1=True, license="cc-by-sa-4.0",
                        sensitivity="internal")
    created = create_release(store, "r1")
    [fact] = created.release.corpus_facts
    assert (fact.license, fact.sensitivity, fact.facts_from) == (
        "cc-by-sa-4.0", "internal", "store-manifest")
    assert created.notes == ("corpus legacy-news: license and sensitivity read from the store's "
                             "manifests/legacy-news.toml (unsigned): its shards predate shard "
                             "metadata",)


def test_a_corpus_whose_sensitivity_nobody_states_is_not_certified(store):
    record_document_run(store, "legacy-news", v1=True)
    (store / "manifests" / "legacy-news.toml").unlink()
    size = len(TransparencyLog(store).read().lines)
    with pytest.raises(CertifyError, match=r"^corpus legacy-news: its shards carry no license or "
                       r"sensitivity and .*legacy-news\.toml does not give them; re-onboard it; "
                       r"nothing was certified$"):
        create_release(store, "r1")
    assert len(TransparencyLog(store).read().lines) == size


def test_a_restricted_corpus_needs_its_explicit_flag(store):
    record_validated_run(store, shards=1)
    record_document_run(store, "acme-hr", sensitivity="restricted")
    size = len(TransparencyLog(store).read().lines)
    with pytest.raises(RestrictedNotAllowed, match=r"^corpus acme-hr is restricted: add "
                       r"--allow-restricted acme-hr to release it; nothing was certified$"):
        create_release(store, "r1")
    assert len(TransparencyLog(store).read().lines) == size
    assert not (store / "releases" / "r1.json").exists()
    with pytest.raises(CertifyError, match=r"^--allow-restricted acme-hrr: corpus acme-hrr is "
                       r"not in this release \(corpora: acme-hr, acme-news\)$"):
        create_release(store, "r1", allow_restricted=["acme-hrr"])
    assert create_release(store, "news", ["acme-news"]).release.shards  # not restricted: no flag

    created = create_release(store, "r1", allow_restricted=["acme-hr"])
    facts = {f.corpus_id: f for f in verify_release(store, "r1").corpus_facts}
    assert facts["acme-hr"].sensitivity == "restricted" and facts["acme-hr"].allow_restricted
    assert facts["acme-news"].allow_restricted is None
    record = _statement_at(store, created.release.log_index)["predicate"]["corpusFacts"]
    assert {f["corpusId"]: f.get("allowRestricted") for f in record} == {
        "acme-hr": True, "acme-news": None}


def test_a_record_of_restricted_data_not_released_explicitly_is_refused(store):
    """A certification naming a restricted corpus without the explicit flag is not one Kura
    makes: a reader refuses it even though the certifier's signature holds."""
    summary = record_document_run(store, "acme-hr", sensitivity="restricted")
    context = load_site_context(store)
    lines = TransparencyLog(store).read().lines
    attested = latest_residency(lines)
    shards = [attested[s.path] for s in summary.shards]
    facts = CertificationFacts(context.certifier_id, "0.1.0", context.policy.version,
                               context.signed_policy.digest, "2030-01-01T00:00:00.000000Z")
    corpus = CertifiedCorpus(corpus_id="acme-hr", member="acme", license="cc-by-4.0",
                             sensitivity="restricted", facts_from="shard-metadata")
    statement = certification_statement("quiet", shards, facts, [corpus])
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.certifier_key)
    TransparencyLog(store).append([envelope.to_json_line()], context.site_key, context.log_origin)
    write_release_file(store, ReleaseFile(
        release="quiet", created_at=facts.time_verified, certifier_id=context.certifier_id,
        corpora=["acme-hr"], log_index=len(lines), envelope_digest=envelope.digest,
        shards=[ReleaseShard(name=s.name, sha256=s.sha256, rows=s.rows, bytes=s.bytes)
                for s in shards]))
    with pytest.raises(ReleaseVerificationError, match=r"certifies restricted corpus acme-hr "
                       r"without recording that it was released explicitly"):
        verify_release(store, "quiet")


def test_every_restricted_corpus_is_named_in_the_one_line(store):
    record_document_run(store, "acme-hr", run_id="run-hr", sensitivity="restricted")
    record_document_run(store, "acme-legal", run_id="run-legal", sensitivity="restricted")
    with pytest.raises(RestrictedNotAllowed, match=r"^corpora acme-hr, acme-legal are restricted: "
                       r"add --allow-restricted acme-hr --allow-restricted acme-legal to release "
                       r"them; nothing was certified$"):
        create_release(store, "r1", allow_restricted=[])
    with pytest.raises(RestrictedNotAllowed, match=r"^corpus acme-legal is restricted"):
        create_release(store, "r1", allow_restricted=["acme-hr"])

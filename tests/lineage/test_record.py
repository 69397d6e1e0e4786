"""`record_run`: what it signs, and what it refuses to sign."""

from __future__ import annotations

import base64
import json

import pytest

from lineage.record import RecordError, record_run
from schemas.predicates import (
    PROVENANCE_PREDICATE,
    RESIDENCY_PREDICATE,
    STATEMENT_TYPE,
    ProvenancePredicate,
    ResidencyPredicate,
)
from schemas.run import InputFile
from tests.lineage.conftest import GCP_TOKYO, write_run


def _statements(store) -> list[dict]:
    """The statements of the log (line 1 is policy v1, which is not one)."""
    lines = (store / "lineage" / "log.jsonl").read_text().splitlines()
    found = [json.loads(base64.b64decode(json.loads(line)["payload"])) for line in lines]
    return [s for s in found if "predicateType" in s]


def test_one_residency_record_per_shard_and_one_provenance(store):
    summary = write_run(store, shards=3)
    digest = "sha256:" + "9" * 64
    recorded = record_run(store, summary, {summary.shards[2].path: digest})
    statements = _statements(store)
    assert [s["predicateType"] for s in statements] == [RESIDENCY_PREDICATE] * 3 + [
        PROVENANCE_PREDICATE
    ]
    assert all(s["_type"] == STATEMENT_TYPE for s in statements)
    for shard, statement, rec in zip(summary.shards, statements, recorded.shards, strict=False):
        (subject,) = statement["subject"]
        assert subject["name"] == shard.path == rec.path
        assert subject["digest"] == {"sha256": shard.sha256}
        assert subject["uri"].startswith("file://") and subject["uri"].endswith(shard.path)
        predicate = ResidencyPredicate.model_validate(statement["predicate"])
        assert predicate.site.site_id == "jp-local-1"
        assert predicate.run.run_id == summary.run_id
        assert predicate.counts.rows == shard.rows
        assert predicate.steps[0].name == "normalize"
        assert predicate.policy_digest.startswith("sha256:")
        locations = [predicate.output_location, *predicate.processing_locations,
                     *(i.location for i in predicate.inputs)]
        assert {loc.claim_source for loc in locations} == {"store", "policy", "manifest"}
    assert statements[2]["predicate"]["validationDigest"] == digest
    assert "validationDigest" not in statements[0]["predicate"]
    provenance = ProvenancePredicate.model_validate(statements[3]["predicate"])
    conservation = provenance.run_details.byproducts[0]
    assert conservation.name == "conservation"
    assert conservation.annotations == {"read": 15, "written": 12,
                                        "rejected": {"quality.length": 1},
                                        "duplicates": {"exact": 2}}
    assert {s["name"] for s in statements[3]["subject"]} == {
        *(s.path for s in summary.shards), summary.rejects[0].path
    }
    kura = provenance.build_definition.resolved_dependencies[-1]
    assert kura.name == "kura" and len(kura.digest["sha256"]) == 64


def test_a_shard_that_changed_since_the_run_is_not_signed(store):
    summary = write_run(store)
    (store / summary.shards[0].path).write_bytes(b"not the shard the run wrote")
    with pytest.raises(RecordError, match=r"part-00000\.parquet: sha256 on disk is .* refusing"):
        record_run(store, summary)
    assert _statements(store) == []  # the log holds policy v1 only


def test_a_validation_digest_for_a_foreign_shard_is_refused(store):
    with pytest.raises(RecordError, match="not a shard of this run"):
        record_run(store, write_run(store), {"shards/other.parquet": "sha256:00"})


def test_an_input_that_is_an_earlier_shard_points_at_its_attestation(store):
    first = write_run(store, run_id="run-1", shards=1)
    recorded = record_run(store, first)
    shard = first.shards[0]
    second = write_run(store, run_id="run-2", shards=1).model_copy(update={"inputs": [
        InputFile(uri=(store / shard.path).as_uri(), sha256=shard.sha256, bytes=shard.bytes,
                  encoding=None, records=first.counts.written + 3, status="ok",
                  location=GCP_TOKYO),
    ]})
    record_run(store, second)
    residency = _statements(store)[2]["predicate"]
    assert residency["run"]["runId"] == "run-2"
    assert residency["inputs"][0]["attestationDigest"] == recorded.shards[0].envelope_digest

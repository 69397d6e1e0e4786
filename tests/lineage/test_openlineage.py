"""`kura audit openlineage`: the verified log as OpenLineage events, checked against their
schemas, written as NDJSON or POSTed to a real HTTP server; a tampered store exports nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import typer
from openlineage.client.serde import Serde
from typer.testing import CliRunner

from lineage.certify import create_release
from lineage.openlineage import OpenLineageExportError, dataset_identity, export_events
from lineage.openlineage_emit import event_json
from lineage.openlineage_facets import KURA_FACETS_SCHEMA_ID
from lineage.openlineage_schema import SCHEMA_DIR, check_events
from lineage.record import record_run
from pipelines.cli_openlineage import audit_openlineage
from schemas.run import Counts
from tests.lineage.conftest import write_run

OPENLINEAGE_SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


def _app() -> typer.Typer:
    """A throw-away app with the command mounted as `kura audit openlineage` mounts it."""
    app = typer.Typer()

    @app.callback()
    def _group() -> None:
        """audit"""

    app.command("openlineage")(audit_openlineage)
    return app


def _run(*args: str) -> object:
    return CliRunner().invoke(_app(), ["openlineage", *args])


def _verdicts(summary, passed: bool) -> dict:
    paths = [s.path for s in summary.shards]
    return {"validation_digests": {p: "0" * 64 for p in paths},
            "validation_passed": {p: passed for p in paths}}


@pytest.fixture
def runs(store: Path, pinned_root: Path) -> Path:
    """run-1 certified (and released as r1), run-2 whose every shard failed its suite, run-3
    that only met duplicates of what the store held."""
    first = write_run(store, run_id="run-1", shards=2)
    record_run(store, first, **_verdicts(first, True))
    second = write_run(store, run_id="run-2", shards=1, corpus="acme-mail")
    record_run(store, second, **_verdicts(second, False))
    third = write_run(store, run_id="run-3", shards=0, corpus="acme-wiki")
    record_run(store, third.model_copy(update={"counts": Counts(read=3, written=0,
                                                                duplicates={"near": 3})}))
    # Shards of write_run carry no license in their footer: the store's manifest copy gives it.
    (store / "manifests").mkdir(exist_ok=True)
    (store / "manifests" / "acme-news.toml").write_text(
        '[corpus]\nid = "acme-news"\nmember = "acme"\nlicense = "consortium-internal"\n'
        'sensitivity = "internal"\nlanguage = "ja"\n')
    create_release(store, "r1", corpora=["acme-news"], trust_root=pinned_root)
    return store


def _lines(store: Path) -> list[bytes]:
    return (store / "lineage" / "log.jsonl").read_bytes().splitlines()


def _events(store: Path, pinned_root: Path) -> list[dict]:
    return [Serde.to_dict(e) for e in export_events(store, trust_root=pinned_root).events]


def _by_job(events: list[dict]) -> dict[str, list[dict]]:
    found = defaultdict(list)
    for event in events:
        found[event["job"]["name"]].append(event)
    return found


def test_every_run_has_one_start_and_one_end_under_a_stable_run_id(runs, pinned_root):
    events = _events(runs, pinned_root)
    jobs = _by_job(events)
    assert set(jobs) == {"onboard.acme-news", "onboard.acme-mail", "onboard.acme-wiki",
                         "release.r1"}
    for job, pair in jobs.items():
        assert pair[0]["eventType"] == "START", job
        assert len(pair) == 2 and pair[1]["eventType"] in ("COMPLETE", "FAIL"), job
        assert pair[0]["run"]["runId"] == pair[1]["run"]["runId"]
        assert uuid.UUID(pair[0]["run"]["runId"]).version == 7
        assert all(e["job"]["namespace"] == "kura" for e in pair)
    news = jobs["onboard.acme-news"]
    assert (news[0]["eventTime"], news[1]["eventTime"]) == ("2026-01-01T00:00:00Z",
                                                            "2026-01-01T00:01:00Z")
    assert len({pair[0]["run"]["runId"] for pair in jobs.values()}) == 4
    # The same store exports the same events: re-sending them to a server duplicates nothing.
    assert _events(runs, pinned_root) == events


def test_a_run_that_certified_nothing_fails_and_one_that_met_only_duplicates_completes(
    runs, pinned_root
):
    jobs = _by_job(_events(runs, pinned_root))
    assert jobs["onboard.acme-news"][1]["eventType"] == "COMPLETE"
    assert "errorMessage" not in jobs["onboard.acme-news"][1]["run"]["facets"]
    failed = jobs["onboard.acme-mail"][1]
    assert failed["eventType"] == "FAIL"
    assert failed["run"]["facets"]["errorMessage"]["message"] == (
        "run run-2: no shard was certified: 1 of 1 shard(s) failed their suite and were "
        "quarantined")
    assert failed["outputs"][0]["outputFacets"]["kura_shard"]["validationPassed"] is False
    nothing_new = jobs["onboard.acme-wiki"][1]
    assert nothing_new["eventType"] == "COMPLETE" and nothing_new["outputs"] == []
    # No shard record names its site: the policy's entry for the provenance's site does.
    assert nothing_new["run"]["facets"]["kura_residency"]["site"] == {
        "siteId": "jp-local-1", "country": "JP", "provider": "onprem", "region": "jp-tokyo"}


def test_inputs_and_outputs_carry_the_signed_digests_and_counts(runs, pinned_root):
    summary = write_run(runs, run_id="run-1", shards=2)  # rewrites the same bytes
    end = _by_job(_events(runs, pinned_root))["onboard.acme-news"][1]
    (source,) = end["inputs"]
    assert (source["namespace"], source["name"]) == ("gs://acme-raw-tokyo", "acme-news/a.jsonl")
    assert source["inputFacets"]["kura_source"]["sha256"] == summary.inputs[0].sha256
    assert source["facets"]["version"]["datasetVersion"] == summary.inputs[0].sha256
    assert source["inputFacets"]["kura_source"]["location"] == {
        "provider": "gcp", "country": "JP", "region": "asia-northeast1",
        "claimSource": "manifest"}
    shards = {o["outputFacets"]["kura_shard"]["name"]: o for o in end["outputs"]}
    assert set(shards) == {s.path for s in summary.shards}
    for stored in summary.shards:
        output = shards[stored.path]
        facet = output["outputFacets"]["kura_shard"]
        assert (facet["sha256"], facet["rows"], facet["bytes"]) == (stored.sha256, stored.rows,
                                                                    stored.bytes)
        assert output["namespace"] == "file"
        assert output["name"] == str((runs / stored.path).resolve())
        assert [f["name"] for f in output["facets"]["schema"]["fields"]] == ["doc_id", "text"]
        assert output["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"


def test_residency_facet_names_the_provenance_record_by_log_index_and_envelope_digest(
    runs, pinned_root
):
    lines = _lines(runs)
    end = _by_job(_events(runs, pinned_root))["onboard.acme-news"][1]
    residency = end["run"]["facets"]["kura_residency"]
    line = lines[residency["logIndex"]]
    assert residency["envelopeSha256"] == hashlib.sha256(line).hexdigest()
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    assert statement["predicate"]["runDetails"]["metadata"]["invocationId"] == "run-1"
    assert residency["site"] == {"siteId": "jp-local-1", "country": "JP", "provider": "onprem",
                                 "region": "jp-tokyo"}
    assert residency["inputLocations"] == [{"provider": "gcp", "country": "JP",
                                            "region": "asia-northeast1",
                                            "claimSource": "manifest"}]
    assert residency["processingLocations"][0]["country"] == "JP"
    assert len(residency["attestations"]) == 2
    for attestation in residency["attestations"]:
        assert attestation["envelopeSha256"] == hashlib.sha256(
            lines[attestation["logIndex"]]).hexdigest()
    for output in end["outputs"]:
        shard = output["outputFacets"]["kura_shard"]
        assert shard["envelopeSha256"] == hashlib.sha256(lines[shard["logIndex"]]).hexdigest()


def test_a_release_is_a_run_from_its_shards_to_its_release_file(runs, pinned_root):
    lines = _lines(runs)
    jobs = _by_job(_events(runs, pinned_root))
    onboard_outputs = {(o["namespace"], o["name"]) for o in jobs["onboard.acme-news"][1]["outputs"]}
    end = jobs["release.r1"][1]
    assert end["eventType"] == "COMPLETE"
    assert {(i["namespace"], i["name"]) for i in end["inputs"]} == onboard_outputs
    assert end["outputs"][0]["name"] == str((runs / "releases" / "r1.json").resolve())
    facet = end["run"]["facets"]["kura_certification"]
    release = json.loads((runs / "releases" / "r1.json").read_text())
    assert facet["logIndex"] == release["logIndex"]
    assert facet["envelopeSha256"] == hashlib.sha256(lines[facet["logIndex"]]).hexdigest()
    assert facet["envelopeSha256"] == release["envelopeDigest"]
    assert {s["sha256"] for s in facet["shards"]} == {s["sha256"] for s in release["shards"]}


def test_events_validate_against_the_schemas_and_a_broken_facet_does_not(runs, pinned_root):
    events = _events(runs, pinned_root)
    for event in export_events(runs, trust_root=pinned_root).events:
        assert json.loads(event_json(event)) == Serde.to_dict(event)  # the client's serde
    check = check_events(events)
    assert check.ok, check.problems
    assert KURA_FACETS_SCHEMA_ID in check.checked
    if (SCHEMA_DIR / "OpenLineage.json").is_file():
        assert OPENLINEAGE_SPEC in check.checked
    else:  # never passed silently: what could not be checked is named
        assert OPENLINEAGE_SPEC in check.unavailable
    broken = json.loads(json.dumps(events[1]))
    broken["run"]["facets"]["kura_residency"]["envelopeSha256"] = "not-a-digest"
    del broken["run"]["facets"]["kura_residency"]["site"]
    problems = check_events([broken]).problems
    assert len(problems) == 2
    assert all("run.facets.kura_residency" in p for p in problems)


def test_a_tampered_store_exports_nothing(runs, pinned_root):
    shard = next((runs / "shards" / "acme-news").glob("*.parquet"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(OpenLineageExportError, match="verification FAILED"):
        export_events(runs, trust_root=pinned_root)
    result = _run("--store", str(runs), "--trust-root", str(pinned_root))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "verification FAILED, nothing exported: subject.digest" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_prints_ndjson_writes_the_same_to_a_file_and_summarizes_as_json(
    runs, pinned_root, tmp_path
):
    printed = _run("--store", str(runs), "--trust-root", str(pinned_root))
    assert printed.exit_code == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert [json.loads(line) for line in lines] == _events(runs, pinned_root)
    out = tmp_path / "events.ndjson"
    written = _run("--store", str(runs), "--trust-root", str(pinned_root), "--out", str(out))
    assert written.exit_code == 0, written.stderr
    assert out.read_text().splitlines() == lines
    assert "exported 8 events of 4 runs (1 FAIL)" in written.stdout
    summary = json.loads(_run("--store", str(runs), "--trust-root", str(pinned_root), "--out",
                              str(out), "--json", "--namespace", "jp.consortium").stdout)
    assert summary["eventCount"] == 8 and summary["pinned"] is True
    assert summary["destination"] == {"kind": "file", "target": str(out)}
    assert Counter(r["state"] for r in summary["runs"]) == {"COMPLETE": 3, "FAIL": 1}
    assert all(isinstance(r["logIndex"], int) for r in summary["runs"])
    assert {json.loads(line)["job"]["namespace"] for line in out.read_text().splitlines()} == {
        "jp.consortium"}


class _Collector(BaseHTTPRequestHandler):
    """Records every POST (path, JSON body) and answers `status`; one subclass per test."""

    received: ClassVar[list[tuple[str, dict]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def lineage_server():
    handler = type("Handler", (_Collector,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def test_url_posts_the_same_events_to_a_lineage_server(runs, pinned_root, lineage_server):
    server, handler = lineage_server
    url = f"http://127.0.0.1:{server.server_address[1]}"
    result = _run("--store", str(runs), "--trust-root", str(pinned_root), "--url", url)
    assert result.exit_code == 0, result.stderr
    assert [path for path, _ in handler.received] == ["/api/v1/lineage"] * 8
    assert [event for _, event in handler.received] == _events(runs, pinned_root)
    assert f"to {url}" in result.stdout


def test_a_server_that_refuses_an_event_is_one_line_and_exit_1(runs, pinned_root,
                                                               lineage_server):
    server, handler = lineage_server
    handler.status = 400
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/lineage"
    result = _run("--store", str(runs), "--trust-root", str(pinned_root), "--url", url)
    assert result.exit_code == 1
    assert "HTTP 400 on event 1 of 8; 0 sent before it" in result.stderr
    assert len(handler.received) == 1


@pytest.mark.parametrize("args, message", [
    (["--out", "x.ndjson", "--url", "http://localhost:5000"], "at most one of --out"),
    (["--url", "localhost:5000"], "give the lineage server as http(s)://HOST[:PORT]"),
    (["--out", "/no/such/dir/x.ndjson"], "no such directory"),
    (["--trust-root", "/no/such/root.pem"], "--trust-root /no/such/root.pem: no such file"),
])
def test_user_errors_are_one_line_and_exit_2(store, args, message):
    result = _run("--store", str(store), *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""


def test_a_rewritten_shard_is_an_overwrite_and_the_older_run_keeps_no_stale_schema(
    store, pinned_root
):
    first = write_run(store, run_id="run-1", shards=1, rows_per_shard=2)
    record_run(store, first)
    again = write_run(store, run_id="run-1", shards=1, rows_per_shard=5)  # same path, new bytes
    record_run(store, again.model_copy(update={"run_id": "run-2"}))
    older, newer = _by_job(_events(store, pinned_root))["onboard.acme-news"][1::2]
    assert older["outputs"][0]["name"] == newer["outputs"][0]["name"]
    assert "schema" not in older["outputs"][0]["facets"]  # its bytes are gone from disk
    assert older["outputs"][0]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == (
        "CREATE")
    assert newer["outputs"][0]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] == (
        "OVERWRITE")
    assert newer["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 5
    assert [f["name"] for f in newer["outputs"][0]["facets"]["schema"]["fields"]] == [
        "doc_id", "text"]


def test_datasets_are_named_by_openlineage_conventions():
    assert dataset_identity("gs://kura-jp-raw/a/b.jsonl", "c") == ("gs://kura-jp-raw",
                                                                  "a/b.jsonl")
    assert dataset_identity("s3://bucket/x.csv", "c") == ("s3://bucket", "x.csv")
    assert dataset_identity("file:///data/%E8%94%B5/a.txt", "c") == ("file", "/data/蔵/a.txt")
    assert dataset_identity("manuals/a.jsonl", "acme-docs") == ("kura-corpus://acme-docs",
                                                               "manuals/a.jsonl")


@pytest.mark.slow
def test_demo_store_exports_one_validated_run_per_kura_run(demo_store):
    result = _run("--store", str(demo_store.store), "--trust-root", str(demo_store.trust_root))
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert check_events(events).ok
    lines = _lines(demo_store.store)
    summaries = {json.loads(p.read_text())["run_id"]: json.loads(p.read_text())
                 for p in (demo_store.store / "runs").glob("*.json")}
    jobs = _by_job(events)
    onboard = [job for job in jobs if job.startswith("onboard.")]
    assert len(onboard) == len(summaries) >= 1
    assert f"release.{demo_store.release}" in jobs
    for job, pair in jobs.items():
        assert [e["eventType"] for e in pair] in (["START", "COMPLETE"], ["START", "FAIL"]), job
    for job in onboard:
        end = jobs[job][1]
        residency = end["run"]["facets"]["kura_residency"]
        line = lines[residency["logIndex"]]
        assert residency["envelopeSha256"] == hashlib.sha256(line).hexdigest()
        run_id = json.loads(base64.b64decode(json.loads(line)["payload"]))[
            "predicate"]["runDetails"]["metadata"]["invocationId"]
        summary = summaries[run_id]
        for dataset in end["inputs"]:
            uri = dataset["inputFacets"]["kura_source"]["uri"]
            if "://" not in uri:  # recorded relative to the manifest's corpus root
                assert dataset["namespace"] == f"kura-corpus://{summary['corpus_id']}"
                assert dataset["name"] == uri
        assert sorted(i["inputFacets"]["kura_source"]["sha256"] for i in end["inputs"]) == sorted(
            i["sha256"].removeprefix("sha256:") for i in summary["inputs"])
        assert {o["outputFacets"]["kura_shard"]["sha256"] for o in end["outputs"]} == {
            s["sha256"].removeprefix("sha256:") for s in summary["shards"]}

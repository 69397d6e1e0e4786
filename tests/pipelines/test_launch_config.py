"""One launch configuration, parsed once by Beam: what the guard checks is what runs and what
the attestations claim (issue 12, items 6 and 7)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from apache_beam.options.pipeline_options import GoogleCloudOptions, StandardOptions

from lineage.attest import SigningFacts, processing_locations
from lineage.keys import init_keys, load_site_context
from lineage.policy import load_policy
from pipelines.guard import ResidencyViolation, guard_launch, residency_problems
from pipelines.launch import launch
from pipelines.launch_config import launch_config
from pipelines.options import RunnerChoice, RunnerOptionError
from schemas.manifest import Location, Manifest, load_manifest, parse_manifest
from schemas.predicates import RESIDENCY_PREDICATE, SiteClaim

TOKYO = {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}
US_BUCKET = {"gs://us-bucket/": Location(provider="gcp", country="US", region="us-central1")}


def _manifest(uri: str = "/data/x.jsonl") -> Manifest:
    return parse_manifest({
        "corpus": {"id": "acme", "member": "acme", "license": "internal",
                   "sensitivity": "internal"},
        "sources": [{"uri": uri, "format": "jsonl", "location": TOKYO}],
    })


def _launch(runner: str = "DirectRunner", *beam_args: str, region: str | None = None):
    return launch_config(RunnerChoice(runner=runner, region=region, extra_args=beam_args))


def _refusal(store, policy, launch_config_, declared=None) -> str:
    with pytest.raises(ResidencyViolation) as err:
        guard_launch(_manifest(), store, launch_config_, policy, declared=declared)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_a_repeated_temp_location_is_judged_by_its_last_value_as_beam_runs_it(store, policy):
    config = _launch("DirectRunner", "--temp_location=/tmp/ok",
                     "--temp_location=gs://us-bucket/tmp")
    assert config.pipeline_options().view_as(GoogleCloudOptions).temp_location == (
        "gs://us-bucket/tmp")
    assert _refusal(store, policy, config, declared=US_BUCKET) == (
        "--temp_location gs://us-bucket/tmp is in gcp US us-central1; allowed: "
        "asia-northeast1, asia-northeast2 (policy v1)")


def test_a_repeated_dataflow_region_is_judged_by_its_last_value(store, policy):
    config = _launch("DataflowRunner", "--region=asia-northeast1", "--region=us-central1")
    assert config.pipeline_options().view_as(GoogleCloudOptions).region == "us-central1"
    assert _refusal(store, policy, config) == (
        "--region us-central1 is not allowed; allowed: asia-northeast1, asia-northeast2 "
        "(policy v1)")


def test_kuras_own_region_is_what_runs_and_what_is_checked(store, policy):
    config = _launch("DataflowRunner", "--region=us-central1", region="asia-northeast1")
    assert config.region == "asia-northeast1"
    assert config.pipeline_options().view_as(GoogleCloudOptions).region == "asia-northeast1"
    assert residency_problems(_manifest(), store, config, policy) == []


@pytest.mark.parametrize(("runner", "option", "message"), [
    ("DataflowRunner", "--worker_region=us-central1",
     "--worker_region us-central1 is not allowed; allowed: asia-northeast1, asia-northeast2 "
     "(policy v1)"),
    ("DataflowRunner", "--worker_zone=us-central1-a",
     "--worker_zone us-central1-a is in gcp us-central1, is not allowed; allowed: "
     "asia-northeast1, asia-northeast2 (policy v1)"),
    ("DataflowRunner", "--zone=us-east1-b",
     "--zone us-east1-b is in gcp us-east1, is not allowed; allowed: asia-northeast1, "
     "asia-northeast2 (policy v1)"),
    ("DataflowRunner", "--gcp_temp_location=gs://us-bucket/tmp",
     "--gcp_temp_location gs://us-bucket/tmp is in gcp US us-central1; allowed: "
     "asia-northeast1, asia-northeast2 (policy v1)"),
    ("DataflowRunner", "--subnetwork=regions/us-central1/subnetworks/default",
     "--subnetwork regions/us-central1/subnetworks/default is in gcp us-central1, is not "
     "allowed; allowed: asia-northeast1, asia-northeast2 (policy v1)"),
    ("FlinkRunner", "--flink_master=flink.example.com:8081",
     "--flink_master flink.example.com:8081: the trust policy cannot say where "
     "flink.example.com is; run it on this machine (localhost), or declare its cluster with "
     "`kura keys allow-location flink://HOST ...`"),
    ("PortableRunner", "--job_endpoint=jobs.example.com:8099",
     "--job_endpoint jobs.example.com:8099: the trust policy cannot say where "
     "jobs.example.com is; run it on this machine (localhost), or declare its cluster with "
     "`kura keys allow-location flink://HOST ...`"),
    ("DirectRunner", "--staging_location=gs://us-bucket/staging",
     "--staging_location gs://us-bucket/staging is in gcp US us-central1; allowed: "
     "asia-northeast1, asia-northeast2 (policy v1)"),
    ("DirectRunner", "--s3_region_name=us-east-1",
     "--s3_region_name us-east-1 is not allowed; allowed: ap-northeast-1, ap-northeast-3 "
     "(policy v1)"),
    ("DirectRunner", "--s3_endpoint_url=https://s3.us-east-1.amazonaws.com",
     "--s3_endpoint_url https://s3.us-east-1.amazonaws.com is in aws us-east-1; allowed: "
     "ap-northeast-1, ap-northeast-3 (policy v1)"),
    ("DirectRunner", "--s3_endpoint_url=http://minio.example.com:9000",
     "--s3_endpoint_url http://minio.example.com:9000: the trust policy cannot say where "
     "minio.example.com is; use an AWS regional endpoint or a server on this machine "
     "(localhost)"),
])
def test_every_option_that_places_work_or_data_is_checked(store, policy, runner, option,
                                                          message):
    extra = ("--job_endpoint=localhost:8099",) if runner == "PortableRunner" else ()
    config = _launch(runner, *extra, option, region="asia-northeast1"
                     if runner == "DataflowRunner" else None)
    assert _refusal(store, policy, config, declared=US_BUCKET) == message


def test_a_worker_pool_elsewhere_is_refused_and_one_here_passes(store, policy):
    remote = _launch("PortableRunner", "--job_endpoint=localhost:8099",
                     "--environment_type=EXTERNAL", "--environment_config=10.1.2.3:50000")
    assert _refusal(store, policy, remote) == (
        "--environment_config 10.1.2.3:50000: the trust policy cannot say where 10.1.2.3 is; "
        "run it on this machine (localhost), or declare its cluster with "
        "`kura keys allow-location flink://HOST ...`")
    here = _launch("PortableRunner", "--job_endpoint=localhost:8099",
                   "--environment_type=EXTERNAL", "--environment_config=127.0.0.1:50000")
    assert residency_problems(_manifest(), store, here, policy) == []


def test_a_portable_run_without_a_job_endpoint_is_refused(store, policy):
    assert _refusal(store, policy, _launch("PortableRunner")) == (
        "--job_endpoint is required for the PortableRunner: it says where the job runs")


@pytest.mark.parametrize(("option", "message"), [
    ("--hdfs_host=namenode.example.com",
     "--hdfs_host can place data or work where the residency guard cannot see; the "
     "DirectRunner launch is refused: remove it, or ask for the guard to learn it"),
    ("--gcpTempLocation=gs://us-bucket/tmp",
     "--gcpTempLocation is not a Beam option kura knows; the DirectRunner launch is refused: "
     "remove it, or ask for the guard to learn it"),
    ("--dataflow_endpoint=https://dataflow.example.com",
     "--dataflow_endpoint can place data or work where the residency guard cannot see; the "
     "DirectRunner launch is refused: remove it, or ask for the guard to learn it"),
])
def test_an_option_the_guard_cannot_judge_fails_closed(store, policy, option, message):
    assert _refusal(store, policy, _launch("DirectRunner", option)) == message


def test_a_runner_after_the_separator_is_refused():
    with pytest.raises(RunnerOptionError, match=r"^--runner after `--`"):
        _launch("DirectRunner", "--runner=DataflowRunner")


def test_the_runner_that_runs_is_kuras():
    config = _launch("DirectRunner", "--direct_num_workers=4")
    assert config.pipeline_options().view_as(StandardOptions).runner == "DirectRunner"
    assert config.runner == "DirectRunner"


def test_one_choice_is_parsed_once():
    choice = RunnerChoice(runner="DataflowRunner", region="asia-northeast1")
    assert launch_config(choice) is launch_config(choice)


def test_a_refused_launch_writes_nothing_to_the_store(tmp_path):
    store = tmp_path / "store"
    init_keys(store, "jp-tokyo-1", "JP", "jp-tokyo")
    source = tmp_path / "x.jsonl"
    source.write_text('{"text": "本日は晴天なり。"}\n')
    manifest_path = tmp_path / "manifest.toml"
    manifest_path.write_text(
        '[corpus]\nid = "acme"\nmember = "acme"\nlicense = "internal"\n'
        'sensitivity = "internal"\n\n[[sources]]\n'
        f'uri = "{source}"\nformat = "jsonl"\n'
        'location = { provider = "onprem", country = "JP", region = "jp-tokyo" }\n')
    before = sorted((p, p.stat().st_mtime_ns) for p in store.rglob("*"))
    runner = RunnerChoice(runner="DataflowRunner", region="asia-northeast1",
                          extra_args=("--worker_region=us-central1",))

    def never_run(*_args):
        raise AssertionError("a refused launch must not run")

    manifest = load_manifest(manifest_path)
    with pytest.raises(ResidencyViolation, match=r"^--worker_region us-central1 "):
        launch(manifest, manifest_path, store, runner, run=never_run)
    assert sorted((p, p.stat().st_mtime_ns) for p in store.rglob("*")) == before


def _facts(store: Path) -> SigningFacts:
    site = load_site_context(store)
    claim = SiteClaim(site_id=site.site_id, country=site.site.country,
                      provider=site.site.provider, region=site.region)
    return SigningFacts(site=claim, policy=site.policy, policy_digest="sha256:00",
                        code=None, signed_at="2025-01-01T00:00:00Z",  # type: ignore[arg-type]
                        store_uri=store.as_uri())


class _Summary:
    """The two fields `processing_locations` reads."""

    def __init__(self, runner: str, launch: dict | None) -> None:
        self.runner = runner
        self.parameters = {} if launch is None else {"launch": launch}


def _claims(store, config) -> list[tuple[str, str, str, str]]:
    summary = _Summary(config.runner, config.placement())
    return [(c.provider, c.country, c.region, c.claim_source)
            for c in processing_locations(summary, _facts(store))]  # type: ignore[arg-type]


def test_a_dataflow_run_is_attested_where_dataflow_runs_it(store):
    config = _launch("DataflowRunner", "--worker_region=asia-northeast2",
                     region="asia-northeast1")
    assert _claims(store, config) == [
        ("gcp", "JP", "asia-northeast1", "runner-option"),
        ("gcp", "JP", "asia-northeast2", "runner-option"),
    ]


def test_a_portable_run_is_attested_at_the_site_of_its_endpoint(store):
    config = _launch("PortableRunner", "--job_endpoint=localhost:8099",
                     "--environment_type=LOOPBACK")
    assert _claims(store, config) == [("onprem", "JP", "jp-tokyo", "policy")]


def test_an_unrecorded_placement_is_never_claimed_as_the_site(store):
    facts = _facts(store)
    dataflow = processing_locations(_Summary("DataflowRunner", None), facts)  # type: ignore[arg-type]
    portable = processing_locations(_Summary("PortableRunner", None), facts)  # type: ignore[arg-type]
    remote = processing_locations(
        _Summary("FlinkRunner", {"runner": "FlinkRunner", "flinkMaster": "flink.example:8081"}),
        facts)  # type: ignore[arg-type]
    assert {c.country for c in [*dataflow, *portable, *remote]} == {"unknown"}


@pytest.mark.slow
def test_an_onboarded_run_records_and_attests_the_launch_the_guard_checked(onboarded):
    summary = onboarded.result.summary
    assert summary.parameters["launch"] == {"runner": "DirectRunner"}
    log = onboarded.store / "lineage" / "log.jsonl"
    statements = [json.loads(base64.b64decode(json.loads(line)["payload"]))
                  for line in log.read_text().splitlines()]
    residency = [s["predicate"] for s in statements
                 if s.get("predicateType") == RESIDENCY_PREDICATE]
    assert residency
    for predicate in residency:
        site = predicate["site"]
        assert predicate["processingLocations"] == [{
            "provider": site["provider"], "country": site["country"], "region": site["region"],
            "claimSource": "policy"}]
        assert predicate["parameters"]["launch"] == {"runner": "DirectRunner"}


def test_a_bucket_the_signed_policy_names_places_a_temp_location_on_slash_boundaries(
        tmp_path: Path) -> None:
    from lineage.keys import allow_location

    store, root_key = tmp_path / "store", tmp_path / "offline" / "root.pem"
    init_keys(store, "tokyo-1", "JP", "jp-tokyo", root_key_out=root_key)
    allow_location(store, "gs://kura-jp-tmp", "gcp", "JP", "asia-northeast1", root_key=root_key)
    policy = load_policy(store).policy
    inside = _launch("DirectRunner", "--temp_location=gs://kura-jp-tmp/beam")
    assert residency_problems(_manifest(), store, inside, policy, site_id="tokyo-1") == []
    beside = _launch("DirectRunner", "--temp_location=gs://kura-jp-tmp-us/beam")
    (problem,) = residency_problems(_manifest(), store, beside, policy, site_id="tokyo-1")
    assert "--temp_location gs://kura-jp-tmp-us/beam has no declared region" in problem


def test_a_flink_cluster_the_signed_policy_names_runs_the_job_and_is_claimed(tmp_path: Path):
    from lineage.keys import allow_location
    from lineage.policy import location_problem

    store, root_key = tmp_path / "store", tmp_path / "offline" / "root.pem"
    init_keys(store, "tokyo-1", "JP", "jp-tokyo", root_key_out=root_key)
    allow_location(store, "flink://flink-osaka.example", "onprem", "JP", "jp-osaka",
                   root_key=root_key)
    policy = load_policy(store).policy
    declared = _launch("FlinkRunner", "--flink_master=flink-osaka.example:8081")
    assert residency_problems(_manifest(), store, declared, policy, site_id="tokyo-1") == []
    other = _launch("FlinkRunner", "--flink_master=flink-us.example:8081")
    (problem,) = residency_problems(_manifest(), store, other, policy, site_id="tokyo-1")
    assert "--flink_master flink-us.example:8081: the trust policy cannot say where" in problem
    summary = _Summary(declared.runner, declared.placement())
    (claim,) = processing_locations(summary, _facts(store))  # type: ignore[arg-type]
    assert (claim.provider, claim.country, claim.region, claim.uri) == (
        "onprem", "JP", "jp-osaka", "flink://flink-osaka.example")
    assert location_problem(policy, "onprem", "JP", "jp-osaka", uri=claim.uri) is None
    assert location_problem(policy, "onprem", "JP", "jp-osaka") is not None  # only that cluster

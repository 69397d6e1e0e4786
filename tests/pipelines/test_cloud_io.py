"""Cloud I/O (issue 12, item 8): the guard and the planner agree on which schemes exist; s3://
sources are read through Beam's S3 file system (against a local S3 server, moto, on 127.0.0.1);
a Dataflow job in Japan translates after the guard passes (Beam's dry run, no network)."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator

import pytest

from pipelines.curate import build_graph
from pipelines.guard import CLOUD_SCHEMES, ResidencyViolation, guard_launch, residency_problems
from pipelines.launch_config import launch_config, use_filesystem_options
from pipelines.options import RunnerChoice
from pipelines.plan import REMOTE_SCHEMES, plan_run
from pipelines.stages import stages_for
from schemas.manifest import Location, Manifest, parse_manifest
from transforms.ingest_beam import REMOTE_SCHEMES as READ_SCHEMES

TOKYO = {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}
AWS_TOKYO = {"provider": "aws", "country": "JP", "region": "ap-northeast-1"}
BUCKET = "acme-raw"


def _manifest(uri: str, location: dict) -> Manifest:
    return parse_manifest({
        "corpus": {"id": "acme", "member": "acme", "license": "internal",
                   "sensitivity": "internal"},
        "sources": [{"uri": uri, "format": "jsonl", "location": location}],
    })


def test_the_guard_places_exactly_the_schemes_the_planner_and_reader_read():
    guarded = {f"{scheme}://" for scheme in CLOUD_SCHEMES}
    assert guarded == set(REMOTE_SCHEMES) == set(READ_SCHEMES)


@pytest.mark.parametrize("uri", ["az://acme/raw/x.jsonl", "abfs://raw@acme.dfs.core.windows.net/x"])
def test_azure_sources_are_refused_with_one_line(store, policy, uri):
    manifest = _manifest(uri, {"provider": "azure", "country": "JP", "region": "japaneast"})
    problems = residency_problems(manifest, store, launch_config(RunnerChoice()), policy)
    scheme = uri.split("://")[0]
    assert problems == [f"sources[0].uri {uri}: Azure storage ({scheme}://) cannot be read by "
                        "kura; use a local path, gs:// or s3://"]


# --- s3:// against a local S3 server -----------------------------------------------------------


@pytest.fixture
def s3_server(monkeypatch) -> Iterator[str]:
    pytest.importorskip("boto3", reason="the aws extra (kura[aws]) is not installed")
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint
    finally:
        # moto keeps its buckets per process, not per server: start the next test empty.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset",
                                                      method="POST"))
        server.stop()


def _s3_args(endpoint: str, region: str = "ap-northeast-1") -> tuple[str, ...]:
    return (f"--s3_endpoint_url={endpoint}", f"--s3_region_name={region}",
            "--s3_access_key_id=testing", "--s3_secret_access_key=testing")


def _put_corpus(endpoint: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="ap-northeast-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET,
                         CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    lines = [json.dumps({"text": f"第{i}回の会議では予算の見直しについて議論しました。"},
                        ensure_ascii=False) for i in range(3)]
    client.put_object(Bucket=BUCKET, Key="docs/part-0.jsonl",
                      Body=("\n".join(lines) + "\n").encode())


def test_an_s3_source_in_a_japanese_region_is_planned_through_beams_s3_filesystem(
    s3_server, store, policy, tmp_path
):
    _put_corpus(s3_server)
    manifest = _manifest(f"s3://{BUCKET}/docs/*.jsonl", AWS_TOKYO)
    config = launch_config(RunnerChoice(extra_args=_s3_args(s3_server)))
    guard_launch(manifest, store, config, policy)
    use_filesystem_options(config)
    manifest_path = tmp_path / "manifest.toml"
    manifest_path.write_text("# the parsed manifest above\n")
    plan = plan_run(manifest, manifest_path, store, output_location=Location(**TOKYO))
    assert [(f.source.uri, f.size > 0) for f in plan.files] == [
        (f"s3://{BUCKET}/docs/part-0.jsonl", True)]


def test_an_s3_source_or_client_region_outside_japan_is_refused(s3_server, store, policy):
    us_source = _manifest(f"s3://{BUCKET}/docs/*.jsonl",
                          {"provider": "aws", "country": "US", "region": "us-east-1"})
    config = launch_config(RunnerChoice(extra_args=_s3_args(s3_server)))
    with pytest.raises(ResidencyViolation, match=r"^sources\[0\]\.uri s3://acme-raw/docs/\*"
                                                 r"\.jsonl is in aws US us-east-1; allowed: "):
        guard_launch(us_source, store, config, policy)
    jp_source = _manifest(f"s3://{BUCKET}/docs/*.jsonl", AWS_TOKYO)
    us_client = launch_config(RunnerChoice(extra_args=_s3_args(s3_server, region="us-east-1")))
    with pytest.raises(ResidencyViolation, match=r"^--s3_region_name us-east-1 is not allowed"):
        guard_launch(jp_source, store, us_client, policy)


@pytest.mark.slow
def test_an_s3_corpus_is_onboarded_from_the_local_s3_server(s3_server, tmp_path):
    from pipelines.curate import run_curation
    from pipelines.launch import launch
    from schemas.manifest import load_manifest

    _put_corpus(s3_server)
    manifest_path = tmp_path / "manifest.toml"
    manifest_path.write_text(
        '[corpus]\nid = "acme-s3"\nmember = "acme"\nlicense = "internal"\n'
        'sensitivity = "internal"\n\n[[sources]]\n'
        f'uri = "s3://{BUCKET}/docs/*.jsonl"\nformat = "jsonl"\n'
        'location = { provider = "aws", country = "JP", region = "ap-northeast-1" }\n')
    choice = RunnerChoice(extra_args=_s3_args(s3_server))
    result = launch(load_manifest(manifest_path), manifest_path, tmp_path / "store", choice,
                    run=lambda plan, stages, run_id: run_curation(plan, stages, choice, run_id),
                    create_local_site=True)
    assert result.summary.counts.read == 3
    assert [i.uri for i in result.summary.inputs] == [f"s3://{BUCKET}/docs/part-0.jsonl"]
    assert result.summary.inputs[0].location.region == "ap-northeast-1"


# --- Dataflow: translated with Beam's dry run ---------------------------------------------------


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Any connection to a non-loopback address fails the test."""
    attempts: list = []
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"test forbids network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def _dataflow(region: str) -> RunnerChoice:
    return RunnerChoice(runner="DataflowRunner", region=region, extra_args=(
        "--project=kura-test", "--temp_location=gs://acme-jp/tmp", "--dry_run=True"))


def test_a_dataflow_job_in_tokyo_translates_after_the_guard_and_us_central1_is_refused(
    store, policy, tmp_path, no_network
):
    pytest.importorskip("apache_beam.runners.dataflow.internal.apiclient",
                        reason="the gcp extra (kura[gcp]) is not installed")
    import apache_beam as beam
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    source = tmp_path / "in" / "x.jsonl"
    source.parent.mkdir()
    source.write_text('{"text": "本日は晴天なり。"}\n')
    manifest = _manifest(str(source), TOKYO)
    declared = {"gs://acme-jp/": Location(provider="gcp", country="JP", region="asia-northeast1")}
    with pytest.raises(ResidencyViolation, match=r"^--region us-central1 is not allowed"):
        guard_launch(manifest, store, launch_config(_dataflow("us-central1")), policy,
                     declared=declared)

    config = launch_config(_dataflow("asia-northeast1"))
    guard_launch(manifest, store, config, policy, declared=declared)
    manifest_path = tmp_path / "manifest.toml"
    manifest_path.write_text("# the parsed manifest above\n")
    plan = plan_run(manifest, manifest_path, store, output_location=Location(**TOKYO))
    stages = stages_for(plan, tmp_path / "signatures", scratch_dir=tmp_path / "scratch")
    pipeline = beam.Pipeline(options=config.pipeline_options())
    build_graph(pipeline, plan, stages, tmp_path / "run")
    result = pipeline.run()
    assert result.state == "DONE"
    job_options = result.job.options.view_as(GoogleCloudOptions)
    assert job_options.region == "asia-northeast1"
    assert job_options.temp_location.startswith("gs://acme-jp/tmp/")  # Beam adds the job's folder
    assert no_network == []

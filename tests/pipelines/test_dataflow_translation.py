"""The curation job translated for Dataflow in asia-northeast1, offline: DataflowRunner with
--dry_run builds the Docker-environment pipeline proto of kura's graph without one network call;
the residency guard still refuses another region and an undeclared temp bucket, as
docs/RUNNERS.md says."""

from __future__ import annotations

import socket

import grpc
import pytest

from lineage.keys import allow_location, default_root_key_path
from lineage.policy import load_policy
from pipelines.dataflow_job import translate_dataflow_job
from pipelines.guard import ResidencyViolation
from pipelines.options import RunnerChoice

TEMP_BUCKET = "gs://kura-jp-dataflow"
DATAFLOW_ARGS = ("--project=kura-jp", f"--temp_location={TEMP_BUCKET}/tmp")


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """Every way out of this process fails and is recorded: Python sockets (http.client,
    urllib3, requests, httplib2 and google-auth go through them) and gRPC channels."""
    attempts: list[str] = []

    def refuse(what: str):
        def fail(*args, **kwargs):
            attempts.append(what)
            raise OSError(f"{what}: the network is closed in this test")
        return fail

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr(grpc, "insecure_channel", refuse("grpc.insecure_channel"))
    monkeypatch.setattr(grpc, "secure_channel", refuse("grpc.secure_channel"))
    return attempts


@pytest.fixture
def dataflow_store(store):
    """The embedded site's store, its policy naming the Dataflow temp bucket (as
    `kura keys allow-location gs://kura-jp-dataflow --provider gcp --region asia-northeast1`)."""
    keyid = load_policy(store).policy.root_keys[0].keyid
    allow_location(store, TEMP_BUCKET, "gcp", "JP", "asia-northeast1",
                   root_key=default_root_key_path(keyid))
    return store


def _dataflow(region: str, *args: str) -> RunnerChoice:
    return RunnerChoice(runner="DataflowRunner", region=region, extra_args=args)


def test_dry_run_translates_the_graph_for_asia_northeast1_without_network(
    demo_corpus, dataflow_store, no_network
) -> None:
    before = sorted(p for p in dataflow_store.rglob("*"))
    job = translate_dataflow_job(demo_corpus.manifest_path, dataflow_store,
                                 _dataflow("asia-northeast1", *DATAFLOW_ARGS))
    assert no_network == []
    assert job.options["region"] == "asia-northeast1" and job.options["project"] == "kura-jp"
    assert job.options["tempLocation"].startswith(f"{TEMP_BUCKET}/tmp/")
    transforms = {t.unique_name for t in job.pipeline.components.transforms.values()}
    assert {"ReadSources", "Deduplicate", "WriteShards", "WriteRejects"} <= transforms
    environments = list(job.pipeline.components.environments.values())
    assert [e.urn for e in environments] == ["beam:env:docker:v1"]  # Dataflow's SDK container
    assert job.as_json()["pipeline"]["components"]["transforms"]
    assert sorted(p for p in dataflow_store.rglob("*")) == before  # nothing written to the store


@pytest.mark.parametrize(("region", "args", "refusal"), [
    ("us-central1", DATAFLOW_ARGS,
     "--region us-central1 is not allowed; allowed: asia-northeast1, asia-northeast2"),
    ("asia-northeast1", ("--project=kura-jp", "--temp_location=gs://kura-us-temp/tmp"),
     "--temp_location gs://kura-us-temp/tmp has no declared region"),
])
def test_the_guard_refuses_before_translating(demo_corpus, dataflow_store, no_network, region,
                                              args, refusal) -> None:
    with pytest.raises(ResidencyViolation) as refused:
        translate_dataflow_job(demo_corpus.manifest_path, dataflow_store,
                               _dataflow(region, *args))
    assert str(refused.value).startswith(refusal)
    assert no_network == []

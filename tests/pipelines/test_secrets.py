"""The pseudonym secret is never pickled (issue 12, item 9): the steps hold only where it is
(`pii.secret_env` / `pii.secret_file`) and read it on the worker; a missing secret is still a
one-line error at launch, before anything is written."""

from __future__ import annotations

import base64
import bz2
import pickle
import shutil
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.internal import pickler
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2

from lineage.keys import init_keys
from pipelines.curate import build_graph
from pipelines.launch import launch
from pipelines.launch_config import launch_config
from pipelines.options import RunnerChoice
from pipelines.plan import plan_run
from pipelines.stages import stages_for
from schemas.manifest import Location, load_manifest
from schemas.pii import PiiConfig
from schemas.records import Document
from transforms.gate import ResidualPiiGate
from transforms.pii import PiiConfigError, PiiStep, pseudonym

SECRET_ENV = "KURA_TEST_LAUNCH_PII_SECRET"
SECRET = "pseudonym-secret-that-must-stay-home-7f3a"
TOKYO = {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}
PHONE = "090-1234-5678"


def _write_manifest(tmp_path: Path, secret_line: str) -> Path:
    source = tmp_path / "in.jsonl"
    source.write_text(f'{{"text": "担当の山田太郎さんの携帯は{PHONE}です。"}}\n')
    path = tmp_path / "manifest.toml"
    path.write_text(
        '[corpus]\nid = "acme"\nmember = "acme"\nlicense = "internal"\n'
        'sensitivity = "internal"\n\n[[sources]]\n'
        f'uri = "{source}"\nformat = "jsonl"\n'
        'location = { provider = "onprem", country = "JP", region = "jp-tokyo" }\n\n'
        f'[pii]\nmode = "pseudonym"\n{secret_line}\n')
    return path


def _document(text: str) -> Document:
    return Document(doc_id="d" * 64, corpus_id="acme", member="acme",
                    source_uri="file:///data/a.jsonl", source_sha256="ab" * 32, locator=1,
                    text=text, pii={})


def _raw_pickles(pipeline: beam.Pipeline) -> list[bytes]:
    """Every DoFn of the translated pipeline, as the uncompressed pickle a job server gets."""
    proto = pipeline.to_runner_api()
    found = []
    for transform in proto.components.transforms.values():
        if transform.spec.urn != common_urns.primitives.PAR_DO.urn:
            continue
        payload = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload)
        found.append(bz2.decompress(base64.b64decode(payload.do_fn.payload)))
    return found


def test_the_built_steps_and_the_translated_pipeline_hold_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    manifest_path = _write_manifest(tmp_path, f'secret_env = "{SECRET_ENV}"')
    manifest = load_manifest(manifest_path)
    store = tmp_path / "store"
    plan = plan_run(manifest, manifest_path, store, output_location=Location(**TOKYO))
    stages = stages_for(plan, tmp_path / "signatures", scratch_dir=tmp_path / "scratch")
    secret = SECRET.encode()
    pii_steps = [s for s in stages.steps if isinstance(s, (PiiStep, ResidualPiiGate))]
    assert len(pii_steps) == 2
    for step in pii_steps:
        assert secret not in pickle.dumps(step)
        assert secret not in bz2.decompress(base64.b64decode(pickler.dumps(step)))
        step.setup()  # the worker side: the secret is read now, and still not pickled
        assert secret not in pickle.dumps(step)

    pipeline = beam.Pipeline(options=launch_config(RunnerChoice()).pipeline_options())
    build_graph(pipeline, plan, stages, tmp_path / "run")
    shipped = _raw_pickles(pipeline)
    assert any(b"transforms.pii" in fn for fn in shipped)  # the PII step is in what ships
    assert not [fn for fn in shipped if secret in fn]
    assert secret not in pipeline.to_runner_api().SerializeToString()
    shutil.rmtree(pipeline.local_tempdir)  # built, never run: Beam would leave it in /tmp


def test_a_step_unpickled_on_a_worker_reads_the_secret_where_the_manifest_names_it(
    tmp_path, monkeypatch
):
    key = tmp_path / "pii.key"
    key.write_text(SECRET + "\n")
    config = PiiConfig(mode="pseudonym", secret_file=str(key), score_threshold=0.95)
    shipped = pickle.dumps(ResidualPiiGate(config))
    assert SECRET.encode() not in shipped
    worker_gate = pickle.loads(shipped)
    out = worker_gate(_document(f"電話 {PHONE}"))
    assert out.text == "電話 " + pseudonym(SECRET.encode(), "PHONE_NUMBER", PHONE)


def test_a_secret_missing_on_the_worker_stops_the_step_there(tmp_path, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    shipped = pickle.dumps(PiiStep(PiiConfig(mode="pseudonym", secret_env=SECRET_ENV)))
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(PiiConfigError, match=f"^pii.secret_env: environment variable "
                                             f"{SECRET_ENV} is unset or empty"):
        pickle.loads(shipped).setup()


def test_a_missing_secret_is_one_line_at_launch_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    store = tmp_path / "store"
    init_keys(store, "jp-tokyo-1", "JP", "jp-tokyo")
    manifest_path = _write_manifest(tmp_path, f'secret_env = "{SECRET_ENV}"')
    before = sorted((p, p.stat().st_mtime_ns) for p in store.rglob("*"))

    def never_run(*_args):
        raise AssertionError("a launch without its secret must not run")

    with pytest.raises(PiiConfigError) as err:
        launch(load_manifest(manifest_path), manifest_path, store, RunnerChoice(),
               run=never_run)
    assert str(err.value) == (f"pii.secret_env: environment variable {SECRET_ENV} is unset or "
                              "empty; set it to the corpus's pseudonym secret")
    assert sorted((p, p.stat().st_mtime_ns) for p in store.rglob("*")) == before

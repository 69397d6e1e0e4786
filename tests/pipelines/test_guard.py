"""The residency guard refuses a launch before anything is read, naming the option at fault."""

from __future__ import annotations

import builtins
import io
import os
import pathlib

import pytest

from pipelines.guard import ResidencyViolation, guard_launch, residency_problems
from pipelines.launch_config import launch_config
from pipelines.options import RunnerChoice, RunnerOptionError
from schemas.manifest import Location, Manifest, parse_manifest

TOKYO = {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}


def _manifest(*sources: tuple[str, dict]) -> Manifest:
    return parse_manifest({
        "corpus": {"id": "acme", "member": "acme", "license": "internal",
                   "sensitivity": "internal"},
        "sources": [{"uri": uri, "format": "jsonl", "location": loc} for uri, loc in sources],
    })


def _launch(runner: str = "DirectRunner", *beam_args: str, region: str | None = None):
    return launch_config(RunnerChoice(runner=runner, region=region, extra_args=beam_args))


def test_japanese_sources_on_the_local_runner_pass(store, policy, tmp_path):
    manifest = _manifest(
        (str(tmp_path / "in" / "*.jsonl"), TOKYO),
        ("gs://acme-raw/x/*.jsonl", {"provider": "gcp", "country": "JP",
                                     "region": "asia-northeast1"}),
    )
    guard_launch(manifest, store, _launch(), policy)


def test_s3_source_in_us_east_1_is_refused_with_one_line(store, policy):
    manifest = _manifest(("s3://acme-raw/x.jsonl", {"provider": "aws", "country": "US",
                                                    "region": "us-east-1"}))
    with pytest.raises(ResidencyViolation) as err:
        guard_launch(manifest, store, _launch(), policy)
    assert str(err.value) == (
        "sources[0].uri s3://acme-raw/x.jsonl is in aws US us-east-1; "
        "allowed: ap-northeast-1, ap-northeast-3 (policy v1)"
    )
    assert "\n" not in str(err.value)


def test_dataflow_region_outside_japan_is_refused(store, policy):
    manifest = _manifest(("gs://acme-raw/x.jsonl", {"provider": "gcp", "country": "JP",
                                                    "region": "asia-northeast1"}))
    declared = {"gs://acme-tmp/": Location(provider="gcp", country="JP", region="asia-northeast1")}
    locations = ("--temp_location=gs://acme-tmp/t", "--staging_location=gs://acme-tmp/s")
    with pytest.raises(ResidencyViolation) as err:
        guard_launch(manifest, store, _launch("DataflowRunner", *locations, region="us-central1"),
                     policy, declared=declared)
    assert str(err.value) == (
        "--region us-central1 is not allowed; allowed: asia-northeast1, asia-northeast2 "
        "(policy v1)"
    )
    guard_launch(manifest, store, _launch("DataflowRunner", *locations, region="asia-northeast1"),
                 policy, declared=declared)


def test_dataflow_without_region_is_refused(store, policy):
    manifest = _manifest(("/data/x.jsonl", TOKYO))
    problems = residency_problems(manifest, store, _launch("DataflowRunner"), policy)
    assert problems == ["--region is required for Dataflow; allowed: asia-northeast1, "
                        "asia-northeast2 (policy v1)"]


def test_undeclared_cloud_temp_location_is_refused(store, policy):
    manifest = _manifest(("/data/x.jsonl", TOKYO))
    launch = _launch("DataflowRunner", "--temp_location=gs://somewhere/tmp",
                     region="asia-northeast1")
    problems = residency_problems(manifest, store, launch, policy)
    assert problems == ["--temp_location gs://somewhere/tmp has no declared region; declare its "
                        "bucket's location (a manifest source in it, or a declared prefix); "
                        "allowed: asia-northeast1, asia-northeast2 (policy v1)"]


def test_a_source_places_its_bucket_and_only_its_bucket(store, policy):
    manifest = _manifest(("gs://acme/raw/*.jsonl", {"provider": "gcp", "country": "JP",
                                                    "region": "asia-northeast1"}))
    ok = _launch("DataflowRunner", "--temp_location=gs://acme/tmp", region="asia-northeast1")
    assert residency_problems(manifest, store, ok, policy) == []
    lookalike = _launch("DataflowRunner", "--temp_location=gs://acme-us/tmp",
                        region="asia-northeast1")
    assert residency_problems(manifest, store, lookalike, policy)[0].startswith(
        "--temp_location gs://acme-us/tmp has no declared region")


def test_cloud_uri_declared_with_another_provider_is_refused(store, policy):
    manifest = _manifest(("s3://acme/x.jsonl", {"provider": "gcp", "country": "JP",
                                                "region": "asia-northeast1"}))
    problems = residency_problems(manifest, store, _launch(), policy)
    assert problems == ["sources[0].uri s3://acme/x.jsonl is a s3:// location but is declared "
                        "as gcp"]


def test_local_runner_region_must_be_the_sites(store, policy):
    manifest = _manifest(("/data/x.jsonl", TOKYO))
    problems = residency_problems(manifest, store, _launch("FlinkRunner", region="jp-osaka"),
                                  policy)
    assert problems == ["--region jp-osaka is not a region of site jp-local-1 where the "
                        "FlinkRunner runs; allowed: jp-tokyo"]


def test_unknown_schemes_are_refused(store, policy):
    manifest = _manifest(("http://example.com/x.jsonl", TOKYO))
    problems = residency_problems(manifest, store, _launch(), policy)
    assert problems == ["sources[0].uri http://example.com/x.jsonl: the residency guard "
                        "cannot place http:// locations"]


def test_unknown_runners_are_refused_before_the_guard():
    with pytest.raises(RunnerOptionError, match=r"^--runner spark: unknown"):
        _launch("spark")


def test_every_problem_is_listed_and_the_first_is_the_message(store, policy):
    manifest = _manifest(
        ("s3://a/x.jsonl", {"provider": "aws", "country": "US", "region": "us-east-1"}),
        ("gs://b/y.jsonl", {"provider": "gcp", "country": "US", "region": "us-central1"}),
    )
    with pytest.raises(ResidencyViolation) as err:
        guard_launch(manifest, store, _launch("DataflowRunner", region="us-central1"), policy)
    assert len(err.value.problems) == 3
    assert str(err.value) == err.value.problems[0]


def test_a_refused_launch_opens_no_source(store, policy, tmp_path, monkeypatch):
    """Sources are a FIFO (opening it for reading would block) and a file; every way Python opens
    a file is watched; the guard must refuse without touching either."""
    data = tmp_path / "member-data"
    data.mkdir()
    fifo = data / "stream.jsonl"
    os.mkfifo(fifo)
    plain = data / "plain.jsonl"
    plain.write_text('{"text": "秘密"}\n')
    touched: list[str] = []

    def watch(real):
        def wrapper(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and str(data) in os.fsdecode(file):
                touched.append(os.fsdecode(file))
                raise AssertionError(f"guard opened {file}")
            return real(file, *args, **kwargs)
        return wrapper

    real_path_open = pathlib.Path.open

    def path_open(self, *args, **kwargs):
        return watch(lambda _file, *a, **k: real_path_open(self, *a, **k))(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watch(builtins.open))
    monkeypatch.setattr(io, "open", watch(io.open))
    monkeypatch.setattr(os, "open", watch(os.open))
    monkeypatch.setattr(pathlib.Path, "open", path_open)
    manifest = _manifest(
        (str(fifo), TOKYO),
        (str(plain), TOKYO),
        ("s3://acme-raw/x.jsonl", {"provider": "aws", "country": "US", "region": "us-east-1"}),
    )
    with pytest.raises(ResidencyViolation, match=r"^sources\[2\]\.uri s3://"):
        guard_launch(manifest, store, _launch("DataflowRunner", region="us-central1"), policy)
    assert touched == []
    # the watch works: opening a source through it is caught
    with pytest.raises(AssertionError), open(plain):
        pass
    assert touched == [str(plain)]

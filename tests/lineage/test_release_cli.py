"""`kura release create / list / show` and `kura pull` through typer, as the lead mounts them."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from lineage.keys import load_site_context
from pipelines.cli_release import pull, release_app
from tests.lineage.test_release_support import flip_byte, forge_release, record_validated_run

app = typer.Typer()
app.add_typer(release_app, name="release")
app.command("pull")(pull)
runner = CliRunner()

pytestmark = pytest.mark.usefixtures("pin_env")


def _run(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_create_list_show_pull(store, tmp_path):
    summary = record_validated_run(store, shards=3, failing={2})
    created = _run("release", "create", "2026-q1", "--store", str(store))
    assert created.exit_code == 0, created.output
    assert "release 2026-q1: 2 shards of acme-news certified by certifier@jp-local-1" in \
        created.output
    assert "certification at log index 5" in created.output

    listed = _run("release", "list", "--store", str(store))
    assert listed.exit_code == 0, listed.output
    assert "2026-q1" in listed.output and "certifier@jp-local-1" in listed.output

    shown = _run("release", "show", "2026-q1", "--store", str(store))
    assert shown.exit_code == 0, shown.output
    for shard in summary.shards[:2]:
        assert shard.path in shown.output and shard.sha256 in shown.output
    assert "inclusion proof verified" in shown.output
    assert "release 2026-q1 verified" in shown.output

    dest = tmp_path / "pulled"
    pulled = _run("pull", "2026-q1", "--dest", str(dest), "--store", str(store))
    assert pulled.exit_code == 0, pulled.output
    assert "pulled release 2026-q1: 2 verified shards" in pulled.output
    assert len(json.loads((dest / "__kura" / "release.json").read_text())["shards"]) == 2


def test_user_errors_exit_2_with_one_line(store, tmp_path):
    record_validated_run(store, shards=1)
    assert _run("release", "create", "r1", "--store", str(store)).exit_code == 0
    again = _run("release", "create", "r1", "--store", str(store))
    assert again.exit_code == 2
    assert "release r1 exists" in again.output
    bad = _run("release", "create", "Bad Name", "--store", str(store))
    assert bad.exit_code == 2 and "release name 'Bad Name'" in bad.output
    missing = _run("pull", "nope", "--dest", str(tmp_path / "d"), "--store", str(store))
    assert missing.exit_code == 2 and "no release named 'nope'" in missing.output
    nostore = _run("release", "list", "--store", str(tmp_path / "no-store"))
    assert nostore.exit_code == 2 and "no such directory" in nostore.output


def test_flipped_shard_makes_show_and_pull_fail_naming_it(store, tmp_path):
    summary = record_validated_run(store, shards=2)
    assert _run("release", "create", "r1", "--store", str(store)).exit_code == 0
    flip_byte(store / summary.shards[1].path)
    shown = _run("release", "show", "r1", "--store", str(store))
    assert shown.exit_code == 1
    assert f"✗ {summary.shards[1].path}: sha256" in shown.output
    dest = tmp_path / "d"
    refused = _run("pull", "r1", "--dest", str(dest), "--store", str(store))
    assert refused.exit_code == 1
    assert f"refused: {summary.shards[1].path}: sha256" in refused.output
    assert "nothing was written to" in refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pinned-root.pub.pem", "store"]  # no dest


def test_store_that_fails_verification_exits_1_naming_the_shard(store):
    summary = record_validated_run(store, shards=2)
    flip_byte(store / summary.shards[0].path)
    result = _run("release", "create", "r1", "--store", str(store))
    assert result.exit_code == 1
    assert f"subject.digest: {summary.shards[0].path}: sha256 on disk" in result.output


def test_site_signed_release_is_refused_by_show_and_pull(store, tmp_path):
    summary = record_validated_run(store, shards=1)
    forge_release(store, "forged", load_site_context(store).site_key, summary)
    shown = _run("release", "show", "forged", "--store", str(store))
    assert shown.exit_code == 1 and "NOT verified" in shown.output
    refused = _run("pull", "forged", "--dest", str(tmp_path / "d"), "--store", str(store))
    assert refused.exit_code == 1
    assert "may not sign certifications" in refused.output


def _json(*args: str) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # exactly one JSON document, nothing else


def test_every_release_command_prints_one_json_document(store, tmp_path):
    summary = record_validated_run(store, shards=2)
    created = _json("release", "create", "r1", "--store", str(store), "--json")
    assert created["release"] == "r1" and created["logIndex"] == 4
    assert created["completed"] is False and created["leftOut"] == []
    assert [s["name"] for s in created["shards"]] == [s.path for s in summary.shards]
    assert created["corpusFacts"] == [
        {"corpusId": "acme-news", "member": "acme", "license": "consortium-internal",
         "sensitivity": "internal", "factsFrom": "store-manifest"}]
    assert created["notes"] == ["corpus acme-news: license and sensitivity read from the "
                                "store's manifests/acme-news.toml (unsigned): its shards "
                                "predate shard metadata"]

    listed = _json("release", "list", "--store", str(store), "--json")
    assert [(r["release"], r["logIndex"], r["rows"], r["signed"]) for r in listed["releases"]] \
        == [("r1", 4, 8, False)]

    shown = _json("release", "show", "r1", "--store", str(store), "--json")
    assert shown["verified"] is True and shown["logIndex"] == 4 and shown["problems"] == []
    assert shown["corpusFacts"] == created["corpusFacts"]
    assert [s["verified"] for s in shown["shards"]] == [True, True]

    dest = tmp_path / "d"
    pulled = _json("pull", "r1", "--dest", str(dest), "--store", str(store), "--json")
    assert pulled["rows"] == 8 and pulled["releaseFile"] == str(dest / "__kura" / "release.json")
    assert pulled["datasetCard"] == str(dest / "__kura" / "README.md")
    assert [s["path"] for s in pulled["shards"]] == [
        "acme-news/run-1-part-00000.parquet", "acme-news/run-1-part-00001.parquet"]


def test_show_json_of_a_changed_shard_says_not_verified_and_exits_1(store):
    summary = record_validated_run(store, shards=2)
    assert _run("release", "create", "r1", "--store", str(store)).exit_code == 0
    flip_byte(store / summary.shards[1].path)
    result = runner.invoke(app, ["release", "show", "r1", "--store", str(store), "--json"])
    assert result.exit_code == 1
    shown = json.loads(result.stdout)
    assert shown["verified"] is False and [s["verified"] for s in shown["shards"]] == [True, False]
    assert shown["problems"][0].startswith(f"{summary.shards[1].path}: sha256")
    assert result.stderr.count("\n") == 1 and "NOT verified" in result.stderr


def test_a_restricted_corpus_is_released_only_with_its_flag(store):
    record_validated_run(store, shards=1, corpus="acme-hr", sensitivity="restricted")
    refused = _run("release", "create", "r1", "--store", str(store))
    assert refused.exit_code == 2
    assert refused.stderr.strip() == ("kura: corpus acme-hr is restricted: add "
                                      "--allow-restricted acme-hr to release it; nothing was "
                                      "certified")
    assert not (store / "releases").exists() or not list((store / "releases").iterdir())
    allowed = _run("release", "create", "r1", "--allow-restricted", "acme-hr",
                   "--store", str(store))
    assert allowed.exit_code == 0, allowed.output
    assert ("corpus acme-hr: member acme, license consortium-internal, sensitivity restricted, "
            "released explicitly (--allow-restricted)") in allowed.stdout
    shown = _json("release", "show", "r1", "--store", str(store), "--json")
    assert shown["corpusFacts"][0]["allowRestricted"] is True

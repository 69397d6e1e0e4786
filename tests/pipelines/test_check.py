"""`kura check MANIFEST`: every problem at once, with "did you mean", before anything runs;
and `kura onboard` refusing a wrong `text_field` the same way, leaving the store untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from pipelines.check import check_manifest
from pipelines.cli_check import check
from pipelines.launch import launch
from pipelines.options import RunnerChoice
from schemas.manifest import ManifestError, load_manifest

LOCATION = '{ provider = "onprem", country = "JP", region = "jp-tokyo" }'
JA = "東京都港区の会議は明日の午前十時から始まります。資料を準備してください。"


def manifest_text(*sources: str, corpus_extra: str = "", extra: str = "") -> str:
    blocks = "".join(f"\n[[sources]]\n{s}\nlocation = {LOCATION}\n" for s in sources)
    return (f'[corpus]\nid = "acme-docs"\nmember = "acme"\nlicense = "x"\n'
            f'sensitivity = "internal"\n{corpus_extra}\n{blocks}\n{extra}\n')


def write(folder: Path, *sources: str, corpus_extra: str = "", extra: str = "") -> Path:
    path = folder / "manifest.toml"
    path.write_text(manifest_text(*sources, corpus_extra=corpus_extra, extra=extra),
                    encoding="utf-8")
    return path


def jsonl(folder: Path, name: str, *records: dict) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def where(report) -> dict[str, tuple[str, str | None]]:
    return {p.where: (p.message, p.suggestion) for p in report.problems}


def test_three_mistakes_come_in_one_report_with_did_you_mean(tmp_path: Path) -> None:
    jsonl(tmp_path, "data/a.jsonl", {"text": JA})
    path = write(tmp_path, 'uri = "data/*.jsonl"\nformat = "jsonll"\ntext_column = "text"',
                 extra="[qualty]\nmin_chars = 10")
    report = check_manifest(path)
    assert not report.ok
    assert where(report)["sources[0].text_column"] == ("unknown key", "text_field")
    assert where(report)["qualty"] == ("unknown section", "quality")
    assert where(report)["sources[0].format"][1] == "jsonl"
    assert len(report.problems) == 3
    # The invalid source is not read, and the report says so.
    assert any(w.where == "sources[0]" and "once its section is valid" in w.message
               for w in report.warnings)


def test_a_csv_with_the_wrong_text_field_lists_its_columns(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text(f"id,Text,title\n1,{JA},t\n", encoding="utf-8")
    report = check_manifest(write(tmp_path, 'uri = "data/a.csv"\nformat = "csv"'))
    message, suggestion = where(report)["sources[0].text_field"]
    assert message == "'text' is not a column of data/a.csv; its columns: id, Text, title"
    assert suggestion == "Text"
    assert report.sources[0].fields == ("id", "Text", "title")


def test_a_cp932_csv_header_is_listed_as_the_steward_wrote_it(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(f"番号,本文,件名\n1,{JA},議事録\n".encode("cp932"))
    report = check_manifest(write(tmp_path, 'uri = "a.csv"\nformat = "csv"'))
    message, _ = where(report)["sources[0].text_field"]
    assert message.endswith("its columns: 番号, 本文, 件名")
    fixed = check_manifest(write(tmp_path, 'uri = "a.csv"\nformat = "csv"\ntext_field = "本文"'))
    assert fixed.ok, fixed.problems


def test_a_jsonl_with_the_wrong_field_lists_the_fields_of_its_records(tmp_path: Path) -> None:
    jsonl(tmp_path, "a.jsonl", {"title": "090-1234-5678", "body": JA}, {"body": JA, "id": 2})
    report = check_manifest(write(tmp_path, 'uri = "a.jsonl"\nformat = "jsonl"\n'
                                            'text_field = "bdy"'))
    message, suggestion = where(report)["sources[0].text_field"]
    assert "its fields: title, body, id" in message and suggestion == "body"
    assert "090" not in json.dumps(report.to_json(), ensure_ascii=False)


def test_some_jsonl_records_without_the_field_are_a_warning(tmp_path: Path) -> None:
    jsonl(tmp_path, "a.jsonl", {"text": JA}, {"body": JA})
    report = check_manifest(write(tmp_path, 'uri = "a.jsonl"\nformat = "jsonl"'))
    assert report.ok
    assert any("1 of the first 2 records of a.jsonl has no field 'text'" in w.message
               for w in report.warnings)


def test_a_parquet_with_the_wrong_column_lists_its_columns(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1], "content": [JA]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"id": [1], "content": [2]}), tmp_path / "b.parquet")
    report = check_manifest(write(
        tmp_path, 'uri = "a.parquet"\nformat = "parquet"\ntext_field = "contnet"',
        'uri = "b.parquet"\nformat = "parquet"\ntext_field = "content"'))
    assert where(report)["sources[0].text_field"] == (
        "'contnet' is not a column of a.parquet; its columns: id, content", "content")
    assert "is int64, not text" in where(report)["sources[1].text_field"][0]


def test_a_glob_that_matches_nothing_suggests_what_is_there(tmp_path: Path) -> None:
    jsonl(tmp_path, "data/manuals/a.jsonl", {"text": JA})
    jsonl(tmp_path, "data/mails/b.json", {"text": JA})
    report = check_manifest(write(tmp_path, 'uri = "data/manulas/*.jsonl"\nformat = "jsonl"',
                                  'uri = "data/mails/*.jsonl"\nformat = "jsonl"',
                                  'uri = "elsewhere/x.jsonl"\nformat = "jsonl"'))
    found = {p.where: p for p in report.problems}
    assert sorted(found) == ["sources[0].uri", "sources[1].uri", "sources[2].uri"]
    assert found["sources[0].uri"].suggestion == "data/manuals/*.jsonl"
    assert found["sources[1].uri"].suggestion == "data/mails/*.json"
    assert found["sources[2].uri"].suggestion is None
    assert found["sources[2].uri"].message.startswith(
        "no file matches 'elsewhere/x.jsonl'; the nearest folder ./ (the manifest's folder) "
        "holds: ")


def test_a_pseudonym_manifest_without_its_secret_is_a_problem(tmp_path: Path) -> None:
    jsonl(tmp_path, "a.jsonl", {"text": JA})
    path = write(tmp_path, 'uri = "a.jsonl"\nformat = "jsonl"',
                 extra='[pii]\nmode = "pseudonym"\nsecret_env = "ACME_PII_SECRET"')
    missing = check_manifest(path, environ={})
    assert where(missing) == {"pii.secret_env": (
        "environment variable ACME_PII_SECRET is unset or empty; set it to the corpus's "
        "pseudonym secret", None)}
    present = check_manifest(path, environ={"ACME_PII_SECRET": "s3cr3t-value"})
    assert present.ok and "s3cr3t" not in json.dumps(present.to_json())


def app() -> typer.Typer:
    throwaway = typer.Typer()
    throwaway.command()(check)
    throwaway.callback()(lambda: None)
    return throwaway


def test_json_output_is_one_document_and_exit_2_on_a_problem(tmp_path: Path) -> None:
    jsonl(tmp_path, "a.jsonl", {"body": JA})
    path = write(tmp_path, 'uri = "a.jsonl"\nformat = "jsonl"', corpus_extra='licence = "x"')
    result = CliRunner().invoke(app(), ["check", str(path), "--json"], env={"KURA_STORE": ""})
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"ok", "problems", "warnings", "sources"} and not document["ok"]
    assert document["sources"] == [{"uri": "a.jsonl", "files": 1,
                                    "bytes": (tmp_path / "a.jsonl").stat().st_size,
                                    "format": "jsonl", "fields": ["body"]}]
    assert [(p["where"], p["suggestion"]) for p in document["problems"]] == [
        ("corpus.licence", "license"), ("sources[0].text_field", None)]


def test_text_output_is_one_line_per_problem_and_a_verdict(tmp_path: Path) -> None:
    jsonl(tmp_path, "a.jsonl", {"text": JA})
    good = write(tmp_path, 'uri = "a.jsonl"\nformat = "jsonl"')
    result = CliRunner().invoke(app(), ["check", str(good)], env={"KURA_STORE": ""})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("sources[0] a.jsonl: 1 file, ")
    assert lines[-1] == "ok: kura onboard would run (1 warning)"
    bad = write(tmp_path, 'uri = "a.jsonl"\nformat = "jsonl"\ntext_field = "body"',
                corpus_extra="colour = 1")
    result = CliRunner().invoke(app(), ["check", str(bad)], env={"KURA_STORE": ""})
    assert result.exit_code == 2
    assert result.stdout.splitlines()[-1] == (
        "2 problems (1 warning): kura onboard would stop before reading anything")


def store_files(store: Path) -> dict[str, str]:
    return {str(p.relative_to(store)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(store.rglob("*")) if p.is_file()}


def two_mistakes(folder: Path) -> Path:
    (folder / "a.csv").write_text(f"id,body\n1,{JA}\n", encoding="utf-8")
    jsonl(folder, "b.jsonl", {"text": JA})
    return write(folder, 'uri = "a.csv"\nformat = "csv"', 'uri = "c.jsonl"\nformat = "jsonl"')


def test_a_launch_with_a_wrong_text_field_stops_before_the_store_is_touched(
        tmp_path: Path, store: Path) -> None:
    path = two_mistakes(tmp_path)
    before = store_files(store)

    def run(*_args):
        raise AssertionError("nothing may run")

    with pytest.raises(ManifestError) as err:
        launch(load_manifest(path), path, store, RunnerChoice(), run=run)
    assert [p.where for p in err.value.problems] == ["sources[0].text_field", "sources[1].uri"]
    assert err.value.problems[1].suggestion == "b.jsonl"
    assert store_files(store) == before


@pytest.mark.slow
def test_onboard_refuses_a_wrong_text_field_with_exit_2_and_one_line(tmp_path: Path,
                                                                     store: Path) -> None:
    path = two_mistakes(tmp_path)
    before = store_files(store)
    result = subprocess.run([sys.executable, "-m", "pipelines.cli", "onboard", str(path),
                             "--store", str(store)], cwd=tmp_path, capture_output=True,
                            text=True, env=os.environ, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "2 problems" in lines[0] and "its columns: id, body" in lines[0]
    assert "sources[1].uri: no file matches 'c.jsonl'" in lines[0]
    assert store_files(store) == before


@pytest.mark.slow
def test_a_demo_manifest_passes_against_its_store_and_another_member_is_refused(
        demo_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = demo_store.corpus_dir / "manifest.toml"
    monkeypatch.setenv("KURA_TRUST_ROOT", str(demo_store.trust_root))
    mine = check_manifest(manifest, demo_store.store)
    assert mine.ok, mine.problems
    assert not any(w.where == "store" for w in mine.warnings)
    theirs = tmp_path / "manifest.toml"
    text = manifest.read_text(encoding="utf-8").replace('member = "acme"', 'member = "other"')
    text = text.replace('[corpus]', '[corpus]\nsource_uris = "absolute"')
    theirs.write_text(text.replace('uri = "', f'uri = "{demo_store.corpus_dir}/'),
                      encoding="utf-8")
    refused = check_manifest(theirs, demo_store.store)
    [problem] = refused.problems
    assert problem.where == "corpus.id" and "belongs to member acme" in problem.message
    assert "log index " in problem.message

"""Real residual PII withholds one document, not a shard; `kura onboard` says so in its exit
status, its summary and its report. Planted: one residual phone number (in a corpus whose
manifest leaves phones unscrubbed), one JAN product code that passes Luhn, and one RFC 6531
address, among many clean documents."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from faker import Faker

from schemas.pii import PII_ENTITIES

pytestmark = pytest.mark.slow

CLEAN_DOCUMENTS = 60
PHONE = "03-5555-0123"
JAN = "4901234567894"
PLANTED = {
    "phone": f"ご不明な点は担当窓口 {PHONE} までお問い合わせください。",
    "jan": f"JANコード {JAN} の商品は来週から出荷を再開します。",
    "rfc6531": "ご意見は、問い合わせ窓口 やまだ@example.jp へお送りください。",
}


def write_corpus(folder: Path, unscrubbed_phones: bool, empty_source: bool = False) -> Path:
    fake = Faker("ja_JP")
    fake.seed_instance(20261130)
    (folder / "data").mkdir(parents=True)
    lines = []
    for i in range(CLEAN_DOCUMENTS):
        lines.append({"id": f"clean-{i}", "text": fake.paragraph(nb_sentences=8)})
    for kind, sentence in PLANTED.items():
        lines.append({"id": kind, "text": fake.paragraph(nb_sentences=6) + sentence})
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    (folder / "data" / "docs.jsonl").write_text(body, encoding="utf-8")
    entities = [e for e in PII_ENTITIES if not (unscrubbed_phones and e == "PHONE_NUMBER")]
    sources = ['uri = "data/docs.jsonl"']
    if empty_source:
        (folder / "data" / "nothing.jsonl").write_bytes(b"")
        sources.append('uri = "data/nothing.jsonl"')
    manifest = folder / "manifest.toml"
    manifest.write_text(
        '[corpus]\nid = "gate-test"\nmember = "acme"\nlicense = "consortium-internal"\n'
        'sensitivity = "confidential"\n\n'
        + "".join(
            f'[[sources]]\n{uri}\nformat = "jsonl"\n'
            'location = { provider = "onprem", country = "JP", region = "jp-tokyo" }\n\n'
            for uri in sources
        )
        + f"[pii]\nentities = {json.dumps(entities)}\n\n"
        + "[quality]\ndisable = [\"hiragana_fraction\"]\n",  # Faker's lorem has few kana
        encoding="utf-8",
    )
    return manifest


def kura(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KURA_STORE": str(cwd / "store")}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def onboard(folder: Path, **corpus) -> subprocess.CompletedProcess:
    manifest = write_corpus(folder, **corpus)
    keys = kura("keys", "init", "--site", "tokyo-1", "--country", "JP", "--region", "jp-tokyo",
                cwd=folder)
    assert keys.returncode == 0, keys.stderr
    return kura("onboard", str(manifest), cwd=folder)


def run_summary(store: Path) -> dict:
    (path,) = (store / "runs").glob("*.json")
    return json.loads(path.read_text())


def table_rows(store: Path, folder: str) -> list[dict]:
    rows: list[dict] = []
    for path in sorted((store / folder).glob("*/*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


@pytest.fixture(scope="module")
def withheld(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("withheld")
    return folder, onboard(folder, unscrubbed_phones=True)


def test_exactly_the_document_with_residual_pii_is_quarantined(withheld) -> None:
    folder, _ = withheld
    store = folder / "store"
    quarantined = table_rows(store, "quarantine")
    assert [json.loads(r["reason"])["entities"] for r in quarantined] == [{"PHONE_NUMBER": 1}]
    assert quarantined[0]["locator"] == CLEAN_DOCUMENTS + 1  # the phone's line
    shard_rows = table_rows(store, "shards")
    assert len(shard_rows) == CLEAN_DOCUMENTS + 2
    texts = "\n".join(r["text"] for r in shard_rows)
    assert JAN in texts  # a product code, kept
    assert "やまだ@example.jp" not in texts and "<EMAIL_ADDRESS>" in texts
    summary = run_summary(store)
    assert all(check["passed"] for check in summary["validation"].values())
    mode = (store / quarantined_path(summary)).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def quarantined_path(summary: dict) -> str:
    (entry,) = summary["quarantined"]
    return entry["path"]


def test_withheld_documents_exit_3_naming_check_column_count_and_doc_id(withheld) -> None:
    folder, result = withheld
    assert result.returncode == 3, result.stderr
    summary = run_summary(folder / "store")
    (entry,) = summary["quarantined"]
    assert entry["check"] == "validate.residual_pii" and entry["column"] == "text"
    assert entry["documents"] == 1 and entry["entities"] == {"PHONE_NUMBER": 1}
    (doc_id,) = entry["doc_ids"]
    assert "withheld 1 document(s): validate.residual_pii on column text" in result.stderr
    assert doc_id in result.stderr
    assert "withheld: validate.residual_pii" in result.stdout
    report = (folder / "store" / "runs" / f"{summary['run_id']}.html").read_text()
    assert doc_id in report and "validate.residual_pii" in report
    for where in (result.stdout, result.stderr, report, json.dumps(summary)):
        assert PHONE not in where and "5555" not in where


def test_the_rest_certify_into_a_release(withheld) -> None:
    folder, _ = withheld
    created = kura("release", "create", "r1", cwd=folder)
    assert created.returncode == 0, created.stderr
    release = json.loads((folder / "store" / "releases" / "r1.json").read_text())
    assert sum(s["rows"] for s in release["shards"]) == CLEAN_DOCUMENTS + 2


def test_default_settings_certify_every_document_and_exit_0(tmp_path: Path) -> None:
    result = onboard(tmp_path, unscrubbed_phones=False)
    assert result.returncode == 0, result.stderr
    store = tmp_path / "store"
    assert table_rows(store, "quarantine") == []
    texts = "\n".join(r["text"] for r in table_rows(store, "shards"))
    assert len(table_rows(store, "shards")) == CLEAN_DOCUMENTS + 3
    assert PHONE not in texts and "<PHONE_NUMBER>" in texts and JAN in texts


def test_a_source_that_yields_no_document_exits_4_and_names_it(tmp_path: Path) -> None:
    result = onboard(tmp_path, unscrubbed_phones=False, empty_source=True)
    assert result.returncode == 4, result.stderr
    assert "nothing.jsonl yielded no document" in result.stderr


def test_release_create_says_why_a_corpus_has_nothing_to_release(tmp_path: Path) -> None:
    manifest = write_corpus(tmp_path, unscrubbed_phones=True)
    fake = Faker("ja_JP")
    fake.seed_instance(7)
    lines = [json.dumps({"text": fake.paragraph(nb_sentences=6) + f"窓口は{PHONE}です。"},
                        ensure_ascii=False) for _ in range(3)]
    (tmp_path / "data" / "docs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert kura("keys", "init", "--site", "tokyo-1", "--country", "JP", "--region", "jp-tokyo",
                cwd=tmp_path).returncode == 0
    assert kura("onboard", str(manifest), cwd=tmp_path).returncode == 3
    created = kura("release", "create", "r1", "--corpus", "gate-test", cwd=tmp_path)
    assert created.returncode == 2
    assert ("nothing to release: corpus gate-test: its latest run (log index 1) wrote no shard: "
            "read 3, written 0, rejected 3, duplicates 0, withheld for residual PII 3"
            in created.stderr)


@pytest.mark.shared
def test_the_man_pages_certify_at_default_settings(manpages_path: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        '[corpus]\nid = "manpages"\nmember = "oss"\nlicense = "various"\n'
        f'sensitivity = "public"\nroot = "{manpages_path.parent}"\n\n[[sources]]\n'
        f'uri = "{manpages_path.as_uri()}"\nformat = "jsonl"\n'
        'location = { provider = "onprem", country = "JP", region = "jp-tokyo" }\n',
        encoding="utf-8",
    )
    assert kura("keys", "init", "--site", "tokyo-1", "--country", "JP", "--region", "jp-tokyo",
                cwd=tmp_path).returncode == 0
    result = kura("onboard", str(manifest), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = run_summary(tmp_path / "store")
    certified = sum(s["rows"] for s in summary["shards"] if s["path"].startswith("shards/"))
    assert summary["counts"]["written"] > 1600
    assert certified / summary["counts"]["written"] >= 0.999
    assert not summary["quarantined"]

"""`kura forget` and `kura gc` as a steward runs them, on a pseudonym-mode demo corpus with a
planted person: every document that mentioned the person leaves the next release, gc removes
the old bytes with tombstones, and afterwards no file of the store holds the name in any width
or spacing (Parquet columns decoded, log payloads decoded, everything else as text)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lineage.certified import open_release
from lineage.certify import create_release
from lineage.dsse import canonical_json, sign
from lineage.keys import default_root_key_path, load_site_context
from lineage.log import TransparencyLog
from lineage.policy import load_policy
from lineage.signing import load_private_key
from lineage.tombstone import tombstone_statement
from lineage.verify import verify_store
from pipelines.democorpus import DemoCorpus, generate_demo_corpus
from schemas.predicates import IN_TOTO_PAYLOAD_TYPE, TombstonePredicate
from tests.pipelines.conftest import onboard
from transforms.pii import pseudonym

pytestmark = pytest.mark.slow

PERSON = "蔵元千早"  # not a name the demo generator uses
SECRET_ENV = "KURA_TEST_FORGET_SECRET"
SECRET = "a-test-pseudonym-secret"
_TAIL = ("ご不明な点がございましたら、担当部署までお気軽にお問い合わせください。"
         "今後ともよろしくお願いいたします。")
PLANTED = tuple(text + _TAIL for text in (
    "担当の蔵元千早様より、来週の打ち合わせについてご連絡がありました。資料は前日までにお送りします。",
    "先日の会議では蔵元 千早さんが新製品の説明を行い、参加者から多くの質問が寄せられました。",
    "議事録作成者：蔵元千早（営業部）。次回の定例会は月末に開催する予定です。よろしくお願いします。",
))


REJECTED = "蔵元千早です。"


@dataclass(frozen=True)
class Forgotten:
    corpus_dir: Path
    store: Path
    trust_root: Path
    released_before: int  # rows of release r1
    forget: dict  # `kura forget --json`
    forget_seconds: float


def kura(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, SECRET_ENV: SECRET}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=env,
                          input=stdin, capture_output=True, text=True, timeout=600)


def _plant(corpus: DemoCorpus) -> None:
    manifest = corpus.manifest_path
    manifest.write_text(manifest.read_text() + f'\n[pii]\nmode = "pseudonym"\n'
                        f'secret_env = "{SECRET_ENV}"\n')
    folder = manifest.parent / "jsonl"
    (folder / "planted.jsonl").write_text(
        "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in PLANTED)
        # Too short: a reject whose raw bytes hold the name, which forget must take back too.
        + json.dumps({"text": REJECTED}, ensure_ascii=False) + "\n")
    # An exact copy in another source: removed as a duplicate of the first, it must not be
    # promoted back when the first is withdrawn.
    (folder / "planted-copy.jsonl").write_text(
        json.dumps({"text": PLANTED[0]}, ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory) -> Forgotten:
    import time

    base = tmp_path_factory.mktemp("forget")
    os.environ[SECRET_ENV] = SECRET  # the in-process onboard reads it on its worker
    corpus = generate_demo_corpus(base / "corpus", documents=60)
    _plant(corpus)
    store = base / "store"
    onboard(corpus, store)
    root_keyid = load_policy(store).policy.root_keys[0].keyid
    trust_root = base / "root.pub.pem"
    trust_root.write_text(load_private_key(default_root_key_path(root_keyid)).public_pem)
    r1 = create_release(store, "r1", trust_root=trust_root)
    started = time.perf_counter()
    done = kura("forget", "--value", "-", "--reason", "APPI deletion request 2026-118",
                "--store", str(store), "--json", cwd=corpus.manifest_path.parent,
                stdin=PERSON + "\n")
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert PERSON not in done.stdout + done.stderr
    return Forgotten(corpus.manifest_path.parent, store, trust_root,
                     sum(s.rows for s in r1.release.shards), json.loads(done.stdout), seconds)


def test_every_document_that_mentioned_the_person_is_out_of_the_next_release(forgotten) -> None:
    token = pseudonym(SECRET.encode(), "PERSON", PERSON)
    withdrawal = forgotten.forget["withdrawals"]["acme-business-docs"]
    assert forgotten.forget["documents"] == len(PLANTED) + 1
    # The copy is not promoted back; the rejected record's raw bytes go too.
    assert withdrawal["byKind"] == {"kept": 3, "duplicate": 1, "reject": 1}
    assert withdrawal["promoted"] == [] and withdrawal["unrestored"] == []
    create_release(forgotten.store, "r2", trust_root=forgotten.trust_root)
    table = open_release(forgotten.store, "r2", trust_root=forgotten.trust_root).to_table()
    texts = table.column("text").to_pylist()
    assert table.num_rows == forgotten.released_before - len(PLANTED)
    assert not [t for t in texts if token in t]
    assert not set(table.column("source_uri").to_pylist()) & {
        "jsonl/planted.jsonl", "jsonl/planted-copy.jsonl"}
    assert verify_store(forgotten.store, trust_root=forgotten.trust_root).ok


def test_forget_refuses_a_reason_that_holds_the_value(forgotten) -> None:
    done = kura("forget", "--value", "-", "--reason", "request from 蔵元 千早",
                "--store", str(forgotten.store), cwd=forgotten.corpus_dir, stdin=PERSON)
    assert done.returncode == 2
    assert "--reason contains the value" in done.stderr and PERSON not in done.stderr


def _copy(forgotten: Forgotten, folder: Path) -> Path:
    store = folder / "store"
    shutil.copytree(forgotten.store, store)
    return store


KILLED = """
import os, signal, sys
import lineage.gc
def dying(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
lineage.gc._unlink = dying
from pipelines.cli import main
sys.argv = ["kura", *sys.argv[1:]]
main()
"""


def test_gc_killed_after_its_tombstones_leaves_a_verifiable_store(forgotten, tmp_path) -> None:
    store = _copy(forgotten, tmp_path)
    planned = kura("gc", "--retention", "0", "--dry-run", "--json", "--store", str(store),
                   cwd=tmp_path)
    due = [f["path"] for f in json.loads(planned.stdout)["files"] if f["action"] == "remove"]
    assert due and all((store / path).exists() for path in due)  # a dry run changes nothing
    script = tmp_path / "driver.py"
    script.write_text(KILLED)
    killed = subprocess.run([sys.executable, str(script), "gc", "--retention", "0", "--store",
                             str(store)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    report = verify_store(store, trust_root=forgotten.trust_root)
    assert report.ok, report.failures()  # tombstoned, still on disk: the bytes still match
    assert all((store / path).exists() for path in due)
    finished = kura("gc", "--retention", "0", "--json", "--store", str(store), cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    outcome = json.loads(finished.stdout)
    assert sorted(f["path"] for f in outcome["files"] if f["action"] == "finish") == sorted(due)
    assert not any((store / path).exists() for path in due)
    report = verify_store(store, trust_root=forgotten.trust_root)
    assert report.ok, report.failures()
    assert sorted(t.name for t in report.removed) == sorted(due)
    assert {t.predicate.reason for t in report.removed} == {"withdrawn"}


def test_a_tombstone_for_a_current_shard_fails_verification(forgotten, tmp_path) -> None:
    store = _copy(forgotten, tmp_path)
    context = load_site_context(store)
    release = create_release(store, "current", trust_root=forgotten.trust_root).release
    shard = release.shards[0]
    statement = tombstone_statement(shard.name, shard.sha256, TombstonePredicate(
        reason="superseded", superseded_by=0, superseded_at="2026-01-01T00:00:00Z",
        retention_days=0, bytes=1, removed_at="2026-01-01T00:00:00Z",
        site_id=context.site_id, policy_digest=context.signed_policy.digest))
    envelope = sign(IN_TOTO_PAYLOAD_TYPE, canonical_json(statement), context.site_key)
    TransparencyLog(store).append([envelope.to_json_line()], context.site_key,
                                  context.log_origin)
    (store / shard.name).unlink()
    report = verify_store(store, trust_root=forgotten.trust_root)
    assert not report.ok
    assert any("is a current file of its corpus" in f for f in report.failures())


def _normalized(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _texts_of(path: Path) -> list[str]:
    """Everything a file says, decoded: Parquet cells, DSSE payloads, text in any encoding."""
    if path.suffix == ".parquet":
        found = []
        for row in pq.read_table(path).to_pylist():
            for cell in row.values():
                if isinstance(cell, bytes):
                    found += [cell.decode(c, errors="ignore")
                              for c in ("utf-8", "cp932", "euc_jp", "utf-16")]
                else:
                    found.append(json.dumps(cell, ensure_ascii=False, default=str))
        return found
    data = path.read_bytes()
    found = [data.decode(c, errors="ignore") for c in ("utf-8", "cp932", "euc_jp", "utf-16")]
    if path.suffix in (".jsonl", ".json"):
        for line in data.splitlines():
            try:
                payload = json.loads(line).get("payload")
            except (ValueError, AttributeError):
                continue
            if isinstance(payload, str):
                found.append(base64.b64decode(payload).decode("utf-8", errors="ignore"))
    return found


def test_after_gc_no_file_of_the_store_holds_the_name(forgotten, tmp_path) -> None:
    store = _copy(forgotten, tmp_path)
    token = pseudonym(SECRET.encode(), "PERSON", PERSON)
    needles = {_normalized(PERSON), token}

    def holding() -> list[str]:
        files = [p for p in store.rglob("*") if p.is_file()]
        assert any(p.suffix == ".parquet" for p in files)
        assert store / "lineage" / "log.jsonl" in files
        return sorted(str(p.relative_to(store)) for p in files
                      if any(n in _normalized(text) for text in _texts_of(p) for n in needles))

    # Before gc the replaced shards still hold the pseudonym and the replaced rejects file the
    # name: the search sees into Parquet.
    before = holding()
    assert any(name.startswith("shards/") for name in before)
    assert any(name.startswith("rejects/") for name in before)
    assert all(name.startswith(("shards/", "rejects/")) for name in before)
    done = kura("gc", "--retention", "0", "--store", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert holding() == []
    # the withdrawal record keeps only hashes of the pseudonym
    assert any(w for w in (store / "withdrawals").rglob("*.parquet"))


def test_a_full_re_run_after_forget_does_not_bring_the_person_back(forgotten, tmp_path) -> None:
    """The planted source files are still there: a full run reads them again, and the
    "withdrawn" steps reject the forgotten documents (ids and token hashes), keeping no bytes."""
    store = _copy(forgotten, tmp_path)
    rerun = kura("onboard", str(forgotten.corpus_dir / "manifest.toml"), "--store", str(store),
                 "--full", "--json", cwd=forgotten.corpus_dir)
    # 4: the demo plants an empty and a binary source; a wholly withdrawn one is not "empty"
    assert rerun.returncode == 4 and "planted" not in rerun.stderr, rerun.stderr
    assert PERSON not in rerun.stdout + rerun.stderr
    summary = json.loads(rerun.stdout)["summary"]
    # + the copy and the rejected record
    assert summary["counts"]["rejected"].get("withdrawn") == len(PLANTED) + 2
    release = create_release(store, "after-rerun", trust_root=forgotten.trust_root)
    table = open_release(store, "after-rerun", trust_root=forgotten.trust_root).to_table()
    token = pseudonym(SECRET.encode(), "PERSON", PERSON)
    assert not [t for t in table.column("text").to_pylist() if token in t]
    assert table.num_rows == sum(s.rows for s in release.release.shards)
    rejects = [p for p in (store / "rejects").rglob("*.parquet")]
    withdrawn_rows = [row for p in rejects for row in pq.read_table(p).to_pylist()
                      if row["step"] == "withdrawn"]
    assert len(withdrawn_rows) == len(PLANTED) + 2
    assert all(row["raw"] == b"" for row in withdrawn_rows)
    assert verify_store(store, trust_root=forgotten.trust_root).ok

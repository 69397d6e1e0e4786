"""`kura audit sql`: a query, --json, SQL on stdin, the shell (fed lines, and on a real
terminal), one-line errors, and a store that does not verify refused."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipelines.cli_audit import audit_app
from tests.lineage.audit_helpers import certify, local_source, record_local_run

app = typer.Typer()
app.add_typer(audit_app, name="audit")
runner = CliRunner()
KURA = Path(sys.executable).with_name("kura")


@pytest.fixture
def released(store: Path, tmp_path: Path) -> Path:
    _, sha = local_source(tmp_path / "corpus", "manuals/a.jsonl", '{"text": "a"}\n')
    run = record_local_run(store, "run-1", [("manuals/a.jsonl", sha)])
    certify(store, "r1", [(s.path, s.sha256) for s in run.shards])
    return store


def _sql(store: Path, *args: str, stdin: str | None = None):
    return runner.invoke(app, ["audit", "sql", *args, "--store", str(store)], input=stdin,
                         env={"COLUMNS": "200"})


def test_a_query_prints_a_table_and_json_prints_rows(released):
    query = "SELECT release, shard, corpus_id FROM releases ORDER BY shard"
    table = _sql(released, query)
    assert table.exit_code == 0, table.output
    assert "shards/acme-news/run-1-part-00001.parquet" in table.stdout
    assert "2 row(s)" in table.stdout
    rows = json.loads(_sql(released, query, "--json").stdout)  # one document, nothing else
    assert rows == [{"release": "r1", "shard": f"shards/acme-news/run-1-part-0000{n}.parquet",
                     "corpus_id": "acme-news"} for n in (0, 1)]
    typed = json.loads(_sql(released, "SELECT signed_at, rejected_by_step FROM runs",
                            "--json").stdout)
    assert typed[0]["rejected_by_step"] == {"quality.hiragana_fraction": 1}
    assert typed[0]["signed_at"].startswith("20")


def test_sql_is_read_from_stdin_when_no_query_is_given(released):
    done = _sql(released, "--json", stdin="SELECT 1 AS one;\nSELECT count(*) AS n FROM shards;\n")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == [{"n": 2}]  # the last statement's result


def test_the_shell_runs_statements_dot_commands_and_survives_errors(released):
    lines = ["SELECT count(*) AS n", "FROM documents;", ".views", "SELEC nothing;",
             ".schema rejects", ".schema nope", "SELECT 40 + 2 AS answer;", ".quit",
             "SELECT 'never reached';"]
    done = _sql(released, "--shell", stdin="\n".join(lines) + "\n")
    assert done.exit_code == 0, done.output
    out = done.stdout
    assert "│ 6 " in out  # six documents, from a statement over two lines
    assert "residency" in out and "every location a record claims" in out  # .views
    assert "error: Parser Error: syntax error" in out  # the error, then the shell goes on
    assert "withheld" in out and "never the raw bytes" in out  # .schema rejects
    assert "no view named nope" in out
    assert "42" in out and "never reached" not in out


def test_errors_are_one_line(released, tmp_path):
    bad = _sql(released, "SELECT nope FROM runs")
    assert bad.exit_code == 2
    assert bad.output.count("\n") == 2  # the unpinned-root note, then the error
    assert bad.output.splitlines()[-1].startswith("kura: SQL: Binder Error: Referenced column")
    write = _sql(released, f"COPY (SELECT 1) TO '{released / 'x.csv'}'")
    assert write.exit_code == 2 and "file system operations are disabled" in write.output
    assert not (released / "x.csv").exists()
    missing = runner.invoke(app, ["audit", "sql", "SELECT 1", "--store", str(tmp_path / "no")])
    assert missing.exit_code == 2 and "no such directory" in missing.output


def test_a_store_that_does_not_verify_gets_no_catalog(released, pinned_root):
    shard = released / "shards" / "acme-news" / "run-1-part-00000.parquet"
    shard.write_bytes(shard.read_bytes()[:-1] + b"\x00")
    done = _sql(released, "SELECT 1", "--trust-root", str(pinned_root))
    assert done.exit_code == 1
    assert "does not verify, so nothing is catalogued: subject.digest" in done.output


def test_describe_documents_every_view_without_a_store(tmp_path):
    done = runner.invoke(app, ["audit", "sql", "--describe", "--json", "--store",
                               str(tmp_path / "none")])
    assert done.exit_code == 0
    views = {v["name"]: [c["name"] for c in v["columns"]] for v in json.loads(done.stdout)}
    assert {"records", "runs", "sources", "shards", "releases", "rejects", "duplicates",
            "residency"} <= set(views)
    assert "raw" not in views["rejects"] and "text" not in views["documents"]


def _read_until(fd: int, marker: bytes, seconds: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.slow
def test_on_a_terminal_the_shell_starts_by_itself(released):
    """The real `kura` on a pseudo-terminal: no QUERY and a terminal on stdin give the shell."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kura on the terminal
        os.execve(str(KURA), [str(KURA), "audit", "sql", "--store", str(released)],
                  {**os.environ, "COLUMNS": "160"})
    try:
        banner = _read_until(fd, b"kura> ")
        assert b"verified log records" in banner and b"read-only" in banner
        os.write(fd, b"SELECT release FROM releases\r")
        assert b"...> " in _read_until(fd, b"...> ")  # waits for the ';'
        os.write(fd, b"LIMIT 1;\r")
        assert b"r1" in _read_until(fd, b"kura> ")
        os.write(fd, b".quit\r")
        _read_until(fd, b"\x00", seconds=10)  # until kura leaves the terminal
    finally:
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done:  # a failed assertion above left it waiting for input
            time.sleep(1)
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0

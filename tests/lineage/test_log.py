"""The append-only log: lines, checkpoints, proofs, and concurrent appenders."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from lineage import merkle
from lineage.keys import private_key_path
from lineage.log import LogError, TransparencyLog
from lineage.record import record_run
from lineage.signing import SigningKey, load_private_key
from tests.lineage.conftest import write_run


def test_append_writes_lines_and_a_checkpoint_of_them(tmp_path):
    key = SigningKey.generate()
    tlog = TransparencyLog(tmp_path)
    first = tlog.append(['{"n":0}', '{"n":1}'], key, "kura:test")
    second = tlog.append(['{"n":2}'], key, "kura:test")
    assert (first.first_index, first.tree_size) == (0, 2)
    assert (second.first_index, second.tree_size) == (2, 3)
    lines = tlog.read().lines
    assert lines == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    head = tlog.checkpoints()[-1].checkpoint
    assert head.tree_size == 3
    assert head.root_hash == merkle.root([merkle.leaf_hash(line) for line in lines]).hex()


def test_every_record_of_a_run_has_a_verifying_inclusion_proof(store):
    recorded = record_run(store, write_run(store, shards=5))
    tlog = TransparencyLog(store)
    for index in range(recorded.tree_size):
        proof = tlog.inclusion_proof(index)
        assert proof.root_hash == recorded.root_hash
        assert proof.verify()


def test_consistency_proof_between_two_runs_verifies(store):
    first = record_run(store, write_run(store, run_id="run-1"))
    second = record_run(store, write_run(store, run_id="run-2"))
    proof = TransparencyLog(store).consistency_proof(first.tree_size, second.tree_size)
    assert merkle.verify_consistency(
        first.tree_size, second.tree_size, bytes.fromhex(first.root_hash),
        bytes.fromhex(second.root_hash), proof,
    )


def test_append_refuses_a_log_that_ends_inside_a_line(tmp_path):
    key = SigningKey.generate()
    tlog = TransparencyLog(tmp_path)
    tlog.append(['{"n":0}'], key, "kura:test")
    with open(tlog.path, "ab") as out:
        out.write(b'{"half')
    with pytest.raises(LogError, match="ends inside a line"):
        tlog.append(['{"n":1}'], key, "kura:test")


def test_lines_with_newlines_are_refused(tmp_path):
    with pytest.raises(ValueError):
        TransparencyLog(tmp_path).append(["a\nb"], None, "kura:test")


def _appender(store: str, key_file: str, worker: int, count: int) -> None:
    key = load_private_key(Path(key_file))
    tlog = TransparencyLog(Path(store))
    for n in range(count):
        payload = json.dumps({"worker": worker, "n": n, "pad": "x" * (n * 37 % 500)})
        tlog.append([payload, payload.replace('"n"', '"m"')], key, f"kura:worker-{worker}")


def test_two_processes_appending_neither_interleave_nor_lose_lines(site):
    store = site.store_root
    key_file = private_key_path(store, site.site_key.keyid)
    count = 40
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_appender, args=(str(store), str(key_file), w, count))
               for w in (1, 2)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    tlog = TransparencyLog(store)
    contents = tlog.read()
    assert not contents.partial_tail
    records = [json.loads(line) for line in contents.lines[1:]]  # line 1: policy v1
    assert len(records) == 2 * 2 * count
    for w in (1, 2):
        mine = [r for r in records if r["worker"] == w]
        # each append's two lines stay adjacent and every append is there, in order
        assert [r.get("n", r.get("m")) for r in mine] == [n for n in range(count) for _ in (0, 1)]
    for i in range(0, len(records), 2):
        assert records[i]["worker"] == records[i + 1]["worker"]
    checkpoints = tlog.checkpoints()[1:]  # the first is init's, over policy v1
    assert len(checkpoints) == 2 * count
    assert sorted(c.checkpoint.tree_size for c in checkpoints) == list(range(3, 4 * count + 2, 2))
    hashes = contents.leaf_hashes()
    for c in checkpoints:
        assert c.checkpoint.root_hash == merkle.root(hashes[: c.checkpoint.tree_size]).hex()

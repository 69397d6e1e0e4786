"""Releases over real pipeline runs: only the latest run of a corpus is certified."""

from __future__ import annotations

import shutil

import pytest

from lineage.certified import open_release
from lineage.certify import create_release
from lineage.verify import verify_store
from pipelines.democorpus import DemoCorpus
from tests.pipelines.conftest import onboard

pytestmark = pytest.mark.slow


def test_a_rerun_with_changed_inputs_supersedes_the_earlier_shards(onboarded, tmp_path) -> None:
    corpus_dir = tmp_path / "corpus"
    shutil.copytree(onboarded.corpus.manifest_path.parent, corpus_dir)
    store = tmp_path / "store"
    first = onboard(DemoCorpus(**{**onboarded.corpus.__dict__,
                                  "manifest_path": corpus_dir / "manifest.toml"}), store)
    # The member sends one more document: every shard name changes with the inputs' digest.
    manuals = corpus_dir / "jsonl" / "manuals.jsonl"
    extra = ('{"id": "added-1", "text": "追加の保守手順書です。電源を切ってから、'
             '背面のカバーを外し、フィルターを清掃してください。作業の前に必ず手袋を'
             '着用し、清掃後は動作確認を行ってください。"}\n')
    manuals.write_text(manuals.read_text(encoding="utf-8") + extra, encoding="utf-8")
    second = onboard(DemoCorpus(**{**onboarded.corpus.__dict__,
                                   "manifest_path": corpus_dir / "manifest.toml"}), store)
    assert {s.path for s in first.summary.shards}.isdisjoint(
        {s.path for s in second.summary.shards})
    assert second.summary.counts.written == first.summary.counts.written + 1

    created = create_release(store, "r1")
    released = {s.name for s in created.release.shards}
    assert released == {s.path for s in second.summary.shards}
    assert {name for name, why in created.left_out if "superseded" in why} == \
        {s.path for s in first.summary.shards}
    pinned = tmp_path / "root.pub.pem"  # this test made the store: it pins the root it made
    pinned.write_text((store / "keys" / "root.pub.pem").read_text())
    assert open_release(store, "r1", trust_root=pinned).count_rows() == \
        second.summary.counts.written
    assert verify_store(store).ok

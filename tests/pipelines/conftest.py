from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lineage.keys import ensure_local_site
from lineage.policy import load_policy
from pipelines.curate import run_curation
from pipelines.democorpus import DemoCorpus, generate_demo_corpus
from pipelines.launch import LaunchResult, launch
from pipelines.options import RunnerChoice
from schemas.manifest import load_manifest

SMALL_DEMO = 120


@dataclass(frozen=True)
class Onboarded:
    corpus: DemoCorpus
    store: Path
    result: LaunchResult


def onboard(corpus: DemoCorpus, store: Path, runner: RunnerChoice | None = None) -> LaunchResult:
    choice = runner or RunnerChoice()
    manifest = load_manifest(corpus.manifest_path)
    return launch(
        manifest, corpus.manifest_path, store, choice,
        run=lambda plan, stages, run_id: run_curation(plan, stages, choice, run_id=run_id),
        create_local_site=True,
    )


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory) -> DemoCorpus:
    return generate_demo_corpus(tmp_path_factory.mktemp("corpus"), documents=SMALL_DEMO)


@pytest.fixture(scope="session")
def onboarded(demo_corpus, tmp_path_factory) -> Onboarded:
    """The small demo corpus onboarded once on the embedded runner, shared by read-only tests."""
    store = tmp_path_factory.mktemp("store")
    return Onboarded(demo_corpus, store, onboard(demo_corpus, store))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A new store with the embedded default site (jp-local-1); tests may override it."""
    root = tmp_path / "store"
    ensure_local_site(root)
    return root


@pytest.fixture
def policy(store):
    return load_policy(store).policy

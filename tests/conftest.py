from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MANPAGES = SHARED / "data" / "manpages-ja.jsonl"


@pytest.fixture(scope="session")
def manpages_path() -> Path:
    """The real man-page corpus in ../shared; tests that need it skip cleanly without it."""
    if not MANPAGES.is_file():
        pytest.skip("../shared/data/manpages-ja.jsonl is not present (fresh clone)")
    return MANPAGES


def pytest_configure(config: pytest.Config) -> None:
    """Root private keys that tests make (`kura keys init`, the demo) go to a throw-away folder,
    never to the user's ~/.config/kura; subprocesses inherit it."""
    os.environ.setdefault("KURA_CONFIG_DIR", tempfile.mkdtemp(prefix="kura-test-config-"))


@dataclass(frozen=True)
class DemoStore:
    """What `kura demo` leaves: a store with one onboarded corpus and release RELEASE_NAME,
    its pulled copy, and the root public key the demo pinned (PEM, outside the store)."""

    store: Path
    corpus_dir: Path
    pulled: Path
    release: str
    trust_root: Path


DEMO_STORE_DOCUMENTS = 120


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> DemoStore:
    """The whole demo, run once per test session on a small corpus; tests only read it (copy it
    with shutil.copytree to change anything)."""
    from rich.console import Console

    from lineage.keys import default_root_key_path
    from lineage.policy import load_policy
    from lineage.signing import load_private_key
    from pipelines.curate import run_curation
    from pipelines.demo import RELEASE_NAME, prepare_demo_store, run_demo
    from pipelines.options import RunnerChoice

    base = tmp_path_factory.mktemp("demo")
    store, corpus_dir, pulled = base / "store", base / "corpus", base / "pulled"
    prepare_demo_store(store, fresh=True)
    run_demo(store=store, corpus_dir=corpus_dir, documents=DEMO_STORE_DOCUMENTS,
             runner=RunnerChoice(), console=Console(file=open(os.devnull, "w")),  # noqa: SIM115
             run=lambda plan, stages, runner, run_id: run_curation(plan, stages, runner,
                                                                   run_id=run_id),
             pull_dir=pulled)
    root_keyid = load_policy(store).policy.root_keys[0].keyid
    trust_root = base / "root.pub.pem"
    trust_root.write_text(load_private_key(default_root_key_path(root_keyid)).public_pem)
    return DemoStore(store, corpus_dir, pulled, RELEASE_NAME, trust_root)

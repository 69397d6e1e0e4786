from __future__ import annotations

import os
import tempfile
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

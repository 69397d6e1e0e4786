"""Taggers shared by the analysis and PII tests: building one loads the dictionary."""

from __future__ import annotations

import pytest

from transforms.analyze import build_tagger


@pytest.fixture(scope="session")
def tagger():
    """Kura's id tagger (`build_tagger`), as the analyze step uses it."""
    return build_tagger()


@pytest.fixture(scope="session")
def node_tagger():
    """fugashi's own node tagger: the independent reference for Kura's output format."""
    import fugashi

    return fugashi.Tagger()

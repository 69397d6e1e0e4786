"""The auditors' notebook runs, cell by cell, against a real onboarded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "audit.ipynb"


@pytest.mark.slow
def test_every_code_cell_of_the_audit_notebook_runs(onboarded, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KURA_STORE", str(onboarded.store))
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{NOTEBOOK.name}:{cell['id']}", "exec"),
                 namespace)
    out = capsys.readouterr().out
    assert "log records verified" in out
    assert "must be removed" in out
    assert namespace["report"].ok

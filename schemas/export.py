"""JSON Schema exports of the pydantic contracts, for docs, tests and other tools.

`python -m schemas.export` rewrites `schemas/json/*.schema.json`; a test checks they are current.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from schemas.manifest import Manifest
from schemas.run import RunSummary

EXPORT_DIR = Path(__file__).parent / "json"


def _models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {"manifest": Manifest, "run-summary": RunSummary}
    try:
        from schemas.policy import TrustPolicy

        models["trust-policy"] = TrustPolicy
    except ImportError:  # pragma: no cover
        pass
    return models


EXPORTS: dict[str, Callable[[], dict]] = {
    name: model.model_json_schema for name, model in _models().items()
}


def schema_text(name: str) -> str:
    return json.dumps(EXPORTS[name](), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_all(folder: Path = EXPORT_DIR) -> list[Path]:
    folder.mkdir(exist_ok=True)
    written = []
    for name in EXPORTS:
        path = folder / f"{name}.schema.json"
        path.write_text(schema_text(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)

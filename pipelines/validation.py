"""After a run: validate every shard with its great-expectations suite, quarantine failures.

The bounds come from the same rules the quality stage applied (`transforms.quality`), so a
shard fails only if a document slipped past a filter or was changed after it. A failing shard
is moved to `quarantine/<corpus_id>/`: it is still attested (with its failed result) but never
certified. Each shard's sanitized result is kept in `validation/<corpus_id>/` for the report.

With more than one worker (the run's `--workers`), shards are validated in a pool of that many
processes (pipelines/validation_pool.py), each streaming one shard at a time in bounded slices
(transforms/validate.py `ShardValidator.validate_file`) and building the great-expectations
context once. Results come back in the order of the run summary's shards, and
the driver alone moves files and writes reports, so quarantine decisions, result digests and the
summary are those of the serial path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from schemas.expectations import ShardBounds
from schemas.manifest import Manifest
from schemas.run import Quarantined, RunSummary, ShardCheck, StoredFile
from schemas.store import StoreLayout
from transforms.quality import is_japanese, quality_rules
from transforms.validate import ShardValidation, ShardValidator


@dataclass(frozen=True)
class ValidatedRun:
    summary: RunSummary
    validations: dict[str, ShardValidation]  # by the shard's final store path
    seconds: float  # validating the shards
    setup_seconds: float  # importing great-expectations and building its context, once


def shard_bounds(manifest: Manifest) -> ShardBounds:
    """Every row must satisfy the quality rules the run applied; no exact repeat may remain."""
    japanese = is_japanese(manifest.corpus.language)
    columns: dict[str, list[float | None]] = {}
    for rule in quality_rules(manifest.quality):
        if rule.japanese_only and not japanese:
            continue
        low, high = columns.setdefault(rule.signal, [None, None])
        if rule.bound == "min":
            columns[rule.signal] = [rule.threshold, high]
        else:
            columns[rule.signal] = [low, rule.threshold]
    return ShardBounds(columns={k: (v[0], v[1]) for k, v in columns.items()},
                       max_duplicate_rate=0.0)


def _quarantine(store_root: Path, stored: StoredFile, corpus_id: str) -> StoredFile:
    source = store_root / stored.path
    target = StoreLayout(store_root).quarantine(corpus_id) / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return stored.model_copy(update={"path": str(target.relative_to(store_root))})


def shard_validations(paths: Sequence[Path], validator: ShardValidator, workers: int = 1
                      ) -> Iterator[tuple[ShardValidation, float]]:
    """(validation, setup seconds) of each shard, in the order of `paths`. One worker: in this
    process. More: a spawned pool of at most `workers` processes, one shard each at a time."""
    workers = min(workers, len(paths))
    if workers <= 1:
        started = time.perf_counter()
        validator.setup()
        setup = time.perf_counter() - started
        for path in paths:
            yield validator.validate_file(path), setup
            setup = 0.0
        return
    # Imported here: the pool module imports great-expectations, which the serial path defers.
    from pipelines.validation_pool import validate_in_pool

    yield from validate_in_pool(paths, validator, workers)


def validate_run(store_root: Path, summary: RunSummary, manifest: Manifest,
                 validator: ShardValidator | None = None,
                 workers: int | None = None) -> ValidatedRun:
    """Validate every shard of `summary` (with `workers` processes, default the run's own
    `--workers`), quarantine the failures and record the checks in the summary."""
    started = time.perf_counter()
    validator = validator or ShardValidator(shard_bounds(manifest))
    report_dir = store_root / "validation" / summary.corpus_id
    report_dir.mkdir(parents=True, exist_ok=True)
    shards: list[StoredFile] = []
    validations: dict[str, ShardValidation] = {}
    setup_seconds = 0.0
    paths = [store_root / stored.path for stored in summary.shards]
    results = shard_validations(paths, validator, workers or summary.workers)
    for stored, (result, setup) in zip(summary.shards, results, strict=True):
        setup_seconds = max(setup_seconds, setup)  # pool workers set up side by side
        final = stored if result.passed else _quarantine(store_root, stored, summary.corpus_id)
        (report_dir / (Path(stored.path).name + ".json")).write_text(result.result_json)
        shards.append(final)
        validations[final.path] = result
    checks = {
        path: ShardCheck(passed=v.passed, result_digest=v.result_digest,
                         failed_expectations=sorted({f.expectation for f in v.failures}))
        for path, v in validations.items()
    }
    withheld = [
        Quarantined(check=f.expectation, column=f.column, documents=stored.rows,
                    doc_ids=[i for i in f.observed.get("doc_ids", []) if i], path=stored.path)
        for stored in shards if not validations[stored.path].passed
        for f in validations[stored.path].failures
    ]
    summary = summary.model_copy(update={
        "shards": shards, "validation": checks, "quarantined": [*summary.quarantined, *withheld],
    })
    seconds = time.perf_counter() - started - setup_seconds
    return ValidatedRun(summary, validations, seconds, setup_seconds)


"""The rewrite run of a withdrawal: every affected file written again without what left.

Written into the run's staging folder, laid out as the store is (pipelines/store.py publishes
it). Each affected shard becomes a new shard under a new name (the old bytes stay until `kura
gc`: earlier releases certified them and must still verify), holding its documents less the
withdrawn ones plus the members promoted in place of a withdrawn kept document, sorted as the
shard writer sorts (source_uri, locator). Duplicates files lose their withdrawn and promoted rows
and carry the re-pointed ones; rejects and withheld files lose the withdrawn sources' records;
the corpus's signatures lose the withdrawn documents and gain the promoted ones, so later
corpora are never deduplicated against withdrawn data.

Conservation of the rewrite: read = the rows of every file it replaces; written = the rows of
its new shards; duplicates and rejected = the rows of its new duplicates and rejects files;
withdrawn = what the withdrawal took, by kind. So read = written + rejected + duplicates +
withdrawn holds by construction, and `audit verify` checks it as for any run.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.plan import kura_version
from pipelines.withdraw_promote import Promotion
from pipelines.withdraw_scan import Found
from schemas.manifest import Location, Manifest
from schemas.records import (
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    document_row,
    document_schema,
    pii_counts,
    reject_row,
    upgrade_document_table,
)
from schemas.run import Counts, InputFile, RunSummary, StoredFile
from schemas.store import StoreLayout
from transforms.shards import write_table_atomically
from transforms.signature_store import config_for_file, read_signatures, write_signatures

_SHARD_TAIL = re.compile(r"-(\d{5})-of-(\d{5})\.parquet$")


@dataclass(frozen=True)
class RecordedInput:
    """A source as the corpus's runs recorded it (the provenance's resolved dependency)."""

    uri: str
    sha256: str | None
    bytes: int
    encoding: str | None
    location: Location


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def new_shard_name(corpus_id: str, old: str, withdrawal_id: str) -> str:
    """The rewritten shard's store path: its old index-of-count, a digest naming this
    withdrawal (so an earlier release's bytes are never overwritten)."""
    tail = _SHARD_TAIL.search(old)
    index, count = (tail.group(1), tail.group(2)) if tail else ("00000", "00001")
    digest = _digest(old, "withdrawal", withdrawal_id)[:12]
    return f"shards/{corpus_id}/{corpus_id}-{digest}-{index}-of-{count}.parquet"


def _stored(root: Path, name: str, written, sources: list[str] | None = None) -> StoredFile:
    return StoredFile(path=name, sha256=written.sha256, rows=written.rows, bytes=written.bytes,
                      sources=sources)


@dataclass
class StagedRewrite:
    shards: list[StoredFile]
    duplicates: list[StoredFile]
    rejects: list[StoredFile]
    replaces: list[str]
    read: int
    per_source: Counter


def _rewrite_shards(store_root: Path, staging: Path, found: Found, promotion: Promotion,
                    manifest: Manifest, withdrawal_id: str, version: str) -> tuple[
                        list[StoredFile], int, Counter]:
    corpus = manifest.corpus.id
    schema = document_schema(manifest.corpus.license, manifest.corpus.sensitivity)
    promoted_into: dict[str, list] = {}
    for doc in promotion.kept:
        promoted_into.setdefault(promotion.home[doc.doc_id], []).append(doc)
    written, read, per_source = [], 0, Counter()
    for old in sorted(found.shards):
        table = upgrade_document_table(pq.read_table(store_root / old))
        read += table.num_rows
        per_source.update(table.column("source_uri").to_pylist())
        gone = pa.array(sorted(found.shards[old]), type=pa.string())
        table = table.filter(pc.invert(pc.is_in(table.column("doc_id"), value_set=gone)))
        table = table.select(schema.names).cast(schema)
        extra = [document_row(d, version) for d in promoted_into.get(old, [])]
        if extra:
            table = pa.concat_tables([table, pa.Table.from_pylist(extra, schema=schema)])
        if table.num_rows == 0:
            continue  # every document of it was withdrawn: replaced by nothing
        table = table.sort_by([("source_uri", "ascending"), ("locator", "ascending")])
        name = new_shard_name(corpus, old, withdrawal_id)
        done = write_table_atomically(table, staging / name, manifest.shards.row_group_rows,
                                      version)
        sources = sorted(set(table.column("source_sha256").to_pylist()))
        written.append(_stored(store_root, name, done, sources))
    return written, read, per_source


def _rewrite_duplicates(store_root: Path, staging: Path, found: Found, promotion: Promotion,
                        corpus: str, withdrawal_id: str, version: str
                        ) -> tuple[list[StoredFile], int, Counter]:
    settled = promotion.settled
    written, read, per_source = [], 0, Counter()
    for old in sorted(found.duplicates):
        rows = pq.read_table(store_root / old).to_pylist()
        read += len(rows)
        per_source.update(r["source_uri"] for r in rows)
        gone = found.duplicates[old]
        kept = [promotion.duplicates.get(r["doc_id"], r) for r in rows
                if r["doc_id"] not in gone
                and (r["doc_id"] not in settled or r["doc_id"] in promotion.duplicates)]
        if not kept:
            continue
        kept.sort(key=lambda r: r["doc_id"])
        name = (f"duplicates/{corpus}/duplicates-"
                f"{_digest(old, 'withdrawal', withdrawal_id)[:12]}.parquet")
        done = write_table_atomically(pa.Table.from_pylist(kept, schema=DUPLICATE_SCHEMA),
                                      staging / name, 8192, version)
        written.append(_stored(store_root, name, done))
    return written, read, per_source


def _rewrite_records(store_root: Path, staging: Path, found: Found, promotion: Promotion,
                     corpus: str, withdrawal_id: str, version: str
                     ) -> tuple[list[StoredFile], int, Counter, Counter]:
    """Rejects and withheld files without the withdrawn sources' records, and a rejects file
    for promoted members a step rejected now. Returns (files, rows read, per source, the
    rejected rows written by step)."""
    written, read, per_source, rejected = [], 0, Counter(), Counter()
    for old in sorted(found.records):
        table = pq.read_table(store_root / old)
        read += table.num_rows
        per_source.update(table.column("source_uri").to_pylist())
        taken = {(r["source_uri"], r["locator"]) for r in found.rows if r["path"] == old}
        keep = [r for r in table.to_pylist() if (r["source_uri"], r["locator"]) not in taken]
        if not keep:
            continue
        rejected.update(r["step"] for r in keep)
        folder = "rejects" if old.startswith("rejects/") else "quarantine"
        stem = Path(old).stem
        name = f"{folder}/{corpus}/{stem}-w{_digest(old, withdrawal_id)[:8]}.parquet"
        done = write_table_atomically(pa.Table.from_pylist(keep, schema=REJECT_SCHEMA),
                                      staging / name, 8192, version, private=True)
        written.append(_stored(store_root, name, done))
    if promotion.rejects:
        rows = sorted((reject_row(r) for _, r in promotion.rejects),
                      key=lambda r: (r["source_uri"], r["locator"]))
        rejected.update(r["step"] for r in rows)
        name = f"rejects/{corpus}/rejects-promoted-{_digest(withdrawal_id)[:12]}.parquet"
        done = write_table_atomically(pa.Table.from_pylist(rows, schema=REJECT_SCHEMA),
                                      staging / name, 8192, version, private=True)
        written.append(_stored(store_root, name, done))
    return written, read, per_source, rejected


def stage_signatures(store_root: Path, staging: Path, corpus: str, manifest: Manifest,
                     withdrawn: set[str]) -> tuple[list[Path], set[str]]:
    """The corpus's signature folder, staged without the withdrawn documents. Returns the
    staged files and the doc ids they keep."""
    source = StoreLayout(store_root).signatures(corpus)
    target = StoreLayout(staging).signatures(corpus)
    target.mkdir(parents=True, exist_ok=True)
    files, kept = [], set()
    for path in sorted(source.glob("*.parquet")) if source.is_dir() else []:
        config = config_for_file(manifest.dedup, path)
        ids, sigs = read_signatures(path, config)
        rows = [i for i, doc_id in enumerate(ids) if doc_id not in withdrawn]
        write_signatures(target / path.name, [ids[i] for i in rows], sigs[rows], config)
        files.append(target / path.name)
        kept.update(ids[i] for i in rows)
    return files, kept


def add_promoted_signatures(staging: Path, corpus: str, manifest: Manifest,
                            promotion: Promotion, withdrawal_id: str) -> None:
    if not promotion.signatures:
        return
    ids = sorted(promotion.signatures)
    folder = StoreLayout(staging).signatures(corpus)
    target = folder / f"signatures-promoted-{withdrawal_id}.parquet"
    sigs = np.array([promotion.signatures[i] for i in ids])
    write_signatures(target, ids, sigs, manifest.dedup)


def stage_rewrite(store_root: Path, staging: Path, found: Found, promotion: Promotion,
                  manifest: Manifest, withdrawal_id: str) -> StagedRewrite:
    """Write the rewrite's files into `staging`; the replaced files are not touched."""
    version = kura_version()
    corpus = manifest.corpus.id
    shards, read_s, src_s = _rewrite_shards(store_root, staging, found, promotion, manifest,
                                            withdrawal_id, version)
    dups, read_d, src_d = _rewrite_duplicates(store_root, staging, found, promotion, corpus,
                                              withdrawal_id, version)
    rejects, read_r, src_r, _ = _rewrite_records(store_root, staging, found, promotion, corpus,
                                                 withdrawal_id, version)
    return StagedRewrite(shards, dups, rejects, found.files, read_s + read_d + read_r,
                         src_s + src_d + src_r)


def _column_counts(staging: Path, files: Iterable[StoredFile], column: str) -> dict[str, int]:
    counts: Counter = Counter()
    for f in files:
        counts.update(pq.read_table(staging / f.path, columns=[column]).column(column).to_pylist())
    return dict(sorted(counts.items()))


def rewrite_summary(staging: Path, staged: StagedRewrite, found: Found, promotion: Promotion,
                    manifest: Manifest, manifest_sha256: str, run_id: str,
                    withdrawal_index: int, withdrawal_id: str,
                    recorded: Mapping[str, RecordedInput],
                    output_location: Location, started_at: str, finished_at: str) -> RunSummary:
    """The rewrite's run summary (mode "rewrite"): its inputs are the sources whose documents
    it read out of the replaced files, so each new shard's residency record names where its
    documents came from, as the first run's did."""
    withdrawn = Counter(r["kind"] for r in found.rows)
    withdrawn.update(r["kind"] for r in promotion.withdrawn)
    counts = Counts(
        read=staged.read,
        written=sum(s.rows for s in staged.shards),
        rejected=_column_counts(staging, staged.rejects, "step"),
        duplicates=_column_counts(staging, staged.duplicates, "kind"),
        withdrawn=dict(sorted(withdrawn.items())),
    )
    inputs = []
    for uri, records in sorted(staged.per_source.items()):
        fact = recorded.get(uri)
        if fact is None:
            raise ValueError(f"{uri}: no run of corpus {manifest.corpus.id} recorded this source")
        inputs.append(InputFile(uri=uri, sha256=fact.sha256, bytes=fact.bytes,
                                encoding=fact.encoding, records=records, status="ok",
                                location=fact.location))
    pii: Counter = Counter()
    for shard in staged.shards:
        for cell in pq.read_table(staging / shard.path, columns=["pii"]).column("pii").to_pylist():
            pii.update(pii_counts(cell))
    summary = RunSummary(
        run_id=run_id, corpus_id=manifest.corpus.id, member=manifest.corpus.member,
        manifest_sha256=manifest_sha256, kura_version=kura_version(), runner="in-process",
        workers=1, started_at=started_at, finished_at=finished_at,
        parameters={**manifest.model_dump(mode="json", exclude={"sources"}),
                    "withdrawal": {"logIndex": withdrawal_index, "id": withdrawal_id}},
        inputs=inputs, counts=counts, pii=dict(sorted(pii.items())),
        shards=staged.shards, rejects=staged.rejects, duplicates=staged.duplicates,
        output_location=output_location, mode="rewrite", replaces=staged.replaces,
        withdrawal=withdrawal_index,
    )
    if not counts.balanced():
        raise ValueError(
            f"rewrite {run_id}: read {counts.read} != written {counts.written} + rejected "
            f"{sum(counts.rejected.values())} + duplicates {sum(counts.duplicates.values())} + "
            f"withdrawn {sum(counts.withdrawn.values())}")
    return summary


def recorded_inputs(statements: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, RecordedInput]:
    """uri -> the source as the latest of the corpus's provenance records (given in log order
    as (corpus, predicate)) recorded it."""
    found: dict[str, RecordedInput] = {}
    for _corpus, predicate in statements:
        build = predicate.get("buildDefinition") or {}
        for dep in build.get("resolvedDependencies") or []:
            notes = dep.get("annotations") or {}
            where = notes.get("location")
            if not isinstance(where, dict) or not dep.get("uri"):
                continue
            found[dep["uri"]] = RecordedInput(
                uri=dep["uri"], sha256=(dep.get("digest") or {}).get("sha256"),
                bytes=int(notes.get("bytes") or 0), encoding=notes.get("encoding"),
                location=Location(provider=where["provider"], country=where["country"],
                                  region=where["region"]))
    return found

"""The run summary: one JSON file per run in the store, stating every conservation term.

read = written + sum(rejected) + sum(duplicates). The run provenance record (lineage) carries the
same counts; `kura audit verify` checks the sum.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.manifest import Location

RUN_SUMMARY_VERSION = "1"
RESIDUAL_PII_CHECK = "validate.residual_pii"  # the per-document gate's step (transforms/gate.py)

InputStatus = Literal["ok", "empty", "unreadable", "binary"]
# full: the run's outputs are the corpus; append: they join its current files (an incremental
# onboard read only new sources); rewrite: they replace the files `replaces` names (withdrawal).
RunMode = Literal["full", "append", "rewrite"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputFile(_Frozen):
    uri: str
    sha256: str | None
    bytes: int
    encoding: str | None
    records: int
    status: InputStatus
    location: Location
    mtime_ns: int | None = Field(
        None, description="the file's modification time (ns) in the listing the run planned "
        "from; a later onboard skips an input whose size and mtime are unchanged")
    settings_sha256: str | None = Field(
        None, description="sha256 of the manifest source settings it was read with (format, "
        "text_field, encoding, location): changed settings mean the file is read again")


class StoredFile(_Frozen):
    """A file the run wrote, relative to the store root."""

    path: str
    sha256: str
    rows: int
    bytes: int
    sources: list[str] | None = Field(
        None, description="shards: the sha256 of every input file that has a document in it"
    )


class Counts(_Frozen):
    read: int
    written: int
    rejected: dict[str, int] = Field(default_factory=dict, description="by step")
    duplicates: dict[str, int] = Field(default_factory=dict, description="by kind")
    withdrawn: dict[str, int] = Field(
        default_factory=dict, description="rewrite runs: documents taken out by a withdrawal, "
        "by kind (kept, duplicate, reject, withheld)")

    def balanced(self) -> bool:
        return self.read == (
            self.written + sum(self.rejected.values()) + sum(self.duplicates.values())
            + sum(self.withdrawn.values())
        )


class ShardCheck(_Frozen):
    """A shard's great-expectations outcome: never values from the text, only names."""

    passed: bool
    result_digest: str
    failed_expectations: list[str] = Field(default_factory=list)


class SourceCounts(_Frozen):
    """One input file's share of the run: conservation holds per source too."""

    uri: str
    read: int
    written: int
    rejected: dict[str, int] = Field(default_factory=dict, description="by step")
    duplicates: dict[str, int] = Field(default_factory=dict, description="by kind")

    def yielded_nothing(self) -> bool:
        """No document of this source is in a shard or stood for by one (a duplicate), and
        that is news: a source whose every record an earlier withdrawal took back is not."""
        every_record_withdrawn = self.read > 0 and self.rejected.get("withdrawn", 0) == self.read
        return (self.written == 0 and not any(self.duplicates.values())
                and not every_record_withdrawn)


class Quarantined(_Frozen):
    """Documents withheld from certification by one check: names and ids, never values."""

    check: str = Field(description="validate.residual_pii, or the shard expectation that failed")
    column: str | None = Field(None, description="the column the check read")
    documents: int = Field(description="documents this withholds (a failed shard: all its rows)")
    doc_ids: list[str] = Field(
        default_factory=list,
        description="the documents at fault (a failed shard: its failing rows, at most 20)",
    )
    entities: dict[str, int] = Field(default_factory=dict, description="residual PII by type")
    path: str = Field(description="where they are, relative to the store")


class SkippedInput(_Frozen):
    """A source an append run did not read: the corpus already holds it, unchanged."""

    uri: str
    sha256: str | None
    log_index: int = Field(description="the provenance record of the run that read it")


class RunSummary(_Frozen):
    version: str = RUN_SUMMARY_VERSION
    run_id: str
    corpus_id: str
    member: str
    manifest_sha256: str
    kura_version: str
    runner: str
    workers: int
    started_at: str
    finished_at: str
    parameters: dict = Field(default_factory=dict)
    inputs: list[InputFile]
    counts: Counts
    pii: dict[str, int] = Field(default_factory=dict, description="entities found, by type")
    shards: list[StoredFile]
    rejects: list[StoredFile]
    duplicates: list[StoredFile] = Field(default_factory=list)
    validation: dict[str, ShardCheck] = Field(
        default_factory=dict, description="by shard path; a failed shard is in quarantine/"
    )
    output_location: Location
    sources: list[SourceCounts] = Field(default_factory=list, description="counts per input")
    quarantined: list[Quarantined] = Field(
        default_factory=list, description="what was withheld from certification, and why"
    )
    mode: RunMode = Field("full", description="full, append (incremental) or rewrite")
    replaces: list[str] = Field(
        default_factory=list, description="rewrite: the store paths this run's outputs replace")
    withdrawal: int | None = Field(
        None, description="rewrite: log index of the withdrawal record this run enacts")
    skipped: list[SkippedInput] = Field(
        default_factory=list,
        description="append: the corpus's sources this run did not read, being unchanged")
    mode_note: str | None = Field(
        None, description="why the run is full or append, in one line (for the steward)")

    def withheld_documents(self) -> int:
        """Written or quarantined documents that cannot be certified."""
        residual = sum(q.documents for q in self.quarantined if q.check == RESIDUAL_PII_CHECK)
        shards = sum(s.rows for s in self.shards if s.path.startswith("quarantine/"))
        return residual + shards

    def empty_sources(self) -> list[SourceCounts]:
        return [s for s in self.sources if s.yielded_nothing()]

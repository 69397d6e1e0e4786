"""Beam wrapper of ingestion: each source file is read once, then cut into records."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from schemas.records import Document, RejectedRecord, SourceFile
from transforms.ingest import read_source
from transforms.steps import REJECTS

FILES = "files"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileReport:
    """What ingestion saw of one file: the run summary's input entry, less its location."""

    uri: str
    sha256: str | None
    bytes: int
    encoding: str | None
    records: int
    status: str


class _ReadSourceFn(beam.DoFn):
    def __init__(self, progress_dir: str | None) -> None:
        self._progress_dir = progress_dir
        self._docs = Metrics.counter("ingest", "documents")
        self._rejects = Metrics.counter("ingest", "rejected")

    def process(self, source: SourceFile):
        try:
            with FileSystems.open(source.path) as handle:
                data = handle.read()
        except OSError as exc:
            log.warning("cannot read %s: %s", source.uri, type(exc).__name__)
            yield TaggedOutput(FILES, FileReport(source.uri, None, 0, None, 0, "unreadable"))
            self._mark_done(source, 0)
            return
        verdict, items = read_source(source, data)
        records = 0
        for item in items:
            records += 1
            if isinstance(item, RejectedRecord):
                self._rejects.inc()
                yield TaggedOutput(REJECTS, item)
            else:
                self._docs.inc()
                yield item
        status = verdict.status if records or verdict.status != "ok" else "empty"
        yield TaggedOutput(
            FILES,
            FileReport(source.uri, verdict.sha256, verdict.size, verdict.encoding, records, status),
        )
        self._mark_done(source, len(data))

    def _mark_done(self, source: SourceFile, size: int) -> None:
        # The CLI's progress bar sums these markers; the name is the file's position in the plan.
        if self._progress_dir:
            marker = Path(self._progress_dir) / (source.uri.replace("/", "_")[-150:] + ".done")
            marker.write_text(str(size))


class ReadSources(beam.PTransform):
    """SourceFile -> (documents, rejected records, one FileReport per file)."""

    def __init__(self, progress_dir: str | None = None) -> None:
        super().__init__()
        self._progress_dir = progress_dir

    def expand(self, sources):
        out = (
            sources
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadFiles" >> beam.ParDo(_ReadSourceFn(self._progress_dir)).with_outputs(
                REJECTS, FILES, main="docs"
            )
        )
        docs: beam.PCollection[Document] = out.docs
        return docs, out[REJECTS], out[FILES]

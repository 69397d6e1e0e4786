"""Beam wrapper of ingestion: each source file is opened once, read in two bounded passes.

Only regular files are read. The plan refuses anything else before the run, and the file is
checked again here on the descriptor it is read through (it may have been swapped since): it is
opened without following a final symlink and without waiting for a writer (O_NONBLOCK), so a
FIFO put in a file's place can neither hang the run nor be read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io.filesystem import CompressedFile, CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from schemas.records import Document, RejectedRecord, SourceFile
from transforms.ingest import read_stream
from transforms.ingest_stream import Opener, file_kind
from transforms.steps import REJECTS

FILES = "files"
REMOTE_SCHEMES = ("gs://", "s3://")
log = logging.getLogger(__name__)


class NotARegularFile(OSError):
    """A source path that names a device, FIFO, socket or folder rather than a file."""


@dataclass(frozen=True)
class FileReport:
    """What ingestion saw of one file: the run summary's input entry, less its location."""

    uri: str
    sha256: str | None
    bytes: int
    encoding: str | None
    records: int
    status: str


def open_regular_file(path: str) -> BinaryIO:
    """A buffered reader of `path`, which must be a regular file (checked on the open fd)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"{path} is {file_kind(mode)}")
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    compression = CompressionTypes.detect_compression_type(path)
    if compression != CompressionTypes.UNCOMPRESSED:  # as FileSystems.open reads .gz & co.
        return CompressedFile(handle, compression)
    return handle


def _rewinding(handle: BinaryIO) -> Opener:
    """An opener that hands the one open handle back from its start, for each pass."""

    @contextmanager
    def reopen() -> Iterator[BinaryIO]:
        handle.seek(0)
        yield handle

    return reopen


def _open_source(source: SourceFile, stack: ExitStack) -> Opener:
    if source.path.startswith(REMOTE_SCHEMES):
        return lambda: FileSystems.open(source.path)
    return _rewinding(stack.enter_context(open_regular_file(source.path)))


class _ReadSourceFn(beam.DoFn):
    def __init__(self, progress_dir: str | None) -> None:
        self._progress_dir = progress_dir
        self._docs = Metrics.counter("ingest", "documents")
        self._rejects = Metrics.counter("ingest", "rejected")

    def process(self, source: SourceFile):
        with ExitStack() as stack:
            try:
                verdict, items = read_stream(source, _open_source(source, stack))
            except OSError as exc:  # missing, not a regular file, unreadable: before any record
                log.warning("cannot read %s: %s", source.uri, exc.strerror or exc)
                yield TaggedOutput(FILES, FileReport(source.uri, None, 0, None, 0, "unreadable"))
                self._mark_done(source, 0)
                return
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
        self._mark_done(source, verdict.size)

    def _mark_done(self, source: SourceFile, size: int) -> None:
        # The CLI's progress bar sums these markers, one per file: named by a digest of the
        # recorded uri, since relative uris such as a/b.jsonl and a_b.jsonl must not collide.
        if self._progress_dir:
            name = hashlib.sha256(source.uri.encode("utf-8")).hexdigest()[:32]
            marker = Path(self._progress_dir) / f"{name}.done"
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

"""Spreading documents over workers without shuffling their text.

A source file is read by one worker; to share the CPU-heavy steps after it, its documents must
move. Shuffled whole they would all be held in memory by the DirectRunner (about 5-6x their
bytes), so they are written in batches to scratch files and only the batch paths are shuffled:
each worker then reads one batch at a time. The batches are scratch of one run (pickled
`Document`s, owner-only), read once and never published; the caller removes the folder.
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from schemas.records import Document

# About 1 M characters of Japanese text a batch: a 15 MB corpus still makes enough batches to
# keep two workers busy, and a batch in memory stays a few MB.
DEFAULT_BATCH_BYTES = 2 * 1024 * 1024


def document_bytes(doc: Document) -> int:
    """A document's size in memory, roughly (CPython stores kana and kanji two bytes each)."""
    return 2 * len(doc.text) + 512


def write_batch(docs: list[Document], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"batch-{uuid.uuid4().hex}.pickle"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        pickle.dump(docs, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def read_batch(path: str | Path) -> list[Document]:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # this run's own scratch, written by write_batch


class _WriteBatchesFn(beam.DoFn):
    def __init__(self, folder: str, batch_bytes: int) -> None:
        self._folder = folder
        self._batch_bytes = batch_bytes
        self._batch: list[Document] = []
        self._bytes = 0

    def start_bundle(self) -> None:
        self._batch, self._bytes = [], 0

    def _flush(self) -> str:
        path = write_batch(self._batch, Path(self._folder))
        self._batch, self._bytes = [], 0
        return str(path)

    def process(self, doc: Document) -> Iterator[str]:
        self._batch.append(doc)
        self._bytes += document_bytes(doc)
        if self._bytes >= self._batch_bytes:
            yield self._flush()

    def finish_bundle(self):
        if self._batch:
            yield GlobalWindows.windowed_value(self._flush())


class SpreadDocuments(beam.PTransform):
    """Documents in, the same documents out, spread over workers through batch files in
    `folder` (only their paths are shuffled)."""

    def __init__(self, folder: str, batch_bytes: int = DEFAULT_BATCH_BYTES) -> None:
        super().__init__()
        self._folder = folder
        self._batch_bytes = batch_bytes

    def expand(self, docs):
        return (
            docs
            | "WriteBatches" >> beam.ParDo(_WriteBatchesFn(self._folder, self._batch_bytes))
            | "SpreadBatches" >> beam.Reshuffle()
            | "ReadBatches" >> beam.FlatMap(read_batch)
        )

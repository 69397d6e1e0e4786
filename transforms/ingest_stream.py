"""Bounded reading of a source's bytes: chunks, lines, and what a first pass learns.

A source is read through an `Opener`, a callable that opens it afresh from its first byte, so
ingestion reads a file twice without ever holding it whole: a first pass learns its digest
(part of every doc id) and what its encoding is, a second cuts its records. Nothing here holds
more than one chunk plus about one record's worth (`cap`) of a file.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, BinaryIO, Generic, NamedTuple, TypeVar

import numpy as np

CHUNK_BYTES = 1 << 20
SAMPLE_BYTES = 1 << 20

Opener = Callable[[], AbstractContextManager[BinaryIO]]
Piece = TypeVar("Piece", bytes, str)

_ESCAPED = re.compile("[\udc80-\udcff]+")


class SourceChanged(RuntimeError):
    """The bytes of the second pass are not those the first pass hashed: the file changed."""


def file_kind(mode: int) -> str:
    """What a stat mode names, in words for a message."""
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return kind
    return "not a regular file"


def read_chunks(opener: Opener, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    with opener() as handle:
        while chunk := handle.read(size):
            yield chunk


def read_prefix(opener: Opener, limit: int, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The first `limit` bytes of a source, in chunks; nothing past them is read."""
    left = limit
    with opener() as handle:
        while left > 0 and (chunk := handle.read(min(size, left))):
            left -= len(chunk)
            yield chunk


def verified(chunks: Iterable[bytes], sha256: str, uri: str) -> Iterator[bytes]:
    """Pass `chunks` through; once they end, fail if they are not the bytes hashed before.

    Every doc id names the first pass's digest, so records cut from other bytes must not stand.
    """
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != sha256:
        raise SourceChanged(f"{uri} changed while it was read; run again once it is stable")


def take(chunks: Iterable[bytes], limit: int) -> bytes:
    """The first `limit` bytes of `chunks` (consuming only what it needs)."""
    kept: list[bytes] = []
    size = 0
    for chunk in chunks:
        kept.append(chunk[: limit - size])
        size += len(kept[-1])
        if size >= limit:
            break
    return b"".join(kept)


def without_prefix(chunks: Iterable[bytes], prefix: bytes) -> Iterator[bytes]:
    """`chunks` less a leading `prefix` (a BOM), however the chunks are cut."""
    head = b""
    stream = iter(chunks)
    for chunk in stream:
        head += chunk
        if len(head) >= len(prefix):
            break
    yield head.removeprefix(prefix)
    yield from stream


@dataclass(frozen=True)
class ByteFacts:
    """What one streaming pass over a file learns, for its verdict and its encoding.

    `utf8_multibyte` counts the bytes of valid multi-byte UTF-8 sequences, `utf8_invalid` the
    bytes that are not UTF-8: their ratio tells a UTF-8 file with a few foreign records from a
    legacy file, whose bytes are only by accident valid UTF-8 (about one byte in two at most).
    """

    sha256: str
    size: int
    sample: bytes
    blank: bool
    utf8_multibyte: int
    utf8_invalid: int


def first_pass(chunks: Iterable[bytes], text: bool = True) -> ByteFacts:
    """Digest, size, leading sample, blankness and UTF-8 statistics of a stream of chunks.

    With `text=False` (Parquet) only the digest and size are of use, and only they are computed.
    """
    digest = hashlib.sha256()
    size = 0
    sample = bytearray()
    blank = True
    high = 0
    invalid = _InvalidUtf8()
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if not text:
            continue
        if len(sample) < SAMPLE_BYTES:
            sample += chunk[: SAMPLE_BYTES - len(sample)]
        if blank and chunk.strip():
            blank = False
        high += int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) >= 0x80))
        invalid.feed(chunk)
    if text:
        invalid.feed(b"", final=True)
    # An invalid byte is >= 0x80 (ASCII always decodes) and escaped one for one; every other
    # byte >= 0x80 belongs to a valid multi-byte character.
    return ByteFacts(digest.hexdigest(), size, bytes(sample), blank, high - invalid.count,
                     invalid.count)


class _InvalidUtf8:
    """Counts the bytes of a stream that UTF-8 decoding with surrogateescape escapes.

    A valid stream only goes through the strict decoder (no escapes to search for); at its
    first error the stream goes on through a surrogateescape decoder from the same state.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._strict = True
        self.count = 0

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self._strict:
            state = self._decoder.getstate()
            try:
                self._decoder.decode(chunk, final)
                return
            except UnicodeDecodeError:
                self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
                self._decoder.setstate(state)
                self._strict = False
        self.count += _escaped_count(self._decoder.decode(chunk, final))


def _escaped_count(text: str) -> int:
    """How many bytes of surrogateescape'd text were not UTF-8 (one escape each)."""
    if text.isascii() or not _ESCAPED.search(text):
        return 0
    return len(text) - len(_ESCAPED.sub("", text))


def decoded(chunks: Iterable[bytes], encoding: str, errors: str) -> Iterator[str]:
    """Text of a byte stream, decoded incrementally: the same text as decoding it whole."""
    chunks, decoder = _decoder_for(chunks, encoding, errors)
    for chunk in chunks:
        if text := decoder.decode(chunk):
            yield text
    if text := decoder.decode(b"", final=True):
        yield text


def _decoder_for(chunks: Iterable[bytes], encoding: str, errors: str
                 ) -> tuple[Iterator[bytes], codecs.IncrementalDecoder]:
    """An incremental decoder that reads as `bytes.decode(encoding)` does.

    UTF-16 and UTF-32 without a BOM are read in the machine's byte order by `bytes.decode`, but
    refused by their incremental decoders: such a stream gets the explicit byte order instead.
    """
    chunks = iter(chunks)
    name = codecs.lookup(encoding).name
    if name not in ("utf-16", "utf-32"):
        return chunks, codecs.getincrementaldecoder(encoding)(errors)
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= 4:
            break
    boms = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) if name == "utf-16" else (
        codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
    if not head.startswith(boms):
        name += "-le" if sys.byteorder == "little" else "-be"
    return itertools.chain([head], chunks), codecs.getincrementaldecoder(name)(errors)


def undecodable_at(chunks: Iterable[bytes], encoding: str) -> int | None:
    """Byte offset of the first byte that even surrogateescape cannot decode, or None."""
    chunks, decoder = _decoder_for(chunks, encoding, "surrogateescape")
    fed = 0
    for chunk, final in _with_final(chunks):
        try:
            decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            # The decoder's error is about its own buffer: the bytes it held back, then `chunk`.
            return fed - (len(exc.object) - len(chunk)) + exc.start
        except UnicodeError:
            return fed
        fed += len(chunk)
    return None


def _with_final(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    for chunk in chunks:
        yield chunk, False
    yield b"", True


class Line(NamedTuple):
    """One line of a stream (without its "\\n"), of which at most about `cap` units are kept.

    `size` is the whole line's measure (bytes); `body` (bytes or str, as the stream) is the
    line, or only its start when `truncated`. `cr` says the line ended in "\\r", `blank` that it
    is whitespace only, `ended` that a "\\n" closed it (a file's last line may have none).
    """

    number: int
    body: Any
    size: int
    truncated: bool
    cr: bool
    blank: bool
    ended: bool


class _LineBuffer(Generic[Piece]):
    """The pieces of the line being read, kept up to a cap; the rest only measured."""

    def __init__(self, empty: Piece, cap: int, measure: Callable[[Piece], int]) -> None:
        self._empty, self._cap, self._measure = empty, cap, measure
        self._reset()

    def _reset(self) -> None:
        self._parts: list = []
        self._kept = self._size = 0
        self._truncated = False
        self._dropped_text = False
        self._last = self._empty

    @property
    def empty(self) -> bool:
        return not self._parts

    def add(self, piece: Piece) -> None:
        if not piece:
            return
        measured = self._measure(piece)
        self._size += measured
        self._last = piece
        room = self._cap + 1 - self._kept
        if measured <= room:
            self._parts.append(piece)
            self._kept += measured
            return
        # Over the cap: keep a start of it (units of `piece`, at most its measure) and only
        # remember whether what is dropped holds anything but whitespace.
        kept = piece[: max(room, 0)]
        self._parts.append(kept)
        self._kept += self._measure(kept)
        self._truncated = True
        self._dropped_text = self._dropped_text or bool(piece[len(kept):].strip())

    def finish(self, number: int, ended: bool) -> Line:
        body = self._empty.join(self._parts)
        cr = self._last[-1:] in ("\r", b"\r")
        blank = (not body or body.isspace()) and not self._dropped_text
        line = Line(number, body, self._size, self._truncated, cr, blank, ended)
        self._reset()
        return line


def split_lines(
    pieces: Iterable[Piece], empty: Piece, cap: int, measure: Callable[[Piece], int] = len
) -> Iterator[Line]:
    """Lines of a stream of bytes or text (`empty` says which), cut on "\\n" alone, each held
    to about `cap` measured units.

    Like `data.split("\\n")`: a stream that ends in "\\n" ends with one last, empty line.
    """
    buffer = _LineBuffer(empty, cap, measure)
    newline = "\n" if isinstance(empty, str) else b"\n"
    number = 0
    for piece in pieces:
        start = 0
        while (end := piece.find(newline, start)) >= 0:
            number += 1
            segment = piece[start:end]
            size = measure(segment) if buffer.empty else cap + 2
            if size <= cap:  # the common case: a whole line inside one piece, kept as it is
                yield Line(number, segment, size, False, segment[-1:] in ("\r", b"\r"),
                           not segment or segment.isspace(), True)
            else:
                buffer.add(segment)
                yield buffer.finish(number, ended=True)
            start = end + 1
        buffer.add(piece[start:])
    yield buffer.finish(number + 1, ended=False)

"""Writing the sinks to disk: shuffled records, ids, broken lines, and the two broken files."""

from __future__ import annotations

import random
from pathlib import Path

from pipelines.democorpus import broken
from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.encode import encode_csv, encode_text, json_line
from pipelines.democorpus.kinds import compose_fitting
from pipelines.democorpus.layout import DemoFile, Sink
from pipelines.democorpus.manifest import MAX_RECORD_BYTES

PiiList = tuple[tuple[str, str], ...]

BINARY_FILE = "text/scan-0001.txt"
EMPTY_FILE = "text/empty.txt"
_TICKET_STATUSES = ("完了", "完了", "対応中", "保留")


def _created(rng: random.Random) -> str:
    return f"{rng.choice((2023, 2024, 2025))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _write(dest: Path, relative: str, data: bytes) -> None:
    path = dest / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_jsonl(dest: Path, sink: Sink, composer: Composer, rng: random.Random,
                 broken_pii: list[PiiList]) -> DemoFile:
    entries: list[Draft | str] = list(sink.records)
    for kind in sink.broken:  # broken lines land anywhere in the file, as in a real export
        entries.insert(rng.randrange(len(entries) + 1), kind)
    lines: list[bytes] = []
    broken_at: list[tuple[int, str]] = []
    for locator, entry in enumerate(entries, start=1):
        record_id = f"{sink.id_prefix}-{locator:05d}"
        if isinstance(entry, str):
            # cp932-fit, so the Shift_JIS line can be written from any of these drafts.
            draft = compose_fitting(composer, sink.broken_doc_kind, "cp932")
            line, pii = broken.broken_line(entry, record_id, draft, rng, MAX_RECORD_BYTES)
            lines.append(line)
            broken_pii.append(pii)
            broken_at.append((locator, entry))
        else:
            lines.append(json_line({"id": record_id, "title": entry.title, "category": entry.kind,
                                    "created": _created(rng), "text": entry.text}))
    _write(dest, sink.path, b"".join(lines))
    return DemoFile(sink.path, "jsonl", sink.encoding, len(lines), tuple(broken_at))


def _write_csv(dest: Path, sink: Sink, rng: random.Random) -> DemoFile:
    if sink.id_prefix == "SR":
        header = ("ticket_id", "subject", "received", "text", "status")
        rows = [(f"SR-{i:05d}", d.title, _created(rng), d.text, rng.choice(_TICKET_STATUSES))
                for i, d in enumerate(sink.records, start=1)]
    else:
        header = ("inquiry_id", "subject", "received", "text")
        rows = [(f"{sink.id_prefix}-{i:05d}", d.title, _created(rng), d.text)
                for i, d in enumerate(sink.records, start=1)]
    _write(dest, sink.path, encode_csv(header, rows, sink.encoding))
    return DemoFile(sink.path, "csv", sink.encoding, len(rows))


def _write_text_series(dest: Path, sink: Sink) -> list[DemoFile]:
    files = []
    for number, draft in enumerate(sink.records, start=1):
        relative = sink.path.format(number)
        _write(dest, relative, encode_text(draft.text, sink.encoding))
        files.append(DemoFile(relative, "text", sink.encoding, 1))
    return files


def write_sinks(dest: Path, sinks: dict[str, Sink], composer: Composer,
                rng: random.Random) -> tuple[tuple[DemoFile, ...], list[PiiList]]:
    """Write every sink under `dest`; return the files (by path) and the broken lines' PII."""
    files: list[DemoFile] = []
    broken_pii: list[PiiList] = []
    for sink in sinks.values():
        rng.shuffle(sink.records)  # duplicates sit among the others, not at the end
        if sink.format == "jsonl":
            files.append(_write_jsonl(dest, sink, composer, rng, broken_pii))
        elif sink.format == "csv":
            files.append(_write_csv(dest, sink, rng))
        else:
            files.extend(_write_text_series(dest, sink))
    _write(dest, BINARY_FILE, broken.binary_file(rng))
    _write(dest, EMPTY_FILE, b"")
    files.append(DemoFile(BINARY_FILE, "text", "binary", 1, ((1, "binary_file"),)))
    files.append(DemoFile(EMPTY_FILE, "text", "utf-8", 0, ((0, "empty_file"),)))
    return tuple(sorted(files, key=lambda f: f.path)), broken_pii

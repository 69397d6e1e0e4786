"""Which file each document goes to: the sinks of the demo corpus and the routing by kind."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pipelines.democorpus.compose import Draft


@dataclass(frozen=True)
class DemoFile:
    """One written file. `broken` lists (locator, kind) of planted broken records: the 1-based
    record number, 1 for a binary file (one unreadable record) and 0 for an empty file (none)."""

    path: str  # relative to the manifest's directory, with forward slashes
    format: str
    encoding: str  # the Python codec of its bytes; "binary" for the planted binary file
    records: int
    broken: tuple[tuple[int, str], ...] = ()


@dataclass
class Sink:
    """Where a share of the documents goes: one JSONL/CSV file, or a series of text files."""

    path: str  # a file path, or a `str.format` pattern with the file number for text
    format: str
    encoding: str
    id_prefix: str
    takes_duplicates: bool = True
    records: list[Draft] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # broken line kinds planted in this file
    broken_doc_kind: str = "email"  # the kind of document the broken lines were cut from


def make_sinks() -> dict[str, Sink]:
    return {
        "manuals": Sink("jsonl/manuals.jsonl", "jsonl", "utf-8", "MAN"),
        "support_chat": Sink("jsonl/support-chat.jsonl", "jsonl", "utf-8", "CHAT",
                             broken=["truncated_json", "invalid_utf8", "nul_byte", "oversized"],
                             broken_doc_kind="support_log"),
        "mail": Sink("jsonl/mail-archive.jsonl", "jsonl", "utf-8", "MAIL",
                     broken=["text_not_string", "missing_text", "empty_text", "lone_surrogate"]),
        "tickets": Sink("csv/tickets-eucjp.csv", "csv", "euc_jp", "SR"),
        "inquiries": Sink("csv/inquiries-bom.csv", "csv", "utf-8-sig", "INQ"),
        "minutes": Sink("text/minutes-{:04d}.txt", "text", "cp932", ""),
        "contracts": Sink("text/contract-{:04d}.txt", "text", "cp932", ""),
        "utf16": Sink("text/memo-utf16-{:04d}.txt", "text", "utf-16", "", takes_duplicates=False),
        "iso2022": Sink("text/notice-iso2022jp-{:04d}.txt", "text", "iso2022_jp", "",
                        takes_duplicates=False),
    }


def route(kind: str, seen_of_kind: int, rng: random.Random) -> str:
    """The sink of a new original; the first minutes and contracts go to the rarer encodings."""
    if kind == "manual":
        return "manuals"
    if kind == "support_log":
        return "support_chat" if rng.random() < 0.5 else "tickets"
    if kind == "email":
        return "mail" if rng.random() < 0.7 else "inquiries"
    if kind == "minutes":
        return "utf16" if seen_of_kind == 0 else "minutes"
    return "iso2022" if seen_of_kind < 2 else "contracts"

"""The in-toto statements of a log, by predicate type, for readers that pick records out.

Lines that do not parse are skipped here: `verify_store` reports them, and nothing is certified
from a store that does not verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lineage.dsse import Envelope, EnvelopeError


@dataclass(frozen=True)
class LoggedStatement:
    index: int  # 0-based line of the log
    envelope: Envelope
    statement: dict[str, Any]

    @property
    def predicate(self) -> dict[str, Any]:
        return self.statement.get("predicate") or {}


def logged_statements(lines: Iterable[bytes], predicate_type: str) -> Iterator[LoggedStatement]:
    """Each line's statement whose predicateType is `predicate_type`, in log order."""
    return logged_statements_of(lines, (predicate_type,))


def logged_statements_of(lines: Iterable[bytes], types: tuple[str, ...]
                         ) -> Iterator[LoggedStatement]:
    """Each line's statement of one of `types`, in log order (one parse per line)."""
    for index, line in enumerate(lines):
        try:
            envelope = Envelope.from_json(line)
            statement = json.loads(envelope.payload)
        except (EnvelopeError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(statement, dict) and statement.get("predicateType") in types:
            yield LoggedStatement(index, envelope, statement)

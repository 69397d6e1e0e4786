"""Running SQL on the audit catalog: results as a rich table or JSON rows, and a small
interactive shell (DuckDB's Python package has none).

The shell reads lines with `input` (line editing and history through `readline` when stdin is a
terminal), runs a statement once a line ends it with `;`, and knows a few dot commands:
`.views`, `.schema VIEW`, `.help`, `.quit` (or Ctrl-D). Ctrl-C drops the statement being typed.
An error is printed on one line and the shell goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lineage.audit import VIEWS

PROMPT, MORE = "kura> ", "  ...> "


@dataclass(frozen=True)
class Result:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> Result:
    """Run every statement of `sql`; the result is the last one's. Raises duckdb.Error."""
    cursor = con.execute(sql)
    if cursor.description is None:
        return Result((), [])
    return Result(tuple(d[0] for d in cursor.description), cursor.fetchall())


def jsonable(value: Any) -> Any:
    """A DuckDB value as JSON: times in ISO 8601, decimals as numbers, the rest as JSON has it."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def rows_json(result: Result) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, (jsonable(v) for v in row), strict=True))
            for row in result.rows]


def _cell(value: Any) -> Text:
    """Plain text, never markup: values come from the store."""
    if value is None:
        return Text("NULL", style="dim")
    if isinstance(value, datetime):
        return Text(value.isoformat(sep=" "))
    if isinstance(value, dict | list | tuple):
        return Text(json.dumps(jsonable(value), ensure_ascii=False))
    return Text(str(value))


def result_table(result: Result) -> Table:
    table = Table(*result.columns, caption=f"{len(result.rows)} row(s)")
    for row in result.rows:
        table.add_row(*(_cell(v) for v in row))
    return table


def views_table() -> Table:
    table = Table("view", "what it holds")
    for view in VIEWS:
        table.add_row(view.name, Text(view.description))
    return table


def schema_table(con: duckdb.DuckDBPyConnection, name: str) -> Table:
    """A view's columns with their types and meanings; raises KeyError for an unknown view."""
    view = next((v for v in VIEWS if v.name == name), None)
    if view is None:
        raise KeyError(name)
    meanings = dict(view.columns)
    table = Table("column", "type", "meaning", title=f"{name}: {view.description}")
    for column, kind, *_ in con.execute(f"DESCRIBE {name}").fetchall():
        table.add_row(column, str(kind), Text(meanings.get(column, "(a column of the files)")))
    return table


HELP = ("End a statement with ';'. .views lists the views, .schema VIEW shows a view's columns, "
        ".quit (or Ctrl-D) leaves; Ctrl-C drops the statement being typed.")


def _dot_command(con: duckdb.DuckDBPyConnection, line: str, out: Console) -> bool:
    """Run a dot command; False when it asks to leave."""
    command, _, argument = line.partition(" ")
    if command in (".quit", ".exit", ".q"):
        return False
    if command == ".views":
        out.print(views_table())
    elif command == ".schema" and argument.strip():
        try:
            out.print(schema_table(con, argument.strip().rstrip(";")))
        except KeyError:
            out.print(Text(f"no view named {argument.strip()}; .views lists them", style="red"))
    elif command == ".help":
        out.print(HELP)
    else:
        out.print(Text(f"unknown command {command}; {HELP}", style="red"))
    return True


def run_shell(con: duckdb.DuckDBPyConnection, read_line: Callable[[str], str],
              out: Console) -> None:
    """The read-run-print loop, until .quit or end of input."""
    buffer: list[str] = []
    while True:
        try:
            line = read_line(MORE if buffer else PROMPT)
        except EOFError:
            out.print()
            return
        except KeyboardInterrupt:
            buffer.clear()
            out.print()
            continue
        if not buffer and line.strip().startswith("."):
            if not _dot_command(con, line.strip(), out):
                return
            continue
        if not buffer and not line.strip():
            continue
        buffer.append(line)
        sql = "\n".join(buffer).strip()
        if not sql.endswith(";"):
            continue
        buffer.clear()
        try:
            result = run_sql(con, sql)
        except duckdb.Error as exc:
            out.print(Text(f"error: {first_line(exc)}", style="red"))
            continue
        if result.columns:
            out.print(result_table(result))


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

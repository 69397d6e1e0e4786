"""`kura audit sql [QUERY]`: SQL over the audit catalog (lineage/audit.py) of a verified store.

With QUERY: run it and print a table (or, with --json, a JSON list of row objects). Without
QUERY: an interactive shell when stdin is a terminal (or with --shell), else the SQL is read
from stdin. Several statements may be given; the result shown is the last one's. A SQL error is
one line and exit 2; a store that does not verify is refused (exit 1) before any view exists.
The catalog is read-only: no statement can write, copy to or read any file (see open_catalog).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lineage.policy import TRUST_ROOT_ENV
from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    note_line,
    print_json,
)
from pipelines.cli_common import fail as _fail

if TYPE_CHECKING:
    import duckdb

# DuckDB and pyarrow.dataset are imported by the command itself, not when `kura` starts.


def _describe(json_output: bool) -> None:
    from lineage.audit import VIEWS
    from pipelines.sql_shell import views_table

    if json_output:
        print_json([{"name": v.name, "description": v.description,
                     "columns": [{"name": c, "meaning": m} for c, m in v.columns]}
                    for v in VIEWS])
        return
    console.print(views_table())
    for view in VIEWS:
        console.print(f"\n{view.name}: {view.description}", soft_wrap=True, markup=False)
        for column, meaning in view.columns:
            console.print(f"    {column:22} {meaning}", soft_wrap=True, markup=False)


def _interactive(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    import readline  # noqa: F401  (line editing and history for input())

    from pipelines.sql_shell import run_shell

    size, pinned = con.execute("SELECT log_size, pinned FROM catalog").fetchall()[0]
    console.print(f"kura audit sql: {store}, {size} verified log records"
                  f"{'' if pinned else ' (trust anchor NOT pinned)'}; read-only. End statements "
                  "with ';'. .views lists the views, .schema VIEW its columns, .quit leaves.",
                  markup=False)
    run_shell(con, input, console)


def sql_command(
    query: Annotated[str | None, typer.Argument(
        help="SQL to run; none: a shell on a terminal, else the SQL on stdin")] = None,
    trust_root: Annotated[Path | None, typer.Option(
        "--trust-root", help=f"the root public key (PEM) you pinned; default: ${TRUST_ROOT_ENV}, "
        "else the store's own keys/root.pub.pem (reported)")] = None,
    describe: Annotated[bool, typer.Option(
        "--describe", help="print every view and column with its meaning, and exit")] = False,
    shell: Annotated[bool, typer.Option(
        "--shell", help="the interactive shell even when stdin is not a terminal")] = False,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Query the verified store with SQL (DuckDB): records, runs, sources, shards, shard_sources,
    releases, release_corpora, documents, rejects, duplicates, residency, checkpoints, catalog
    (`--describe` documents every column)."""
    if describe:
        _describe(json_output)
        return
    import duckdb

    from lineage.audit import CatalogError, catalog_connection
    from pipelines.sql_shell import first_line, result_table, rows_json, run_sql

    if not store.is_dir():
        raise _fail(f"--store {store}: no such directory")
    try:
        con, warnings = catalog_connection(store, trust_root=trust_root)
    except CatalogError as exc:
        raise _fail(str(exc), 1) from None
    try:
        for warning in warnings:
            note_line(warning)
        if query is None and (shell or sys.stdin.isatty()):
            _interactive(con, store)
            return
        sql = query if query is not None else sys.stdin.read()
        if not sql.strip():
            raise _fail("no SQL given: pass a QUERY, pipe SQL on stdin, or run on a terminal")
        try:
            result = run_sql(con, sql)
        except duckdb.Error as exc:
            raise _fail(f"SQL: {first_line(exc)}") from None
        if json_output:
            print_json(rows_json(result))
        elif result.columns:
            console.print(result_table(result))
    finally:
        con.close()

"""`kura store ...`: care of the store itself."""

from __future__ import annotations

import typer

from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    err_console,
    fail,
    note_line,
    print_json,
)
from pipelines.store import recover, store_lock

store_app = typer.Typer(help="Care of the store: repair what interrupted commands left.",
                        no_args_is_help=True, rich_markup_mode="markdown")


@store_app.command("repair")
def repair(store: StoreOption = DEFAULT_STORE, json_output: JsonOption = False) -> None:
    """Finish or undo what interrupted commands left: staged runs, half-appended log lines,
    releases certified without their file. Every step says what it did; a whole store is left
    as it is."""
    if not store.is_dir():
        raise fail(f"--store {store}: no such directory")
    with store_lock(store, "store repair", note_line):
        said = recover(store)
    if json_output:
        print_json({"store": str(store), "repaired": said})
        return
    for line in said:
        note_line(line)
    if not said:
        err_console.print(f"kura: store {store}: nothing to repair")

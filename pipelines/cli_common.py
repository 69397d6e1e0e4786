"""What every `kura` command shares: the store option and the one-line error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    Path, typer.Option("--store", envvar="KURA_STORE", help="The Kura store directory.")
]
DEFAULT_STORE = Path("kura-store")


def error_line(message: str) -> None:
    """The one line a user error prints (escaped: `sources[0]` is text, not markup)."""
    err_console.print(f"[bold red]kura:[/] {escape(message)}")


def note_line(message: str) -> None:
    """One line about what Kura did on the user's behalf (a repair, a wait), on stderr."""
    err_console.print(f"kura: {escape(message)}")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print the error line and return the Exit to raise (2: the user's input; 1: a check)."""
    error_line(message)
    return typer.Exit(code)

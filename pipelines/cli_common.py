"""What every `kura` command shares: the store option, the output consoles, `--json`, the
log verbosity and the one-line error."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

# Piped output is read by scripts: rich would cut tables at 80 columns, so a pipe gets a width
# no row reaches (rich sizes a table to its content, so nothing is padded out to it).
_PIPE_WIDTH = 100_000


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _PIPE_WIDTH
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


console = _console(stderr=False)
err_console = _console(stderr=True)

StoreOption = Annotated[
    Path, typer.Option("--store", envvar="KURA_STORE", help="The Kura store directory.")
]
DEFAULT_STORE = Path("kura-store")

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON document on stdout.")
]


def print_json(document: Any) -> None:
    """The result of a command as one JSON document (UTF-8, not ASCII-escaped) on stdout."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def need_store(store: Path) -> None:
    """Refuse, in one line, a --store that is not a folder (nothing would be found in it)."""
    if not store.is_dir():
        raise fail(f"--store {store}: no such directory")


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


_KURA_PACKAGES = ("pipelines", "transforms", "lineage", "schemas")


class _Verbosity(logging.Filter):
    """Drops what the chosen verbosity does not show. A filter on the handler, not logger
    levels: great-expectations sets its own loggers to INFO when imported, after any level
    set here, and announces a temporary directory on every run."""

    def __init__(self, verbose: int) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        ours = record.name.split(".", 1)[0] in _KURA_PACKAGES
        if ours:
            return self.verbose >= (1 if record.levelno >= logging.INFO else 2)
        return self.verbose >= 2 and record.levelno >= logging.INFO


def set_verbosity(verbose: int) -> None:
    """0: warnings and errors only (the default); 1 (-v): Kura's INFO lines; 2 (-vv): Kura's
    DEBUG and every library's INFO."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, _Verbosity)]:
            handler.removeFilter(old)
        handler.addFilter(_Verbosity(verbose))

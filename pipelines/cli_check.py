"""`kura check MANIFEST`: every problem of a manifest at once, one per line, and a verdict.

Exit status: 0 `kura onboard` would run (warnings or not), 2 it would stop (a problem).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli_common import JsonOption, console, print_json

if TYPE_CHECKING:  # its import pulls in Beam: `kura --help` should not wait for it
    from pipelines.check_sources import SourceCheck

CheckStoreOption = Annotated[Path | None, typer.Option(
    "--store", envvar="KURA_STORE",
    help="The store to check residency and corpus ownership against (default: not checked).")]


def _size(count: int) -> str:
    value, unit = float(count), "B"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"


def _source_line(source: SourceCheck) -> str:
    fields = f", fields: {', '.join(source.fields)}" if source.fields else ""
    files = "1 file" if source.files == 1 else f"{source.files} files"
    return (f"sources[{source.index}] {source.uri}: {files}, {_size(source.bytes)}, "
            f"{source.format}{fields}")


def check(
    manifest: Annotated[Path, typer.Argument(help="The corpus manifest (TOML).")],
    store: CheckStoreOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check a manifest without running anything: every problem at once, with "did you mean".

    Checks the keys and values, that each source names files, that `text_field` is a field or
    column of them (listing the ones they have), the pseudonym secret's presence, and with
    --store the residency guard and the corpus id's owner. Exit status: 0 it would run,
    2 it would not.
    """
    from pipelines.check import check_manifest

    report = check_manifest(manifest, store)
    if json_output:
        print_json(report.to_json())
    else:
        for source in report.sources:
            if not source.problems and source.files:
                console.print(_source_line(source), markup=False)
        for problem in report.problems:
            console.print(f"{manifest}: {problem.text()}", markup=False)
        for warning in report.warnings:
            console.print(f"{manifest}: warning: {warning.text()}", markup=False)
        console.print(_verdict(report.ok, len(report.problems), len(report.warnings)),
                      markup=False)
    if not report.ok:
        raise typer.Exit(2)


def _verdict(ok: bool, problems: int, warnings: int) -> str:
    said = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
    if ok:
        return f"ok: kura onboard would run{said}"
    return (f"{problems} problem{'s' if problems != 1 else ''}{said}: kura onboard would stop "
            "before reading anything")

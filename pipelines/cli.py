"""The `kura` command line. User errors exit non-zero with one line naming what is at fault."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    err_console,
    error_line,
    note_line,
    print_json,
    set_verbosity,
)
from pipelines.cli_progress import PLANNING, VALIDATING, RunProgress
from pipelines.options import RunnerChoice, RunnerOptionError
from pipelines.outcome import outcome, summary_table
from schemas.manifest import ManifestError, load_manifest
from schemas.run import RunSummary

app = typer.Typer(
    help="Kura (蔵): curate member corpora into certified Parquet shards with signed lineage.",
    no_args_is_help=True,
    # Paragraphs of a docstring are re-wrapped to the terminal, not broken where the source is.
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def kura_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kura")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        from schemas.records import SCHEMA_VERSION

        console.print(f"kura {kura_version()} (shard schema {SCHEMA_VERSION})")
        raise typer.Exit()


@app.callback()
def _global_options(
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True,
        help="Say more on stderr: -v Kura's progress notes, -vv every library's too.")] = 0,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print Kura's version and exit.")] = False,
) -> None:
    """Kura (蔵): curate member corpora into certified Parquet shards with signed lineage.

    Quiet by default: results on stdout (`--json` on every command that prints one), one line
    per problem on stderr.
    """
    if "KURA_LOG_LEVEL" not in os.environ:
        set_verbosity(verbose)



class UserError(Exception):
    """Exits with status 2 and this one-line message."""


# The user errors of each module, by module name: an exception can only be one of these if its
# module was imported, so nothing is imported to recognize it (importing them all, Beam and
# presidio among them, made every `kura` command wait seconds before starting).
_USER_ERRORS = {
    "lineage.certify": ("CertifyError",),
    "lineage.keys": ("KeyStoreError",),
    "lineage.owners": ("CorpusOwnerError",),
    "lineage.policy": ("PolicyError",),
    "lineage.record": ("RecordError",),
    "lineage.release": ("ReleaseError",),
    "lineage.withdraw": ("WithdrawalError",),
    "pipelines.guard": ("ResidencyViolation",),
    "pipelines.store": ("StoreBusy",),
    "pipelines.withdraw_scan": ("WithdrawScanError",),
    "transforms.pii": ("PiiConfigError",),
    "transforms.signature_store": ("SignatureFileError",),
}


def _is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, UserError | ManifestError | RunnerOptionError):
        return True
    for module_name, names in _USER_ERRORS.items():
        module = sys.modules.get(module_name)
        if module is not None and isinstance(exc, tuple(getattr(module, n) for n in names)):
            return True
    return False


def _curate_with_progress(progress: RunProgress, plan, stages, runner: RunnerChoice,
                          run_id: str) -> RunSummary:
    from pipelines.curate import run_curation

    with progress.watching_reads(plan.store.tmp(run_id) / "progress", plan.total_bytes):
        summary = run_curation(plan, stages, runner, run_id=run_id)
    progress.stage(VALIDATING)
    return summary


def _run_with_progress(plan, stages, runner: RunnerChoice, run_id: str) -> RunSummary:
    """The demo's run: the pipeline with its progress line, which ends with the pipeline."""
    with RunProgress(err_console, plan.corpus_id) as progress:
        return _curate_with_progress(progress, plan, stages, runner, run_id)


def onboard_corpus(manifest_path: Path, store: Path, runner: RunnerChoice,
                   create_local_site: bool = False, full: bool = False):
    """Validate, guard, plan, run and record one manifest; the body of `kura onboard`. The
    progress line names each stage, from the residency check to signing. Raises
    pipelines.increment.UpToDate when the corpus already holds every source, unchanged."""
    from pipelines.launch import launch

    manifest = load_manifest(manifest_path)
    with RunProgress(err_console, manifest.corpus.id) as progress:
        progress.stage(PLANNING)
        return launch(manifest, manifest_path, store, runner,
                      run=lambda plan, stages, run_id: _curate_with_progress(
                          progress, plan, stages, runner, run_id),
                      create_local_site=create_local_site, announce=note_line, full=full)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def onboard(
    ctx: typer.Context,
    manifest: Annotated[Path, typer.Argument(help="The corpus manifest (TOML).")],
    store: StoreOption = DEFAULT_STORE,
    runner: Annotated[str, typer.Option(help="Beam runner: DirectRunner (embedded default), "
                                             "PortableRunner, FlinkRunner or DataflowRunner.")]
    = "DirectRunner",
    workers: Annotated[int, typer.Option(help="Worker processes (DirectRunner), or SDK "
                                         "workers per node on a portable runner.")] = 1,
    running_mode: Annotated[str | None, typer.Option(
        help="DirectRunner mode: in_memory or multi_processing (multi_threading with more than "
             "one worker is refused: it loses elements).")] = None,
    region: Annotated[str | None, typer.Option(
        help="The runner's region (Dataflow); checked by the residency guard, and it wins over "
             "a --region after `--`.")] = None,
    full: Annotated[bool, typer.Option(
        "--full", help="Read every source again, even when the corpus holds all but new ones "
                       "unchanged (by default such a run reads only the new sources).")] = False,
    json_output: JsonOption = False,
) -> None:
    """Onboard a corpus: check residency, then read, curate and write it into the store.

    Arguments after `--` are passed to Beam as pipeline options
    (e.g. `-- --job_endpoint=localhost:8099 --environment_type=LOOPBACK`). They are parsed as
    Beam parses them (a repeated option: the last value wins), and every one that can place
    data or work somewhere is checked by the residency guard; one it cannot judge is refused.
    The runner is kura's --runner only.

    Exit status: 0 every written document is certified; 2 a user error, nothing run;
    3 documents were withheld (quarantined by the residual-PII gate, or in a shard whose suite
    failed); 4 a source yielded no document. The run summary and report name each.

    A corpus already in the store is onboarded incrementally when only sources were added (the
    configuration and every source it holds unchanged in size and modification time): only the
    new sources are read, deduplicated against what the store holds, and added to the corpus.
    Anything else is a full run, and one line says why; with nothing new, nothing runs (exit 0).
    """
    from pipelines.increment import UpToDate

    choice = RunnerChoice(runner=runner, workers=workers, running_mode=running_mode,
                          region=region, extra_args=tuple(ctx.args))
    try:
        result = onboard_corpus(manifest, store, choice, full=full)
    except UpToDate as nothing_new:
        if json_output:
            print_json({"corpusId": nothing_new.corpus_id, "status": 0, "mode": "none",
                        "note": str(nothing_new)})
        return
    summary = result.summary
    result_outcome = outcome(summary)
    summary_path = store / "runs" / (summary.run_id + ".json")
    if json_output:
        print_json({
            "runId": summary.run_id,
            "corpusId": summary.corpus_id,
            "status": result_outcome.status,
            "mode": summary.mode,
            "note": summary.mode_note,
            "problems": list(result_outcome.lines),
            "runSummary": str(summary_path),
            "report": str(result.report),
            "shardAttestations": len(result.recorded.shards),
            "treeSize": result.recorded.tree_size,
            "summary": summary.model_dump(mode="json"),
        })
    else:
        console.print(summary_table(summary))
        console.print(f"run summary: {summary_path}")
        console.print(f"report: {result.report}")
        console.print(f"lineage: {len(result.recorded.shards)} shard attestations and the run "
                      f"provenance signed into {store / 'lineage' / 'log.jsonl'} "
                      f"(tree size {result.recorded.tree_size})")
    for line in result_outcome.lines:
        error_line(line)
    if result_outcome.status:
        raise typer.Exit(result_outcome.status)


@app.command()
def demo(
    store: Annotated[Path, typer.Option(
        "--store", help="The demo's own store (KURA_STORE is not read: the demo never touches "
                        "a store it did not create).")] = Path("kura-demo/store"),
    corpus_dir: Annotated[Path, typer.Option(help="Where the demo corpus is generated.")]
    = Path("kura-demo/corpus"),
    documents: Annotated[int, typer.Option(help="How many documents to generate.")] = 600,
    workers: Annotated[int, typer.Option(help="Worker processes for the DirectRunner.")] = 1,
    fresh: Annotated[bool, typer.Option(help="Start from an empty store.")] = True,
    json_output: JsonOption = False,
) -> None:
    """Generate a realistic member corpus and run the whole product on it, end to end."""
    from pipelines.demo import DemoError, prepare_demo_store, run_demo

    try:
        prepare_demo_store(store, fresh)
    except DemoError as exc:
        raise UserError(str(exc)) from None
    narrative = Console(file=io.StringIO()) if json_output else console
    made = run_demo(store=store, corpus_dir=corpus_dir, documents=documents,
                    runner=RunnerChoice(workers=workers), console=narrative,
                    run=_run_with_progress)
    if json_output:
        print_json(made)


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="manifest, run-summary or trust-policy")],
) -> None:
    """Print the JSON Schema of a Kura contract."""
    from schemas.export import EXPORTS, schema_text

    if name not in EXPORTS:
        raise UserError(f"no schema named {name!r}; known: {', '.join(EXPORTS)}")
    console.file.write(schema_text(name))


def _mount_subcommands() -> None:
    from pipelines.cli_check import check
    from pipelines.cli_forget import forget_command
    from pipelines.cli_gc import gc
    from pipelines.cli_lineage import audit_app, keys_app
    from pipelines.cli_openlineage import audit_openlineage
    from pipelines.cli_release import pull, release_app
    from pipelines.cli_store import store_app
    from pipelines.cli_withdraw import withdraw

    app.add_typer(release_app, name="release")
    app.command("pull")(pull)
    app.add_typer(keys_app, name="keys")
    audit_app.command("openlineage")(audit_openlineage)
    app.add_typer(audit_app, name="audit")
    app.add_typer(store_app, name="store")
    app.command("check")(check)
    app.command("gc")(gc)
    app.command("withdraw")(withdraw)
    app.command("forget")(forget_command)


_mount_subcommands()


class _QuietOptionalBeamClients(logging.Filter):
    """Beam warns on import that the Google Cloud clients are absent: Kura does not use them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


def main() -> None:
    logging.basicConfig(level=os.environ.get("KURA_LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_QuietOptionalBeamClients())
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(_exit_with(Exception(_INTERRUPTED), 130)) from None
    except SystemExit as exc:
        if exc.code == 130:  # typer turns Ctrl-C (and our SIGTERM) into a silent Exit(130)
            error_line(_INTERRUPTED)
        raise
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        raise SystemExit(_exit_with(exc, 2)) from None
    finally:
        logging.getLogger(__name__).debug("kura ran %.1fs", time.monotonic() - started)


_INTERRUPTED = ("interrupted: nothing of an unfinished run was published, and its staging was "
                "removed")


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM ends a command as Ctrl-C does: one line, scratch removed, exit 130."""
    raise KeyboardInterrupt


def _exit_with(exc: BaseException, code: int) -> int:
    error_line(str(exc))
    return code


if __name__ == "__main__":
    main()
    sys.exit(0)

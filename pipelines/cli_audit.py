"""`kura audit ...`: verify, checkpoint, trace, prove and sql, a typer sub-app mounted on `kura`.

    app.add_typer(audit_app, name="audit")

User errors exit 2 with one line; a failed check exits 1. Every command takes `--json` and then
prints one JSON document on stdout (camelCase keys; `sql` rows keep their snake_case column
names). Log positions are "log index N" in text and "logIndex" in JSON: the 0-based RFC 6962
leaf index, i.e. the line number of lineage/log.jsonl minus 1.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lineage.audit_log import parse_log
from lineage.log import LogError, TransparencyLog
from lineage.policy import TRUST_ROOT_ENV, PolicyError
from lineage.prove import IndexOutOfRange, ProveError, RecordProof, prove
from lineage.tombstone import removal_summary
from lineage.trace import ShardTrace, SourceTrace, TraceError, trace_shard, trace_source
from lineage.verify import VerifyReport, verify_store
from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    need_store,
    print_json,
)
from pipelines.cli_common import fail as _fail
from pipelines.cli_sql import sql_command

audit_app = typer.Typer(help="Verify, trace, prove and query the signed lineage log.",
                        no_args_is_help=True, rich_markup_mode="markdown")

TrustRootOption = Annotated[
    Path | None,
    typer.Option("--trust-root", help=f"the root public key (PEM) you pinned; default: "
                 f"${TRUST_ROOT_ENV}, else the store's own keys/root.pub.pem (reported)"),
]


def verify_json(store: Path, report: VerifyReport) -> dict[str, Any]:
    return {
        "store": str(store), "ok": report.ok,
        "checks": [{"name": c.name, "description": c.description, "ok": c.ok,
                    "checked": c.checked, "failures": list(c.failures), "note": c.note}
                   for c in report.checks],
        "failures": report.failures(), "warnings": list(report.warnings),
        "anchor": {"keyid": report.anchor_keyid, "pinned": report.pinned},
        "logSize": report.log_size, "seconds": round(report.seconds, 3),
        "removed": [{"path": t.name, "sha256": t.sha256, "tombstoneIndex": t.log_index,
                     **t.predicate.to_json_dict()} for t in report.removed],
    }


@audit_app.command("verify")
def audit_verify(
    since_checkpoint: Annotated[
        Path | None,
        typer.Option("--since-checkpoint", help="a checkpoint you saved earlier: prove the log "
                     "only grew since"),
    ] = None,
    trust_root: TrustRootOption = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Check the policy chain, every record, the shards on disk and the Merkle log; exit 0 only
    if every check holds."""
    need_store(store)
    try:
        report = verify_store(store, since_checkpoint=since_checkpoint, trust_root=trust_root)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json(verify_json(store, report))
        if not report.ok:
            raise typer.Exit(1)
        return
    table = Table("check", "result", "checked", "detail", title=f"kura audit verify {store}")
    for check in report.checks:
        if check.failures:
            result = "[red]FAIL[/red]"
            detail = check.failures[0] + (
                f" (+{len(check.failures) - 1} more)" if len(check.failures) > 1 else ""
            )
        else:
            result = "[green]ok[/green]" if check.checked else "[dim]n/a[/dim]"
            detail = check.note or check.description
        table.add_row(check.name, result, str(check.checked), escape(detail))
    console.print(table)
    for line in report.failures():
        console.print(f"[red]✗[/red] {escape(line)}", soft_wrap=True)
    for line in report.warnings:
        console.print(f"[yellow]![/yellow] {escape(line)}", soft_wrap=True)
    if report.removed:
        console.print(f"{escape(removal_summary(report.removed))}: each covered by a signed "
                      "tombstone (`kura audit verify --json` lists them)", soft_wrap=True)
    verdict = "[green]all checks hold[/green]" if report.ok else "[red]verification FAILED[/red]"
    anchor = "pinned" if report.pinned else "the store's own, NOT pinned"
    console.print(f"{verdict}: {report.log_size} log records, trust anchor "
                  f"{report.anchor_keyid or '?'} ({anchor}), {report.seconds:.3f} s")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option("--out", help="where to save the latest checkpoint")],
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Save the latest signed checkpoint, to pass later as `verify --since-checkpoint`."""
    try:
        checkpoints = TransparencyLog(store).checkpoints()
    except LogError as exc:
        raise _fail(str(exc)) from None
    if not checkpoints or checkpoints[-1].path is None:
        raise _fail(f"--store {store}: no checkpoint yet")
    try:
        shutil.copyfile(checkpoints[-1].path, out)
    except OSError as exc:
        raise _fail(f"--out {out}: cannot write ({exc.strerror})") from None
    head = checkpoints[-1].checkpoint
    if json_output:
        print_json({"out": str(out), "file": checkpoints[-1].path.name,
                    "treeSize": head.tree_size, "rootHash": head.root_hash,
                    "timestamp": head.timestamp, "policyDigest": head.policy_digest})
        return
    console.print(f"saved checkpoint size {head.tree_size} root {head.root_hash} to {out}")


def _releases_text(releases) -> str:
    if not releases:
        return "in no release"
    return "in release " + ", ".join(
        f"{r.release} (log index {r.log_index}, certifier {r.certifier})" for r in releases)


def _print_shard_trace(t: ShardTrace) -> None:
    console.print(f"shard {t.shard}  sha256 {t.sha256}")
    proof = (f"in checkpoint of size {t.included_in_checkpoint} (inclusion proof verified)"
             if t.included_in_checkpoint else "not yet covered by a checkpoint")
    console.print(f"  <- residency attestation, log index {t.log_index}, {proof}")
    provenance = t.provenance_index if t.provenance_index is not None else "?"
    console.print(f"  <- run {t.run_id} ({t.runner}) at site {t.site}, signed {t.signed_at}; "
                  f"provenance at log index {provenance}")
    for src in t.sources:
        console.print(f"     <- source {escape(src.uri)}  sha256 {src.sha256}  {src.location}")
    if t.siblings:
        console.print(f"  the run also wrote {len(t.siblings)} other shard(s): "
                      + ", ".join(t.siblings))
    console.print(f"  -> {_releases_text(t.releases)}")


def _print_source_trace(s: SourceTrace) -> None:
    console.print(f"source {escape(s.query)}"
                  + (f"  (file sha256 {s.file_sha256})" if s.file_sha256 else ""))
    for uri, how in s.matches:
        console.print(f"  = recorded {escape(uri)} (matched by {', '.join(how)})")
    for run in s.runs:
        same = {True: ", the same bytes as the file now", False: ", NOT the file's bytes now",
                None: ""}[run.same_bytes]
        provenance = run.provenance_index if run.provenance_index is not None else "?"
        console.print(f"  -> run {run.run_id} ({run.corpus_id or '?'}) at site {run.site} read "
                      f"{escape(run.uri)} (source sha256 {run.source_sha256}{same}); provenance "
                      f"at log index {provenance}")
        if not run.shards:
            console.print("     wrote no shard from it")
        for shard in run.shards:
            gone = (f"; data withdrawn from it at log index "
                    f"{', '.join(map(str, shard.withdrawn_by))}" if shard.withdrawn_by else "")
            console.print(f"     -> shard {shard.name} (log index {shard.log_index}), "
                          f"{_releases_text(shard.releases)}{gone}")
    for withdrawal in s.withdrawals:
        console.print(f"  [yellow]withdrawn:[/yellow] {escape(withdrawal.describe())}")
    if not s.withdrawals:
        console.print("  not withdrawn")
    if not s.releases:
        console.print("  in no release")
    for entry in s.releases:
        ref = entry.release
        held = (f"[yellow]holds data withdrawn at log index "
                f"{', '.join(map(str, entry.withdrawn_by))}[/yellow]" if entry.withdrawn_by
                else "its data from this source is not withdrawn")
        console.print(f"  release {ref.release} (log index {ref.log_index}): "
                      f"{len(entry.shards)} shard(s) with data from it; {held}")


@audit_app.command("trace")
def audit_trace(
    shard: Annotated[str | None, typer.Option("--shard", help="a shard path or store name")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="a source: a local path (relative or absolute), a file://, gs:// or "
        "s3:// URI, or the uri a run recorded (e.g. manuals/a.jsonl)")] = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Print the chain shard -> run -> sources and releases, or source -> runs -> shards ->
    releases."""
    if (shard is None) == (source is None):
        raise _fail("give exactly one of --shard PATH or --source PATH|URI")
    need_store(store)
    try:
        if shard is not None:
            shard_trace = trace_shard(store, shard)
            if json_output:
                print_json(shard_trace.to_json())
            else:
                _print_shard_trace(shard_trace)
        else:
            assert source is not None
            source_trace = trace_source(store, source)
            if json_output:
                print_json(source_trace.to_json())
            else:
                _print_source_trace(source_trace)
    except (TraceError, LogError) as exc:
        raise _fail(str(exc)) from None


def _record_label(entry: bytes) -> str:
    record = parse_log([entry])[0]
    subjects = record.subjects
    if record.kind == "residency" and subjects:
        return f"residency of {subjects[0][0]}"
    if record.kind == "provenance":
        return f"provenance of run {record.run_id}"
    if record.kind == "certification":
        release = str(record.predicate.get("resourceUri", "")).rsplit("/", 1)[-1]
        return f"certification of release {release}"
    if record.kind == "policy":
        return f"policy v{(record.payload or {}).get('version', '?')}"
    return record.kind


def _print_proof(p: RecordProof) -> None:
    console.print(f"log index {p.log_index} ({escape(_record_label(p.entry))}) in the tree of "
                  f"size {p.tree_size}")
    console.print(f"  entry sha256  {hashlib.sha256(p.entry).hexdigest()}")
    console.print(f"  leaf hash     {p.leaf_hash}")
    console.print(f"  audit path    {len(p.hashes)} hashes, leaf to root (RFC 9162 2.1.3)")
    for h in p.hashes:
        console.print(f"                {h}")
    console.print(f"  root hash     {p.root_hash}")
    anchor = "pinned" if p.pinned else "the store's own, NOT pinned"
    console.print(f"  checkpoint    {p.checkpoint_file}: signed by {p.signer} (key {p.keyid}) "
                  f"under policy v{p.policy_version}; trust anchor {p.anchor_keyid} ({anchor})")
    console.print("inclusion proof verified; `--json` gives the form an independent verifier "
                  "checks")


@audit_app.command("prove")
def audit_prove(
    index: Annotated[int, typer.Option("--index", help="the record's log index (0-based)")],
    trust_root: TrustRootOption = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Print an inclusion proof of log record N against the latest signed checkpoint (the JSON
    form is documented in lineage/prove.py)."""
    need_store(store)
    try:
        proof = prove(store, index, trust_root=trust_root)
    except IndexOutOfRange as exc:
        raise _fail(str(exc)) from None
    except ProveError as exc:
        raise _fail(str(exc), 1) from None
    if json_output:
        print_json(proof.to_json())
    else:
        _print_proof(proof)


audit_app.command("sql")(sql_command)

"""`kura keys ...` and `kura audit ...`: typer sub-apps mounted on the `kura` app.

    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")

User errors exit 2 with one line; a failed verification exits 1. The root private key lives
outside the store: `keys init --root-key-out` writes it, the commands that change the policy
read it (`--root-key`); `audit verify` checks against the root you pin (`--trust-root` or
KURA_TRUST_ROOT) and says so when it had to take the store's own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lineage.keys import (
    KeyStoreError,
    allow_location,
    default_root_key_path,
    init_keys,
    revoke_key,
    rotate_key,
)
from lineage.log import LogError, TransparencyLog
from lineage.policy import TRUST_ROOT_ENV, PolicyError, load_policy, root_public_key_path
from lineage.trace import TraceError, trace_shard, trace_source
from lineage.verify import verify_store
from pipelines.cli_common import DEFAULT_STORE, StoreOption, console
from pipelines.cli_common import fail as _fail

keys_app = typer.Typer(help="Site, certifier and root keys, and the signed trust policy.",
                       no_args_is_help=True)
audit_app = typer.Typer(help="Verify and trace the signed lineage log.", no_args_is_help=True)


RootKeyOption = Annotated[
    Path,
    typer.Option("--root-key", help="the root private key (PEM) `kura keys init` wrote outside "
                 "the store; it signs the new policy version"),
]


@keys_app.command("init")
def keys_init(
    site: Annotated[str, typer.Option("--site", help="site id, e.g. jp-osaka-2")],
    region: Annotated[str, typer.Option("--region", help="the site's region")],
    country: Annotated[str, typer.Option("--country")] = "JP",
    provider: Annotated[str, typer.Option("--provider", help="onprem, gcp, aws or azure")] = (
        "onprem"
    ),
    root_key_out: Annotated[
        Path | None,
        typer.Option("--root-key-out", help="where to write the root private key, outside the "
                     f"store (default: {default_root_key_path('<key id>')})"),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Create the root, site and certifier keys and a signed trust policy (v1); the root private
    key goes outside the store."""
    try:
        context = init_keys(store, site, country, region, provider, root_key_out)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"site {context.site_id} ({provider} {country} {region}) in {store}")
    console.print(f"  root key      {context.policy.root_keys[0].keyid}  (pin this id)")
    console.print(f"  site key      {context.site_key.keyid}")
    console.print(f"  certifier key {context.certifier_key.keyid}")
    console.print(f"  policy v{context.policy.version} {context.signed_policy.digest} (log line 1)")
    console.print(f"  root private key: {context.root_key_path} (keep it offline; policy "
                  "changes take --root-key)")
    console.print(f"  pin the root: copy {root_public_key_path(store)} out of the store and pass "
                  f"it as --trust-root (or {TRUST_ROOT_ENV}) to pull, release show, audit verify")


@keys_app.command("rotate")
def keys_rotate(
    root_key: RootKeyOption,
    role: Annotated[str, typer.Option("--role", help="site or certifier")] = "site",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Replace the local site's (or certifier's) key; the old key's validity ends at this log
    position and its private key is deleted."""
    try:
        old, new = rotate_key(store, role, root_key=root_key)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"retired {old.keyid} (valid until {old.valid_until}, "
                  f"log size {old.valid_until_log_size})")
    if new is not None:
        console.print(f"new {role} key {new.keyid}")


@keys_app.command("revoke")
def keys_revoke(
    keyid: Annotated[str, typer.Argument(help="sha256:<hex> key id")],
    root_key: RootKeyOption,
    reason: Annotated[str, typer.Option("--reason")] = "unspecified",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Revoke a key: its records before this log position stay valid, later ones fail verify;
    its private key is deleted."""
    try:
        old, new = revoke_key(store, keyid, reason, root_key=root_key)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    assert old.revoked is not None
    console.print(f"revoked {old.keyid} at {old.revoked.at} (log size {old.revoked.log_size})")
    if new is not None:
        console.print(f"replacement {old.role} key {new.keyid}")


@keys_app.command("allow-location")
def keys_allow_location(
    uri: Annotated[str, typer.Argument(help="a named bucket or cluster, e.g. gs://kura-jp-raw")],
    provider: Annotated[str, typer.Option("--provider", help="gcp, aws, azure or onprem")],
    region: Annotated[str, typer.Option("--region", help="the region it is in")],
    root_key: RootKeyOption,
    country: Annotated[str, typer.Option("--country")] = "JP",
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Allow one named location (matched on `/` boundaries: gs://kura-jp covers gs://kura-jp/x,
    never gs://kura-jp-us-mirror) in a new, logged policy version."""
    try:
        entry = allow_location(store, uri, provider, country, region, root_key=root_key)
        policy = load_policy(store)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"allowed {entry.uri} ({entry.provider} {entry.country} {entry.region}) in "
                  f"policy v{policy.policy.version} {policy.digest}")


@keys_app.command("show")
def keys_show(store: StoreOption = DEFAULT_STORE) -> None:
    """Show the trust policy: allowed locations, sites, certifiers and their keys."""
    try:
        signed = load_policy(store)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    policy = signed.policy
    console.print(f"policy v{policy.version} issued {policy.issued_at} {signed.digest}")
    console.print("allowed: " + ", ".join(
        f"{a.provider} {a.region}" + (f" {a.uri}" if a.uri else "")
        for a in policy.allowed_locations))
    table = Table("holder", "role", "key id", "valid from", "status")
    holders = [("root", policy.root_keys)]
    holders += [(f"site {s.site_id}", s.keys) for s in policy.sites]
    holders += [(f"certifier {c.certifier_id}", c.keys) for c in policy.certifiers]
    for holder, entries in holders:
        for k in entries:
            status = "current"
            if k.revoked:
                status = f"revoked {k.revoked.at} (log {k.revoked.log_size})"
            elif k.valid_until:
                status = f"rotated {k.valid_until} (log {k.valid_until_log_size})"
            table.add_row(holder, k.role, k.keyid, k.valid_from, status)
    console.print(table)


@audit_app.command("verify")
def audit_verify(
    since_checkpoint: Annotated[
        Path | None,
        typer.Option("--since-checkpoint", help="a checkpoint you saved earlier: prove the log "
                     "only grew since"),
    ] = None,
    trust_root: Annotated[
        Path | None,
        typer.Option("--trust-root", help=f"the root public key (PEM) you pinned; default: "
                     f"${TRUST_ROOT_ENV}, else the store's own keys/root.pub.pem (reported)"),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Check the policy chain, every record, the shards on disk and the Merkle log; exit 0 only
    if every check holds."""
    if not store.is_dir():
        raise _fail(f"--store {store}: no such directory")
    try:
        report = verify_store(store, since_checkpoint=since_checkpoint, trust_root=trust_root)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
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
        table.add_row(check.name, result, str(check.checked), detail)
    console.print(table)
    for line in report.failures():
        console.print(f"[red]✗[/red] {line}", soft_wrap=True)
    for line in report.warnings:
        console.print(f"[yellow]![/yellow] {line}", soft_wrap=True)
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
) -> None:
    """Save the latest signed checkpoint, to pass later as `verify --since-checkpoint`."""
    try:
        checkpoints = TransparencyLog(store).checkpoints()
    except LogError as exc:
        raise _fail(str(exc)) from None
    if not checkpoints or checkpoints[-1].path is None:
        raise _fail(f"--store {store}: no checkpoint yet")
    shutil.copyfile(checkpoints[-1].path, out)
    head = checkpoints[-1].checkpoint
    console.print(f"saved checkpoint size {head.tree_size} root {head.root_hash} to {out}")


@audit_app.command("trace")
def audit_trace(
    shard: Annotated[str | None, typer.Option("--shard", help="a shard path")] = None,
    source: Annotated[str | None, typer.Option("--source", help="a source URI")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Print the chain shard -> run -> sources, or source -> runs -> shards."""
    if (shard is None) == (source is None):
        raise _fail("give exactly one of --shard PATH or --source URI")
    try:
        if shard is not None:
            t = trace_shard(store, shard)
            console.print(f"shard {t.shard}  sha256 {t.sha256}")
            proof = (f"in checkpoint of size {t.included_in_checkpoint} (inclusion proof verified)"
                     if t.included_in_checkpoint else "not yet covered by a checkpoint")
            console.print(f"  <- residency attestation, log line {t.log_index + 1}, {proof}")
            console.print(f"  <- run {t.run_id} ({t.runner}) at site {t.site}, signed "
                          f"{t.signed_at}; provenance at log line "
                          f"{t.provenance_index + 1 if t.provenance_index is not None else '?'}")
            for src in t.sources:
                console.print(f"     <- source {src.uri}  sha256 {src.sha256}  {src.location}")
            if t.siblings:
                console.print(f"  the run also wrote {len(t.siblings)} other shard(s): "
                              + ", ".join(t.siblings))
        else:
            assert source is not None
            s = trace_source(store, source)
            console.print(f"source {s.uri}")
            for run in s.runs:
                console.print(f"  -> run {run.run_id} at site {run.site} (source sha256 "
                              f"{run.source_sha256})")
                for name in run.shards:
                    console.print(f"     -> shard {name}")
    except (TraceError, LogError) as exc:
        raise _fail(str(exc)) from None


"""`kura release ...` and `kura pull`: typer apps the `kura` app mounts.

    app.add_typer(release_app, name="release")
    app.command("pull")(pull)

User errors exit 2 with one line (a missing pin among them); a release that fails
verification exits 1 with one line naming the record, key or shard at fault. `pull` and
`release show` take the root from `--trust-root` or KURA_TRUST_ROOT, never from the store, verify
the store as `audit verify` does, and show only facts from signed records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lineage.certify import CertifyError, StoreNotVerified, create_release
from lineage.keys import KeyStoreError
from lineage.log import LogError
from lineage.policy import TRUST_ROOT_ENV, PolicyError
from lineage.pull import pull_release
from lineage.release import (
    ReleaseError,
    ReleaseVerificationError,
    UnpinnedRootError,
    list_releases,
    release_path,
    shard_problem,
    verify_release,
)
from pipelines.cli_common import DEFAULT_STORE, StoreOption, console, note_line
from pipelines.cli_common import fail as _fail
from pipelines.store import StoreBusy, recover, store_lock

release_app = typer.Typer(help="Certified releases of curated shards, for trainers.",
                          no_args_is_help=True)


TrustRootOption = Annotated[
    Path | None,
    typer.Option("--trust-root", help=f"the root public key (PEM) you pinned, kept outside the "
                 f"store; default: ${TRUST_ROOT_ENV}; required one way or the other"),
]



def _need_store(store: Path) -> None:
    if not store.is_dir():
        raise _fail(f"--store {store}: no such directory")


@release_app.command("create")
def release_create(
    name: Annotated[str, typer.Argument(help="the release name: [a-z0-9._-]+, unique")],
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="a corpus to release (repeatable); default: every corpus"),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Verify the store and certify every shard whose suite passed into a signed release."""
    _need_store(store)
    try:
        with store_lock(store, f"release create {name}", note_line):
            existed = release_path(store, name).exists()
            for line in recover(store):
                note_line(line)
            if not existed and release_path(store, name).exists():
                console.print(f"release {name}: completed (its certification was already in "
                              "the log)")
                return
            created = create_release(store, name, corpus or None)
    except StoreNotVerified as exc:
        raise _fail(str(exc), 1) from None
    except (CertifyError, ReleaseError, KeyStoreError, PolicyError, LogError, StoreBusy) as exc:
        raise _fail(str(exc)) from None
    release = created.release
    if created.completed:
        console.print(f"release {release.release}: completed from its certification at log "
                      f"line {release.log_index + 1}, whose command was interrupted")
    console.print(f"release {release.release}: {len(release.shards)} shards of "
                  f"{', '.join(release.corpora)} certified by {release.certifier_id}")
    console.print(f"  certification at log line {release.log_index + 1}, envelope "
                  f"sha256 {release.envelope_digest}")
    console.print(f"  checkpoint {created.checkpoint_path}")
    for name_left, why in created.left_out:
        console.print(f"  left out {name_left}: {why}")
    for corpus_left, why in created.empty_corpora:
        console.print(f"  corpus {corpus_left} has nothing to release: {why}")


@release_app.command("list")
def release_list(store: StoreOption = DEFAULT_STORE) -> None:
    """List the store's releases."""
    _need_store(store)
    try:
        releases = list_releases(store)
    except ReleaseError as exc:
        raise _fail(str(exc)) from None
    if not releases:
        console.print(f"no release in {store}; create one with `kura release create NAME`")
        return
    table = Table("release", "created", "corpora", "shards", "rows", "log line", "certifier",
                  caption="from releases/*.json, an unsigned index: `kura release show NAME "
                  "--trust-root ROOT` verifies and shows the signed facts")
    for r in releases:
        table.add_row(r.release, r.created_at, ", ".join(r.corpora), str(len(r.shards)),
                      f"{sum(s.rows for s in r.shards):,}", str(r.log_index + 1), r.certifier_id)
    console.print(table)


@release_app.command("show")
def release_show(
    name: Annotated[str, typer.Argument(help="the release name")],
    trust_root: TrustRootOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Verify the store, a release's record and every shard against the pinned root; show the
    signed facts (rows and bytes from each shard's residency attestation)."""
    _need_store(store)
    try:
        verified = verify_release(store, name, trust_root)
    except ReleaseVerificationError as exc:
        console.print(f"[red]✗ release {name} NOT verified:[/red] {exc}")
        raise typer.Exit(1) from None
    except (ReleaseError, PolicyError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"release {verified.name}: certified {verified.time_verified} by "
                  f"{verified.certifier_id} (key {verified.signer_keyid})")
    console.print(f"  corpora {', '.join(verified.corpora)}; policy v{verified.policy_version}; "
                  f"pinned root {verified.anchor_keyid}")
    console.print(f"  certification at log line {verified.log_index + 1}, envelope sha256 "
                  f"{verified.envelope.digest}; in checkpoint of size "
                  f"{verified.checkpoint_tree_size} (inclusion proof verified)")
    problems = []
    table = Table("shard", "sha256", "rows", "bytes", "verified")
    for shard in verified.shards:
        problem = shard_problem(store, verified, shard)
        problems += [problem] if problem else []
        table.add_row(shard.name, shard.sha256, f"{shard.rows:,}", f"{shard.bytes:,}",
                      "[red]NO[/red]" if problem else "[green]yes[/green]")
    console.print(table)
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}")
    if problems:
        console.print(f"[red]release {name} NOT verified[/red]: {len(problems)} shard(s) differ")
        raise typer.Exit(1)
    console.print(f"[green]release {name} verified[/green]: store, record, inclusion and "
                  f"{len(verified.shards)} shard digests")


def pull(
    name: Annotated[str, typer.Argument(help="the release name")],
    dest: Annotated[Path, typer.Option("--dest", help="a new (or empty) directory to pull into")],
    trust_root: TrustRootOption = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Verify the store and a release against the pinned root and copy its shards to DEST;
    nothing is copied unless all verify."""
    _need_store(store)
    try:
        pulled = pull_release(store, name, dest, trust_root)
    except ReleaseVerificationError as exc:
        raise _fail(f"refused: {exc}; nothing was written to {dest}", 1) from None
    except UnpinnedRootError as exc:
        raise _fail(f"refused: {exc}; nothing was written to {dest}") from None
    except (ReleaseError, PolicyError, OSError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"pulled release {name}: {len(pulled.shards)} verified shards, "
                  f"{pulled.bytes_copied:,} bytes into {pulled.dest} ({pulled.seconds:.2f} s)")
    console.print(f"  names and digests: {pulled.dest / 'release.json'}")

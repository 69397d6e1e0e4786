"""`kura release ...` and `kura pull`: typer apps the `kura` app mounts.

    app.add_typer(release_app, name="release")
    app.command("pull")(pull)

User errors exit 2 with one line (a missing pin among them); a release that fails
verification exits 1 with one line naming the record, key or shard at fault. `pull` and
`release show` take the root from `--trust-root` or KURA_TRUST_ROOT, never from the store, verify
the store as `audit verify` does, and show only facts from signed records. Each command takes
`--json` and then prints one JSON document (camelCase keys) on stdout; log positions are log
indexes (0-based), in text ("log index N") and JSON ("logIndex").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lineage.certify import CertifyError, CreatedRelease, StoreNotVerified, create_release
from lineage.keys import KeyStoreError
from lineage.log import LogError
from lineage.policy import TRUST_ROOT_ENV, PolicyError
from lineage.pull import PulledRelease, pull_release
from lineage.release import (
    ReleaseError,
    ReleaseVerificationError,
    UnpinnedRootError,
    VerifiedRelease,
    list_releases,
    read_release,
    release_path,
    shard_problem,
    verify_release,
    withdrawn_note,
)
from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    error_line,
    need_store,
    note_line,
    print_json,
)
from pipelines.cli_common import fail as _fail
from pipelines.store import StoreBusy, recover, store_lock
from schemas.predicates import FACTS_FROM_MANIFEST, CertifiedCorpus
from schemas.release import ReleaseFile

release_app = typer.Typer(help="Certified releases of curated shards, for trainers.",
                          no_args_is_help=True, rich_markup_mode="markdown")


TrustRootOption = Annotated[
    Path | None,
    typer.Option("--trust-root", help=f"the root public key (PEM) you pinned, kept outside the "
                 f"store; default: ${TRUST_ROOT_ENV}; required one way or the other"),
]


@release_app.command("create")
def release_create(
    name: Annotated[str, typer.Argument(help="the release name: [a-z0-9._-]+, unique")],
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="a corpus to release (repeatable); default: every corpus"),
    ] = None,
    allow_restricted: Annotated[
        list[str] | None,
        typer.Option("--allow-restricted", metavar="CORPUS",
                     help="release this corpus although its sensitivity is restricted "
                     "(repeatable, one corpus each; the certification records it)"),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Verify the store and certify every shard whose suite passed into a signed release."""
    need_store(store)
    try:
        with store_lock(store, f"release create {name}", note_line):
            existed = release_path(store, name).exists()
            for line in recover(store):
                note_line(line)
            if not existed and release_path(store, name).exists():
                finished = read_release(store, name)
                if json_output:
                    print_json({**finished.to_json_dict(), "completed": True})
                else:
                    console.print(f"release {name}: completed (its certification was already "
                                  "in the log)")
                return
            created = create_release(store, name, corpus or None,
                                     allow_restricted=allow_restricted or ())
    except StoreNotVerified as exc:
        raise _fail(str(exc), 1) from None
    except (CertifyError, ReleaseError, KeyStoreError, PolicyError, LogError, StoreBusy) as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json(created_json(created))
        return
    release = created.release
    if created.completed:
        console.print(f"release {release.release}: completed from its certification at log "
                      f"index {release.log_index}, whose command was interrupted")
    console.print(f"release {release.release}: {len(release.shards)} shards of "
                  f"{', '.join(release.corpora)} certified by {release.certifier_id}")
    console.print(f"  certification at log index {release.log_index}, envelope "
                  f"sha256 {release.envelope_digest}")
    console.print(f"  checkpoint {created.checkpoint_path}")
    for fact in release.corpus_facts:
        console.print(f"  {corpus_line(fact)}")
    for note in created.notes:
        console.print(f"  {note}")
    for name_left, why in created.left_out:
        console.print(f"  left out {name_left}: {why}")
    for corpus_left, why in created.empty_corpora:
        console.print(f"  corpus {corpus_left} has nothing to release: {why}")


def corpus_line(fact: CertifiedCorpus) -> str:
    """One corpus of a release, as text: who owns it, its license and sensitivity, and from
    where they were read."""
    source = ("the store's manifest, unsigned" if fact.facts_from == FACTS_FROM_MANIFEST
              else "shard metadata")
    explicit = ", released explicitly (--allow-restricted)" if fact.allow_restricted else ""
    return (f"corpus {fact.corpus_id}: member {fact.member}, license {fact.license}, "
            f"sensitivity {fact.sensitivity}{explicit} (from {source})")


def created_json(created: CreatedRelease) -> dict:
    return {
        **created.release.to_json_dict(),
        "completed": created.completed,
        "checkpoint": str(created.checkpoint_path),
        "leftOut": [{"shard": shard, "reason": why} for shard, why in created.left_out],
        "emptyCorpora": [{"corpus": corpus, "reason": why}
                         for corpus, why in created.empty_corpora],
        "notes": list(created.notes),
    }


@release_app.command("list")
def release_list(store: StoreOption = DEFAULT_STORE, json_output: JsonOption = False) -> None:
    """List the store's releases (an unsigned index: `release show` verifies)."""
    need_store(store)
    try:
        releases = list_releases(store)
    except ReleaseError as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json({"releases": [list_json(r) for r in releases]})
        return
    if not releases:
        console.print(f"no release in {store}; create one with `kura release create NAME`")
        return
    table = Table("release", "created", "corpora", "shards", "rows", "log index", "certifier",
                  caption="from releases/*.json, an unsigned index: `kura release show NAME "
                  "--trust-root ROOT` verifies and shows the signed facts")
    for r in releases:
        table.add_row(r.release, r.created_at, ", ".join(r.corpora), str(len(r.shards)),
                      f"{sum(s.rows for s in r.shards):,}", str(r.log_index), r.certifier_id)
    console.print(table)


def list_json(release: ReleaseFile) -> dict:
    return {**release.to_json_dict(), "rows": sum(s.rows for s in release.shards),
            "signed": False}


@release_app.command("show")
def release_show(
    name: Annotated[str, typer.Argument(help="the release name")],
    trust_root: TrustRootOption = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Verify the store, a release's record and every shard against the pinned root; show the
    signed facts (rows and bytes from each shard's residency attestation)."""
    need_store(store)
    try:
        verified = verify_release(store, name, trust_root)
    except ReleaseVerificationError as exc:
        if json_output:
            print_json({"release": name, "verified": False, "problems": [str(exc)]})
            error_line(f"release {name} NOT verified: {exc}")
        else:
            console.print(f"[red]✗ release {name} NOT verified:[/red] {exc}")
        raise typer.Exit(1) from None
    except (ReleaseError, PolicyError) as exc:
        raise _fail(str(exc)) from None
    problems = {shard.name: shard_problem(store, verified, shard) for shard in verified.shards}
    failed = [p for p in problems.values() if p]
    warning = withdrawn_note(verified)
    if json_output:
        print_json(shown_json(verified, problems))
        if warning:
            note_line(f"warning: {warning}")
        if failed:
            error_line(f"release {name} NOT verified: {len(failed)} shard(s) differ: {failed[0]}")
            raise typer.Exit(1)
        return
    console.print(f"release {verified.name}: certified {verified.time_verified} by "
                  f"{verified.certifier_id} (key {verified.signer_keyid})")
    console.print(f"  corpora {', '.join(verified.corpora)}; policy v{verified.policy_version}; "
                  f"pinned root {verified.anchor_keyid}")
    console.print(f"  certification at log index {verified.log_index}, envelope sha256 "
                  f"{verified.envelope.digest}; in checkpoint of size "
                  f"{verified.checkpoint_tree_size} (inclusion proof verified)")
    for fact in verified.corpus_facts:
        console.print(f"  {corpus_line(fact)}")
    if not verified.corpus_facts:
        console.print("  no corpus license or sensitivity in this certification: it was made "
                      "before Kura recorded them")
    withdrawn = {w.name: w for w in verified.withdrawn}
    table = Table("shard", "sha256", "rows", "bytes", "verified", "withdrawn")
    for shard in verified.shards:
        held = withdrawn.get(shard.name)
        table.add_row(shard.name, shard.sha256, f"{shard.rows:,}", f"{shard.bytes:,}",
                      "[red]NO[/red]" if problems[shard.name] else "[green]yes[/green]",
                      f"[yellow]{held.documents}[/yellow]" if held else "")
    console.print(table)
    if warning:
        console.print(f"[yellow]! {warning}[/yellow]")
        for w in sorted({w.log_index: w for s in verified.withdrawn
                         for w in s.withdrawals}.values(), key=lambda w: w.log_index):
            console.print(f"  [yellow]{w.describe()}[/yellow]")
    for problem in failed:
        console.print(f"[red]✗[/red] {problem}")
    if failed:
        console.print(f"[red]release {name} NOT verified[/red]: {len(failed)} shard(s) differ")
        raise typer.Exit(1)
    console.print(f"[green]release {name} verified[/green]: store, record, inclusion and "
                  f"{len(verified.shards)} shard digests")


def shown_json(verified: VerifiedRelease, problems: dict[str, str | None]) -> dict:
    return {
        "release": verified.name,
        "verified": not any(problems.values()),
        "certifierId": verified.certifier_id,
        "signerKeyid": verified.signer_keyid,
        "timeVerified": verified.time_verified,
        "policyVersion": verified.policy_version,
        "trustRoot": verified.anchor_keyid,
        "logIndex": verified.log_index,
        "envelopeDigest": verified.envelope.digest,
        "checkpointTreeSize": verified.checkpoint_tree_size,
        "corpora": verified.corpora,
        "corpusFacts": [fact.to_json_dict() for fact in verified.corpus_facts],
        "shards": [{**shard.to_json_dict(), "verified": problems[shard.name] is None}
                   for shard in verified.shards],
        "problems": [p for p in problems.values() if p],
        "holdsWithdrawnData": bool(verified.withdrawn),
        "withdrawn": [w.to_json() for w in verified.withdrawn],
    }


def pull(
    name: Annotated[str, typer.Argument(help="the release name")],
    dest: Annotated[Path, typer.Option("--dest", help="a new (or empty) directory to pull into")],
    trust_root: TrustRootOption = None,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Verify the store and a release against the pinned root and copy its shards to DEST
    (DEST/<corpus>/*.parquet), with DEST/__kura/release.json and a Hugging Face dataset card,
    DEST/__kura/README.md; nothing is copied unless all verify."""
    need_store(store)
    try:
        pulled = pull_release(store, name, dest, trust_root)
    except ReleaseVerificationError as exc:
        raise _fail(f"refused: {exc}; nothing was written to {dest}", 1) from None
    except UnpinnedRootError as exc:
        raise _fail(f"refused: {exc}; nothing was written to {dest}") from None
    except (ReleaseError, PolicyError, OSError) as exc:
        raise _fail(str(exc)) from None
    if pulled.withdrawn:
        note_line(f"warning: {pulled.withdrawn}")
    if json_output:
        print_json(pulled_json(pulled))
        return
    console.print(f"pulled release {name}: {len(pulled.shards)} verified shards, "
                  f"{pulled.bytes_copied:,} bytes into {pulled.dest} ({pulled.seconds:.2f} s)")
    console.print(f"  shards: {pulled.dest}/<corpus>/*.parquet, and nothing else where "
                  "pyarrow.dataset, HF datasets (data_dir) and DuckDB look")
    console.print(f"  names, digests and the signed record: {pulled.release_file}")
    console.print(f"  dataset card: {pulled.card} (a Hugging Face dataset card: copy it to the "
                  "root of a Hub dataset repository as README.md)")
    for fact in pulled.corpus_facts:
        console.print(f"  {corpus_line(fact)}")
    if pulled.v1_shards:
        console.print(f"  {pulled.v1_shards} shard(s) have shard schema 1 (pii as a map, which "
                      "HF datasets cannot read): read them with lineage.certified.open_release")


def pulled_json(pulled: PulledRelease) -> dict:
    return {
        "release": pulled.name,
        "dest": str(pulled.dest),
        "releaseFile": str(pulled.release_file),
        "datasetCard": str(pulled.card),
        "rows": sum(s.rows for s in pulled.shards),
        "bytesCopied": pulled.bytes_copied,
        "seconds": round(pulled.seconds, 3),
        "v1Shards": pulled.v1_shards,
        "withdrawnData": pulled.withdrawn,
        "corpusFacts": [fact.to_json_dict() for fact in pulled.corpus_facts],
        "shards": [shard.to_json_dict() for shard in pulled.shards],
    }

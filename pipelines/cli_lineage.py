"""`kura keys ...` (here) and `kura audit ...` (pipelines/cli_audit.py, re-exported): typer
sub-apps mounted on the `kura` app.

    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")

User errors exit 2 with one line; a failed verification exits 1. The root private key lives
outside the store: `keys init --root-key-out` writes it, the commands that change the policy
read it (`--root-key`). Every command takes `--json` (one JSON document on stdout, camelCase;
key entries as the policy spells them). A policy version's place in the log is its log index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lineage.keys import (
    KeyStoreError,
    allow_location,
    default_root_key_path,
    grant_default_permissions,
    init_keys,
    revoke_key,
    rotate_key,
)
from lineage.log import LogError, TransparencyLog
from lineage.policy import (
    TRUST_ROOT_ENV,
    PolicyError,
    SignedPolicy,
    load_policy,
    policy_records,
    root_public_key_path,
)
from pipelines.cli_audit import audit_app
from pipelines.cli_common import DEFAULT_STORE, JsonOption, StoreOption, console, print_json
from pipelines.cli_common import fail as _fail

__all__ = ["audit_app", "keys_app"]

keys_app = typer.Typer(help="Site, certifier and root keys, and the signed trust policy.",
                       no_args_is_help=True, rich_markup_mode="markdown")


RootKeyOption = Annotated[
    Path,
    typer.Option("--root-key", help="the root private key (PEM) `kura keys init` wrote outside "
                 "the store; it signs the new policy version"),
]


def _policy_json(store: Path, signed: SignedPolicy) -> dict[str, Any]:
    """A policy version by number, digest and log index (None: a version never logged)."""
    logged, _ = policy_records(TransparencyLog(store).read().lines)
    index = next((p.index for p in logged if p.signed.digest == signed.digest), None)
    return {"version": signed.policy.version, "digest": signed.digest, "logIndex": index}


def _current_policy(store: Path) -> SignedPolicy:
    try:
        return load_policy(store)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


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
    json_output: JsonOption = False,
) -> None:
    """Create the root, site and certifier keys and a signed trust policy (v1); the root private
    key goes outside the store."""
    try:
        context = init_keys(store, site, country, region, provider, root_key_out)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    policy = _policy_json(store, context.signed_policy)
    if json_output:
        print_json({
            "store": str(store),
            "site": {"siteId": context.site_id, "provider": provider, "country": country,
                     "region": region},
            "rootKeyId": context.policy.root_keys[0].keyid,
            "siteKeyId": context.site_key.keyid,
            "certifierKeyId": context.certifier_key.keyid,
            "policy": policy,
            "rootPrivateKey": str(context.root_key_path),
            "rootPublicKey": str(root_public_key_path(store)),
        })
        return
    console.print(f"site {context.site_id} ({provider} {country} {region}) in {store}")
    console.print(f"  root key      {context.policy.root_keys[0].keyid}  (pin this id)")
    console.print(f"  site key      {context.site_key.keyid}")
    console.print(f"  certifier key {context.certifier_key.keyid}")
    console.print(f"  policy v{policy['version']} {policy['digest']} "
                  f"(log index {policy['logIndex']})")
    console.print(f"  root private key: {context.root_key_path} (keep it offline; policy "
                  "changes take --root-key)")
    console.print(f"  pin the root: copy {root_public_key_path(store)} out of the store and pass "
                  f"it as --trust-root (or {TRUST_ROOT_ENV}) to pull, release show, audit verify")


@keys_app.command("rotate")
def keys_rotate(
    root_key: RootKeyOption,
    role: Annotated[str, typer.Option("--role", help="site or certifier")] = "site",
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Replace the local site's (or certifier's) key; the old key's validity ends at this log
    position and its private key is deleted."""
    try:
        old, new = rotate_key(store, role, root_key=root_key)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json({"role": role, "retired": old.to_json_dict(),
                    "new": new.to_json_dict() if new is not None else None,
                    "policy": _policy_json(store, _current_policy(store))})
        return
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
    json_output: JsonOption = False,
) -> None:
    """Revoke a key: its records before this log position stay valid, later ones fail verify;
    its private key is deleted."""
    try:
        old, new = revoke_key(store, keyid, reason, root_key=root_key)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    assert old.revoked is not None
    if json_output:
        print_json({"revoked": old.to_json_dict(),
                    "replacement": new.to_json_dict() if new is not None else None,
                    "policy": _policy_json(store, _current_policy(store))})
        return
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
    json_output: JsonOption = False,
) -> None:
    """Allow one named location (matched on `/` boundaries: gs://kura-jp covers gs://kura-jp/x,
    never gs://kura-jp-us-mirror) in a new, logged policy version."""
    try:
        entry = allow_location(store, uri, provider, country, region, root_key=root_key)
        policy = load_policy(store)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json({"allowed": entry.to_json_dict(), "policy": _policy_json(store, policy)})
        return
    console.print(f"allowed {entry.uri} ({entry.provider} {entry.country} {entry.region}) in "
                  f"policy v{policy.policy.version} {policy.digest}")


@keys_app.command("grant-defaults")
def keys_grant_defaults(
    root_key: RootKeyOption,
    store: StoreOption = DEFAULT_STORE,
    json_output: JsonOption = False,
) -> None:
    """Let each role sign the record types this Kura signs by default and the store's policy
    predates (the certifier's withdrawals, the site's gc tombstones), in a new root-signed,
    logged policy version. Adds only; with nothing missing it changes nothing."""
    try:
        added = grant_default_permissions(store, root_key=root_key)
        policy = load_policy(store)
    except (KeyStoreError, PolicyError, LogError) as exc:
        raise _fail(str(exc)) from None
    if json_output:
        print_json({"added": added, "policy": _policy_json(store, policy)})
        return
    if not added:
        console.print(f"policy v{policy.policy.version} already lets every role sign what it "
                      "signs by default; nothing changed")
        return
    for role, types in added.items():
        console.print(f"{role} may now sign {', '.join(types)}")
    console.print(f"policy v{policy.policy.version} {policy.digest}")


def _key_rows(signed: SignedPolicy) -> list[dict[str, Any]]:
    policy = signed.policy
    holders = [("root", policy.root_keys)]
    holders += [(f"site {s.site_id}", s.keys) for s in policy.sites]
    holders += [(f"certifier {c.certifier_id}", c.keys) for c in policy.certifiers]
    rows = []
    for holder, entries in holders:
        for k in entries:
            status = "current"
            if k.revoked:
                status = f"revoked {k.revoked.at} (log size {k.revoked.log_size})"
            elif k.valid_until:
                status = f"rotated {k.valid_until} (log size {k.valid_until_log_size})"
            rows.append({"holder": holder, "role": k.role, "keyid": k.keyid,
                         "validFrom": k.valid_from, "status": status})
    return rows


@keys_app.command("show")
def keys_show(store: StoreOption = DEFAULT_STORE, json_output: JsonOption = False) -> None:
    """Show the trust policy: allowed locations, sites, certifiers and their keys."""
    signed = _current_policy(store)
    policy = signed.policy
    if json_output:
        print_json({**_policy_json(store, signed), "issuedAt": policy.issued_at,
                    "keys": _key_rows(signed), "policy": policy.to_json_dict()})
        return
    console.print(f"policy v{policy.version} issued {policy.issued_at} {signed.digest}")
    console.print("allowed: " + ", ".join(
        f"{a.provider} {a.region}" + (f" {a.uri}" if a.uri else "")
        for a in policy.allowed_locations))
    table = Table("holder", "role", "key id", "valid from", "status")
    for row in _key_rows(signed):
        table.add_row(row["holder"], row["role"], row["keyid"], row["validFrom"], row["status"])
    console.print(table)

"""`kura audit openlineage`: the verified log as OpenLineage events (lineage/openlineage.py).

Mounted on the audit app as

    audit_app.command("openlineage")(audit_openlineage)

Events go to stdout as NDJSON (one event per line, nothing else on stdout), to `--out FILE`, or
to a lineage server with `--url` (POSTed through openlineage-python's HTTP transport). A store
that fails verification exports nothing (exit 1); so does an event that fails its schema.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde

from lineage.openlineage import DEFAULT_NAMESPACE, OpenLineageExportError, export_events
from lineage.openlineage_emit import (
    LineageServerError,
    event_json,
    http_target,
    post_events,
    write_events,
)
from lineage.openlineage_schema import SCHEMA_DIR, check_events
from lineage.policy import TRUST_ROOT_ENV
from pipelines.cli_common import (
    DEFAULT_STORE,
    JsonOption,
    StoreOption,
    console,
    fail,
    note_line,
    print_json,
)


def _runs(events: list[RunEvent]) -> list[dict[str, Any]]:
    """One line per run: its job, runId, final state and the log index of its record."""
    runs = []
    for event in events:
        if event.eventType is None or event.eventType.value == "START":
            continue
        facets = event.run.facets or {}
        record = facets.get("kura_residency") or facets.get("kura_certification")
        runs.append({"job": event.job.name, "runId": event.run.runId,
                     "state": event.eventType.value,
                     "logIndex": getattr(record, "logIndex", None)})
    return runs


def audit_openlineage(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write the events to FILE (NDJSON) instead of stdout"),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="POST the events to a lineage server, e.g. Marquez at "
                     "http://localhost:5000 (its /api/v1/lineage endpoint)"),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", help="the OpenLineage namespace of Kura's jobs")
    ] = DEFAULT_NAMESPACE,
    trust_root: Annotated[
        Path | None,
        typer.Option("--trust-root", help=f"the root public key (PEM) you pinned; default: "
                     f"${TRUST_ROOT_ENV}, else the store's own keys/root.pub.pem (reported)"),
    ] = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Export the verified lineage as OpenLineage events: per run a START and a COMPLETE (or
    FAIL, when it certified nothing), per release a certification run."""
    if not store.is_dir():
        raise fail(f"--store {store}: no such directory")
    if out is not None and url is not None:
        raise fail("give at most one of --out FILE or --url URL")
    if not namespace.strip():
        raise fail("--namespace: give a non-empty namespace")
    if url is not None:
        try:
            http_target(url)
        except ValueError as exc:
            raise fail(str(exc)) from None
    if out is not None and out.is_dir():
        raise fail(f"--out {out}: is a directory; name the file to write")
    if out is not None and not out.parent.is_dir():
        raise fail(f"--out {out}: no such directory {out.parent}")
    if trust_root is not None and not trust_root.is_file():
        raise fail(f"--trust-root {trust_root}: no such file")
    try:
        export = export_events(store, trust_root=trust_root, namespace=namespace)
    except OpenLineageExportError as exc:
        raise fail(str(exc), 1) from None
    for warning in export.report.warnings:
        note_line(f"warning: {warning}")
    documents = [Serde.to_dict(event) for event in export.events]
    schemas = check_events(documents)
    if not schemas.ok:
        more = f" (+{len(schemas.problems) - 1} more)" if len(schemas.problems) > 1 else ""
        raise fail(f"an event fails its schema, nothing exported: {schemas.problems[0]}{more}", 1)

    if url is not None:
        try:
            post_events(export.events, url)
        except LineageServerError as exc:
            raise fail(str(exc), 1) from None
        destination = {"kind": "url", "target": url}
    elif out is not None:
        write_events(export.events, out)
        destination = {"kind": "file", "target": str(out)}
    else:
        destination = {"kind": "stdout", "target": "-"}

    runs = _runs(export.events)
    report = export.report
    summary: dict[str, Any] = {
        "namespace": namespace,
        "destination": destination,
        "eventCount": len(export.events),
        "runs": runs,
        "logSize": report.log_size,
        "trustAnchor": report.anchor_keyid,
        "pinned": report.pinned,
        "schemas": {"checked": sorted(schemas.checked),
                    "notShipped": sorted(schemas.unavailable)},
    }
    if json_output:
        if destination["kind"] == "stdout":
            summary["events"] = documents
        print_json(summary)
        return
    if destination["kind"] == "stdout":
        sys.stdout.writelines(event_json(event) + "\n" for event in export.events)
        sys.stdout.flush()
        return
    failed = sum(1 for run in runs if run["state"] == "FAIL")
    anchor = "pinned" if report.pinned else "the store's own, NOT pinned"
    console.print(f"exported {len(export.events)} events of {len(runs)} runs ({failed} FAIL) to "
                  f"{destination['target']}, from {report.log_size} verified log records "
                  f"(trust anchor {report.anchor_keyid}, {anchor})")
    if schemas.unavailable:
        console.print(f"schemas: {len(schemas.checked)} checked; {len(schemas.unavailable)} "
                      f"OpenLineage spec schemas are not in lineage/{SCHEMA_DIR.name}/, so those "
                      "parts were checked by openlineage-python's typed classes only")


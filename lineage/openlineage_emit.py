"""Sending OpenLineage events: NDJSON to stdout or a file (the client's Serde, one event per
line), or POSTed to a lineage server through openlineage-python's own HTTP transport.

A server URL is its base (`http://localhost:5000` for Marquez); events go to its
`api/v1/lineage` endpoint, the OpenLineage HTTP API, unless the URL already ends in it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests
from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG


def event_json(event: RunEvent) -> str:
    """One event as one line of JSON (the client's Serde: sorted keys, no nulls)."""
    return Serde.to_json(event)


def write_events(events: Sequence[RunEvent], out: Path) -> None:
    """NDJSON to `out`, written whole or not at all (a temporary file renamed into place)."""
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(event_json(event) + "\n" for event in events)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LineageServerError(OSError):
    """The lineage server refused or could not be reached; one line, how many events got there."""


def http_target(url: str) -> tuple[str, str]:
    """(base URL, endpoint) for the client's HTTP transport: a server's base URL gets
    OpenLineage's `api/v1/lineage` endpoint (Marquez's); a URL already ending in it is kept."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url {url!r}: give the lineage server as http(s)://HOST[:PORT]")
    path = parts.path.rstrip("/")
    if not path.endswith("/api/v1/lineage"):
        path += "/api/v1/lineage"
    return f"{parts.scheme}://{parts.netloc}/", path.lstrip("/")


def post_events(events: Sequence[RunEvent], url: str, timeout: float = 10.0) -> int:
    """POST each event, in order, through openlineage-python's own HTTP transport; return how
    many were accepted. The transport is used directly, not through `OpenLineageClient`, whose
    `emit` adds facets and filters from ambient configuration (openlineage.yml, OPENLINEAGE__*
    variables): the server gets exactly the events that were checked."""
    base, endpoint = http_target(url)
    parts = urlsplit(base)
    shown = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    # urllib3 logs a WARNING per retry; the caller reports the outcome in one line instead.
    pool_log = logging.getLogger("urllib3.connectionpool")
    level = pool_log.level
    pool_log.setLevel(logging.ERROR)
    transport = HttpTransport(HttpConfig(url=base, endpoint=endpoint, timeout=timeout,
                                         retry={**DEFAULT_RETRY_CONFIG, "total": 2}))
    sent = 0
    try:
        for event in events:
            try:
                transport.emit(event)
            except requests.RequestException as exc:
                status = getattr(exc.response, "status_code", None)
                why = f"HTTP {status}" if status else type(exc).__name__
                raise LineageServerError(
                    f"{shown}/{endpoint}: {why} on event {sent + 1} of {len(events)}; "
                    f"{sent} sent before it") from None
            sent += 1
    finally:
        transport.close()
        pool_log.setLevel(level)
    return sent

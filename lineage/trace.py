"""`kura audit trace`: follow the log from a shard to its run, sources and releases, and from a
source to the runs that read it, the shards they wrote and the releases that include those.
Read-only; `verify` is what vouches for the log, trace only shows the chain (and proves the
shard's record is in the latest checkpoint).

A source is named the way its user knows it, and matched against what runs recorded:
    - exactly the recorded uri (`manuals/a.jsonl`, `file:///data/a.jsonl`, `gs://b/a.jsonl`);
    - a local path (relative to the current folder, or absolute) or a file:// URI, whose
      absolute form equals an older store's recorded file:// uri, or ends with `/` + a recorded
      relative uri (whole path segments only: `xmanuals/a.jsonl` never matches `manuals/a.jsonl`);
    - when that path is an existing file, its sha256 against every recorded source digest (the
      same bytes under another name, or a file that moved since).
Several recorded sources that a path could mean are told apart by the file's bytes (those that
recorded exactly these bytes are this file); with nothing to tell them apart they are listed in
the error rather than guessed between.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from lineage import merkle
from lineage.audit_log import LogRecord, parse_log
from lineage.code import file_sha256
from lineage.log import TransparencyLog
from lineage.withdraw import Withdrawal, logged_withdrawals, withdrawals_of_files
from schemas.predicates import CERTIFIER_URI_PREFIX, RELEASE_URI_PREFIX

MATCHED_BY = ("uri", "path", "sha256")


class TraceError(ValueError):
    """Nothing in the log matches what was asked, or several things do; one line naming it."""


@dataclass(frozen=True)
class SourceRef:
    uri: str
    sha256: str | None
    location: str  # "provider country region (claimed by ...)"


@dataclass(frozen=True)
class ReleaseRef:
    """A release whose certification record names a shard with the digest traced."""

    release: str
    log_index: int
    certifier: str
    signed_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {"release": self.release, "logIndex": self.log_index,
                "certifier": self.certifier, "signedAt": self.signed_at}


@dataclass(frozen=True)
class ShardTrace:
    shard: str
    sha256: str
    log_index: int
    run_id: str
    runner: str
    site: str
    signed_at: str
    sources: tuple[SourceRef, ...]
    provenance_index: int | None
    siblings: tuple[str, ...]  # other shards of the same run
    included_in_checkpoint: int | None  # tree size whose root the inclusion proof verified to
    releases: tuple[ReleaseRef, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "shard": self.shard, "sha256": self.sha256, "logIndex": self.log_index,
            "runId": self.run_id, "runner": self.runner, "site": self.site,
            "signedAt": self.signed_at,
            "sources": [{"uri": s.uri, "sha256": s.sha256, "location": s.location}
                        for s in self.sources],
            "provenanceLogIndex": self.provenance_index, "siblings": list(self.siblings),
            "includedInCheckpoint": self.included_in_checkpoint,
            "releases": [r.to_json() for r in self.releases],
        }


@dataclass(frozen=True)
class ShardRef:
    name: str
    sha256: str | None
    log_index: int
    releases: tuple[ReleaseRef, ...]
    withdrawn_by: tuple[int, ...] = ()  # log indexes of withdrawals that took data out of it

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "logIndex": self.log_index,
                "releases": [r.to_json() for r in self.releases],
                "withdrawnBy": list(self.withdrawn_by)}


@dataclass(frozen=True)
class SourceRun:
    run_id: str
    uri: str  # the source as this run recorded it
    source_sha256: str | None
    site: str
    corpus_id: str | None
    shards: tuple[ShardRef, ...]
    provenance_index: int | None
    same_bytes: bool | None = None  # the recorded digest is the named file's now (None: no file)

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "uri": self.uri, "sourceSha256": self.source_sha256,
                "site": self.site, "corpusId": self.corpus_id,
                "provenanceLogIndex": self.provenance_index, "sameBytes": self.same_bytes,
                "shards": [s.to_json() for s in self.shards]}


@dataclass(frozen=True)
class SourceRelease:
    """A release that certified a shard holding data from the traced source."""

    release: ReleaseRef
    shards: tuple[str, ...]
    withdrawn_by: tuple[int, ...]  # withdrawals of the source that took data out of them

    def to_json(self) -> dict[str, Any]:
        return {**self.release.to_json(), "shards": list(self.shards),
                "holdsWithdrawnData": bool(self.withdrawn_by),
                "withdrawnBy": list(self.withdrawn_by)}


@dataclass(frozen=True)
class SourceTrace:
    query: str
    matches: tuple[tuple[str, tuple[str, ...]], ...]  # (recorded uri, how it matched)
    runs: tuple[SourceRun, ...]
    file_sha256: str | None = None  # the named local file's sha256, when it exists
    withdrawals: tuple[Withdrawal, ...] = ()  # signed withdrawals of the source
    releases: tuple[SourceRelease, ...] = ()  # every release with data from it, oldest first

    @property
    def uri(self) -> str:
        return self.matches[0][0]

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "fileSha256": self.file_sha256,
                "matches": [{"uri": uri, "matchedBy": list(how)} for uri, how in self.matches],
                "runs": [r.to_json() for r in self.runs],
                "withdrawn": bool(self.withdrawals),
                "withdrawals": [w.to_json() for w in self.withdrawals],
                "releases": [r.to_json() for r in self.releases]}


def _location_text(loc: dict) -> str:
    return (f"{loc.get('provider')} {loc.get('country')} {loc.get('region')} "
            f"(claimed by {loc.get('claimSource', '?')})")


def _releases(records: list[LogRecord]) -> dict[tuple[str, str | None], tuple[ReleaseRef, ...]]:
    found: dict[tuple[str, str | None], list[ReleaseRef]] = defaultdict(list)
    for r in records:
        if r.kind != "certification":
            continue
        ref = ReleaseRef(
            release=str(r.predicate.get("resourceUri", "")).removeprefix(RELEASE_URI_PREFIX),
            log_index=r.index,
            certifier=str((r.predicate.get("verifier") or {}).get("id", "")).removeprefix(
                CERTIFIER_URI_PREFIX),
            signed_at=r.signed_at,
        )
        for subject in r.subjects:
            found[subject].append(ref)
    return {k: tuple(v) for k, v in found.items()}


def _provenance_index(records: list[LogRecord], run_id: str) -> int | None:
    return next((r.index for r in reversed(records)
                 if r.kind == "provenance" and r.run_id == run_id), None)


def store_name(store_root: Path, shard: str) -> str:
    """A shard given as a path (absolute or relative to cwd) or as its store-relative name."""
    candidate = Path(shard)
    if candidate.exists():
        try:
            return candidate.resolve().relative_to(Path(store_root).resolve()).as_posix()
        except ValueError:
            pass
    return shard


def trace_shard(store_root: Path, shard: str) -> ShardTrace:
    tlog = TransparencyLog(Path(store_root))
    contents = tlog.read()
    records = parse_log(contents.lines)
    name = store_name(store_root, shard)
    hit = next((r for r in reversed(records)  # the latest attestation of a path is the current
                if r.kind == "residency" and any(n == name for n, _ in r.subjects)), None)
    if hit is None:
        raise TraceError(f"{name}: no residency attestation in {tlog.path}")
    predicate = hit.predicate
    run_id = str(hit.run_id)
    sha = dict(hit.subjects)[name] or ""
    siblings = tuple(n for r in records if r.kind == "residency" and r.run_id == run_id
                     for n, _ in r.subjects if n != name)
    included = None
    checkpoints = tlog.checkpoints()
    if checkpoints and checkpoints[-1].checkpoint.tree_size > hit.index:
        head = checkpoints[-1].checkpoint
        hashes = contents.leaf_hashes()[: head.tree_size]
        proof = merkle.inclusion_proof(hit.index, hashes)
        if merkle.verify_inclusion(
            hit.index, head.tree_size, hashes[hit.index], proof, bytes.fromhex(head.root_hash)
        ):
            included = head.tree_size
    return ShardTrace(
        shard=name,
        sha256=sha,
        log_index=hit.index,
        run_id=run_id,
        runner=predicate["run"]["runner"],
        site=predicate["site"]["siteId"],
        signed_at=predicate["signedAt"],
        sources=tuple(
            SourceRef(i["uri"], i.get("sha256"), _location_text(i["location"]))
            for i in predicate["inputs"]
        ),
        provenance_index=_provenance_index(records, run_id),
        siblings=siblings,
        included_in_checkpoint=included,
        releases=_releases(records).get((name, sha), ()),
    )


def local_path(query: str, cwd: Path | None = None) -> Path | None:
    """The absolute local path a query names (a path or a file:// URI), or None (gs://, s3://)."""
    if query.startswith("file://"):
        return Path(unquote(urlparse(query).path))
    if "://" in query:
        return None
    path = Path(query).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else (cwd or Path.cwd()) / path))


def _path_matches(recorded: str, forms: list[Path]) -> bool:
    """A recorded uri the local path (absolute `forms`: as given and resolved) stands for."""
    if recorded.startswith("file://") or recorded.startswith("/"):
        mine = local_path(recorded)
        return mine is not None and any(mine == f for f in forms)
    if "://" in recorded or not recorded:
        return False
    tail = PurePosixPath(recorded).parts
    return any(f.parts[-len(tail):] == tail for f in forms if len(f.parts) > len(tail))


@dataclass
class _Run:
    uri: str
    sha: str | None
    site: str = ""
    corpus: str | None = None
    provenance: int | None = None
    shards: list[ShardRef] = field(default_factory=list)


def recorded_sources(records: list[LogRecord]) -> list[tuple[LogRecord, str, str | None]]:
    """(record, uri, sha256) of every input a residency or provenance record names."""
    found = []
    for r in records:
        if r.kind == "residency":
            found += [(r, i.get("uri", ""), i.get("sha256")) for i in r.predicate.get("inputs", [])]
        elif r.kind == "provenance":
            deps = (r.predicate.get("buildDefinition") or {}).get("resolvedDependencies") or []
            found += [(r, d.get("uri", ""), (d.get("digest") or {}).get("sha256")) for d in deps
                      if isinstance((d.get("annotations") or {}).get("location"), dict)]
    return found


def match_source(query: str, recorded: list[tuple[LogRecord, str, str | None]],
                 cwd: Path | None) -> tuple[dict[str, set[str]], str | None]:
    """Recorded uri -> how it matched the query; and the named file's sha256, if it exists."""
    uris = {uri for _, uri, _ in recorded}
    how: dict[str, set[str]] = defaultdict(set)
    if query in uris:
        how[query].add("uri")
    path = local_path(query, cwd)
    digest = None
    if path is not None:
        forms = [path, path.resolve()]
        by_path = {uri for uri in uris if _path_matches(uri, forms)}
        if path.is_file():
            try:
                digest = file_sha256(path.resolve())
            except OSError:  # unreadable: matched by name only
                digest = None
        if len(by_path) > 1 and not how:
            # Only the file's bytes can tell the names apart: those that recorded exactly
            # these bytes are this file; with none (or no file), nothing decides.
            same = {uri for _, uri, sha in recorded
                    if uri in by_path and digest is not None and sha == digest}
            if not same:
                raise TraceError(f"{query} could be any of {len(by_path)} recorded sources: "
                                 + ", ".join(sorted(by_path)) + "; give one of them exactly")
            by_path = same
        if not how:
            for uri in by_path:
                how[uri].add("path")
        if digest is not None:
            for _, uri, sha in recorded:
                if sha == digest:
                    how[uri].add("sha256")
    return how, digest


def trace_source(store_root: Path, source: str, cwd: Path | None = None) -> SourceTrace:
    """Every run that read the source named by `source` (see the module docstring for how a
    path or URI is matched), the shards it wrote from it and the releases including them."""
    lines = TransparencyLog(Path(store_root)).read().lines
    records = parse_log(lines)
    recorded = recorded_sources(records)
    how, digest = match_source(source, recorded, cwd)
    if not how:
        raise TraceError(f"{source}: no run in the log read this source")
    releases = _releases(records)
    withdrawals = logged_withdrawals(lines)
    touched = withdrawals_of_files(withdrawals)
    runs: dict[tuple[str, str], _Run] = {}
    for record, uri, sha in recorded:
        if uri not in how:
            continue
        run = runs.setdefault((str(record.run_id), uri), _Run(uri, sha))
        if record.kind == "residency":
            run.site = run.site or str((record.predicate.get("site") or {}).get("siteId", ""))
            run.shards += [ShardRef(n, s, record.index, releases.get((n, s), ()),
                                    tuple(w.log_index for w in touched.get((n, s or ""), ())))
                           for n, s in record.subjects]
        else:
            build = record.predicate.get("buildDefinition") or {}
            run.site = run.site or str((build.get("internalParameters") or {}).get("siteId", ""))
            run.corpus = (build.get("externalParameters") or {}).get("corpusId")
            run.provenance = record.index
    # Exact matches first, then by path, then by digest alone.
    order = sorted(how, key=lambda u: (min(MATCHED_BY.index(m) for m in how[u]), u))
    corpora = {r.corpus for r in runs.values() if r.corpus}
    own = tuple(w for w in withdrawals if _withdraws(w, set(how), corpora))
    return SourceTrace(
        query=source,
        matches=tuple((uri, tuple(m for m in MATCHED_BY if m in how[uri])) for uri in order),
        runs=tuple(
            SourceRun(run_id, r.uri, r.sha, r.site, r.corpus, tuple(r.shards),
                      r.provenance if r.provenance is not None
                      else _provenance_index(records, run_id),
                      None if digest is None else r.sha == digest)
            for (run_id, _), r in runs.items()
        ),
        file_sha256=digest,
        withdrawals=own,
        releases=_source_releases(runs.values(), {w.log_index for w in own}),
    )


def _withdraws(withdrawal: Withdrawal, uris: set[str], corpora: set[str]) -> bool:
    """Whether a withdrawal takes the source (named, or every source of its corpus)."""
    p = withdrawal.predicate
    if p.kind == "all":
        return p.corpus_id in corpora
    return any(s.uri in uris for s in p.sources)


def _source_releases(runs: Iterable[_Run], own: set[int]) -> tuple[SourceRelease, ...]:
    """Every release that certified a shard with data from the source, and whether a
    withdrawal of the source took data out of those very bytes since."""
    found: dict[str, tuple[ReleaseRef, set[str], set[int]]] = {}
    for run in runs:
        for shard in run.shards:
            for ref in shard.releases:
                entry = found.setdefault(ref.release, (ref, set(), set()))
                entry[1].add(shard.name)
                entry[2].update(i for i in shard.withdrawn_by if i in own)
    return tuple(SourceRelease(ref, tuple(sorted(names)), tuple(sorted(by)))
                 for ref, names, by in sorted(found.values(), key=lambda e: e[0].log_index))

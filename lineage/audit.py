"""The audit catalog: DuckDB over a verified store, for `kura audit sql` and the notebooks.

    con = open_catalog(Path("kura-store"), trust_root="root.pub.pem")
    con.execute("SELECT release, count(*) FROM releases GROUP BY release").fetchall()

`open_catalog` first runs `audit verify`'s checks (`lineage.verify.check_store`) against the root
you pin (`trust_root`, else KURA_TRUST_ROOT, else the store's own keys/root.pub.pem, and then it
says so in a warning and in `catalog.pinned`), and refuses a store that does not verify
(`CatalogError` naming the first failure): fail closed. Every view is then built from exactly the
log lines that were verified and from the Parquet files those records name.

Read-only: the database is in memory; the log-derived views read Arrow tables built in Python,
the file-backed views read Arrow datasets over the named files through pyarrow, and DuckDB itself
is left with no file access at all (`enable_external_access = false`, configuration locked), so
no statement can write, copy to, attach or read any file. Document text and the raw bytes of
rejects are not columns of any dataset, so no query can reach them.

Log positions are `log_index`: the 0-based RFC 6962 leaf index (the line number of
lineage/log.jsonl minus 1). Times are UTC timestamps. `VIEWS` below documents every view and
column; the same text is on each view and column as a DuckDB comment (`duckdb_columns()`), and
`kura audit sql --describe` prints it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from lineage import audit_tables as tables
from lineage.audit_files import CatalogFileError, file_datasets
from lineage.audit_log import parse_log, signers, store_files
from lineage.log import LogError, TransparencyLog
from lineage.policy import PolicyError, TrustRoot, load_root_anchor, pinned_root, policy_chain
from lineage.verify import check_store

log = logging.getLogger(__name__)


class CatalogError(ValueError):
    """A store the catalog will not open (it does not verify, or cannot be read); one line."""


@dataclass(frozen=True)
class View:
    name: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (column, meaning), in the view's order


_LOC = (("provider", "provider of the claimed location (onprem, gcp, aws, azure)"),
        ("country", "ISO 3166 country of the claimed location"),
        ("region", "region of the claimed location"),
        ("claim_source", "who claims it: manifest, policy, runner-option, store"))

VIEWS: tuple[View, ...] = (
    View("catalog", "one row: what was verified before these views were built", (
        ("store", "the store's absolute path"),
        ("verified", "true: every `kura audit verify` check held before the views were built"),
        ("pinned", "true: verified against the root you pinned; false: the store's own root"),
        ("anchor_keyid", "key id of the trust anchor (the root public key)"),
        ("policy_version", "the newest verified trust-policy version"),
        ("log_size", "records in the log"),
        ("checkpoint_tree_size", "tree size of the latest signed checkpoint"),
        ("checkpoint_root_hash", "its Merkle root (hex)"),
        ("opened_at", "when the catalog was opened (UTC)"),
    )),
    View("records", "every log record: one row per line of lineage/log.jsonl", (
        ("log_index", "0-based leaf index in the Merkle tree (log line number - 1)"),
        ("kind", "policy, residency, provenance, certification, withdrawal (unknown: not "
                 "parseable)"),
        ("payload_type", "the DSSE payloadType"),
        ("predicate_type", "the in-toto predicateType (null for a policy version)"),
        ("keyid", "key id of the signature that verified"),
        ("signer_role", "that key's role in the policy: root, site, certifier"),
        ("signer", "who holds the key: the site id, the certifier id, or root"),
        ("signed_at", "when the signer says it signed (UTC; never a verdict)"),
        ("run_id", "the run of a residency or provenance record"),
        ("release", "the release a certification record certifies"),
        ("subjects", "list of {name, sha256}: the files the record is about"),
        ("envelope_sha256", "sha256 of the log line (the envelope), as records cite each other"),
        ("leaf_hash", "RFC 6962 leaf hash SHA-256(0x00 || line), hex"),
        ("payload", "the signed statement or policy as JSON text (query with ->> paths)"),
    )),
    View("runs", "one row per run provenance record (SLSA Provenance v1)", (
        ("run_id", "the run id"), ("corpus_id", "the corpus the run curated"),
        ("member", "the member that owns the corpus"), ("site", "the site whose key signed"),
        ("runner", "the Beam runner"), ("workers", "worker processes"),
        ("started_at", "run start (UTC)"), ("finished_at", "run end (UTC)"),
        ("signed_at", "when the site signed the record (UTC)"),
        ("read", "records read"), ("written", "documents written to shards"),
        ("rejected", "records rejected, all steps (withheld documents included)"),
        ("duplicates", "duplicates removed, all kinds"),
        ("quarantined", "documents withheld from certification: rejected by the residual-PII "
         "gate plus the rows of shards whose suite failed"),
        ("rejected_by_step", "MAP step -> count"), ("duplicates_by_kind", "MAP kind -> count"),
        ("shards", "shards the run attested"),
        ("current", "true when files of the run are among its corpus's current ones (its "
         "latest full run and the append runs since, less what rewrites replaced)"),
        ("kura_version", "Kura version that ran"), ("manifest_sha256", "the manifest's sha256"),
        ("policy_digest", "the trust-policy version it was signed under"),
        ("log_index", "log index of the provenance record"),
        ("envelope_sha256", "sha256 of its envelope line"),
    )),
    View("sources", "every input file of every run, as the run provenance resolved it", (
        ("run_id", "the run"), ("corpus_id", "its corpus"),
        ("source_uri", "the source as recorded: relative to the manifest's corpus.root, "
         "file:// (older stores, or when asked), gs:// or s3://"),
        ("sha256", "sha256 of the file's bytes as read"), ("encoding", "the decided encoding"),
        ("bytes", "file size"), ("records", "records read from it"),
        ("status", "ok, empty, unreadable, binary"), *_LOC,
        ("log_index", "log index of the provenance record"),
    )),
    View("shards", "every shard ever attested: one row per residency attestation", (
        ("name", "store-relative path (shards/<corpus>/... or quarantine/<corpus>/...)"),
        ("corpus_id", "its corpus"), ("run_id", "the run that wrote it"),
        ("sha256", "sha256 of the shard file"), ("rows", "documents in it"),
        ("bytes", "file size"), ("site", "the site that signed the attestation"),
        ("signed_at", "when (UTC)"),
        ("validation_passed", "its great-expectations suite passed (null: not validated)"),
        ("validation_digest", "digest of the suite's result"),
        ("current", "true: the latest attestation of this path, written by a current run of "
         "its corpus, so the file on disk is this one (verified digest); false: superseded"),
        ("certified", "a certification record (release) names this path with this sha256"),
        ("quarantined", "the shard failed its suite and lies under quarantine/"),
        ("license", "the corpus license in the current file's footer (null: superseded or v1)"),
        ("sensitivity", "the corpus sensitivity in the current file's footer"),
        ("log_index", "log index of the residency attestation"),
        ("envelope_sha256", "sha256 of its envelope line"),
    )),
    View("shard_sources", "which inputs each attested shard names: shard x source", (
        ("shard", "the shard's store path"), ("shard_sha256", "the shard's sha256"),
        ("run_id", "the run"), ("source_uri", "the input as recorded"),
        ("sha256", "the input's sha256"), *_LOC,
        ("attestation_digest", "envelope digest of the input's own attestation, when the input "
         "is itself a Kura shard"),
        ("log_index", "log index of the residency attestation"),
    )),
    View("releases", "one row per release x shard, from the certification records (SLSA VSA)", (
        ("release", "the release name"), ("certifier", "the certifier id"),
        ("signed_at", "timeVerified (UTC)"), ("verification_result", "PASSED or FAILED"),
        ("policy_uri", "the policy version it cites, kura:policy/v<N>"),
        ("shard", "store path of a certified shard"), ("sha256", "the certified sha256"),
        ("corpus_id", "the shard's corpus"),
        ("log_index", "log index of the certification record"),
        ("envelope_sha256", "sha256 of its envelope line"),
    )),
    View("release_corpora", "one row per release x corpus: what the certifier found", (
        ("release", "the release name"), ("corpus_id", "a corpus it includes"),
        ("member", "the member that owns the corpus"),
        ("license", "the corpus license (null: certified before Kura recorded it)"),
        ("sensitivity", "public, internal, confidential or restricted"),
        ("facts_from", "shard-metadata (signed shard bytes) or store-manifest (unsigned copy)"),
        ("allow_restricted", "true: a restricted corpus released explicitly"),
        ("log_index", "log index of the certification record"),
    )),
    View("documents", "every document of every attested shard file on disk, without its text: "
         "ids, source, locator, signals and PII counts; every other shard column is here too", (
        ("doc_id", "stable document id"), ("corpus_id", "its corpus"), ("member", "its member"),
        ("source_uri", "its source file, as recorded"), ("source_sha256", "that file's sha256"),
        ("locator", "its place in the source (line, row; 1 for a text file)"),
        ("char_count", "characters of text"),
        ("pii", "list of {entity, count}: personal data found and scrubbed (v1 shards' map is "
         "read as this list)"),
        ("shard", "the shard file it is in (join shards.name for current / certified)"),
    )),
    View("rejects", "every rejected record, from rejects/ and the residual-PII gate's withheld "
         "documents in quarantine/; never the raw bytes", (
        ("corpus_id", "its corpus"), ("source_uri", "its source file, as recorded"),
        ("source_sha256", "that file's sha256"), ("locator", "its place in the source"),
        ("step", "the step that rejected it, e.g. quality.hiragana_fraction"),
        ("reason", "JSON: the rule, its parameters and the value (never text)"),
        ("file", "the reject file"), ("run_id", "the run that wrote it"),
        ("withheld", "true: a document the residual-PII gate withheld (in quarantine/)"),
    )),
    View("duplicates", "every removed duplicate (duplicates/*.parquet)", (
        ("doc_id", "the removed document's id"), ("corpus_id", "its corpus"),
        ("source_uri", "its source"), ("locator", "its place in the source"),
        ("kind", "exact or near"), ("cluster_id", "its cluster"),
        ("kept_doc_id", "the document kept for the cluster"),
        ("estimated_jaccard", "MinHash estimate of its Jaccard with the kept one"),
        ("file", "the duplicates file"), ("run_id", "the run that wrote it"),
    )),
    View("residency", "every location a record claims: one row per record x claim", (
        ("log_index", "log index of the record"), ("kind", "residency or provenance"),
        ("run_id", "the run"), ("shard", "the shard a residency attestation is about"),
        ("site", "the signing site"), ("keyid", "the key that signed"),
        ("signed_at", "when (UTC)"),
        ("claim", "site, input, processing (where workers ran) or output"),
        ("uri", "the input, or the named bucket / cluster, when there is one"), *_LOC,
    )),
    View("checkpoints", "every stored signed checkpoint (lineage/checkpoints/)", (
        ("file", "its file name"), ("tree_size", "log records it covers"),
        ("root_hash", "Merkle root (hex)"), ("timestamp", "when signed (UTC; for people)"),
        ("policy_digest", "the newest policy version it covers"),
        ("keyid", "the key that signed it"),
    )),
)


def describe() -> str:
    """Every view and column with its meaning: what `.views` and `--describe` print."""
    out = []
    for view in VIEWS:
        out.append(f"{view.name}: {view.description}")
        out += [f"    {column:22} {meaning}" for column, meaning in view.columns]
    return "\n".join(out)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_catalog(store: Path, trust_root: TrustRoot | None = None,
                 verify: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory, read-only DuckDB connection with the documented views over `store`.

    With `verify` (the default) the store must pass every `audit verify` check first, against
    `trust_root` (else KURA_TRUST_ROOT, else the store's own root, with a logged warning);
    otherwise CatalogError names the first failure. `verify=False` builds the views from the log
    as it is, unchecked (`catalog.verified` is then false)."""
    con, warnings = catalog_connection(store, trust_root, verify)
    for warning in warnings:
        log.warning("%s", warning)
    return con


def catalog_connection(store: Path, trust_root: TrustRoot | None = None, verify: bool = True
                       ) -> tuple[duckdb.DuckDBPyConnection, tuple[str, ...]]:
    """`open_catalog`, returning verification's warnings (an unpinned root) instead of logging
    them, for a caller that says them its own way."""
    store = Path(store)
    warnings: tuple[str, ...] = ()
    if not store.is_dir():
        raise CatalogError(f"{store}: no such store directory")
    tlog = TransparencyLog(store)
    if verify:
        checked = check_store(store, trust_root=trust_root)
        report = checked.report
        if not report.ok:
            raise CatalogError(f"{store} does not verify, so nothing is catalogued: "
                               f"{report.first_failure()}; run `kura audit verify`")
        warnings = report.warnings
        lines, checkpoints, chain = checked.lines, checked.checkpoints, checked.chain
        pinned, anchor_id = report.pinned, report.anchor_keyid
    else:
        try:
            lines, checkpoints = tlog.read().lines, tlog.checkpoints()
            anchor = pinned_root(trust_root)
            pinned = anchor is not None
            anchor = anchor or load_root_anchor(store)
            chain = policy_chain(store, anchor, lines)
        except (LogError, PolicyError) as exc:
            raise CatalogError(str(exc)) from None
        anchor_id = chain.anchor_id
        warnings = ("the store was not verified: these views show its log as it is",)
    records = parse_log(lines)
    versions = [chain.versions[v].policy for v in sorted(chain.versions)] if chain else []
    keys = signers(versions)
    try:
        files = file_datasets(store, store_files(records), strict=verify)
    except CatalogFileError as exc:
        raise CatalogError(str(exc)) from None
    if files.left_out and not verify:
        more = f" (+{len(files.left_out) - 1} more)" if len(files.left_out) > 1 else ""
        warnings += (f"left out {files.left_out[0]}{more}: missing or not Parquet",)
    head = checkpoints[-1].checkpoint if checkpoints else None
    catalog = pa.Table.from_pylist([{
        "store": str(store.resolve()), "verified": verify, "pinned": pinned,
        "anchor_keyid": anchor_id,
        "policy_version": chain.current.policy.version if chain and chain.current else None,
        "log_size": len(lines), "checkpoint_tree_size": head.tree_size if head else None,
        "checkpoint_root_hash": head.root_hash if head else None,
        "opened_at": datetime.now(UTC).replace(tzinfo=None),
    }], schema=pa.schema([
        ("store", pa.string()), ("verified", pa.bool_()), ("pinned", pa.bool_()),
        ("anchor_keyid", pa.string()), ("policy_version", pa.int64()), ("log_size", pa.int64()),
        ("checkpoint_tree_size", pa.int64()), ("checkpoint_root_hash", pa.string()),
        ("opened_at", tables.TIME)]))
    sources = {
        "catalog": catalog,
        "records": tables.records_table(records, keys),
        "runs": tables.runs_table(records),
        "sources": tables.sources_table(records),
        "shards": tables.shards_table(records, files.footers),
        "shard_sources": tables.shard_sources_table(records),
        "releases": tables.releases_table(records),
        "release_corpora": tables.release_corpora_table(records),
        "documents": files.documents,
        "rejects": files.rejects,
        "duplicates": files.duplicates,
        "residency": tables.residency_table(records, keys),
        "checkpoints": tables.checkpoints_table([
            tables.CheckpointRow(c.path.name if c.path else "", c.checkpoint.tree_size,
                                 c.checkpoint.root_hash, c.checkpoint.timestamp,
                                 c.checkpoint.policy_digest,
                                 c.envelope.signatures[0].keyid if c.envelope.signatures else None)
            for c in checkpoints]),
    }
    return _connect(sources), warnings


def _select_list(view: View, available: list[str]) -> str:
    """The documented columns first, in their order, then any other column the files hold."""
    documented = [c for c, _ in view.columns]
    rest = [c for c in available if c not in documented]
    columns = [c for c in documented if c in available] + rest
    if view.name == "rejects":  # stored as JSON text: typed, so `reason->>'min'` works
        return ", ".join("reason::JSON AS reason" if c == "reason" else f'"{c}"' for c in columns)
    return ", ".join(f'"{c}"' for c in columns)


def _connect(sources: dict[str, object]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    try:
        for view in VIEWS:
            source = sources[view.name]
            internal = f"_kura_{view.name}"
            con.register(internal, source)
            available = [f.name for f in source.schema]  # type: ignore[attr-defined]
            con.execute(f"CREATE VIEW {view.name} AS SELECT {_select_list(view, available)} "
                        f"FROM {internal}")
            con.execute(f"COMMENT ON VIEW {view.name} IS {_quote(view.description)}")
            for column, meaning in view.columns:
                if column in available:
                    con.execute(f'COMMENT ON COLUMN {view.name}."{column}" IS {_quote(meaning)}')
        # From here on DuckDB opens no file: the datasets above read through pyarrow.
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con

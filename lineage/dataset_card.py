"""The dataset card of a pulled release: a README.md with Hugging Face YAML front matter.

`dataset_card(card)` is pure: the verified facts in, the card's text out. Every fact comes from
what the pull verified (the certification record, the shards' signed bytes), never from the
unsigned release index. The front matter follows the Hub's dataset-card metadata (`license`,
`license_name`, `language`, `size_categories`, `pretty_name`, `configs`) and keeps Kura's own
facts under `kura:`; it is emitted with PyYAML, so any YAML reader gets it back.

The card is written to DEST/__kura/README.md, not to DEST/README.md: `pyarrow.dataset.dataset
(DEST)` refuses a folder holding a non-Parquet file whose name does not start with "_" or ".".
Publishing the folder as a Hub dataset repository means copying the card to the repository's
root as README.md, beside the corpus folders; the card's text says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import yaml

from lineage.release import PULLED_METADATA_DIR
from schemas.predicates import FACTS_FROM_MANIFEST, CertifiedCorpus
from schemas.records import DOCUMENT_COLUMNS, DOCUMENT_SCHEMA, SCHEMA_VERSION

# The license identifiers the Hub knows (https://huggingface.co/docs/hub/repositories-licenses);
# any other license is `other`, named in `license_name`.
HF_LICENSES = frozenset((
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0",
    "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0",
    "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "agpl-3.0", "gfdl", "gpl", "gpl-2.0",
    "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "lppl-1.3c", "ms-pl", "mpl-2.0", "odc-by",
    "odbl", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl",
    "lgpl-lr", "deepfloyd-if-license", "llama2", "gemma", "unknown", "other",
))

# The Hub's size categories, by row count.
_SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)
# Where the shards sit in a pulled folder (<corpus>/<file>.parquet), for the Hub's `configs`.
DATA_FILES = "*/*.parquet"


@dataclass(frozen=True)
class CardFacts:
    """What the card states; all of it verified by the pull."""

    release: str
    certifier_id: str
    time_verified: str
    log_index: int
    envelope_digest: str
    checkpoint_tree_size: int
    trust_root_keyid: str
    corpora: tuple[CertifiedCorpus, ...]
    facts_certified: bool  # False: a release certified before corpus facts were recorded
    languages: tuple[str, ...]
    rows: int
    shards: int
    bytes: int
    v1_shards: int = 0  # shards of schema version 1 (`pii` as a map)
    unrecorded: tuple[str, ...] = ()  # corpora whose license and sensitivity are unknown


def hf_license(license: str) -> str | None:
    """The Hub identifier of a manifest license (SPDX spellings included), or None."""
    name = license.strip().lower().removesuffix("-only")
    return name if name in HF_LICENSES and name != "other" else None


def license_slug(license: str) -> str:
    """A manifest license as a `license_name` id (lower case, letters, digits, '.', '-')."""
    return re.sub(r"[^a-z0-9.]+", "-", license.strip().lower()).strip("-") or "unnamed"


def size_category(rows: int) -> str:
    return next((name for limit, name in _SIZE_CATEGORIES if rows < limit), "n>1T")


def front_matter(card: CardFacts) -> dict:
    """The card's YAML metadata, as plain data."""
    known = sorted({hf for c in card.corpora if (hf := hf_license(c.license))})
    others = sorted({license_slug(c.license) for c in card.corpora if not hf_license(c.license)})
    licenses = known + (["other"] if others else []) + (["unknown"] if card.unrecorded else [])
    meta: dict = {
        "pretty_name": f"Kura release {card.release}",
        "license": licenses[0] if len(licenses) == 1 else licenses,
    }
    if others:
        meta["license_name"] = "-and-".join(others)
    if card.languages:
        meta["language"] = list(card.languages)
    meta["size_categories"] = [size_category(card.rows)]
    meta["tags"] = ["kura", "certified"]
    meta["configs"] = [{"config_name": "default",
                        "data_files": [{"split": "train", "path": DATA_FILES}]}]
    meta["kura"] = {
        "release": card.release,
        "certifier": card.certifier_id,
        "timeVerified": card.time_verified,
        "logIndex": card.log_index,
        "envelopeSha256": card.envelope_digest,
        "checkpointTreeSize": card.checkpoint_tree_size,
        "trustRoot": card.trust_root_keyid,
        "schemaVersion": SCHEMA_VERSION,
        "rows": card.rows,
        "shards": card.shards,
        "corpora": [c.to_json_dict() for c in card.corpora],
        "verify": verify_command(card.release),
    }
    return meta


def verify_command(release: str) -> str:
    return f"kura release show {release} --trust-root ROOT.pub.pem"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def column_rows(schema: pa.Schema = DOCUMENT_SCHEMA) -> list[tuple[str, str, str]]:
    """(column, Arrow type, meaning) for every column of the shard schema."""
    return [(f"`{f.name}`", f"`{f.type}`", DOCUMENT_COLUMNS[f.name]) for f in schema]


def _corpora_section(card: CardFacts) -> list[str]:
    rows = [(c.corpus_id, c.member, c.license, c.sensitivity,
             "the store's manifest (unsigned)" if c.facts_from == FACTS_FROM_MANIFEST
             else "shard metadata (signed)") for c in card.corpora]
    rows += [(corpus, "?", "not recorded", "not recorded", "-") for corpus in card.unrecorded]
    header = ("corpus", "member", "license", "sensitivity", "license and sensitivity from")
    lines = ["## Corpora", "", *_table(header, rows)]
    restricted = [c.corpus_id for c in card.corpora if c.allow_restricted]
    if restricted:
        lines += ["", f"Restricted corpora released explicitly (`--allow-restricted`): "
                  f"{', '.join(restricted)}."]
    if not card.facts_certified:
        lines += ["", "This release was certified before Kura recorded each corpus's license and "
                  "sensitivity in the certification: they were read when it was pulled."]
    return lines


def _body(card: CardFacts) -> list[str]:
    lines = [
        f"# Kura release {card.release}",
        "",
        f"Curated Japanese text certified by Kura's certifier `{card.certifier_id}`: "
        f"{card.rows:,} documents in {card.shards} Parquet shards ({card.bytes:,} bytes), "
        "normalized, deduplicated, scrubbed of personal data, quality-checked, processed at "
        "Japanese sites only, every shard's sha256 signed.",
        "",
        "This card is a Hugging Face dataset card. Kura writes it to "
        f"`{PULLED_METADATA_DIR}/README.md` so that "
        "`pyarrow.dataset.dataset()` can read the pulled folder (it refuses any other file at "
        "the top); to publish the folder as a Hub dataset repository, copy this file to the "
        "repository's root as `README.md`, beside the corpus folders.",
        "",
        *_corpora_section(card),
        "",
        "## Loading",
        "",
        "```python",
        "import pyarrow.dataset as ds",
        'table = ds.dataset("DEST").to_table()',
        "import datasets",
        'dataset = datasets.load_dataset("parquet", data_dir="DEST", split="train")',
        "import duckdb",
        "duckdb.sql(\"SELECT count(*) FROM read_parquet('DEST/**/*.parquet')\")",
        "```",
        "",
    ]
    if card.v1_shards:
        lines += [f"{card.v1_shards} shard(s) were written with shard schema version 1, whose "
                  "`pii` column is a map that HF datasets cannot read: read the release with "
                  "`lineage.certified.open_release`, which reads them in the version 2 shape.",
                  ""]
    lines += [
        f"## Columns (shard schema version {SCHEMA_VERSION})",
        "",
        *_table(("column", "type", "meaning"), column_rows()),
        "",
        "## Certification",
        "",
        *_table(("fact", "value"), [
            ("release", card.release),
            ("certifier", card.certifier_id),
            ("certified at", card.time_verified),
            ("log index", card.log_index),
            ("envelope sha256", card.envelope_digest),
            ("checkpoint tree size", card.checkpoint_tree_size),
            ("pinned root key", card.trust_root_keyid),
        ]),
        "",
        "Verify the release against the consortium's store and the root key you pinned (kept "
        "outside the store):",
        "",
        "```sh",
        verify_command(card.release),
        "```",
        "",
        f"`{PULLED_METADATA_DIR}/release.json` lists every shard with its sha256 and holds the "
        "signed certification envelope (DSSE, Ed25519), so this folder can be checked again "
        "without the store.",
        "",
    ]
    return lines


def dataset_card(card: CardFacts) -> str:
    """The card's text: `---`, the YAML front matter, `---`, then the Markdown body."""
    meta = yaml.safe_dump(front_matter(card), sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=1000)
    return "---\n" + meta + "---\n\n" + "\n".join(_body(card))

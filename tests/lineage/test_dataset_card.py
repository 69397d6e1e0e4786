"""The dataset card: Hugging Face front matter that YAML and the Hub's own card parser read back,
license identifiers mapped as the Hub knows them, every shard column documented."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml
from huggingface_hub import DatasetCard

from lineage.dataset_card import (
    CardFacts,
    dataset_card,
    hf_license,
    license_slug,
    size_category,
)
from schemas.predicates import CertifiedCorpus
from schemas.records import DOCUMENT_COLUMNS, DOCUMENT_SCHEMA


def corpus(corpus_id: str, license: str, sensitivity: str = "confidential",
           **extra) -> CertifiedCorpus:
    return CertifiedCorpus(corpus_id=corpus_id, member="acme", license=license,
                           sensitivity=sensitivity, facts_from="shard-metadata", **extra)


CARD = CardFacts(
    release="acme-2026-q1", certifier_id="certifier@jp-osaka-1",
    time_verified="2026-04-01T09:00:00.000000Z", log_index=41, envelope_digest="ab" * 32,
    checkpoint_tree_size=42, trust_root_keyid="sha256:" + "cd" * 32,
    corpora=(corpus("acme-manuals", "consortium-internal"),
             corpus("acme-hr", "CC-BY-4.0", "restricted", allow_restricted=True)),
    facts_certified=True, languages=("ja",), rows=12_345, shards=3, bytes=9_876_543,
)


def front(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "the card starts with YAML front matter between --- lines"
    return yaml.safe_load(match.group(1))


def test_the_front_matter_parses_back_with_every_field() -> None:
    meta = front(dataset_card(CARD))
    assert meta["pretty_name"] == "Kura release acme-2026-q1"
    assert meta["license"] == ["cc-by-4.0", "other"]
    assert meta["license_name"] == "consortium-internal"
    assert meta["language"] == ["ja"] and meta["size_categories"] == ["10K<n<100K"]
    assert meta["configs"] == [{"config_name": "default",
                                "data_files": [{"split": "train", "path": "*/*.parquet"}]}]
    kura = meta["kura"]
    assert (kura["release"], kura["certifier"], kura["logIndex"], kura["envelopeSha256"]) == (
        "acme-2026-q1", "certifier@jp-osaka-1", 41, "ab" * 32)
    assert kura["verify"] == "kura release show acme-2026-q1 --trust-root ROOT.pub.pem"
    assert kura["corpora"] == [
        {"corpusId": "acme-manuals", "member": "acme", "license": "consortium-internal",
         "sensitivity": "confidential", "factsFrom": "shard-metadata"},
        {"corpusId": "acme-hr", "member": "acme", "license": "CC-BY-4.0",
         "sensitivity": "restricted", "factsFrom": "shard-metadata", "allowRestricted": True}]


def test_the_hubs_own_card_parser_reads_it() -> None:
    card = DatasetCard(dataset_card(CARD))
    assert card.data.license == ["cc-by-4.0", "other"]
    assert card.data.pretty_name == "Kura release acme-2026-q1"
    assert card.data.size_categories == ["10K<n<100K"]
    assert card.text.lstrip().startswith("# Kura release acme-2026-q1")


def test_the_body_states_corpora_columns_and_certification() -> None:
    body = dataset_card(CARD).split("\n---\n", 1)[1]
    assert "| acme-hr | acme | CC-BY-4.0 | restricted | shard metadata (signed) |" in body
    assert "released explicitly (`--allow-restricted`): acme-hr" in body
    for column in DOCUMENT_SCHEMA.names:
        assert f"| `{column}` | `{DOCUMENT_SCHEMA.field(column).type}` | " \
               f"{DOCUMENT_COLUMNS[column]} |" in body
    assert "| log index | 41 |" in body and f"| envelope sha256 | {'ab' * 32} |" in body
    assert "kura release show acme-2026-q1 --trust-root ROOT.pub.pem" in body
    assert "copy this file to the repository's root as `README.md`" in body
    assert "`__kura/README.md`" in body


@pytest.mark.parametrize(("license", "expected"), [
    ("apache-2.0", "apache-2.0"), ("Apache-2.0", "apache-2.0"), ("MIT", "mit"),
    ("CC-BY-SA-4.0", "cc-by-sa-4.0"), ("GPL-3.0-only", "gpl-3.0"),
    ("consortium-internal", None), ("other", None), ("各社限定", None)])
def test_licenses_map_to_hub_identifiers_where_one_exists(license: str, expected) -> None:
    assert hf_license(license) == expected


def test_a_single_license_is_a_string_and_unknown_names_get_a_slug() -> None:
    one = replace(CARD, corpora=(corpus("a", "MIT"),))
    assert front(dataset_card(one))["license"] == "mit"
    other = replace(CARD, corpora=(corpus("a", "Acme Internal v2"),))
    meta = front(dataset_card(other))
    assert meta["license"] == "other" and meta["license_name"] == "acme-internal-v2"
    assert license_slug("各社限定") == "unnamed"


def test_corpora_without_facts_are_unknown_and_said_so() -> None:
    old = replace(CARD, corpora=(), unrecorded=("legacy",), facts_certified=False,
                  languages=(), v1_shards=2)
    text = dataset_card(old)
    meta = front(text)
    assert meta["license"] == "unknown" and "language" not in meta
    assert "| legacy | ? | not recorded | not recorded | - |" in text
    assert "certified before Kura recorded each corpus's license" in text
    assert "2 shard(s) were written with shard schema version 1" in text


@pytest.mark.parametrize(("rows", "category"), [
    (0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (492, "n<1K"), (2_500_000, "1M<n<10M"),
    (10**13, "n>1T")])
def test_size_categories_are_the_hubs(rows: int, category: str) -> None:
    assert size_category(rows) == category

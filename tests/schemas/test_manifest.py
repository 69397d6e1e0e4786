from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.export import EXPORT_DIR, EXPORTS, schema_text
from schemas.manifest import ManifestError, load_manifest, parse_manifest

GOOD = {
    "corpus": {"id": "acme-service-manuals", "member": "acme", "license": "consortium-internal",
               "sensitivity": "confidential", "language": "ja"},
    "sources": [{"uri": "data/manuals/*.jsonl", "format": "jsonl", "text_field": "text",
                 "encoding": "auto",
                 "location": {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}}],
}


def with_change(path: tuple, value) -> dict:
    data = json.loads(json.dumps(GOOD))
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_the_issue_example_parses_with_defaults() -> None:
    manifest = parse_manifest(GOOD)
    assert manifest.corpus.id == "acme-service-manuals"
    assert manifest.limits.max_record_bytes > 0
    assert manifest.sources[0].location.country == "JP"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("corpus", "id"), "Acme Manuals", "corpus.id"),
        (("corpus", "member"), None, "corpus.member: Field required"),
        (("sources", 0, "format"), "xml", "sources[0].format"),
        (("sources", 0, "encoding"), "klingon", "sources[0].encoding"),
        (("sources", 0, "location", "country"), "jp", "sources[0].location.country"),
        (("sources", 0, "colour"), "red", "sources[0].colour: unknown key"),
        (("sources",), [], "sources"),
    ],
)
def test_a_bad_manifest_names_the_field_in_one_line(path, value, expected) -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifest(with_change(path, value), origin="m.toml")
    message = str(err.value)
    assert message.startswith("m.toml: ") and expected in message
    assert "\n" not in message


def test_unreadable_manifests_say_which_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such manifest"):
        load_manifest(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[corpus\nid=", encoding="utf-8")
    with pytest.raises(ManifestError, match="not valid TOML"):
        load_manifest(bad)


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_json_schema_exports_are_current(name: str) -> None:
    exported = EXPORT_DIR / f"{name}.schema.json"
    assert exported.read_text(encoding="utf-8") == schema_text(name), (
        "run `python -m schemas.export` and commit the result"
    )


def test_the_readme_manifest_examples_parse_with_their_stated_defaults() -> None:
    import re
    import tomllib

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    manifest = parse_manifest(tomllib.loads(blocks[0] + blocks[1]))
    defaults = parse_manifest(tomllib.loads(blocks[0]))
    assert manifest == defaults  # the README's optional sections are exactly the defaults

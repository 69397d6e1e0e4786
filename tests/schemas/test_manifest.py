from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

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


def problems_of(data: dict) -> list:
    from schemas.manifest import ManifestProblems

    with pytest.raises(ManifestProblems) as err:
        parse_manifest(data, origin="m.toml")
    return list(err.value.problems)


def test_three_mistakes_are_reported_at_once_with_did_you_mean() -> None:
    data = with_change(("sources", 0, "text_column"), "body")
    data["corpus"]["licence"] = data["corpus"].pop("license")
    data["qualty"] = {"min_chars": 10}
    with pytest.raises(ManifestError) as err:  # existing `except ManifestError` still holds
        parse_manifest(data, origin="m.toml")
    found = {p.where: (p.message, p.suggestion) for p in err.value.problems}
    assert found == {
        "sources[0].text_column": ("unknown key", "text_field"),
        "corpus.licence": ("unknown key", "license"),  # not also "corpus.license: required"
        "qualty": ("unknown section", "quality"),
    }
    message = str(err.value)
    assert message.startswith("m.toml: 3 problems: ") and "\n" not in message
    assert "sources[0].text_column: unknown key; did you mean text_field?" in message
    assert err.value.lines()[0].startswith("m.toml: ")


@pytest.mark.parametrize(
    ("path", "value", "suggestion"),
    [
        (("sources", 0, "format"), "jsonll", "jsonl"),
        (("corpus", "sensitivity"), "confidental", "confidential"),
        (("sources", 0, "location", "provider"), "onprm", "onprem"),
        (("pii",), {"mode": "pseudonim", "secret_env": "X"}, "pseudonym"),
        (("quality",), {"disable": ["top_ngram"]}, "top_ngram_fraction"),
    ],
)
def test_a_value_outside_its_choices_lists_them_and_suggests_the_closest(
        path, value, suggestion) -> None:
    [problem] = problems_of(with_change(path, value))
    assert problem.suggestion == suggestion
    assert "allowed: " in problem.message and suggestion in problem.message


def test_a_value_far_from_every_choice_gets_no_suggestion() -> None:
    [problem] = problems_of(with_change(("sources", 0, "format"), "xml"))
    assert problem.suggestion is None
    assert problem.message == "'xml' is not allowed (allowed: jsonl, text, csv, parquet)"


def test_the_value_under_an_unknown_key_is_never_quoted() -> None:
    [problem] = problems_of(with_change(("sources", 0, "colour"), "090-1234-5678"))
    assert "090" not in problem.text()


def test_a_toml_syntax_error_keeps_its_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[corpus]\nid = "a"\nmember = \n', encoding="utf-8")
    with pytest.raises(ManifestError, match=r"not valid TOML: .*line 3, column 10"):
        load_manifest(bad)


_SECTIONS = [(), ("corpus",), ("sources", 0), ("sources", 0, "location"), ("quality",),
             ("dedup",), ("pii",), ("limits",), ("shards",)]


@settings(max_examples=200, deadline=None)
@given(at=st.sampled_from(_SECTIONS), key=st.text(min_size=1, max_size=30),
       value=st.one_of(st.integers(), st.text(max_size=20), st.booleans(),
                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)))
def test_any_unknown_key_is_reported_where_it_is_never_crashing(at, key, value) -> None:
    from schemas.manifest import Manifest
    from schemas.manifest_errors import field_path, model_at

    data = json.loads(json.dumps(GOOD))
    node = data
    for part in at:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    level = model_at(Manifest, at)
    assume(key not in level.model_fields)
    node[key] = value
    problems = problems_of(data)
    unknown = [p for p in problems if p.where == field_path((*at, key))]
    assert len(unknown) == 1
    assert unknown[0].message in ("unknown key", "unknown section")
    assert unknown[0].suggestion is None or unknown[0].suggestion in level.model_fields
    assert all("\n" not in p.text() for p in problems)


@settings(max_examples=300, deadline=None)
@given(word=st.text(max_size=20), choices=st.lists(st.text(max_size=20), max_size=8))
def test_a_suggestion_is_one_of_the_choices_and_never_the_word_itself(word, choices) -> None:
    from schemas.suggest import closest

    suggestion = closest(word, choices)
    assert suggestion is None or (suggestion in choices and suggestion != word)

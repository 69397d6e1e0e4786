"""How a local source is recorded: relative to corpus.root by default, absolute on request, refused
outside the root; what is read, checked and put into doc ids does not change."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.plan import plan_run
from schemas.manifest import Location, ManifestError, parse_manifest

SITE = Location(provider="onprem", country="JP", region="jp-tokyo")


def plan(manifest_dir: Path, *uris: str, **corpus: str):
    data = {
        "corpus": {"id": "acme-docs", "member": "acme", "license": "x", "sensitivity": "internal",
                   **corpus},
        "sources": [{"uri": uri, "format": "jsonl",
                     "location": {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}}
                    for uri in uris],
    }
    path = manifest_dir / "manifest.toml"
    path.write_text("# test manifest\n")
    return plan_run(parse_manifest(data), path, manifest_dir / "store", SITE)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    for name in ("manuals/a.jsonl", "manuals/b.jsonl", "mail/c.jsonl"):
        (tmp_path / "steward" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "steward" / name).write_text('{"text": "x"}\n')
    return tmp_path / "steward"


def test_local_sources_are_recorded_relative_to_the_manifests_folder(corpus: Path) -> None:
    files = plan(corpus, "manuals/*.jsonl", f"file://{corpus}/mail/c.jsonl").files
    assert [f.source.uri for f in files] == ["manuals/a.jsonl", "manuals/b.jsonl", "mail/c.jsonl"]
    assert [f.source.path for f in files] == [
        str((corpus / n).resolve()) for n in ("manuals/a.jsonl", "manuals/b.jsonl", "mail/c.jsonl")]


def test_a_declared_root_and_absolute_uris(corpus: Path) -> None:
    sub = corpus / "manifests"
    sub.mkdir()
    relative = plan(sub, "../manuals/a.jsonl", root="..").files[0].source
    assert relative.uri == "manuals/a.jsonl"
    rooted = plan(sub, "../manuals/a.jsonl", root=str(corpus / "manuals")).files[0].source
    assert rooted.uri == "a.jsonl"
    absolute = plan(sub, "../manuals/a.jsonl", source_uris="absolute").files[0].source
    assert absolute.uri == (corpus / "manuals" / "a.jsonl").resolve().as_uri()
    # the doc-id name (relative to the manifest) is the same whatever is recorded
    assert relative.name == rooted.name == absolute.name == "../manuals/a.jsonl"


def test_a_source_outside_the_root_is_refused_naming_both(corpus: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text('{"text": "x"}\n')
    with pytest.raises(ManifestError) as err:
        plan(corpus, "manuals/a.jsonl", str(outside))
    message = str(err.value)
    assert message == (f"sources[1].uri: {outside.resolve()} is outside corpus.root "
                       f"{corpus.resolve()}; set corpus.root to a folder that holds every source, "
                       'or corpus.source_uris = "absolute" to record absolute file:// URIs')
    assert plan(corpus, str(outside), root="..").files[0].source.uri == "elsewhere.jsonl"


def test_a_root_that_is_not_a_folder_is_a_user_error(corpus: Path) -> None:
    with pytest.raises(ManifestError, match=r"^corpus.root: nowhere \(.*nowhere\) is not a folder"):
        plan(corpus, "manuals/a.jsonl", root="nowhere")

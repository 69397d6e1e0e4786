"""What a plan will read: regular files only, symlinks resolved, never the store itself."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from pipelines.plan import plan_run
from schemas.manifest import Location, ManifestError, load_manifest, parse_manifest

SITE = Location(provider="onprem", country="JP", region="jp-tokyo")


def manifest(*uris: str, encoding: str = "auto") -> dict:
    return {
        "corpus": {"id": "acme-docs", "member": "acme", "license": "x",
                   "sensitivity": "internal"},
        "sources": [{"uri": uri, "format": "jsonl", "encoding": encoding,
                     "location": {"provider": "onprem", "country": "JP", "region": "jp-tokyo"}}
                    for uri in uris],
    }


def plan(tmp_path: Path, *uris: str, store: Path | None = None):
    path = tmp_path / "manifest.toml"
    path.write_text("# test manifest\n")
    return plan_run(parse_manifest(manifest(*uris)), path, store or tmp_path / "store", SITE)


def refusal(tmp_path: Path, *uris: str, store: Path | None = None) -> str:
    with pytest.raises(ManifestError) as err:
        plan(tmp_path, *uris, store=store)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_ordinary_files_keep_their_uri_and_name(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text('{"text": "x"}\n')
    [planned] = plan(tmp_path, "data/*.jsonl").files
    resolved = (tmp_path / "data" / "a.jsonl").resolve()
    assert planned.source.uri == "data/a.jsonl" and planned.source.path == str(resolved)
    assert planned.source.name == "data/a.jsonl"


def test_a_character_device_is_refused_naming_the_source(tmp_path: Path) -> None:
    message = refusal(tmp_path, "/dev/zero")
    assert message.startswith("sources[0].uri: /dev/zero is a character device")


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jsonl")
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.update(message=refusal(tmp_path, "pipe.jsonl")), daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "planning blocked on a FIFO"
    assert "is a FIFO; only regular files are read" in result["message"]


def test_a_fifo_matched_by_a_glob_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    os.mkfifo(tmp_path / "b.jsonl")
    assert "b.jsonl is a FIFO" in refusal(tmp_path, "*.jsonl")


def test_a_folder_as_a_source_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    assert "data is a folder; name its files with a glob" in refusal(tmp_path, "data")


def test_a_folder_as_the_manifest_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="is a folder"):
        load_manifest(tmp_path)


def test_a_symlink_into_the_store_keys_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    private = store / "keys" / "private"
    private.mkdir(parents=True)
    (private / "site.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (tmp_path / "data.jsonl").symlink_to(private / "site.pem")
    message = refusal(tmp_path, "data.jsonl", store=store)
    assert "site.pem is inside the store" in message
    assert "BEGIN" not in message


def test_a_glob_that_reaches_into_the_store_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (store / "keys" / "private").mkdir(parents=True)
    (store / "keys" / "private" / "site.pem").write_text("secret\n")
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n')
    assert "inside the store" in refusal(tmp_path, "**/*", store=store)


def test_a_store_reached_through_a_symlinked_root_is_still_the_store(tmp_path: Path) -> None:
    real = tmp_path / "real-store"
    (real / "rejects").mkdir(parents=True)
    (real / "rejects" / "r.jsonl").write_text('{"text": "x"}\n')
    (tmp_path / "store").symlink_to(real)
    assert "inside the store" in refusal(tmp_path, "real-store/rejects/r.jsonl",
                                         store=tmp_path / "store")


def test_a_symlink_to_a_file_outside_records_the_resolved_uri(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    target = outside / "real.jsonl"
    target.write_text('{"text": "x"}\n')
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "link.jsonl").symlink_to(target)
    declared = manifest("link.jsonl")
    declared["corpus"]["root"] = ".."  # the recorded uri is the target's, relative to the root
    (corpus / "manifest.toml").write_text("# test manifest\n")
    [planned] = plan_run(parse_manifest(declared), corpus / "manifest.toml", tmp_path / "store",
                         SITE).files
    assert planned.source.uri == "elsewhere/real.jsonl"
    assert planned.source.path == str(target.resolve())
    assert planned.size == target.stat().st_size


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib", "undefined", "klingon"])
def test_a_codec_that_is_not_a_text_encoding_is_a_one_line_error(codec: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifest(manifest("a.jsonl", encoding=codec), origin="m.toml")
    message = str(err.value)
    assert message.startswith("m.toml: sources[0].encoding") and "\n" not in message

"""Bounded reads (DESIGN.md "Promises at the edges"): regular files only, limits enforced while
streaming, no silent CSV merges, decoding decided per record where the file's guess fails."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from schemas.records import Document, RejectedRecord, SourceFile
from transforms.ingest import read_source, read_stream
from transforms.ingest_beam import FileReport, NotARegularFile, _ReadSourceFn, open_regular_file
from transforms.ingest_stream import SourceChanged

JA = "東京都港区の会議は明日の午前十時から始まります。資料を準備してください。"
JA2 = "製品マニュアル第二版：取扱説明書をよくお読みのうえ、正しくお使いください。"
REPO = Path(__file__).resolve().parents[2]


def source(path: str = "/x", fmt: str = "jsonl", *, limit: int = 10_000,
           encoding: str = "auto") -> SourceFile:
    return SourceFile(corpus_id="c", member="m", uri=Path(path).as_uri(), path=path, format=fmt,
                      text_field="text", encoding=encoding, max_record_bytes=limit)


def split(items) -> tuple[list[Document], list[RejectedRecord]]:
    items = list(items)
    return ([i for i in items if isinstance(i, Document)],
            [i for i in items if isinstance(i, RejectedRecord)])


def within(seconds: float, work):
    """Run `work` in a thread; fail (rather than hang the suite) if it does not finish."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as exc:  # handed to the test below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds}s"
    if "error" in result:
        raise result["error"]
    return result["value"]


def read_with_beam_fn(src: SourceFile) -> tuple[list, FileReport]:
    outputs = list(_ReadSourceFn(None).process(src))
    reports = [o.value for o in outputs if getattr(o, "tag", None) == "files"]
    assert len(reports) == 1
    return [o for o in outputs if getattr(o, "tag", None) != "files"], reports[0]


def test_dev_zero_is_never_read() -> None:
    with pytest.raises(NotARegularFile, match="character device"):
        open_regular_file("/dev/zero")
    records, report = within(10, lambda: read_with_beam_fn(source("/dev/zero")))
    assert records == [] and report.status == "unreadable" and report.bytes == 0


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="FIFO"):
        within(10, lambda: open_regular_file(str(fifo)))
    records, report = within(10, lambda: read_with_beam_fn(source(str(fifo))))
    assert records == [] and report.status == "unreadable"


def test_a_symlink_swapped_in_after_planning_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.pem"
    secret.write_text("-----BEGIN PRIVATE KEY-----\n")
    link = tmp_path / "data.jsonl"
    link.symlink_to(secret)
    records, report = read_with_beam_fn(source(str(link)))
    assert records == [] and report.status == "unreadable"


def test_a_regular_file_is_read_through_the_beam_fn(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"text": JA}, ensure_ascii=False) + "\n", encoding="utf-8")
    records, report = read_with_beam_fn(source(str(path)))
    assert [r.text for r in records] == [JA]
    assert (report.status, report.records, report.bytes) == ("ok", 1, path.stat().st_size)


def test_an_empty_file_is_reported_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    records, report = read_with_beam_fn(source(str(path)))
    assert records == [] and (report.status, report.records) == ("empty", 0)


def test_a_file_with_only_blank_lines_is_reported_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.jsonl"
    path.write_bytes(b"\n \r\n\n")
    records, report = read_with_beam_fn(source(str(path)))
    assert records == [] and report.status == "empty"


def test_gzip_sources_are_still_read_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    body = (json.dumps({"text": JA}, ensure_ascii=False) + "\n").encode()
    path.write_bytes(gzip.compress(body))
    records, report = read_with_beam_fn(source(str(path)))
    assert [r.text for r in records] == [JA] and report.bytes == len(body)


def test_a_line_over_the_limit_is_a_reject_holding_only_its_start() -> None:
    line = json.dumps({"text": "長" * 50_000}, ensure_ascii=False).encode()
    data = line + b"\r\n" + json.dumps({"text": JA}, ensure_ascii=False).encode() + b"\n"
    _, items = read_source(source(limit=4000), data)
    docs, rejects = split(items)
    assert [d.locator for d in docs] == [2]
    assert [json.loads(r.reason) for r in rejects] == [
        {"step": "ingest.too_large", "max_bytes": 4000, "value": len(line)}]
    assert rejects[0].raw == line[:4000]


def test_a_text_file_over_the_limit_is_read_only_as_far_as_the_limit() -> None:
    data = (JA * 1000).encode()
    _, items = read_source(source(fmt="text", limit=5000), data)
    docs, rejects = split(items)
    assert docs == [] and rejects[0].raw == data[:5000]
    assert json.loads(rejects[0].reason)["value"] == len(data)


def test_a_file_that_changes_between_the_passes_fails_loudly() -> None:
    reads = [b'{"text": "one"}\n', b'{"text": "two"}\n']

    def opener():
        return io.BytesIO(reads.pop(0) if len(reads) > 1 else reads[0])

    _, items = read_stream(source(), opener)
    with pytest.raises(SourceChanged, match="changed while it was read"):
        list(items)


MEASURE = textwrap.dedent("""
    import json, resource, sys
    from schemas.records import RejectedRecord, SourceFile
    from transforms.ingest import read_stream
    from transforms.ingest_beam import _rewinding, open_regular_file

    path, fmt = sys.argv[1], sys.argv[2]
    src = SourceFile("c", "m", "file://" + path, path, fmt, "text", "auto", 4_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdict, items = read_stream(src, _rewinding(open_regular_file(path)))
    kinds = [[type(i).__name__, len(i.raw) if isinstance(i, RejectedRecord) else 0]
             for i in items]
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(grown // 1024, verdict.size, json.dumps(kinds))
""")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_200_mb_single_line_is_read_in_bounded_memory(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"huge.{fmt}"
    with path.open("wb") as out:
        out.write(b'{"text": "' if fmt == "jsonl" else b'id,text\n1,"')
        block = b"a" * (1 << 20)
        for _ in range(200):
            out.write(block)
        out.write(b'"}\n' if fmt == "jsonl" else b'"\n')
        out.write(b'{"text": "after"}\n' if fmt == "jsonl" else b"2,after\n")
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path), fmt], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=True)
    grown_mb, size, kinds = done.stdout.split(" ", 2)
    assert int(size) == path.stat().st_size
    assert json.loads(kinds) == [["RejectedRecord", 4_000_000], ["Document", 0]]
    assert int(grown_mb) < 48, f"peak RSS grew by {grown_mb} MB reading a 200 MB line"


def test_an_unterminated_csv_quote_rejects_its_row_and_keeps_the_rows_after() -> None:
    body = f'id,text\n1,"{JA}\n2,{JA2}\n3,"{JA}"\n4,{JA2}\n'
    _, items = read_source(source(fmt="csv"), body.encode("utf-8"))
    docs, rejects = split(items)
    assert [(d.locator, d.text) for d in docs] == [(2, JA2), (3, JA), (4, JA2)]
    assert [(r.locator, json.loads(r.reason)) for r in rejects] == [
        (1, {"step": "ingest.csv", "error": "unterminated quote"})]
    assert rejects[0].raw == f'1,"{JA}\n'.encode()


def test_a_quote_left_open_at_the_end_of_a_csv_file_is_a_reject() -> None:
    body = f'id,text\n1,{JA}\n2,"{JA2}\n'
    _, items = read_source(source(fmt="csv"), body.encode("cp932"))
    docs, rejects = split(items)
    assert [d.locator for d in docs] == [1]
    assert [json.loads(r.reason)["error"] for r in rejects] == ["unterminated quote"]


def test_csv_quoted_fields_may_still_span_lines() -> None:
    body = f'id,text\n1,"{JA}\n\n{JA2}"\n2,"say ""hi""\n{JA2}"\n'
    _, items = read_source(source(fmt="csv"), body.encode("euc_jp"))
    docs, rejects = split(items)
    assert [d.text for d in docs] == [f"{JA}\n\n{JA2}", f'say "hi"\n{JA2}'] and rejects == []


def test_a_utf8_file_with_one_cp932_line_keeps_its_good_lines() -> None:
    lines = [json.dumps({"text": f"{JA}{i}"}, ensure_ascii=False).encode() for i in range(10)]
    lines[4] = json.dumps({"text": JA2}, ensure_ascii=False).encode("cp932")
    lines.append(b'{"text": "\xff\xfe\xfd broken"}')  # no candidate reads this line
    verdict, items = read_source(source(), b"\n".join(lines) + b"\n")
    docs, rejects = split(items)
    assert verdict.encoding == "utf-8"
    assert [d.text for d in docs] == [f"{JA}{i}" for i in range(4)] + [JA2] + [
        f"{JA}{i}" for i in range(5, 10)]
    assert [(r.locator, r.step) for r in rejects] == [(11, "ingest.decode")]


def test_a_cp932_csv_row_in_a_utf8_file_is_decoded_on_its_own() -> None:
    data = ("id,text\n" + "".join(f"{i},{JA}{i}\n" for i in range(8))).encode() + \
        f"8,{JA2}\n".encode("cp932")
    verdict, items = read_source(source(fmt="csv"), data)
    docs, rejects = split(items)
    assert verdict.encoding == "utf-8" and rejects == []
    assert docs[-1].text == JA2


def test_a_declared_encoding_is_not_second_guessed_per_record() -> None:
    data = (json.dumps({"text": JA}, ensure_ascii=False) + "\n").encode("cp932")
    _, items = read_source(source(encoding="utf-8"), data)
    docs, rejects = split(items)
    assert docs == [] and [r.step for r in rejects] == ["ingest.decode"]


def test_legacy_files_are_still_decided_as_a_whole() -> None:
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in (JA, JA2) * 20)
    for encoding in ("cp932", "euc_jp", "iso2022_jp"):
        verdict, items = read_source(source(), body.encode(encoding))
        docs, rejects = split(items)
        assert verdict.encoding == encoding and len(docs) == 40 and rejects == []

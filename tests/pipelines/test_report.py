"""The steward's report: the gathering (pure functions, and the readers on small real Parquet
files written with the store's own schemas), the SVG charts, escaping, and the empty run."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.report import render_page, render_report
from pipelines.report_charts import Bar, bar_chart, funnel_chart, length_chart
from pipelines.report_data import (
    cluster_examples,
    funnel,
    quarantined_documents,
    reason_counts,
    reason_shape,
    source_rows,
)
from pipelines.report_gather import LOWEST_SIMILARITY_NOTE, gather
from pipelines.report_html import STYLE, csp
from pipelines.report_lengths import length_edges, length_stats
from schemas.manifest import Location
from schemas.records import (
    DOCUMENT_SCHEMA,
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    Document,
    document_row,
)
from schemas.run import (
    RESIDUAL_PII_CHECK,
    Counts,
    InputFile,
    Quarantined,
    RunSummary,
    SourceCounts,
    StoredFile,
)

SVG = "{http://www.w3.org/2000/svg}"
SECRET_TEXT = "秘密の本文テキスト"  # document text: must never reach the report
SECRET_RAW = "生のレコードバイト"  # a reject's raw bytes: likewise
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HERE = Location(provider="onprem", country="JP", region="jp-tokyo")


def summary_of(**fields) -> RunSummary:
    base = dict(
        run_id="20261130T000000Z-0000abcd", corpus_id="acme-docs", member="acme",
        manifest_sha256="0" * 64, kura_version="0.1.0", runner="DirectRunner", workers=1,
        started_at="2026-11-30T00:00:00Z", finished_at="2026-11-30T00:00:05Z",
        inputs=[], counts=Counts(read=0, written=0), shards=[], rejects=[],
        output_location=HERE,
    )
    return RunSummary(**{**base, **fields})


def input_file(uri: str, records: int, status: str = "ok") -> InputFile:
    return InputFile(uri=uri, sha256="a" * 64, bytes=10, encoding="utf-8", records=records,
                     status=status, location=HERE)


def stored(path: str, rows: int) -> StoredFile:
    return StoredFile(path=path, sha256="b" * 64, rows=rows, bytes=1)


# ---- pure gathering ------------------------------------------------------------------------

def test_the_funnel_takes_every_record_out_exactly_once() -> None:
    summary = summary_of(
        counts=Counts(read=100, written=70,
                      rejected={"quality.char_count": 5, "ingest.json": 2, RESIDUAL_PII_CHECK: 3},
                      duplicates={"near": 6, "exact": 10, "cross-corpus": 4}),
        shards=[stored("shards/acme-docs/a.parquet", 60),
                stored("quarantine/acme-docs/b.parquet", 10)],
    )
    stages = funnel(summary)
    assert [(s.label, s.count, s.remaining) for s in stages] == [
        ("read", 100, 100),
        ("rejected: ingest.*", 2, 98),
        ("rejected: quality.*", 5, 93),
        ("duplicates: exact", 10, 83),
        ("duplicates: near", 6, 77),
        ("duplicates: cross-corpus", 4, 73),
        ("quarantined: residual PII", 3, 70),
        ("written", 70, 70),
        ("withheld: shard failed its suite", 10, 60),
        ("certified", 60, 60),
    ]
    assert {s.tone for s in stages} == {"total", "loss", "kept"}


def test_an_empty_run_still_has_a_funnel_of_zeros() -> None:
    stages = funnel(summary_of())
    assert [s.label for s in stages][:2] == ["read", "rejected"]
    assert all(s.count == 0 and s.remaining == 0 for s in stages)


def test_per_source_rows_split_quarantine_from_rejects() -> None:
    summary = summary_of(
        inputs=[input_file("a.jsonl", 5), input_file("empty.txt", 0, "empty")],
        sources=[
            SourceCounts(uri="a.jsonl", read=5, written=2,
                         rejected={RESIDUAL_PII_CHECK: 1, "quality.char_count": 1},
                         duplicates={"exact": 1}),
            SourceCounts(uri="empty.txt", read=0, written=0),
        ])
    first, empty = source_rows(summary, {"a.jsonl": 2})
    assert first.rejected == {"quality.char_count": 1}
    assert first.quarantined == 1 + 2 and not first.yielded_nothing
    assert (empty.status, empty.yielded_nothing) == ("empty", True)


def test_document_lengths_bin_linearly_or_on_a_1_2_5_scale() -> None:
    assert length_edges(377, 1055) == ((300, 400, 500, 600, 700, 800, 900, 1000, 1100),
                                       "linear")
    edges, scale = length_edges(50, 200_000)
    assert scale == "1-2-5" and edges[0] == 50 and edges[-1] == 500_000
    lengths = [3, 50, 51, 120, 999, 1000, 45_000, 200_000]
    stats = length_stats(lengths)
    assert stats.documents == len(lengths) and sum(b.count for b in stats.bins) == len(lengths)
    assert (stats.shortest, stats.longest, stats.scale) == (3, 200_000, "1-2-5")
    for n in lengths:  # every length is counted in the one bin that holds it
        assert sum(b.low <= n < b.high for b in stats.bins) == 1
    assert stats.bins[0].label == "2–4" and length_stats([]).bins == ()


def test_reasons_group_by_rule_and_parameters_not_by_what_was_observed() -> None:
    malformed = [json.dumps({"step": "ingest.json", "error": "malformed", "pos": p})
                 for p in (3, 347)]
    assert reason_shape(malformed[0]) == "error=malformed"
    short = json.dumps({"step": "quality.char_count", "min": 50, "value": 12})
    counted = reason_counts([("quality.char_count", short), *(("ingest.json", m)
                                                             for m in malformed)])
    assert [(r.step, r.shape, r.count) for r in counted] == [
        ("ingest.json", "error=malformed", 2), ("quality.char_count", "min=50", 1)]


def test_duplicate_clusters_group_ids_with_their_similarity() -> None:
    rows = [
        {"doc_id": "d3", "kind": "near", "cluster_id": "c-1", "kept_doc_id": "d1",
         "estimated_jaccard": 0.81},
        {"doc_id": "d2", "kind": "exact", "cluster_id": "c-1", "kept_doc_id": "d1",
         "estimated_jaccard": 1.0},
        {"doc_id": "d9", "kind": "exact", "cluster_id": "c-8", "kept_doc_id": "d8",
         "estimated_jaccard": 1.0},
    ]
    first, second = cluster_examples(rows, {"c-8": "why"})
    assert (first.kept_doc_id, [r.doc_id for r in first.removed]) == ("d1", ["d2", "d3"])
    assert first.kinds == ("exact", "near") and first.removed[1].estimated_jaccard == 0.81
    assert (second.cluster_id, second.note) == ("c-8", "why")


def test_quarantined_documents_name_check_column_and_counts() -> None:
    summary = summary_of(quarantined=[
        Quarantined(check=RESIDUAL_PII_CHECK, column="text", documents=2, doc_ids=["g1", "g2"],
                    entities={"PHONE_NUMBER": 2}, path="quarantine/c/documents-1.parquet"),
        Quarantined(check="expect_column_values_to_be_between", column="char_count",
                    documents=40, doc_ids=["s1"], path="quarantine/c/shard.parquet"),
    ])
    gate = [("quarantine/c/documents-1.parquet",
             json.dumps({"step": RESIDUAL_PII_CHECK, "doc_id": f"g{i}", "column": "text",
                         "entities": {"PHONE_NUMBER": 1}, "count": 1})) for i in (1, 2)]
    rows, total = quarantined_documents(summary, gate, limit=10)
    assert total == 2 + 40
    assert [(d.doc_id, d.check, d.column) for d in rows] == [
        ("g1", RESIDUAL_PII_CHECK, "text"), ("g2", RESIDUAL_PII_CHECK, "text"),
        ("s1", "expect_column_values_to_be_between", "char_count")]
    assert rows[0].entities == {"PHONE_NUMBER": 1}
    assert len(quarantined_documents(summary, gate, limit=1)[0]) == 1


# ---- charts --------------------------------------------------------------------------------

def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, as inline SVG must be


def test_a_bar_chart_has_a_title_every_value_and_proportional_bars() -> None:
    svg = parse(bar_chart("pii", "PII by type", [Bar("PERSON", 300), Bar("PHONE_NUMBER", 100)]))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "pii-title pii-desc"
    assert svg.find(f"{SVG}title").text == "PII by type"
    assert svg.find(f"{SVG}desc").text == "PERSON: 300; PHONE_NUMBER: 100"
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] == pytest.approx(3 * widths[1], abs=0.2) and widths[0] > 0
    values = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["300", "100"]
    assert float(svg.get("width")) > 0 and float(svg.get("height")) > 0


def test_the_funnel_chart_draws_losses_where_they_leave_the_total() -> None:
    summary = summary_of(counts=Counts(read=10, written=6, rejected={"ingest.json": 4}))
    svg = parse(funnel_chart(funnel(summary)))
    rects = list(svg.iter(f"{SVG}rect"))
    read, rejected = rects[0], rects[1]
    # The loss of 4 ends where the read bar ends and starts at 6/10 of its length.
    start = float(read.get("x"))
    assert float(rejected.get("x")) - start == pytest.approx(0.6 * float(read.get("width")),
                                                             abs=0.2)
    assert "−4" in [t.text for t in svg.iter(f"{SVG}text")]


@pytest.mark.parametrize("chart", [
    bar_chart("rejects", "Rejects", []),
    bar_chart("rejects", "Rejects", [Bar("ingest.json", 0)]),
    length_chart(length_stats([])),
    funnel_chart(funnel(summary_of())),
])
def test_a_chart_with_nothing_to_show_says_none(chart: str) -> None:
    svg = parse(chart)
    assert not list(svg.iter(f"{SVG}rect"))
    assert any(t.text and t.text.startswith("none") for t in svg.iter(f"{SVG}text"))


def test_chart_labels_are_escaped() -> None:
    svg = bar_chart("x", HOSTILE, [Bar(HOSTILE, 1)])
    assert "<script" not in svg and "<img" not in svg
    assert parse(svg).find(f"{SVG}title").text == HOSTILE


# ---- the page ------------------------------------------------------------------------------

def hostile_empty_summary() -> RunSummary:
    return summary_of(corpus_id=HOSTILE, member=HOSTILE, run_id="r-1",
                      inputs=[input_file(HOSTILE, 0, "empty")],
                      sources=[SourceCounts(uri=HOSTILE, read=0, written=0)],
                      parameters={"corpus": {"license": HOSTILE, "sensitivity": "restricted"}})


def test_every_value_is_escaped_and_the_page_may_load_nothing(tmp_path: Path) -> None:
    page = render_report(tmp_path, hostile_empty_summary())
    assert re.search(r"<script|<img|onerror=alert\(1\)>", page, re.IGNORECASE) is None
    assert "&lt;script&gt;" in page
    assert f'content="{csp(STYLE)}"' in page and "default-src 'none'" in page
    assert " style=" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_an_empty_corpus_renders_with_charts_that_say_none(tmp_path: Path) -> None:
    page = render_report(tmp_path, hostile_empty_summary())
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert "none: no record was read" in page and "none: no document was written" in page
    assert "yielded no document" in page and "No document was written." in page


# ---- gathering from real files -------------------------------------------------------------

def write(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def document(doc_id: str, source: str, chars: int) -> dict:
    text = (SECRET_TEXT * (chars // len(SECRET_TEXT) + 1))[:chars]
    doc = Document(doc_id=doc_id, corpus_id="acme-docs", member="acme", source_uri=source,
                   source_sha256="a" * 64, locator=1, text=text, pii={"PERSON": 1})
    return document_row(doc, "0.1.0")


def reject(source: str, step: str, reason: dict) -> dict:
    return {"corpus_id": "acme-docs", "source_uri": source, "source_sha256": "a" * 64,
            "locator": 3, "step": step, "reason": json.dumps({"step": step, **reason}),
            "raw": SECRET_RAW.encode()}


def duplicate(doc_id: str, kind: str, cluster: str, jaccard: float) -> dict:
    return {"doc_id": doc_id, "corpus_id": "acme-docs", "source_uri": "a.jsonl", "locator": 1,
            "kind": kind, "cluster_id": cluster, "kept_doc_id": cluster[2:],
            "estimated_jaccard": jaccard}


@pytest.fixture
def small_run(tmp_path: Path) -> tuple[Path, RunSummary]:
    """A run of two sources laid out as a store: one good shard, one shard that failed its
    suite, a reject file, the gate's quarantine file, and duplicates of every kind."""
    store = tmp_path / "store"
    shard, failed = "shards/acme-docs/s0.parquet", "quarantine/acme-docs/s1.parquet"
    rejects, gate = "rejects/acme-docs/r.parquet", "quarantine/acme-docs/documents-1.parquet"
    dups = "duplicates/acme-docs/d.parquet"
    write(store / shard, [document(f"k{i}", "a.jsonl", 300 + 100 * i) for i in range(5)],
          DOCUMENT_SCHEMA)
    write(store / failed, [document("f1", "b.csv", 60), document("f2", "a.jsonl", 61)],
          DOCUMENT_SCHEMA)
    write(store / rejects, [reject("b.csv", "ingest.json", {"error": "malformed", "pos": 9}),
                            reject("b.csv", "quality.char_count", {"min": 50, "value": 7})],
          REJECT_SCHEMA)
    write(store / gate, [reject("a.jsonl", RESIDUAL_PII_CHECK, {
        "doc_id": "q1", "column": "text", "entities": {"PHONE_NUMBER": 2}, "count": 2})],
        REJECT_SCHEMA)
    write(store / dups, [
        *[duplicate(f"e{i}", "exact", "c-big", 1.0) for i in range(4)],
        *[duplicate(f"x{c}", "exact", f"c-{c}", 1.0) for c in "abcd"],
        duplicate("n1", "near", "c-n1", 0.95), duplicate("n2", "near", "c-n2", 0.74),
        duplicate("cc", "cross-corpus", "c-other", 0.9),
    ], DUPLICATE_SCHEMA)
    summary = summary_of(
        inputs=[input_file("a.jsonl", 18), input_file("b.csv", 3)],
        counts=Counts(read=21, written=7,
                      rejected={"ingest.json": 1, "quality.char_count": 1,
                                RESIDUAL_PII_CHECK: 1},
                      duplicates={"exact": 8, "near": 2, "cross-corpus": 1}),
        pii={"PERSON": 7, "PHONE_NUMBER": 3},
        shards=[stored(shard, 5), stored(failed, 2)],
        rejects=[stored(rejects, 2), stored(gate, 1)],
        duplicates=[stored(dups, 11)],
        sources=[
            SourceCounts(uri="a.jsonl", read=18, written=6, rejected={RESIDUAL_PII_CHECK: 1},
                         duplicates={"exact": 8, "near": 2, "cross-corpus": 1}),
            SourceCounts(uri="b.csv", read=3, written=1,
                         rejected={"ingest.json": 1, "quality.char_count": 1}),
        ],
        quarantined=[
            Quarantined(check=RESIDUAL_PII_CHECK, column="text", documents=1, doc_ids=["q1"],
                        entities={"PHONE_NUMBER": 2}, path=gate),
            Quarantined(check="expect_column_values_to_be_between", column="char_count",
                        documents=2, doc_ids=["f1"], path=failed),
        ],
    )
    return store, summary


def test_gathering_reads_ids_reasons_and_lengths_from_the_run_files(small_run) -> None:
    store, summary = small_run
    data = gather(store, summary)
    assert [s.remaining for s in data.funnel][-1] == 5  # 7 written, 2 in the failed shard
    a, b = data.sources
    assert (a.quarantined, b.quarantined) == (1 + 1, 1)  # gate + failed-shard rows by source
    assert data.lengths.documents == 7 and (data.lengths.shortest, data.lengths.longest) == (
        60, 700)
    first = data.quarantined[0]
    assert (first.doc_id, dict(first.entities)) == ("q1", {"PHONE_NUMBER": 2})
    assert data.quarantined_total == 3
    assert [(r.step, r.shape) for r in data.reasons][:2] == [
        ("ingest.json", "error=malformed"), ("quality.char_count", "min=50")]
    assert data.cluster_count == 8
    shown = [(c.cluster_id, c.kinds, c.note) for c in data.clusters]
    # The largest exact cluster first, at most three per kind, and the least similar near pair.
    assert shown[0] == ("c-big", ("exact",), "")
    assert len([c for c in shown if c[1] == ("exact",)]) == 3
    assert ("c-n2", ("near",), LOWEST_SIMILARITY_NOTE) in shown
    assert shown[-1][0] == "c-other"
    assert len(data.clusters[0].removed) == 4


def test_the_report_shows_every_part_and_no_text_or_raw_bytes(small_run) -> None:
    store, summary = small_run
    page = render_page(gather(store, summary))
    for anchor in ("funnel", "charts", "sources", "withheld", "duplicates", "rejects", "pii"):
        assert f'<section id="{anchor}">' in page
    assert page.count('class="chart"') == 4
    assert "q1" in page and "PHONE_NUMBER 2" in page and "expect_column_values_to_be_between" \
        in page
    assert "c-big"[2:] in page and "0.7400" in page and "cross-corpus" in page
    assert "read 21 = written 7 + rejected 3 + duplicates 11: holds" in page
    assert SECRET_TEXT[:3] not in page and SECRET_RAW[:3] not in page

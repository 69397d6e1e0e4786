from __future__ import annotations

import pickle

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Document, Token
from transforms.analyze import (
    AnalyzeStep,
    TokenTable,
    analyze,
    split_pieces,
)
from transforms.steps import ApplyStep


def reference_tokens(node_tagger, text: str) -> tuple[Token, ...]:
    """The slow, obvious way: iterate fugashi nodes and find each surface in the text."""
    tokens, cursor = [], 0
    for word in node_tagger(text):
        start = text.index(word.surface, cursor)
        fields = word.feature_raw.split(",")
        lemma = fields[7] if len(fields) > 7 and fields[7] not in ("", "*") else word.surface
        tokens.append(Token(start, start + len(word.surface), ",".join(fields[:4]), lemma))
        cursor = start + len(word.surface)
    return tuple(tokens)


def doc(text: str, locator: int = 0) -> Document:
    return Document(doc_id=str(locator), corpus_id="c", member="m", source_uri="file:///s",
                    source_sha256="0" * 64, locator=locator, text=text)


@pytest.mark.parametrize("text", [
    "東京に行った。",
    "  先頭の空白と\n\n改行と\tタブ  ",
    "東京 の　テスト\nです。ｱｲ  xyz\n\n  abc ",
    "ls -la ~/.bashrc の結果を見る\r\n次の行",
    "",
    "   \n ",
    "\u3000全角空白で始まる",
])
def test_tokens_match_node_iteration_with_offsets_into_the_text(tagger, node_tagger, text):
    table = analyze(text, tagger)
    assert table == reference_tokens(node_tagger, text)
    previous_end = 0
    for token in table:
        assert previous_end <= token.start < token.end <= len(text)
        assert text[previous_end : token.start].isspace() or previous_end == token.start
        previous_end = token.end


def test_pos_and_lemma_are_unidic_fields(tagger):
    text = "田中さんは東京に行った。"
    by_surface = {text[t.start : t.end]: t for t in analyze(text, tagger)}
    assert by_surface["田中"].pos == "名詞,固有名詞,人名,姓"
    assert by_surface["東京"].pos == "名詞,固有名詞,地名,一般"
    assert by_surface["東京"].lemma == "トウキョウ"
    assert by_surface["行っ"].lemma == "行く"
    assert by_surface["は"].pos == "助詞,係助詞,*,*"  # MeCab prints "*" as "": restored


def test_unknown_word_lemma_is_its_surface(tagger):
    text = "ｱｲｳｴｵxyzzy"
    tokens = analyze(text, tagger)
    assert all(t.lemma == text[t.start : t.end] for t in tokens)


def test_nul_and_separator_characters_do_not_shift_offsets(tagger):
    text = "前\x00後ろ\x07の文"
    tokens = analyze(text, tagger)
    surfaces = [text[t.start : t.end] for t in tokens]
    assert "".join(surfaces) == "前後ろの文"


def test_split_pieces_cuts_after_newlines_and_covers_the_text():
    text = "".join(f"{i}行目の文章です。\n" for i in range(100))
    pieces = split_pieces(text, 50)
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= 50 and piece.endswith("\n") for _, piece in pieces)
    assert [offset for offset, _ in pieces] == [
        sum(len(p) for _, p in pieces[:i]) for i in range(len(pieces))
    ]


def test_split_pieces_hard_cuts_a_line_longer_than_a_piece():
    pieces = split_pieces("あ" * 25, 10)
    assert [len(piece) for _, piece in pieces] == [10, 10, 5]


def test_long_document_is_tagged_in_pieces_with_whole_text_offsets(tagger, node_tagger):
    line = "これはとても長い文書の一行で、 spaces and English も含む。\n"
    text = line * 200
    table = analyze(text, tagger, max_piece_chars=1000)
    whole = reference_tokens(node_tagger, text)
    assert len(table) == len(whole)
    assert [(t.start, t.end) for t in table] == [(t.start, t.end) for t in whole]
    assert table.ends[-1] == len(text) - 1  # the final newline is whitespace


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="あいう漢字カナabc 1２\n\t　。、-ｱ", max_size=60))
def test_offsets_agree_with_node_iteration_on_arbitrary_text(tagger, node_tagger, text):
    assert analyze(text, tagger) == reference_tokens(node_tagger, text)


def test_token_table_is_a_sequence_of_tokens_and_pickles(tagger):
    table = analyze("今日は良い天気です。", tagger)
    assert len(table) == len(tuple(table)) > 0
    assert isinstance(table[0], Token)
    assert table[-1] == tuple(table)[-1]
    assert table[1:3] == tuple(table)[1:3]
    restored = pickle.loads(pickle.dumps(table))
    assert restored == table and restored == tuple(table)
    assert TokenTable.empty() == ()


def test_step_pickles_before_and_after_setup_and_needs_setup():
    step = AnalyzeStep()
    with pytest.raises(RuntimeError):
        step(doc("テスト"))
    restored = pickle.loads(pickle.dumps(step))
    restored.setup()
    pickle.dumps(restored)  # the tagger is dropped, never pickled
    result = restored(doc("テストです"))
    assert isinstance(result, Document)
    assert result.token_count == len(result.tokens) == 2


def test_apply_step_analyzes_documents_in_a_pipeline():
    texts = ["東京に行った。", "今日は晴れ", ""]
    with TestPipeline() as p:
        docs = p | beam.Create([doc(text, i) for i, text in enumerate(texts)])
        kept, rejects = docs | ApplyStep(AnalyzeStep())
        counts = kept | beam.Map(lambda d: (d.locator, d.token_count, len(d.tokens)))
        assert_that(counts, equal_to([(0, 5, 5), (1, 3, 3), (2, 0, 0)]), label="counts")
        assert_that(rejects, equal_to([]), label="no rejects")

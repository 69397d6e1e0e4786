"""Lemmas read on demand and POS read from context ids, against fugashi's own node features.

The analysis stage prints context ids, not features (transforms/mecab_output.py), and finds a
lemma by tagging a few lines again (transforms/lemma_windows.py). The reference here is the
obvious way, independent of both: iterate fugashi's nodes over the whole text and split each
node's feature CSV.
"""

from __future__ import annotations

import json
import pickle
import random

import fugashi
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.analyze import TokenTable, analyze, split_pieces
from transforms.lemma_windows import Piece, Tagged, window_bounds, window_lemmas
from transforms.mecab_output import output_has_pos


def reference(node_tagger, text: str, max_piece_chars: int = 100_000) -> list[tuple]:
    """(start, end, pos, lemma) per token, each piece tagged alone as the analysis does."""
    tokens = []
    for offset, piece in split_pieces(text, max_piece_chars):
        safe = piece.replace("\x00", " ").replace("\x07", " ")
        cursor = 0
        for word in node_tagger(safe):
            start = safe.index(word.surface, cursor)
            cursor = start + len(word.surface)
            fields = word.feature_raw.split(",")
            lemma = fields[7] if len(fields) > 7 and fields[7] not in ("", "*") else word.surface
            tokens.append((offset + start, offset + cursor, ",".join(fields[:4]), lemma))
    return tokens


def lemmas_one_by_one(table_of, indices) -> dict[int, str]:
    """Each token's lemma read from a fresh table, so every read goes through a window."""
    return {i: table_of().lemma(i) for i in indices}


# Loanwords whose lemma differs by sense (カーネル, タブ), names, symbols MeCab does not know
# ("-" is an unknown 記号 whose context id is a dictionary noun's), digits, spaces of all kinds.
ALPHABET = [*"あいうかきくこ漢字東京都田中花子カナーｱｲabcXY0１２",
            *" \n\n\t\u3000。、・-/@.:()「」\x00\x07𠮷😀",
            "カーネル", "タブ", "さん", "株式会社", "ファイル", "です。", "電話", "メール", "\r\n",
            "佐藤\u3000花子様"]
FRAGMENTS = ["人名", "空白", "記号", "名詞,普通名詞", "サ変", "固有名詞,人名,姓", "カーネル"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=90), st.sampled_from([12, 40, 100_000]),
       st.randoms(use_true_random=False))
def test_every_lemma_read_alone_is_the_whole_analysis_lemma(tagger, node_tagger, parts,
                                                            piece_chars, rng):
    text = "".join(parts)
    expected = reference(node_tagger, text, piece_chars)
    table = analyze(text, tagger, piece_chars)
    assert list(zip(*table.spans_and_pos(), strict=True)) == [t[:3] for t in expected]
    indices = list(range(len(expected)))
    rng.shuffle(indices)
    found = lemmas_one_by_one(lambda: analyze(text, tagger, piece_chars), indices)
    assert found == {i: expected[i][3] for i in indices}
    assert table.lemmas() == [t[3] for t in expected]


def test_man_page_lemmas_read_alone_match_the_whole_analysis(tagger, node_tagger,
                                                             manpages_path):
    rng = random.Random(7)
    with manpages_path.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle if line.strip()]
    checked = 0
    for text in rng.sample(texts, 40):
        expected = reference(node_tagger, text, 3000)  # small pieces: many piece ends
        table = analyze(text, tagger, 3000)
        assert list(zip(*table.spans_and_pos(), strict=True)) == [t[:3] for t in expected]
        probes = rng.sample(range(len(expected)), min(25, len(expected)))
        found = lemmas_one_by_one(lambda text=text: analyze(text, tagger, 3000), probes)
        assert found == {i: expected[i][3] for i in probes}
        checked += len(probes)
    assert checked > 700


def test_an_unknown_symbol_keeps_its_own_pos_not_its_context_ids(tagger):
    table = analyze("a-b", tagger)
    assert table.spans_and_pos()[2][1] == "記号,一般,*,*"  # id 5129 is also a サ変 noun's
    assert table.lemma(1) == "-"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=60),
       st.sampled_from(FRAGMENTS))
def test_pos_contains_is_a_search_of_the_pos_column(tagger, parts, fragment):
    table = analyze("".join(parts), tagger)
    assert table.pos_contains(fragment) == any(fragment in pos for pos in table.spans_and_pos()[2])


def test_a_surface_holding_a_pos_word_is_not_that_pos(tagger):
    table = analyze("人名の空白", tagger)  # the words 人名 and 空白, not a name or a space
    assert not table.pos_contains("人名") and not table.pos_contains("空白")
    assert analyze("佐藤\u3000花子", tagger).pos_contains("空白")
    assert not output_has_pos("", "人名")


def test_window_bounds_are_whole_lines_inside_the_piece():
    text = "一行目\n二行目の文\n三行目\n四行目\n"
    piece = Piece(4, len(text), 0, 0)
    assert window_bounds(text, piece, 11, 12, margin=1) == (10, 14)  # 三行目 and its newline
    assert window_bounds(text, piece, 11, 12, margin=2) == (4, 18)  # a line more each side
    assert window_bounds(text, piece, 5, 6, margin=100) == (4, len(text))  # never before 4


def test_a_window_whose_tokens_differ_proves_nothing_and_the_piece_is_tagged(tagger):
    text = "東京都に住む田中さんのカーネル\n" * 20
    table = analyze(text, tagger)
    piece = Piece(0, len(text), 0, len(table))
    whole = Tagged(table.starts, table.ends, table._id_fields())
    shifted = Tagged(table.starts + 1, table.ends + 1, table._id_fields(), ["x"] * len(table))
    assert window_lemmas(text, whole, piece, (0, 40), lambda start, end: shifted) == {}
    assert table.lemma(len(table) - 1) == reference(fugashi.Tagger(), text)[-1][3]


def test_a_pickled_table_keeps_its_lemmas_and_finds_more(tagger, node_tagger):
    text = "カーネルのタブを開く。\n電話は田中まで。\n"
    table = analyze(text, tagger)
    first = table.lemma(0)
    restored = pickle.loads(pickle.dumps(table))
    assert isinstance(restored, TokenTable)
    assert restored._lemmas == {i: table._lemmas[i] for i in table._lemmas}
    assert restored.lemma(0) == first
    assert list(restored) == [tuple(t) for t in reference(node_tagger, text)]
    assert np.array_equal(restored.starts, table.starts)


def test_threads_reading_lemmas_at_once_each_get_the_whole_analysis_lemmas(tagger, node_tagger):
    """A MeCab tagger holds one lattice: the lemma tagger is one per thread, not shared (the
    portable runner's SDK worker runs bundles on several threads)."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"{i}番目のカーネルのタブを田中さんが開いた。\n" * 30 for i in range(8)]
    expected = [[t[3] for t in reference(node_tagger, text)] for text in texts]
    tables = [analyze(text, tagger) for text in texts]

    def read(table: TokenTable) -> list[str]:
        return [table.lemma(i) for i in reversed(range(len(table)))][::-1]

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(read, tables)) == expected

"""`PosColumn` reads a token's POS off MeCab's output only when asked: it must give exactly the
POS that fugashi's own nodes carry, and find exactly the tokens whose POS starts with a prefix.

The reference is independent of the id tagger: fugashi's node iteration with UniDic's full
feature string (`test_analyze.reference_tokens`).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.test_analyze import reference_tokens
from transforms.analyze import analyze
from transforms.mecab_output import IdFields, PosColumn, id_field_ends_starting

PREFIXES = ("名詞", "名詞,固有名詞", "名詞,固有名詞,人名", "名詞,固有名詞,人名,姓", "空白",
            "記号", "記号,一般", "補助記号", "名詞,普通名詞,サ変可能", "助詞,格助詞", "動")
TEXTS = (
    "田中太郎さんと鈴木　花子様が東京へ行った。",
    "担当：佐藤 一郎\n電話 03-1234-5678 (内線 12)",
    "ls -la ~/.bashrc の結果 -- see man(1) & <tag> 𠮷野家 ☃ ｱｲｳ",
    "マーク・クルーン投手とタイガー・ウッズ選手\u3000\u3000山田",
    "",
)


def reference_pos(node_tagger, text: str) -> list[str]:
    return [t.pos for t in reference_tokens(node_tagger, text)]


@pytest.mark.parametrize("text", TEXTS)
def test_every_pos_is_fugashis_own(tagger, node_tagger, text: str) -> None:
    column = analyze(text, tagger).pos_column()
    assert list(column) == reference_pos(node_tagger, text)
    assert column[1:4] == reference_pos(node_tagger, text)[1:4]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("prefix", [*PREFIXES, "名詞,*", ""])
def test_indices_starting_are_the_tokens_whose_pos_starts_so(tagger, node_tagger, text: str,
                                                            prefix: str) -> None:
    pos = reference_pos(node_tagger, text)
    column = analyze(text, tagger).pos_column()
    assert column.indices_starting(prefix) == [i for i, p in enumerate(pos)
                                               if p.startswith(prefix)]


def test_a_long_text_read_in_pieces_keeps_its_indices(tagger, node_tagger) -> None:
    text = "\n".join(f"{i}行目：田中さんへ - 記号 ☃ と　空白" for i in range(40))
    pos = reference_pos(node_tagger, text)
    column = analyze(text, tagger, max_piece_chars=64).pos_column()
    assert list(column) == pos
    for prefix in PREFIXES:
        assert column.indices_starting(prefix) == [i for i, p in enumerate(pos)
                                                   if p.startswith(prefix)]


@pytest.mark.parametrize("text", TEXTS[:4])
def test_without_leaves_the_tokens_out_and_renumbers_the_rest(tagger, text: str) -> None:
    column = analyze(text, tagger).pos_column()
    full = list(column)
    dropped = [i for i in range(len(full)) if i % 3 == 1]
    kept = [p for i, p in enumerate(full) if i not in set(dropped)]
    smaller = column.without(dropped)
    assert list(smaller) == kept
    for prefix in PREFIXES:
        assert smaller.indices_starting(prefix) == [i for i, p in enumerate(kept)
                                                    if p.startswith(prefix)]


def test_surfaces_that_spell_a_pos_are_not_tokens_of_it(tagger) -> None:
    # The text itself holds ",名詞,固有名詞,人名": only an id field may count.
    text = "x,名詞,固有名詞,人名,姓 と 5129,空白 は文字です"
    table = analyze(text, tagger)
    for prefix in ("名詞,固有名詞,人名", "空白"):
        assert table.pos_column().indices_starting(prefix) == [
            i for i, p in enumerate(table.spans_and_pos()[2]) if p.startswith(prefix)]


def test_a_fresh_table_reads_single_tokens_without_building_every_pos(tagger) -> None:
    table = analyze("田中さんが来た。", tagger)
    assert table[0].pos.startswith("名詞,固有名詞,人名")
    assert isinstance(table.spans_and_pos_column()[2], PosColumn)
    assert table == tuple(table)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="田中太郎花子さん様　 \n-・ーｱ漢字abc12。、,☃𠮷", max_size=50),
       st.sampled_from(PREFIXES))
def test_indices_starting_on_arbitrary_text(tagger, node_tagger, text: str, prefix: str) -> None:
    pos = reference_pos(node_tagger, text)
    column = analyze(text, tagger).pos_column()
    assert column.indices_starting(prefix) == [i for i, p in enumerate(pos)
                                               if p.startswith(prefix)]
    body = analyze(text, tagger)._fields
    assert len(id_field_ends_starting(body, prefix)) == sum(p.startswith(prefix) for p in pos)


@pytest.mark.parametrize("text", TEXTS)
def test_id_fields_are_the_split_outputs_own(tagger, text: str) -> None:
    table = analyze(text, tagger)
    fields = table.pos_column().fields
    assert list(fields) == table._id_fields()
    if len(fields):
        assert list(fields.without([0])) == table._id_fields()[1:]


def test_an_empty_column() -> None:
    column = PosColumn(IdFields.of_output(""))
    assert len(column) == 0 and list(column) == [] and column.indices_starting("名詞") == []


@pytest.mark.parametrize("text", [
    "鈴木\u3000花子様と\u3000\u3000山田\u3000",  # consecutive and trailing full-width spaces
    "\u3000田中\u3000一郎さん",
    "空白なし",
    *TEXTS,
])
def test_name_columns_drop_the_same_space_tokens_either_way(tagger, text: str) -> None:
    from transforms.recognizers.person import name_columns

    table = analyze(text, tagger)
    (starts, ends, pos), after = name_columns(table)
    (ref_starts, ref_ends, ref_pos), ref_after = name_columns(tuple(table))
    assert (list(starts), list(ends), list(pos), after) == (ref_starts, ref_ends, ref_pos,
                                                             ref_after)

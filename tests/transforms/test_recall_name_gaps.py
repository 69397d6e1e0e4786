"""No half of a name is kept: names split by an ideographic space, names with astral kanji.

Read the way the pipeline reads them: `stored_text`, MeCab tokens of the stored text
(`analyze`), `scrub` with the default `PiiConfig()`. MeCab prints U+3000 as a token of its own
(an ASCII space it skips) and makes an astral kanji it has no entry for (𠮷 U+20BB7, 𡈽 U+2123D)
a one-character symbol: both used to cut a name in two, one half scrubbed, the other kept.
"""

from __future__ import annotations

import pytest

from schemas.pii import PiiConfig
from transforms.analyze import analyze
from transforms.normalize import stored_text
from transforms.pii import PiiEngine, build_engine, scrub

WIDE = "\u3000"


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return build_engine(PiiConfig())


def _scrubbed(text: str, tagger, engine: PiiEngine) -> str:
    stored = stored_text(text)
    return scrub(stored, analyze(stored, tagger), engine).text


@pytest.mark.parametrize(("text", "want"), [
    ("担当は蔵元　千早さんです。", "担当は<PERSON>さんです。"),
    ("お問い合わせ：佐藤　花子（営業部）", "お問い合わせ：<PERSON>（営業部）"),
    ("出席者：𠮷田あすか、山田花子", "出席者：<PERSON>、<PERSON>"),
])
def test_the_reported_leaks_are_closed(tagger, engine, text: str, want: str) -> None:
    assert _scrubbed(text, tagger, engine) == want


# Surname and given name: listed and common, listed and rare, and surnames the name lists do
# not hold (UniDic tags 蔵元 and 小谷 as surnames only next to the given name).
SPACED_NAMES = [("佐藤", "花子"), ("高橋", "一郎"), ("中川", "七夏"), ("蔵元", "千早"),
                ("小谷", "果美"), ("渡邊", "美咲")]
# "{}" is the name; each layout with U+3000 between surname and given name.
SPACED_LAYOUTS = [
    "{}さん、お世話になっております。", "{}様\n", "{}殿", "{}氏が登壇した。",  # honorifics
    "{}部長に確認します。", "本件は{}課長の承認済み。", "{}先生の講演",  # titles after
    "代表取締役　{}\n", "担当者　{}\n",  # titles and labels before, spaced
    "氏名：{}\n", "担当：{}（内線1234）", "お問い合わせ：{}（営業部）", "作成者：{}\n",  # labels
    "差出人: {}\n", "\n{}\nTEL：<PHONE>\n",  # a signature line
    "翻訳\n{} <a@example.jp>\n",  # a credit before a mail address
]


@pytest.mark.parametrize("layout", SPACED_LAYOUTS)
@pytest.mark.parametrize(("surname", "given"), SPACED_NAMES)
def test_a_name_split_by_an_ideographic_space_is_scrubbed_whole(tagger, engine, layout: str,
                                                                surname: str,
                                                                given: str) -> None:
    text = layout.format(f"{surname}{WIDE}{given}").replace("<PHONE>", "03-1234-5678")
    want = layout.format("<PERSON>").replace("<PHONE>", "<PHONE_NUMBER>").replace(
        "a@example.jp", "<EMAIL_ADDRESS>")
    assert _scrubbed(text, tagger, engine) == want, text


@pytest.mark.parametrize("separator", ["、", ","])
def test_names_split_by_ideographic_spaces_in_a_list(tagger, engine, separator: str) -> None:
    names = [f"{s}{WIDE}{g}" for s, g in SPACED_NAMES]
    text = "出席者：" + separator.join(names) + "\n"
    want = "出席者：" + separator.join(["<PERSON>"] * len(names)) + "\n"
    assert _scrubbed(text, tagger, engine) == want


# Astral kanji at the start of a name (𠮷田, 𡈽屋), inside it (the end of the surname 有𠮷,
# the start of the given name 𠮷之助) and at its end (寅𠮷, 住𠮷 alone).
ASTRAL_NAMES = [
    "𠮷田{}花子", "𡈽屋{}太郎", "𠮷野{}千尋", "𡈽井{}健",  # at the start
    "有𠮷{}弘行", "住𠮷{}美咲", "山田{}𠮷之助", "佐藤{}𠮷男",  # in the middle
    "山田{}寅𠮷", "高橋{}藤𠮷",  # at the end
]
ASTRAL_LAYOUTS = [
    "{}さん、お世話になっております。", "{}様\n", "{}部長に確認します。", "氏名：{}\n",
    "担当：{}\n", "出席者：{}、山田花子\n", "出席者：山田花子、{}\n", "{} <a@example.jp>\n",
]


@pytest.mark.parametrize("space", ["", " ", WIDE])
@pytest.mark.parametrize("layout", ASTRAL_LAYOUTS)
@pytest.mark.parametrize("name", ASTRAL_NAMES)
def test_a_name_with_an_astral_kanji_is_scrubbed_whole(tagger, engine, name: str, layout: str,
                                                       space: str) -> None:
    text = layout.format(name.format(space))
    want = layout.format("<PERSON>").replace("山田花子", "<PERSON>").replace(
        "a@example.jp", "<EMAIL_ADDRESS>")
    assert _scrubbed(text, tagger, engine) == want, text


@pytest.mark.parametrize(("text", "want"), [
    ("𠮷田さんから連絡", "<PERSON>さんから連絡"),
    ("住𠮷様", "<PERSON>様"),
    ("本日𠮷田部長が来社", "本日<PERSON>部長が来社"),
])
def test_a_surname_with_an_astral_kanji_alone(tagger, engine, text: str, want: str) -> None:
    assert _scrubbed(text, tagger, engine) == want


# What stands before a given name across a full-width space and is not a surname: a
# department, a time word, a company; and astral kanji in text with no name.
@pytest.mark.parametrize(("text", "want"), [
    ("営業部　花子さん", "営業部　<PERSON>さん"),
    ("本日　花子さんが来社", "本日　<PERSON>さんが来社"),
    ("第1条　目的\n第2条　定義", "第1条　目的\n第2条　定義"),
    ("株式会社𡈽屋の新商品", "株式会社𡈽屋の新商品"),
    ("𩸽の干物と𠮷野家の牛丼", "𩸽の干物と𠮷野家の牛丼"),
])
def test_words_next_to_names_are_kept(tagger, engine, text: str, want: str) -> None:
    assert _scrubbed(text, tagger, engine) == want

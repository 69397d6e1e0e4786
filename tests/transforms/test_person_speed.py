"""The person recognizer's speed work changed no output.

Two kinds of reference:
- the recognizer's outputs (`has_name_evidence`, `name_spans`) on the man pages and a demo
  corpus, as the code before the speed work computed them (digests in
  data/person_spans_main.json, written by that code at commit 15b74b1);
- for each scan rewritten for speed, the plain definition it replaces (a regex's own
  `finditer`, a search per label, the best candidate by `NameGuess.rank`), on generated text.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import Token
from transforms.analyze import analyze
from transforms.normalize import pii_view, stored_text
from transforms.recognizers import name_context as nc
from transforms.recognizers.person import JaPersonRecognizer
from transforms.recognizers.person_words import SPACED_NAME_LABELS, NameLists, load_name_lists

GOLDEN = Path(__file__).parent / "data" / "person_spans_main.json"
FAST_MANPAGES = 250


@pytest.fixture(scope="module")
def recognizer() -> JaPersonRecognizer:
    rec = JaPersonRecognizer()
    rec.load()
    return rec


@pytest.fixture(scope="module")
def golden() -> dict[str, list[str]]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def _digest(rec: JaPersonRecognizer, tagger, text: str) -> str:
    stored = stored_text(text)
    view, tokens = pii_view(stored), analyze(stored, tagger)
    found = [rec.has_name_evidence(view, tokens), rec.name_spans(view, tokens)]
    return hashlib.sha256(json.dumps(found).encode()).hexdigest()[:16]


def _manpages(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle]


def _mismatches(rec, tagger, texts: list[str], expected: list[str]) -> list[int]:
    assert len(texts) == len(expected)
    return [i for i, (text, want) in enumerate(zip(texts, expected, strict=True))
            if _digest(rec, tagger, text) != want]


def test_names_on_man_pages_are_the_old_ones(recognizer, tagger, golden, manpages_path) -> None:
    texts = _manpages(manpages_path)[:FAST_MANPAGES]
    assert _mismatches(recognizer, tagger, texts, golden["manpages"][:FAST_MANPAGES]) == []


@pytest.mark.slow
def test_names_on_every_man_page_are_the_old_ones(recognizer, tagger, golden,
                                                  manpages_path) -> None:
    texts = _manpages(manpages_path)
    assert _mismatches(recognizer, tagger, texts, golden["manpages"]) == []


def test_names_in_the_demo_corpus_are_the_old_ones(recognizer, tagger, golden) -> None:
    from pipelines.democorpus.generate import generate_demo_corpus

    texts = []
    with tempfile.TemporaryDirectory() as folder:
        generate_demo_corpus(Path(folder), documents=120)
        for path in sorted(Path(folder).rglob("*.jsonl")):
            for line in path.read_bytes().splitlines():
                try:
                    text = json.loads(line.decode("utf-8")).get("text")
                    text.encode("utf-8")
                except (UnicodeError, json.JSONDecodeError, AttributeError):
                    continue  # the corpus's planted broken records
                if isinstance(text, str) and text.strip():
                    texts.append(text)
    assert _mismatches(recognizer, tagger, texts, golden["demo120"]) == []


def test_token_tables_and_token_tuples_give_the_same_names(recognizer, tagger,
                                                           manpages_path) -> None:
    # The recognizer reads a TokenTable's columns and a tuple's attributes: the same tokens.
    samples = [
        "担当：山田 太郎\n営業部の原部長と鈴木花子さんが出席。タイガー・ウッズ選手（46）",
        "清水 七夏（シミズ ナナミ）様\n岡 枝己\nTEL：03-1234-5678",
        *(text[:4000] for text in _manpages(manpages_path)[:40:4]),
    ]
    for text in samples:
        view = pii_view(stored_text(text))
        table = analyze(stored_text(text), tagger)
        tokens = tuple(Token(*tok) for tok in table)
        assert recognizer.name_spans(view, table) == recognizer.name_spans(view, tokens)


# Generated text: the characters these scans care about, in every order.
_ALPHABET = st.sampled_from(
    list("山田太郎佐藤花子林森名義人取締役担当者氏前申請フリガナふりがなカお部長様さん")
    + list("アイウエオンー・=:：()<>@a1 \n\t在住出身歳才ですのと申しますTEL")
)
_TEXT = st.lists(_ALPHABET, max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_line_patterns_find_what_their_regex_finds(text: str) -> None:
    for line_start in (nc._LINE, nc._SOLID_LINE, nc._WORD_PAIR_LINE, nc._SPEAKER):
        plain = re.compile(line_start.first_line.pattern, re.MULTILINE)
        want = [(m.groupdict(), [m.span(g) for g in m.groupdict()]) for m in plain.finditer(text)]
        got = [(m.groupdict(), [m.span(g) for g in m.groupdict()])
               for m in line_start.finditer(text)]
        assert got == want
        assert (line_start.search(text) is None) == (plain.search(text) is None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("アイー・=a 山")), max_size=30).map("".join))
def test_foreign_joints_are_the_joint_pattern_matches(text: str) -> None:
    assert list(nc._foreign_joints(text)) == [m.start() for m in nc._FOREIGN_JOINT.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_person_brackets_are_the_bracket_pattern_matches(text: str) -> None:
    assert [m.span() for m in nc._person_brackets(text)] == \
        [m.span() for m in nc._PERSON_BRACKET.finditer(text)]
    assert nc.has_person_bracket(text) == (nc._NAME_BRACKET.search(text) is not None)


def _spaced_labels_by_search(text: str) -> list[tuple[str, int]]:
    """The definition: each label searched on its own, in list order, each value once."""
    found, seen = [], set()
    for label in SPACED_NAME_LABELS:
        at = text.find(label + " ")
        while at >= 0:
            value = at + len(label)
            while value < len(text) and text[value] == " ":
                value += 1
            if value not in seen:
                seen.add(value)
                found.append((label, value))
            at = text.find(label + " ", at + 1)
    return found


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_spaced_labels_are_each_labels_own_search(text: str) -> None:
    assert list(nc.spaced_labels(text)) == _spaced_labels_by_search(text)


def _labels_before_colons_by_slicing(text: str, labels: tuple[str, ...]):
    """The definition, without the skip of colons that no label ends before."""
    for match in re.finditer(":", text):
        colon = match.start()
        head = text[max(0, colon - nc._LONGEST_LABEL - nc._MAX_QUALIFIER - 1) : colon].rstrip(" ")
        if not head.endswith(labels) and head.endswith(")"):
            opening = head.rfind("(", len(head) - nc._MAX_QUALIFIER)
            head = head[:opening].rstrip(" ") if opening > 0 else head
        if head.endswith(labels):
            label = next(label for label in labels if head.endswith(label))
            value = match.end()
            while value < len(text) and text[value] == " ":
                value += 1
            yield label, value


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_labels_before_colons_skip_no_label(text: str) -> None:
    for labels in (nc._NAME_LABELS, nc._LIST_LABELS, (*nc._NAME_LABELS, *nc._LIST_LABELS)):
        assert list(nc.labels_before_colons(text, labels)) == \
            list(_labels_before_colons_by_slicing(text, labels))


@pytest.fixture(scope="module")
def lists() -> NameLists:
    return load_name_lists()


def _name_before_by_rank(text: str, h: int, lists: NameLists, kana_given: bool = False):
    """The definition: every candidate start parsed, the best `NameGuess.rank` kept."""
    end = h - 1 if h > 0 and text[h - 1] == " " else h
    start, spaces = end, 0
    while start > 0 and end - start < nc._MAX_NAME_CHARS:
        ch = text[start - 1]
        if nc._is_name_char(ch):
            start -= 1
        elif ch == " " and not spaces and start < end and start > 1 and \
                nc._is_name_char(text[start - 2]):
            spaces, start = 1, start - 1
        else:
            break
    best = None
    for p in range(start, end):
        if text[p] == " " or not nc._starts_name(text, p) or nc._after_company_form(text, p):
            continue
        guess = nc.parse_name(text[p:end], lists, kana_given)
        if guess is not None and (best is None or
                                  guess.rank(end - p) > best[2].rank(best[1] - best[0])):
            best = (p, end, guess)
    return best


def _name_after_by_rank(text: str, q: int, lists: NameLists):
    """The definition: every candidate end parsed, the best `NameGuess.rank` kept."""
    stop, spaces = q, 0
    while stop < len(text) and stop - q < nc._MAX_NAME_CHARS:
        ch = text[stop]
        if nc._is_name_char(ch):
            stop += 1
        elif ch == " " and not spaces and stop > q and stop + 1 < len(text) and \
                nc._is_name_char(text[stop + 1]):
            spaces, stop = 1, stop + 1
        else:
            break
    best = None
    for e in range(q + 1, stop + 1):
        if text[e - 1] == " " or not nc._ends_name(text, e):
            continue
        guess = nc.parse_name(text[q:e], lists)
        if guess is not None and (best is None or
                                  guess.rank(e - q) > best[2].rank(best[1] - best[0])):
            best = (q, e, guess)
    return best


_NAMEY = st.lists(
    st.sampled_from([*"山田中川琉湊林森佐藤花子七夏辻美見のはさん様 部長ヤマダタロウ:(株)",
                     "株式会社"]),
    max_size=24,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_NAMEY, data=st.data())
def test_name_before_and_after_pick_the_best_ranked_candidate(lists, text: str, data) -> None:
    at = data.draw(st.integers(0, len(text)))
    kana_given = data.draw(st.booleans())
    assert nc.name_before(text, at, lists, kana_given) == \
        _name_before_by_rank(text, at, lists, kana_given)
    assert nc.name_after(text, at, lists) == _name_after_by_rank(text, at, lists)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_mailbox_starts_are_the_mailbox_pattern_matches(text: str) -> None:
    assert list(nc._mailbox_starts(text)) == \
        [m.start() for m in nc._MAILBOX_AFTER.finditer(text)]


def _introduced_names_without_skip(text: str, lists: NameLists):
    """The definition: a name looked for before every introduction."""
    for match in nc._INTRODUCTION.finditer(text):
        found = nc.name_before(text, match.start(), lists)
        if found is None:
            continue
        start, end, guess = found
        if match.group() != "と申します" and not (start > 0 and text[start - 1] == "の"):
            continue
        if guess.short_surname and not guess.spaced:
            continue
        if guess.quality == nc.KNOWN or guess.strength >= 3:
            yield start, end, 0.75


_INTRODUCING = st.lists(
    st.sampled_from([*"山田中川林森佐藤花子七夏のはさ 部長ヤマダタロウ。", "です", "と申します",
                     "でございます", "営業部", "の", "チュウジョウ ユキタロウ", "山田 太郎"]),
    max_size=20,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_INTRODUCING)
def test_introductions_skipped_without_a_no_are_those_that_find_nothing(lists,
                                                                       text: str) -> None:
    assert list(nc._introduced_names(text, lists)) == \
        list(_introduced_names_without_skip(text, lists))


@pytest.mark.parametrize("text", [
    "担当のチュウジョウ ユキタロウです",  # the longest name the scan reads: の 13 back
    "これは営業部の山田 太郎です",
    "山田と申します",
])
def test_introductions_at_the_edge_of_the_reach(lists, text: str) -> None:
    found = list(nc._introduced_names(text, lists))
    assert found and found == list(_introduced_names_without_skip(text, lists))


_SURNAME_TAG, _GIVEN_TAG = "名詞,固有名詞,人名,姓", "名詞,固有名詞,人名,名"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([_SURNAME_TAG, _GIVEN_TAG, "助詞,格助詞,*,*"]), max_size=40),
       st.sets(st.sampled_from([_SURNAME_TAG, _GIVEN_TAG, "動詞,一般,*,*"])))
def test_indices_of_are_the_members_positions(items: list[str], values: set[str]) -> None:
    from transforms.recognizers.person import _indices_of

    assert _indices_of(values, items) == [i for i, item in enumerate(items) if item in values]

"""PERSON evidence from where a name stands, read on characters rather than tokens.

UniDic's tags for a name depend on its neighbours: 清水 is a surname on one line and a place on
the next, 七夏 splits into a prefix and a noun, 林 零さん parses as a verb. So the token rules miss
names exactly where the layout says "a name goes here". These rules look at those places
directly, and take a candidate only when it starts with a known surname (or is a two-word kana
name after a name label):
- before an honorific or job title (法務部 山崎 七夏様, 林 零さん, 田中部長);
- after a form label (記録：岡田零, 口座名義 ヤマダ タロウ, お客様：…), or in a list of
  attendees (出席者：山田氏、佐藤 七夏、…);
- before a bracketed kana reading (清水 七夏（シミズ ナナミ）), a party definition
  (…と森 七夏（以下「乙」という。）) or a mailbox (山田 太郎 <taro@example.jp>);
- alone on a line, surname and given name apart (a signature, a contract's signing block);
- introducing oneself (〜の林 零です, 山田と申します).
And a bracketed kana reading right after any name found is a PERSON too (`reading_spans`).

Foreign names written in katakana (ジョン・スミス) have no list to check against: they are taken
from the same places, with UniDic's person-name tags as the evidence where the place alone is
weak (`foreign_name_spans`): katakana joined by a middle dot is as often a technical term.

Everything runs on the PII view (full-width brackets, colons and spaces are ASCII there).
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from transforms.recognizers.person_words import (
    AMBIGUOUS_SHORT_SURNAMES,
    COMPANY_FORMS,
    CONTACT_LINE_STARTS,
    COUNTRY_PREFIXES,
    HONORIFICS,
    LIST_LABELS,
    NAME_LABELS,
    NOT_NAME_ENDINGS,
    NOT_PERSON_VALUES,
    NOT_SURNAME_PREFIXES,
    ORGANISATION_WORDS,
    PERSON_LABELS,
    READING_LABELS,
    SPACED_NAME_LABELS,
    TITLES,
    NameLists,
)

Span = tuple[int, int, float]

KNOWN, PLAUSIBLE, LONE = 3, 2, 1  # the given name is listed / looks like one / is absent
_MAX_NAME_CHARS = 12  # surname, one space and given name
_MAX_SURNAME_CHARS = 6  # katakana surnames run long (ワタナベ, ヤマザキ)
_MAX_KANA_NAME_CHARS = 10
# Characters after which a name may start although they are kanji: departments (法務部山田様).
_DEPARTMENT_ENDINGS = frozenset("部課室係班局社店所")
_TITLES_AFTER = TITLES - {"代表", "担当", "監督", "選手"}
# Particles after which a word starts (営業部の原部長).
_PARTICLES = frozenset("のはがとにもへや")
# Function words a hiragana "given name" after a surname would really be (山田から, 佐藤など).
_KANA_FUNCTION_WORDS = frozenset({
    "から", "まで", "より", "には", "とは", "では", "にも", "とも", "など", "のみ", "だけ", "ほど",
    "へと", "さえ", "でも", "こそ", "しか", "たち", "ども", "ごと", "ずつ", "なし", "あり", "ほか",
    "への", "との", "での", "からの", "までの", "よりも", "などの",
})  # fmt: skip
# An honorific or title that is really the start of another word: 様子, 氏名, 君主, 殿下.
_NOT_HONORIFIC_AFTER = "々子式態名族主臨下堂"
_HONORIFIC_AT = re.compile(
    "(?:" + "|".join(sorted({*HONORIFICS, *_TITLES_AFTER}, key=len, reverse=True)) + ")"
    + f"(?![{_NOT_HONORIFIC_AFTER}])"
)
# Titles that end in another title (本部長, 副社長, 支店長): offsets of the shorter ones.
_INNER_TITLES = {
    title: tuple(len(title) - len(inner) for inner in _TITLES_AFTER
                 if inner != title and title.endswith(inner))
    for title in _TITLES_AFTER
}
_HONORIFIC_AT_END = re.compile(
    "(?:" + "|".join(sorted({*HONORIFICS, *_TITLES_AFTER}, key=len, reverse=True)) + ")$"
)
# Between a name and its reading only an honorific: 田中部長（マーケティング） is a department.
_HONORIFIC_ONLY_AT_END = re.compile(
    "(?:" + "|".join(sorted(HONORIFICS, key=len, reverse=True)) + ")$"
)
# Labels are found from the colon back, not with one big alternation: Python's `re` tries every
# branch at every kanji a label may start with, which cost more than the rest of the stage.
_COLON = re.compile(":")
_NAME_LABELS = tuple(sorted(set(NAME_LABELS), key=len, reverse=True))
_LIST_LABELS = tuple(sorted(LIST_LABELS, key=len, reverse=True))
_LONGEST_LABEL = max(map(len, (*_NAME_LABELS, *_LIST_LABELS)))
_MAX_QUALIFIER = 8  # "(漢字)", "(正)", "(ふりがな)"
_LIST_SEPARATOR = re.compile("[、,/]")
_KANA_WORD = r"[\u30a1-\u30fa\u30fc]{1,10}|[\u3041-\u3096\u30fc]{1,10}"
_KANA_PAIR = re.compile(r"(?:[\u30a1-\u30fa\u30fc]{2,10} [\u30a1-\u30fa\u30fc]{1,10}"
                        r"|[\u3041-\u3096\u30fc]{2,10} [\u3041-\u3096\u30fc]{1,10})")
# A bracketed reading: one kana word, or two with a space or a middle dot between.
# News writes the age after the reading: 朱川湊人（しゅかわ・みなと、42）.
_READING = re.compile(
    rf"\( ?(?P<reading>(?:{_KANA_WORD})(?:[ ・](?:{_KANA_WORD}))?) ?(?:[、,] ?\d{{1,3}}歳?)?\)"
)
# After a reading label, one kana word is a name too (フリガナ：ヤマダタロウ).
_KANA_RUN = re.compile(r"[\u30a1-\u30fa\u30fc]{2,16}(?: [\u30a1-\u30fa\u30fc]{1,10})?"
                       r"|[\u3041-\u3096\u30fc]{2,16}(?: [\u3041-\u3096\u30fc]{1,10})?")
# A self-introduction: 〜の林 零です, 〜の山田と申します.
_INTRODUCTION = re.compile(r"と申します|です|でございます")
# How far before an introduction's match a の may stand: a name of _MAX_NAME_CHARS, a space.
_INTRODUCED_REACH = _MAX_NAME_CHARS + 2
_PARTY = re.compile(r"\(以下 ?[「『\"]")
# A name credited with its mail address: 山田 太郎 <taro@example.jp>.
_MAILBOX_AFTER = re.compile(r" ?[<(][A-Za-z0-9._%+-]+@")
# The same, as a cheap test for a whole document (starts with a literal class: fast to scan).
_MAILBOX = re.compile(r"[<(][A-Za-z0-9._%+-]+@")
# A katakana word, a middle dot (or "=", ジャン=ポール) and another: where a foreign name may be.
# Only the joint is searched; the words around it are read by hand (a pattern over whole
# katakana runs backtracks through every run of a long document).
# (The definition; `_foreign_joints` finds its matches.)
_FOREIGN_JOINT = re.compile(r"[\u30a1-\u30fa\u30fc][・=][\u30a1-\u30fa]")
# The same searched from the dot: a pattern that starts with the katakana class is tried at
# every katakana character, one that starts with the dot only at dots and "=".
_JOINT_DOT = re.compile(r"[・=][\u30a1-\u30fa]")
_JOINT_BEFORE = frozenset(map(chr, [*range(0x30A1, 0x30FB), 0x30FC]))
_MAX_FOREIGN_CHARS = 30


class _LineStart:
    """A pattern that starts with "^" (MULTILINE) and never matches across a newline, found
    the fast way: `re` tries a "^" at every character of the text, but finds a literal
    newline with a fast search. So the first line is matched on its own and every other line
    after its newline: the same matches as `finditer`. Read a match's groups, not its start
    (after the first line, it starts at the newline before)."""

    def __init__(self, pattern: str) -> None:
        assert pattern.startswith("^")
        self.first_line = re.compile(pattern, re.MULTILINE)
        self.after_newline = re.compile("\n" + pattern[1:], re.MULTILINE)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        first = self.first_line.match(text)
        if first is not None:
            yield first
        yield from self.after_newline.finditer(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.first_line.match(text) or self.after_newline.search(text)


_LINE = _LineStart(r"^[ \t]*(?P<name>\S{1,8} \S{1,8})[ \t]*$")

# The same kanji as `_is_kanji` (astral variants of names included: 𠮷田 花子 on its own line).
_KANJI_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f々"
_KANJI_PAIR = re.compile(rf"[{_KANJI_CLASS}]{{1,4}} [{_KANJI_CLASS}]{{1,4}}")
_SOLID_LINE = _LineStart(rf"^[ \t]*(?P<name>[{_KANJI_CLASS}]{{3,6}})[ \t]*$")
_NAME_CLASS = _KANJI_CLASS + "\u3041-\u3096\u30a1-\u30fa\u30fc"
_WORD_PAIR_LINE = _LineStart(rf"^[ \t]*[{_NAME_CLASS}]{{1,8}} [{_NAME_CLASS}]{{1,8}}[ \t]*$")


def _is_kanji(ch: str) -> bool:
    # The compatibility block and the supplementary planes hold kanji of real names that NFC
    # keeps (山﨑 U+FA11, 𠮷野 U+20BB7).
    return ("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or ch in "々〆ヶ"
            or "\uf900" <= ch <= "\ufaff" or "\U00020000" <= ch <= "\U0003134f")


def _is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa" or ch == "ー"


def _is_hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u3096"


def _is_name_char(ch: str) -> bool:
    return _is_kanji(ch) or _is_katakana(ch) or _is_hiragana(ch)


@dataclass(frozen=True)
class NameGuess:
    """How a candidate string reads as a name: where its surname ends and how good it is."""

    surname_chars: int
    quality: int  # KNOWN, PLAUSIBLE or LONE
    spaced: bool

    @property
    def short_surname(self) -> bool:
        return self.surname_chars == 1

    @property
    def strength(self) -> int:
        """KNOWN > lone two-character surname > PLAUSIBLE, one-kanji surnames lowest: 中村 alone
        beats 中 + 村, and 山崎七夏 beats 山崎 + 七."""
        if self.short_surname:
            return {KNOWN: 5, PLAUSIBLE: 2, LONE: 1}[self.quality]
        return {KNOWN: 6, LONE: 4, PLAUSIBLE: 3}[self.quality]

    @property
    def credible(self) -> bool:
        return self.strength >= 3 or self.spaced

    def rank(self, length: int) -> tuple[bool, int]:
        """Between candidate spans: a credible one, then the longest (中川 琉湊 over 中川)."""
        return (self.credible, length)


def _given_quality(given: str, surname: str, spaced: bool, lists: NameLists,
                   kana_given: bool = False) -> int | None:
    if not given:
        return LONE
    if len(given) > 8 or given in ORGANISATION_WORDS or given in TITLES or given in HONORIFICS:
        return None
    if given[-1] in NOT_NAME_ENDINGS or _HONORIFIC_AT_END.search(given):
        return None  # 営業部, 和也様: a department, or a name with its honorific
    if any(_is_hiragana(ch) for ch in given) and not spaced and not (
            kana_given and all(map(_is_hiragana, given)) and lists.is_given_name(given)
            and given not in _KANA_FUNCTION_WORDS):
        return None  # 山田より, 佐藤から: a particle, not a hiragana given name
    if lists.is_given_name(given):
        return KNOWN
    if _is_kanji(surname[0]) and len(given) <= 3 and all(map(_is_kanji, given)):
        return PLAUSIBLE
    if _is_katakana(surname[0]) and 2 <= len(given) <= 6 and all(map(_is_katakana, given)):
        return PLAUSIBLE
    return None


def _surname_ok(surname: str, lists: NameLists) -> bool:
    if not lists.is_surname(surname):
        return False
    return all(map(_is_kanji, surname)) or all(map(_is_katakana, surname))


def parse_name(candidate: str, lists: NameLists, kana_given: bool = False) -> NameGuess | None:
    """Read `candidate` as surname + optional space + given name; None if it is not a name.

    `kana_given` admits a listed hiragana given name right after the surname (田畑ひさの), for
    places where nothing but the name can follow (before a mailbox): elsewhere 山田より is a
    surname and a particle."""
    if not candidate or candidate[0] == " " or candidate[-1] == " ":
        return None
    if " " in candidate:
        surname, _, given = candidate.partition(" ")
        if " " in given:
            return None
        if not _surname_ok(surname, lists):
            # Two-kana surnames (ハラ, トダ) are words too often to stand alone; before a space
            # and a listed katakana given name they are the name's first half.
            if not (all(map(_is_katakana, surname)) and all(map(_is_katakana, given))
                    and len(given) >= 2 and lists.is_given_name(given)):
                return None
            if surname in lists.short_kana_surnames:
                return NameGuess(len(surname), KNOWN, True)
            # Katakana surnames are listed by their usual reading only (白石 as シライシ is
            # not): before a space and a listed katakana given name, any katakana word will do.
            if 2 <= len(surname) <= _MAX_SURNAME_CHARS:
                return NameGuess(len(surname), PLAUSIBLE, True)
            return None
        quality = _given_quality(given, surname, True, lists)
        return None if quality is None else NameGuess(len(surname), quality, True)
    best: NameGuess | None = None
    for cut in range(min(_MAX_SURNAME_CHARS, len(candidate)), 0, -1):
        surname = candidate[:cut]
        if not _surname_ok(surname, lists):
            continue
        quality = _given_quality(candidate[cut:], surname, False, lists, kana_given)
        if quality is None:
            continue
        guess = NameGuess(cut, quality, False)
        if best is None or guess.strength > best.strength:
            best = guess
    return best


def _starts_name(text: str, p: int) -> bool:
    """Whether a name may start at p: after a non-name character, a particle or a department."""
    if p == 0:
        return True
    before = text[p - 1]
    if not _is_name_char(before) or before in _DEPARTMENT_ENDINGS:
        return True
    return _is_hiragana(before) and not _is_hiragana(text[p])


def _ends_name(text: str, e: int) -> bool:
    """Whether a name may end at e: before a non-name character, a particle or an honorific."""
    if e == len(text):
        return True
    after = text[e]
    if not _is_name_char(after):
        return True
    if _is_hiragana(after) and not _is_hiragana(text[e - 1]):
        return True
    return _HONORIFIC_AT.match(text, e) is not None


def _after_company_form(text: str, p: int) -> bool:
    return text[max(0, p - 6) : p].rstrip().endswith(COMPANY_FORMS)


def name_before(text: str, h: int, lists: NameLists,
                kana_given: bool = False) -> tuple[int, int, NameGuess] | None:
    """The best name ending at h (or at h - 1 before a space): (start, end, guess)."""
    end = h - 1 if h > 0 and text[h - 1] == " " else h
    start, spaces = end, 0
    while start > 0 and end - start < _MAX_NAME_CHARS:
        ch = text[start - 1]
        if _is_name_char(ch):
            start -= 1
        elif ch == " " and not spaces and start < end and start > 1 and \
                _is_name_char(text[start - 2]):
            spaces, start = 1, start - 1
        else:
            break
    # The best by `NameGuess.rank`, read longest first: the first credible candidate, else
    # the longest one (no shorter candidate can outrank either).
    best: tuple[int, int, NameGuess] | None = None
    for p in range(start, end):
        if text[p] == " " or not _starts_name(text, p) or _after_company_form(text, p):
            continue
        guess = parse_name(text[p:end], lists, kana_given)
        if guess is None:
            continue
        if guess.credible:
            return p, end, guess
        if best is None:
            best = (p, end, guess)
    return best


def name_after(text: str, q: int, lists: NameLists) -> tuple[int, int, NameGuess] | None:
    """The best name starting at q: (start, end, guess)."""
    stop, spaces = q, 0
    while stop < len(text) and stop - q < _MAX_NAME_CHARS:
        ch = text[stop]
        if _is_name_char(ch):
            stop += 1
        elif ch == " " and not spaces and stop > q and stop + 1 < len(text) and \
                _is_name_char(text[stop + 1]):
            spaces, stop = 1, stop + 1
        else:
            break
    # As in `name_before`: longest first, the first credible candidate, else the longest.
    best: tuple[int, int, NameGuess] | None = None
    for e in range(stop, q, -1):
        if text[e - 1] == " " or not _ends_name(text, e):
            continue
        guess = parse_name(text[q:e], lists)
        if guess is None:
            continue
        if guess.credible:
            return q, e, guess
        if best is None:
            best = (q, e, guess)
    return best


def _honorific_names(text: str, lists: NameLists) -> Iterable[Span]:
    for match in _HONORIFIC_AT.finditer(text):
        # A particle does not take an honorific, so a listed hiragana given name may stand
        # before one (山口あすか係長); `_given_quality` still refuses 山田からさん.
        found = name_before(text, match.start(), lists, kana_given=True)
        for inner in _INNER_TITLES.get(match.group(), ()):
            # 橋本部長 scans as 橋 + 本部長: read it as 橋本 + 部長 as well, keep the better.
            other = name_before(text, match.start() + inner, lists, kana_given=True)
            if other is not None and (found is None or other[2].rank(other[1] - other[0])
                                      > found[2].rank(found[1] - found[0])):
                found = other
        if found is None:
            continue
        start, end, guess = found
        if guess.quality == KNOWN or (guess.quality == LONE and not guess.short_surname):
            yield start, end, 0.85
        elif guess.quality == PLAUSIBLE:
            yield start, end, 0.6 if guess.short_surname else 0.75
        elif _stands_alone(text, start, match.group()) and \
                text[start:end] not in NOT_SURNAME_PREFIXES | COUNTRY_PREFIXES:
            yield start, end, 0.6  # 林様, 森係長: a one-kanji surname, standing alone


def _stands_alone(text: str, start: int, honorific: str) -> bool:
    """Whether a one-kanji surname before `honorific` starts a word: after a non-name
    character, or (before a job title, which ordinary words do not take) after a particle."""
    if start == 0 or not _is_name_char(text[start - 1]):
        return honorific in ("様", "さん", "氏") or honorific in _TITLES_AFTER
    return honorific in _TITLES_AFTER and text[start - 1] in _PARTICLES


def katakana_name_end(text: str, q: int, lists: NameLists) -> int | None:
    """End of an unspaced katakana full name starting at q (カンノアキサ): a run of katakana
    whose last two to four characters are a listed given name and whose first two to five
    (the surname, listed or not: the lists know one reading per surname) come before it."""
    end = q
    while end < len(text) and _is_katakana(text[end]) and end - q <= _MAX_KANA_NAME_CHARS:
        end += 1
    if end - q > _MAX_KANA_NAME_CHARS or (end < len(text) and _is_name_char(text[end])):
        return None
    for given_chars in range(4, 1, -1):
        surname_chars = end - q - given_chars
        if 2 <= surname_chars <= _MAX_SURNAME_CHARS - 1 and \
                text[end - given_chars : end] in lists.given_names and text[q] != "ー":
            return end
    return None


def _label_score(guess: NameGuess) -> float | None:
    if guess.quality == KNOWN:
        return 0.85
    if guess.short_surname and not guess.spaced:
        return None  # 中, 前, 新, 南口: too often a word after a label
    return 0.75


@functools.cache
def _last_chars(labels: tuple[str, ...]) -> frozenset[str]:
    return frozenset(label[-1] for label in labels)


def labels_before_colons(text: str, labels: tuple[str, ...]) -> Iterator[tuple[str, int]]:
    """(label, where its value starts) for each "label :" in `text`; `labels` longest first."""
    last_chars = _last_chars(labels)
    for match in _COLON.finditer(text):
        colon = match.start()
        before = colon - 1
        while before >= 0 and text[before] == " ":
            before -= 1
        if before < 0 or (text[before] not in last_chars and text[before] != ")"):
            continue  # most colons (ls: , 例: 1:2) end no label: skip the slicing below
        head = text[max(0, colon - _LONGEST_LABEL - _MAX_QUALIFIER - 1) : colon].rstrip(" ")
        if not head.endswith(labels) and head.endswith(")"):
            # A qualified label (氏名（漢字）：, 担当者（正）：) labels the same value.
            opening = head.rfind("(", len(head) - _MAX_QUALIFIER)
            head = head[:opening].rstrip(" ") if opening > 0 else head
        if head.endswith(labels):
            label = next(label for label in labels if head.endswith(label))
            value = match.end()
            while value < len(text) and text[value] == " ":
                value += 1
            yield label, value


# Where a spaced label may end: its last character before a space. One scan for this finds
# every label's places; a search per label read the whole text once per label.
_SPACED_LABEL_END = re.compile(
    "[" + "".join(sorted({label[-1] for label in SPACED_NAME_LABELS})) + "] "
)


def spaced_labels(text: str) -> Iterator[tuple[str, int]]:
    """(label, where its value starts) for each spaced label (口座名義 ヤマダ タロウ), label by
    label in `SPACED_NAME_LABELS` order, each value once (under the first label that ends
    there: 口座名義, not 名義)."""
    found: list[tuple[int, int, str]] = []
    for match in _SPACED_LABEL_END.finditer(text):
        space = match.end() - 1
        for order, label in enumerate(SPACED_NAME_LABELS):
            if space >= len(label) and text.startswith(label, space - len(label)):
                found.append((order, space - len(label), label))
    seen: set[int] = set()
    for _, at, label in sorted(found):
        value = at + len(label)
        while value < len(text) and text[value] == " ":
            value += 1
        if value not in seen:
            seen.add(value)
            yield label, value


def has_label(text: str) -> bool:
    """Whether `text` holds any name label, list label, spaced label or party definition."""
    return (
        next(labels_before_colons(text, (*_NAME_LABELS, *_LIST_LABELS)), None) is not None
        or next(spaced_labels(text), None) is not None
        or _PARTY.search(text) is not None
    )


# Where a form field's value ends: the line, a bracket (（66歳）), a list separator, a sentence.
_VALUE_BOUNDARIES = frozenset("\n(、,。/\t")
# Hiragana endings of a sentence or a verb, never of a name written in hiragana.
_KANA_SENTENCE_ENDINGS = ("ます", "です", "ない", "した", "する", "ません", "ください")


def field_value_end(text: str, q: int) -> int | None:
    """End of a form field's whole value starting at q, when the value is one run of name
    characters (at most one space or middle dot inside) that ends where the field ends;
    an honorific at its end is left outside. None when anything else follows."""
    end, seps = q, 0
    while end < len(text) and end - q <= _MAX_NAME_CHARS:
        ch = text[end]
        if _is_name_char(ch) and ch != "・":
            end += 1
        elif ch in " ・=" and not seps and end > q and end + 1 < len(text) and \
                _is_name_char(text[end + 1]) and text[end + 1] != "・":
            seps, end = 1, end + 1
        else:
            break
    if end == q or end - q > _MAX_NAME_CHARS:
        return None
    after = end
    while after < len(text) and text[after] == " ":
        after += 1
    if after < len(text) and text[after] not in _VALUE_BOUNDARIES:
        return None
    honorific = _HONORIFIC_ONLY_AT_END.search(text, q, end)
    if honorific is not None and honorific.start() > q:
        end = honorific.start()
    if _is_hiragana(text[end - 1]) and not all(map(_is_hiragana, text[q:end].replace(" ", ""))):
        return None  # 太田明美です: a sentence, not a field's bare value
    return end


def person_value_ok(value: str, lists: NameLists) -> bool:
    """Whether the whole value of a field that only a person fills can be taken as a name,
    whatever its script or length (しのはらはやと, 映人, 岸): it is not one of the words such
    a field holds when it holds no name, nor a department, company or title."""
    bare = value.replace(" ", "")
    if bare in NOT_PERSON_VALUES or bare in TITLES or bare in HONORIFICS or \
            bare in ORGANISATION_WORDS or any(form in value for form in COMPANY_FORMS):
        return False
    if " " not in value and "・" not in value and (
            value[-1] in NOT_NAME_ENDINGS or value.endswith(tuple(ORGANISATION_WORDS))
            or value.endswith(tuple(TITLES)) or value[-1] in "中済"):
        return False  # 営業部, 山田商事, 営業本部長, 調整中, 確認済
    if all(map(_is_hiragana, bare)):
        return len(bare) >= 2 and not bare.endswith(_KANA_SENTENCE_ENDINGS)
    if all(map(_is_katakana, value)):
        # One katakana word is a name only if the lists know it (サポート, データ are words).
        return lists.is_surname(value) or lists.is_given_name(value) or \
            katakana_name_end(value, 0, lists) == len(value)
    return True


def _lone_surname_value(value: str, lists: NameLists) -> bool:
    """A one-kanji surname as a field's whole value (記録：岸, 担当：林)."""
    return len(value) == 1 and value in lists.short_surnames and value not in \
        NOT_SURNAME_PREFIXES | AMBIGUOUS_SHORT_SURNAMES | COUNTRY_PREFIXES


def _labelled_names(text: str, lists: NameLists) -> Iterable[Span]:
    for label, q in (*labels_before_colons(text, _NAME_LABELS), *spaced_labels(text)):
        whole = field_value_end(text, q)
        if whole is not None and label.endswith(PERSON_LABELS) and \
                person_value_ok(text[q:whole], lists):
            # A label only a person takes (回答者, 児童氏名): its whole value is the person.
            yield q, whole, 0.75
            continue
        if whole is not None and _lone_surname_value(text[q:whole], lists):
            yield q, whole, 0.6
            continue
        found = name_after(text, q, lists)
        if found is not None:
            score = _label_score(found[2])
            if score is not None:
                yield found[0], found[1], score
                continue
        kana_rx = _KANA_RUN if label in READING_LABELS else _KANA_PAIR
        kana = kana_rx.match(text, q)
        if kana is not None and _ends_name(text, kana.end()):
            yield q, kana.end(), 0.75
        elif label in PERSON_LABELS and (pair := _KANJI_PAIR.match(text, q)) is not None \
                and _ends_name(text, pair.end()):
            # 氏名：小谷 果美: two kanji words after a label that only a person takes are a
            # surname and a given name, whether or not the lists know the surname.
            yield q, pair.end(), 0.75
        elif (end := katakana_name_end(text, q, lists)) is not None:
            yield q, end, 0.6


def _listed_names(text: str, lists: NameLists) -> Iterable[Span]:
    for _, value in labels_before_colons(text, _LIST_LABELS):
        line_end = text.find("\n", value)
        line_end = len(text) if line_end < 0 else line_end
        item_start = value
        for sep in [*_LIST_SEPARATOR.finditer(text, item_start, line_end), None]:
            item_end = line_end if sep is None else sep.start()
            item = text[item_start:item_end]
            core = _HONORIFIC_AT_END.sub("", item.rstrip()).rstrip()
            lead = len(item) - len(item.lstrip())
            core = core[lead:]
            start = item_start + lead
            guess = parse_name(core, lists) if core else None
            if guess is not None and (score := _label_score(guess)) is not None:
                yield start, start + len(core), score
            elif core and (_KANA_PAIR.fullmatch(core) or _katakana_pair(core, lists)):
                yield start, start + len(core), 0.75
            if sep is not None:
                item_start = sep.end()


def _katakana_pair(value: str, lists: NameLists) -> bool:
    """A Japanese name in katakana joined by a middle dot (クマガヤ・リョウヘイ): two words,
    the given name listed or the surname a listed reading. A technical term joined by a dot
    (マーケティング・チーム) has neither."""
    words = value.split("・")
    if len(words) != 2 or not all(2 <= len(w) <= 8 and all(map(_is_katakana, w))
                                  for w in words):
        return False
    return words[1] in lists.given_names or words[0] in lists.surnames


# A chat or transcript line: an optional time stamp, the speaker, a colon (or an opening
# quote: 松島「…」). Starts at a line start (`_LineStart`: one try per line).
_SPEAKER = _LineStart(
    rf"^(?P<stamp>[\[(]\d{{1,2}}:\d{{2}}(?::\d{{2}})?[\])] ?|\d{{1,2}}:\d{{2}} )?"
    rf"(?P<name>[{_NAME_CLASS}]{{1,8}}(?:[ ・=][{_NAME_CLASS}]{{1,8}})?)(?: ?:|「)"
)


def has_speaker(text: str, lists: NameLists) -> bool:
    """Whether a line of `text` starts with a speaker's name. Lines such as "注意:" start many
    documents, so the candidates are read here rather than waking the whole recognizer."""
    return next(iter(_speaker_names(text, lists)), None) is not None


def _speaker_names(text: str, lists: NameLists) -> Iterable[Span]:
    for match in _SPEAKER.finditer(text):
        name = match.group("name")
        start, end = match.span("name")
        if _katakana_pair(name, lists) or (match.group("stamp") and _KANA_PAIR.fullmatch(name)):
            # (Without a time stamp "プログラム オプション:" is a heading.)
            yield start, end, 0.75
            continue
        if match.group("stamp") and "・" in name and all(
                2 <= len(w) <= 8 and all(map(_is_katakana, w)) for w in name.split("・")):
            yield start, end, 0.75  # [13:30] ニワ・ルオ: a chat turn's speaker, in katakana
            continue
        if name in lists.surnames and not match.group("stamp"):
            yield start, end, 0.6  # 奥山: parses best as 奥 + 山, but stands as a surname
            continue
        guess = parse_name(name, lists)
        if guess is None:
            continue
        if match.group("stamp"):
            # A time-stamped line is a chat turn: its speaker is a person, even a one-kanji
            # surname (東) or a surname alone (西尾).
            if not guess.short_surname or name not in NOT_SURNAME_PREFIXES | COUNTRY_PREFIXES:
                yield start, end, 0.75
        elif not guess.short_surname or guess.spaced:
            # Without a time stamp "word:" starts many lines (注意:, 例:): only a listed surname
            # of two characters or more, or a surname and a given name, is a speaker.
            yield start, end, 0.6


# A bracket after a name that only a person's name takes: an age (46), (66歳), or where the
# person lives or comes from (…在住), (…出身).
_PERSON_BRACKET = re.compile(r"\((?:\d{1,3}(?:歳|才)?|[^()\n]{2,40}(?:在住|出身))\)")
# The same right after kana or kanji, as a cheap test for a whole document: "ls(1)" is not.
# (The definition; `has_person_bracket` searches from the bracket, which is faster.)
_NAME_BRACKET = re.compile(
    rf"[{_NAME_CLASS}]\((?:\d{{1,3}}(?:歳|才)?|[^()\n]{{2,40}}(?:在住|出身))\)")
_NAME_CHAR = re.compile(f"[{_NAME_CLASS}]")
# Without 在住 or 出身 in the text, only the age branch of `_PERSON_BRACKET` can match.
_AGE_BRACKET = re.compile(r"\((?:\d{1,3}(?:歳|才)?)\)")


def _person_brackets(text: str) -> Iterator[re.Match[str]]:
    """`_PERSON_BRACKET.finditer(text)`; the age branch alone where the other cannot match
    (it backtracks through 40 characters after every bracket of a manual)."""
    if "在住" in text or "出身" in text:
        return _PERSON_BRACKET.finditer(text)
    return _AGE_BRACKET.finditer(text)


def has_person_bracket(text: str) -> bool:
    """Whether kana or kanji in `text` are followed by an age or a residence in brackets."""
    # A bracket match holds no other "(", so every "(" that starts one is found: the same
    # answer as `_NAME_BRACKET.search`, read from the bracket rather than from every kana.
    return any(match.start() > 0 and _NAME_CHAR.match(text, match.start() - 1) is not None
               for match in _person_brackets(text))


def _bracketed_names(text: str, lists: NameLists) -> Iterable[Span]:
    for match in _person_brackets(text):
        found = name_before(text, match.start(), lists)
        if found is None:
            continue
        start, end, guess = found
        if guess.short_surname and not guess.spaced and end - start < 3:
            continue  # 長男(6), 三男(11): a one-kanji "surname" and one kanji is a word
        if guess.quality != LONE and (score := _label_score(guess)) is not None:
            yield start, end, score
        elif not guess.short_surname and (start == 0 or not _is_name_char(text[start - 1])):
            yield start, end, 0.6  # 佐藤(45): a listed surname alone before an age


def _party_names(text: str, lists: NameLists) -> Iterable[Span]:
    for match in _PARTY.finditer(text):
        found = name_before(text, match.start(), lists)
        if found is not None and found[2].quality != LONE:
            yield found[0], found[1], 0.85


def _introduced_names(text: str, lists: NameLists) -> Iterable[Span]:
    for match in _INTRODUCTION.finditer(text):
        h = match.start()
        if match.group() != "と申します" and "の" not in text[max(0, h - _INTRODUCED_REACH) : h]:
            # Only "〜の<name>です" counts, and a name found before h starts within
            # _MAX_NAME_CHARS of it (a space aside): without a の that near, nothing can be
            # kept, and "です" ends half the sentences of a manual.
            continue
        found = name_before(text, h, lists)
        if found is None:
            continue
        start, end, guess = found
        if match.group() != "と申します" and not (start > 0 and text[start - 1] == "の"):
            continue  # "です" after any noun: only "〜の<name>です" introduces somebody
        if guess.short_surname and not guess.spaced:
            continue
        if guess.quality == KNOWN or guess.strength >= 3:
            yield start, end, 0.75


def _kana_name_before(text: str, h: int, lists: NameLists) -> tuple[int, int] | None:
    """An unspaced katakana full name ending at h (or before a space at h - 1)."""
    end = h - 1 if h > 0 and text[h - 1] == " " else h
    start = end
    while start > 0 and _is_katakana(text[start - 1]) and end - start <= _MAX_KANA_NAME_CHARS:
        start -= 1
    if start == end or (start > 0 and _is_name_char(text[start - 1])):
        return None
    return (start, end) if katakana_name_end(text, start, lists) == end else None


def has_mailbox(text: str) -> bool:
    """Whether `text` holds a bracketed mail address right after kana or kanji, where a name
    may be credited (most are after Latin names, which this recognizer does not read)."""
    if "@" not in text:
        return False
    for match in _MAILBOX.finditer(text):
        before = match.start() - 1
        if before > 0 and text[before] == " ":
            before -= 1
        if before >= 0 and _is_name_char(text[before]):
            return True
    return False


def mailbox_at(text: str, end: int) -> bool:
    """Whether a bracketed mail address follows `end` (山田 太郎 <taro@example.jp>)."""
    return _MAILBOX_AFTER.match(text, end) is not None


def _mailbox_starts(text: str) -> Iterator[int]:
    """Where `_MAILBOX_AFTER.finditer(text)` matches start, found as `_MAILBOX` matches (a
    literal class first: fast to scan) and the optional space before each: a leading " ?"
    makes `re` try every character."""
    if "@" not in text:
        return
    for match in _MAILBOX.finditer(text):
        h = match.start()
        yield h - 1 if h > 0 and text[h - 1] == " " else h


def _credited_names(text: str, lists: NameLists) -> Iterable[Span]:
    for h in _mailbox_starts(text):
        found = name_before(text, h, lists, kana_given=True)
        if found is None:
            kana = _kana_name_before(text, h, lists)
            if kana is not None:
                yield kana[0], kana[1], 0.6
            continue
        start, end, guess = found
        score = _label_score(guess)
        if score is None and guess.quality != LONE and \
                (start == 0 or not _is_name_char(text[start - 1])):
            # 辻美見 <…>: a one-kanji surname without a space, but the whole run of name
            # characters before a mailbox is the credit, so the given name is not left alone.
            score = 0.6
        if score is not None:
            yield start, end, score


def _in_signature(text: str, start: int, end: int) -> bool:
    """Whether the line [start, end) sits in a signature block: right after a company or
    department line (ミライ技研 営業第二課) or right before a contact line (TEL：…)."""
    line_start, line_end = _line_bounds(text, start, end)
    if text.startswith(CONTACT_LINE_STARTS, line_end + 1):
        return True
    if line_start == 0:
        return False
    above = text[text.rfind("\n", 0, line_start - 1) + 1 : line_start - 1].rstrip()
    return bool(above) and (above[-1] in _DEPARTMENT_ENDINGS or above.endswith(COMPANY_FORMS)
                            or any(form in above for form in COMPANY_FORMS))


def _line_names(text: str, lists: NameLists, tagged: Sequence[int] = ()) -> Iterable[Span]:
    for match in _LINE.finditer(text):
        guess = parse_name(match.group("name"), lists)
        if guess is None or guess.quality == LONE:
            continue
        if guess.quality == KNOWN:
            yield match.start("name"), match.end("name"), 0.75
        elif not guess.short_surname or _in_signature(text, *match.span("name")):
            # 岡 枝己 under a department line: a one-kanji surname is a name in a signature.
            yield match.start("name"), match.end("name"), 0.6
    for match in _SOLID_LINE.finditer(text):
        # Without a space a line of kanji is as often a heading (日本語訳, 関連項目): the given
        # name must be listed, or UniDic must have tagged the line's first word as a name.
        guess = parse_name(match.group("name"), lists)
        if guess is None or guess.quality == LONE or guess.short_surname:
            continue
        start = match.start("name")
        if guess.quality == KNOWN or _tagged_within(tagged, start, start + 1):
            yield start, match.end("name"), 0.75


def has_name_line(text: str) -> bool:
    """Whether a line of `text` is two kana or kanji words and nothing else (トダ カツユキ)."""
    return _WORD_PAIR_LINE.search(text) is not None


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return line_start, len(text) if line_end < 0 else line_end


def _foreign_candidate(text: str, joint: int) -> tuple[int, int] | None:
    """The katakana words joined at `joint` (the dot's index), as (start, end)."""
    start = joint
    while start > 0 and _is_katakana(text[start - 1]) and joint - start < _MAX_FOREIGN_CHARS:
        start -= 1
    end = joint
    while end < len(text) and end - start < _MAX_FOREIGN_CHARS and (
        _is_katakana(text[end]) or (text[end] in "・=" and end + 1 < len(text)
                                    and _is_katakana(text[end + 1]))
    ):
        end += 1
    if text[start] == "ー":
        return None
    return start, end


def _all_words_named(text: str, start: int, end: int, words: list[str], tagged: Sequence[int],
                     token_starts: Sequence[int]) -> bool:
    """Whether katakana words joined by dots, standing nowhere a name goes, are a name all
    the same: UniDic knows each word, whole, as a person's name (リチャード・ストールマン,
    アリエル・シャロン), which technical terms joined by a dot are not (ファイル・システム).
    Not a name when the run goes on into another word (ハリー・ポッター+シリーズ), is a work's
    title (『ハリー・ポッター』) or names a place or an organisation (スノウ・ヒル駅): only two
    words followed by a particle are taken."""
    if len(words) != 2 or any(len(w) < 2 for w in words):
        return False
    # The subject or object of a sentence: a particle follows (…ストールマンは). A citation's
    # author (早川書房、アレグザンダー・ケント⏎) stands at the end of a line.
    if end >= len(text) or not _is_hiragana(text[end]) or text[start - 1 : start] == "『":
        return False
    # One token per word and one per dot: nothing else starts inside the run.
    inside = bisect_left(token_starts, end) - bisect_left(token_starts, start)
    return inside == 2 * len(words) - 1 and all(
        _tagged_within(tagged, ws, ws + 1) for ws in _word_starts(start, words))


def _word_starts(start: int, words: list[str]) -> Iterator[int]:
    for word in words:
        yield start
        start += len(word) + 1


def _tagged_within(tagged: Sequence[int], start: int, end: int) -> int:
    """How many person-name-tagged tokens start in [start, end)."""
    return bisect_left(tagged, end) - bisect_left(tagged, start)


def _foreign_place(text: str, start: int, end: int) -> str:
    """Where the candidate stands: "honorific", "label" (a label whose value is a person),
    "other label", "title", "list", "mailbox", "line", or "" (nowhere a name goes)."""
    after = end + 1 if text[end : end + 1] == " " else end
    honour = _HONORIFIC_AT.match(text, after)
    if honour is not None:
        return "honorific" if honour.group() in HONORIFICS else "title"
    if text.startswith("と申します", end):
        return "honorific"
    if _MAILBOX_AFTER.match(text, end):
        return "mailbox"
    line_start, line_end = _line_bounds(text, start, end)
    head = text[line_start:start].rstrip(" ")
    if head.endswith(":"):
        before_colon = head[:-1].rstrip(" ")
        if before_colon.endswith(PERSON_LABELS) or before_colon.endswith(READING_LABELS):
            return "label"
        if before_colon.endswith(_NAME_LABELS):
            return "other label"  # 連絡先, 担当, 宛先: as often a company or a team
        if before_colon.endswith(_LIST_LABELS):
            return "list"
    if head.endswith(READING_LABELS):
        return "label"  # 名義 カワハラ・ヤスマサ: a reading or an account holder's name
    if head.endswith(SPACED_NAME_LABELS):
        return "other label"
    if head.endswith(("、", ",", "/")) and \
            next(labels_before_colons(head, _LIST_LABELS), None) is not None:
        return "list"
    if not head and not text[end:line_end].strip():
        return "line"
    return ""


def _japanese_in_katakana(words: list[str], lists: NameLists) -> bool:
    """ノムラ・ハル: a listed surname reading and a listed given name, joined by a dot."""
    return len(words) == 2 and (words[0] in lists.surnames
                                or words[0] in lists.short_kana_surnames) \
        and len(words[1]) >= 2 and words[1] in lists.given_names


def _foreign_joints(text: str) -> Iterator[int]:
    """Where `_FOREIGN_JOINT.finditer(text)` matches (the katakana before the dot), found from
    the dots: the same non-overlapping matches, scanned several times faster."""
    taken = 0  # where the last match ended
    for dot in _JOINT_DOT.finditer(text):
        at = dot.start() - 1
        if at >= taken and text[at] in _JOINT_BEFORE:
            yield at
            taken = at + 3


def foreign_name_spans(text: str, tagged: Sequence[int], lists: NameLists | None = None,
                       token_starts: Sequence[int] | None = None) -> list[Span]:
    """Foreign names in katakana joined by a dot (ジョン・スミス) where a name goes.

    `tagged` holds the sorted start offsets of the tokens UniDic tagged as person names. An
    honorific after the words is enough; a title, a list or a label that may name a company
    needs one tagged word; a line of its own needs every word tagged (ファイル・システム alone
    on a line is a heading). Anywhere else (given `token_starts`, the start offsets of all
    tokens), every word must be one token tagged as a person's name.
    """
    spans: list[Span] = []
    covered = 0
    for joint in _foreign_joints(text):
        if joint < covered:
            continue
        found = _foreign_candidate(text, joint + 1)
        if found is None:
            continue
        start, end = found
        covered = end
        words = re.split("[・=]", text[start:end])
        place = _foreign_place(text, start, end)
        n_tagged = _tagged_within(tagged, start, end)
        if not place:
            if token_starts is not None and _all_words_named(text, start, end, words, tagged,
                                                             token_starts):
                spans.append((start, end, 0.75))
            continue
        if place in ("honorific", "label") or (
                lists is not None and _japanese_in_katakana(words, lists)):
            ok = True
        else:
            # Family names are often words too (テイラー, ホワイト; UniDic tags リスト as Liszt):
            # the given name, first, must be tagged, and in a longer run a second word too.
            ok = _tagged_within(tagged, start, start + 1) > 0 and (
                n_tagged >= 2 or len(words) == 2)
        if ok:
            spans.append((start, end, 0.85 if n_tagged else 0.75))
    return spans


def context_name_spans(text: str, lists: NameLists, tagged: Sequence[int] = ()) -> list[Span]:
    """Names found from their position: honorific, label, list, party definition, own line.
    `tagged`: sorted start offsets of the tokens UniDic tagged as person names."""
    spans: list[Span] = []
    for rule in (_honorific_names, _labelled_names, _listed_names, _party_names,
                 _introduced_names, _credited_names):
        spans.extend(rule(text, lists))
    spans.extend(_line_names(text, lists, tagged))
    spans.extend(_speaker_names(text, lists))
    spans.extend(_bracketed_names(text, lists))
    return spans


def _other_spelling(name: str, bracketed: str) -> bool:
    """Whether katakana in brackets after a name may be its reading or other spelling: always
    after kanji; after a katakana name only if it starts as one of the name's words does
    (フランツ・ミュンテフェリング（ミュンテフェーリング）)."""
    if not name or not all(_is_katakana(ch) or ch in "・= " for ch in name) or \
            not all(map(_is_katakana, bracketed.replace(" ", "").replace("・", ""))):
        return True
    return any(bracketed.startswith(word[:2]) for word in re.split("[・= ]", name) if word)


def _reading_fits(reading: str, guess: NameGuess, name: str, lists: NameLists) -> bool:
    """A reading confirms an unlisted name when it has two words (surname and given name) or
    starts with the surname's usual reading."""
    if " " in reading or "・" in reading:
        return True
    usual = lists.surname_readings.get(name[: guess.surname_chars].strip())
    return bool(usual) and reading.startswith(usual)


_MIN_VOUCHED_KANJI, _MAX_VOUCHED_KANJI = 3, 6


def _vouched_kanji_name(text: str, h: int, reading: re.Match) -> tuple[int, int] | None:
    """An unlisted kanji name that its reading vouches for: 3-6 kanji standing as a word before
    a reading of two words (朱川湊人（しゅかわ・みなと）) or before a reading that an
    honorific follows (扇畑忠雄（おうぎはたただお）さん), the reading no shorter than the
    kanji. A place's reading (東京都（とうきょうと）) has one word and no honorific."""
    start = h
    while start > 0 and _is_kanji(text[start - 1]) and h - start < _MAX_VOUCHED_KANJI:
        start -= 1
    if not _MIN_VOUCHED_KANJI <= h - start <= _MAX_VOUCHED_KANJI or \
            (start > 0 and _is_kanji(text[start - 1])) or not _starts_name(text, start):
        return None
    words = re.split("[ ・]", reading.group("reading"))
    if sum(map(len, words)) < h - start:
        return None
    if len(words) == 2 or _HONORIFIC_AT.match(text, reading.end()) is not None:
        return start, h
    return None


def reading_spans(text: str, spans: Iterable[Span], lists: NameLists) -> list[Span]:
    """Bracketed kana readings right after a name (山田様（ヤマダ タロウ）), and the kanji names a
    two-word reading vouches for (清水 七夏（シミズ ナナミ））."""
    spans = list(spans)
    ends = {end: score for _, end, score in spans}
    starts = {end: start for start, end, _ in spans}
    found: list[Span] = []
    for match in _READING.finditer(text):
        h = match.start()
        h = h - 1 if h > 0 and text[h - 1] == " " else h
        honorific = _HONORIFIC_ONLY_AT_END.search(text, max(0, h - 2), h)
        before = honorific.start() if honorific else h
        reading_start, reading_end = match.span("reading")
        if reading_end - reading_start < 2:
            continue  # (ア), (イ): list markers, not readings
        score = ends.get(h) or ends.get(before)
        if score and not _other_spelling(text[starts.get(h, starts.get(before, h)) : h],
                                         match.group("reading")):
            continue  # コリン・モンゴメリー（スコットランド）: a country, not a reading
        if score:
            found.append((reading_start, reading_end, score))
            # 扇+畑忠雄: the tokens found part of the name; the reading vouches for all of it.
            vouched = _vouched_kanji_name(text, before, match)
            if vouched is not None:
                found.append((*vouched, score))
            continue
        named = name_before(text, before, lists)
        if named is None or named[2].quality == LONE:
            vouched = _vouched_kanji_name(text, before, match)
            if vouched is not None:
                found.extend(((*vouched, 0.75), (reading_start, reading_end, 0.75)))
            continue
        start, end, guess = named
        if _reading_fits(match.group("reading"), guess, text[start:end], lists):
            found.extend(((start, end, 0.85), (reading_start, reading_end, 0.85)))
    return found


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans become one, with the higher score."""
    merged: list[Span] = []
    for start, end, score in sorted(spans):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), max(last[2], score))
        else:
            merged.append((start, end, score))
    return merged

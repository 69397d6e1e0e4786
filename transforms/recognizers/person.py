"""PERSON: Japanese names from the analysis stage's tokens, not from a regex.

Evidence, strongest first: UniDic's person-name tags (名詞,固有名詞,人名,姓/名), an honorific or job
title right after the name (様 さん 氏 殿 君 先生, 部長 …), and the surname / given-name lists of
`japanese_personal_name_dataset` for names UniDic does not tag. A surname followed by a company
word (山田商事, 鈴木水産) or after 株式会社 is a company name and is left alone.

Token tags depend on context (清水 is a place on one line, a surname on the next), so the
character-level rules of `name_context` add the names that stand where a name goes (after a
label, before an honorific or a bracketed reading, alone on a line), and the readings
themselves.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from operator import itemgetter

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from schemas.records import Token
from transforms.analyze import TokenTable
from transforms.mecab_output import PosColumn
from transforms.recognizers.name_context import (
    context_name_spans,
    foreign_name_spans,
    has_label,
    has_mailbox,
    has_name_line,
    has_person_bracket,
    has_speaker,
    labels_before_colons,
    mailbox_at,
    merge_spans,
    reading_spans,
)
from transforms.recognizers.person_words import (
    COMPANY_FORMS,
    HONORIFICS,
    LIST_LABELS,
    NAME_LABELS,
    NOT_NAME_ENDINGS,
    NOT_PERSON_VALUES,
    ORGANISATION_WORDS,
    TITLES,
    TITLES_BEFORE,
    NameLists,
    load_name_lists,
)

# A company form shortly after the name, with no particle or punctuation between: 阿部鉱業合同会社.
_COMPANY_AFTER = re.compile(r"[^\s、。，,のはがをにへとでも様]{0,6}?(?:" + "|".join(
    re.escape(form) for form in COMPANY_FORMS) + ")")
# What wakes the recognizer up without a person-name tag: an honorific or title here, a label
# (`name_context.has_label`). "様" is mostly 仕様/同様/様々 in technical text, "さま" mostly
# さまざま. Every branch starts with a literal (the look-behind comes after 様) so `re` can skip
# ahead by first character: with a leading look-behind the scan was 15x slower.
_EVIDENCE = re.compile(
    r"様(?<![仕同皆模異多一各有]様)(?![々子式態])|"
    + "|".join(sorted({*HONORIFICS, *TITLES} - {"様", "さま"}, key=len, reverse=True))
)
_PERSON_POS = "名詞,固有名詞,人名"
_START_OF, _END_OF, _POS_OF = itemgetter(0), itemgetter(1), itemgetter(2)
_HONOUR_AFTER = re.compile("|".join(sorted({*HONORIFICS, *TITLES}, key=len, reverse=True)))
_LABEL_BEFORE = re.compile(
    "(?:" + "|".join(sorted(TITLES_BEFORE, key=len, reverse=True)) + ")[ :：\u3000]*"
)
_SURNAME_POS = "名詞,固有名詞,人名,姓"
# UniDic's whole-name entries: famous people, ring names, foreign names (朝青龍, ロバーツ).
_WHOLE_NAME_POS = "名詞,固有名詞,人名,一般"
# A prefix between a name and its title (ヒース元首相, 山田前社長).
_TITLE_PREFIXES = ("元", "前", "現")
_MIN_FOREIGN_CHARS = 3
_MAX_FOREIGN_RUN = 30
# An honorific or title after a foreign name; not one that starts another word (様式, 氏名).
_HONOUR_AT = re.compile(
    "(?:" + "|".join(sorted({*HONORIFICS, *TITLES}, key=len, reverse=True)) + ")(?![々子式態名族])"
)
_GIVEN_POS = "名詞,固有名詞,人名,名"
_MAX_NAME_TOKENS = 4
# A name glued to the end of a municipality is the next part of an address (池田町笛舞).
_PLACE_UNITS = frozenset("都道府県市区町村郡")
_TITLE_AT = re.compile("|".join(sorted(TITLES, key=len, reverse=True)))
_TITLE_AT_END = re.compile("(?:" + "|".join(sorted(TITLES, key=len, reverse=True)) + ")$")
_BLOCK_AFTER = re.compile(r"\d{1,4}(?:丁目|番|-\d)|[一二三四五六七八九十]{1,3}丁目")
# A one-kanji token after a given name that still belongs to it (橋本巧+馬) is never one of these:
# they follow names as words of their own (田中一郎宅, 山田太郎等, 鈴木花子達).
_NOT_NAME_TAILS = NOT_NAME_ENDINGS | frozenset("宅家邸等達ら方側分用氏様君殿")
_MAX_TAIL_GIVEN_CHARS = 3
# Kanji of a name MeCab broke into one-character pieces (古+高 before 和+禎): at most this many.
_MAX_LOST_SURNAME_CHARS = 2
# MeCab skips an ASCII space but prints an ideographic one (U+3000) as a token of its own, POS
# 空白: the name rules read such a token as the space it is (佐藤　花子 as 佐藤 花子).
_SPACE_POS = "空白"
# A surname MeCab read as a common noun because a U+3000 token, not the given name, followed it
# (蔵元　千早さん; 蔵元 千早さん is tagged 姓 + 名): two or three kanji, as surnames mostly are.
_MIN_SPACED_SURNAME_CHARS, _MAX_SPACED_SURNAME_CHARS = 2, 3
# The tags such a surname gets instead: a common noun (蔵元, a brewery) or a place (松江). Not
# the nouns that work as adverbs (本日, 今回): they are never surnames.
_SPACED_SURNAME_POS = ("名詞,普通名詞,一般", "名詞,固有名詞")
# Pieces MeCab cut a name into around an astral kanji it could not read (大+𠮷+田, 𡈽+屋).
_MAX_ASTRAL_PIECES = 3
_LIST_LABELS = tuple(sorted(LIST_LABELS, key=len, reverse=True))


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff" \
        or "\U00020000" <= ch <= "\U0003134f" or ch in "々〆ヶ"


def _is_astral_kanji(ch: str) -> bool:
    # Variant kanji of real names outside the BMP (𠮷 U+20BB7, 𡈽 U+2123D): UniDic has no
    # entry for them, so MeCab makes each a one-character symbol token and cuts the name there.
    return "\U00020000" <= ch <= "\U0003134f"


def _is_katakana(ch: str) -> bool:
    return ("\u30a1" <= ch <= "\u30fa" and ch != "・") or ch == "ー"


def _is_name_char(ch: str) -> bool:
    return _is_kanji(ch) or "\u3041" <= ch <= "\u30fa" or ch == "ー"


def _all_hiragana(value: str) -> bool:
    return all("\u3041" <= ch <= "\u3096" or ch == " " for ch in value)


# A token table's columns, or the same read off a sequence of Tokens: (starts, ends, pos).
Columns = tuple[Sequence[int], Sequence[int], Sequence[str]]


def token_columns(tokens: Sequence[Token]) -> Columns:
    """(starts, ends, pos) of `tokens`, as lists: indexing a list is what the rules below do
    per token, and a `TokenTable` would build a Token for each index."""
    if isinstance(tokens, TokenTable):
        return tokens.spans_and_pos_column()
    toks = tuple(tokens)
    return list(map(_START_OF, toks)), list(map(_END_OF, toks)), list(map(_POS_OF, toks))


def name_columns(tokens: Sequence[Token]) -> tuple[Columns, frozenset[int]]:
    """`token_columns` without the whitespace tokens (U+3000), and the indices (into the
    columns returned) of the tokens that such a space came right before.

    Without this a full-width space between surname and given name ended the name: one half
    was scrubbed, the other kept. With the space tokens gone the gap reads as the space it is
    on the PII view, exactly as MeCab leaves an ASCII space."""
    cols = token_columns(tokens)
    pos_contains = getattr(tokens, "pos_contains", None)
    if pos_contains is not None and not pos_contains(_SPACE_POS):
        return cols, frozenset()
    starts, ends, poss = cols
    spaces = _indices_starting(poss, _SPACE_POS)
    if not spaces:
        return cols, frozenset()
    # The token after the k-th space token is at its index less the k spaces before it.
    after_space = frozenset(at - k for k, at in enumerate(spaces))
    return (_without(starts, spaces), _without(ends, spaces), _without(poss, spaces)), after_space


def _indices_starting(poss: Sequence[str], prefix: str) -> list[int]:
    """The sorted indices of the POS in `poss` that start with `prefix`: searched in MeCab's
    output by a `PosColumn`, which never reads the others."""
    if isinstance(poss, PosColumn):
        return poss.indices_starting(prefix)
    return _indices_of({p for p in set(poss) if p.startswith(prefix)}, poss)


def _without(items: Sequence, indices: list[int]) -> Sequence:
    """`items` without those at `indices` (sorted): a `PosColumn` leaves them out itself, a
    list is copied slice by slice, in C, not item by item."""
    if isinstance(items, PosColumn):
        return items.without(indices)
    kept: list = []
    previous = 0
    for at in [*indices, len(items)]:
        kept.extend(items[previous:at])
        previous = at + 1
    return kept


def _indices_of(values: set[str], items: Sequence[str]) -> list[int]:
    """The sorted indices of `items` that are in `values` (a few POS strings): one C-level
    `list.index` scan per value beats testing every item for membership."""
    found: list[int] = []
    for value in values:
        at = -1
        try:
            while True:
                at = items.index(value, at + 1)
                found.append(at)
        except ValueError:
            pass
    found.sort()
    return found


def _titled_foreign_spans(text: str, cols: Columns, tagged: Sequence[int]
                          ) -> list[tuple[int, int, float]]:
    """Foreign names before an honorific or a title, where UniDic knows one word of the name
    as a person (タイガー・ウッズ選手, マーク・クルーン投手, アルディ+レス監督): the whole katakana
    run around that word, dots included, is the name. Only tokens tagged as whole names are
    read (a subset of `tagged`, the indices of the person-name tokens), so the scan costs
    nothing on text without them."""
    starts, ends, poss = cols
    found: list[tuple[int, int, float]] = []
    covered = 0
    for k in tagged:
        if not poss[k].startswith(_WHOLE_NAME_POS):
            continue
        start, end = int(starts[k]), int(ends[k])
        if start < covered or not all(map(_is_katakana, text[start:end])):
            continue
        while start > 0 and end - start < _MAX_FOREIGN_RUN and (
                _is_katakana(text[start - 1]) or (text[start - 1] in "・=" and start > 1
                                                  and _is_katakana(text[start - 2]))):
            start -= 1
        while end < len(text) and end - start < _MAX_FOREIGN_RUN and (
                _is_katakana(text[end]) or (text[end] in "・=" and end + 1 < len(text)
                                            and _is_katakana(text[end + 1]))):
            end += 1
        covered = end
        if end - start < _MIN_FOREIGN_CHARS or text[start] == "ー" or \
                (start > 0 and _is_kanji(text[start - 1])):  # 米国務+… : glued to a word
            continue
        after = end + 1 if text[end : end + 1] in _TITLE_PREFIXES else end
        if _HONOUR_AT.match(text, after) is not None:
            found.append((start, end, 0.85))
    return found


def _astral_token(text: str, cols: Columns, k: int) -> bool:
    """Whether token k is astral kanji alone (MeCab's symbol token for 𠮷, 𡈽)."""
    word = text[cols[0][k] : cols[1][k]]
    return bool(word) and all(map(_is_astral_kanji, word))


def _astral_head(text: str, cols: Columns, i: int, covered: int) -> int:
    """The token a name found from token i really starts at when astral kanji stand glued
    before it (𠮷+田, 𡈽+屋+太郎): MeCab cut the surname at the kanji it could not read, so the
    pieces back to that kanji belong to the name, and one-kanji pieces before it too (大+𠮷+田)
    when the word starts there. At most `_MAX_ASTRAL_PIECES` pieces, none before `covered`."""
    starts, ends, _ = cols
    k, nearest, head = i, None, None
    while k > covered and i - k < _MAX_ASTRAL_PIECES and ends[k - 1] == starts[k]:
        piece = text[starts[k - 1] : ends[k - 1]]
        if _astral_token(text, cols, k - 1):
            nearest = k - 1 if nearest is None else nearest
        elif len(piece) != 1 or not _is_kanji(piece):
            break
        k -= 1
        if nearest is not None and (starts[k] == 0 or not _is_name_char(text[starts[k] - 1])
                                    or "\u3041" <= text[starts[k] - 1] <= "\u3096"):
            head = k  # a word starts here: after punctuation, a space, a particle
    if nearest is None:
        return i
    return nearest if head is None else head


def _astral_end(text: str, cols: Columns, j: int) -> int:
    """The end token (exclusive) of a name that ends before token j, past astral kanji glued
    after it (寅+𠮷さん)."""
    starts, ends, _ = cols
    while j < len(starts) and ends[j - 1] == starts[j] and _astral_token(text, cols, j):
        j += 1
    return j


class JaPersonRecognizer(EntityRecognizer):
    """Finds names on `TokenNlpArtifacts.kura_tokens` (the analysis stage's tokens)."""

    ENTITY = "PERSON"
    CONTEXT = ("氏名", "名前", "担当", "宛", "差出人", "作成者", "署名", "申請者", "契約者")

    def __init__(self) -> None:
        self.lists = NameLists()
        super().__init__(
            supported_entities=["PERSON"],
            name="JaPersonRecognizer",
            supported_language="ja",
            context=list(self.CONTEXT),
        )

    def load(self) -> None:
        self.lists = load_name_lists()

    def triggered(self, view: str) -> bool:
        # Names come from tokens; the stage decides from the tokens (see `has_name_evidence`).
        return True

    def has_name_evidence(self, view: str, tokens: Sequence[Token]) -> bool:
        """Cheap test: an honorific or name label in the text, or any person-name tag.

        A token table that can answer "any POS containing X?" without building its Tokens
        (`pos_contains`) is asked that; otherwise the tokens are scanned.
        """
        # Every test is pure and the answer is their "or", so the cheapest goes first: a token
        # table's one substring search beats the six scans of the text.
        pos_contains = getattr(tokens, "pos_contains", None)
        if pos_contains is not None and pos_contains("人名"):
            return True
        if _EVIDENCE.search(view) is not None or has_label(view) or has_mailbox(view) \
                or has_name_line(view) or has_speaker(view, self.lists) or has_person_bracket(view):
            return True
        if pos_contains is not None:
            return False
        return any(tok.pos.startswith(_PERSON_POS) for tok in tokens)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        tokens = getattr(nlp_artifacts, "kura_tokens", None)
        if "PERSON" not in entities:
            return []
        return [
            self._result(start, end, score)
            for start, end, score in self.name_spans(text, tokens)
        ]

    def _kind(self, text: str, cols: Columns, k: int) -> str | None:
        """"sei"/"mei" for tagged names, "sei?"/"mei?" for list matches, None otherwise."""
        pos = cols[2][k]
        if pos.startswith(_SURNAME_POS):
            return "sei"
        if pos.startswith(_GIVEN_POS):
            return "mei"
        if pos.startswith(_PERSON_POS):
            return "mei?"
        if not pos.startswith("名詞"):
            return None
        surface = text[cols[0][k] : cols[1][k]]
        if surface in self.lists.surnames:
            return "sei?"
        if len(surface) >= 2 and surface in self.lists.given_names and \
                surface not in ORGANISATION_WORDS:  # 通信 is a given name too, rarely
            return "mei?"
        return None

    def name_spans(self, text: str, tokens: Sequence[Token] | None) -> list[tuple[int, int, float]]:
        """(start, end, score) of each name and of the kana reading bracketed after it;
        honorifics stay outside the spans. Token rules and character rules, merged."""
        cols, after_space = name_columns(tokens or ())
        token_spans, tagged, tagged_starts = self._token_spans(text, cols, after_space)
        spans = merge_spans([*token_spans, *_titled_foreign_spans(text, cols, tagged),
                             *context_name_spans(text, self.lists, tagged_starts),
                             *foreign_name_spans(text, tagged_starts, self.lists, cols[0])])
        readings = reading_spans(text, spans, self.lists)
        return merge_spans([*spans, *readings]) if readings else spans

    def _token_spans(self, text: str, cols: Columns, after_space: frozenset[int] = frozenset()
                     ) -> tuple[list[tuple[int, int, float]], list[int], list[int]]:
        """Names from UniDic's tags and the name lists, anchored on evidence; the indices of
        the tokens tagged as person names, and their sorted start offsets (the character
        rules' evidence).

        Only tokens near evidence are examined (a person-name tag, an honorific or title after,
        a label such as 担当 before), found with C-level scans: walking every token of a long
        document in Python would cost more than tokenizing it. Tokens are read as columns
        (`token_columns`): building a Token per index cost more than the rules themselves.
        `after_space`: the tokens a U+3000 space token came before (`name_columns`).
        """
        starts, ends, poss = cols
        n = len(starts)
        if not n:
            return [], [], []
        tagged = _indices_starting(poss, _PERSON_POS)
        tagged_starts = [int(starts[k]) for k in tagged]
        anchors = set(tagged)
        for match in _HONOUR_AFTER.finditer(text):
            k = bisect_left(starts, match.start())
            if 0 < k < n and starts[k] == match.start():
                anchors.add(k - 1)
        for match in _LABEL_BEFORE.finditer(text):
            k = bisect_left(starts, match.end())
            if k < n:
                anchors.add(k)
        # A given name after a U+3000 space, in a list of people or after a label, that UniDic
        # tagged as a place (蔵元　千早 in 出席者：…): `_surname_before_wide_space` decides.
        anchors.update(k for k in after_space
                       if k not in anchors and self._surname_before_wide_space(text, cols, k))
        spans: list[tuple[int, int, float]] = []
        covered = 0
        kind = self._kind
        for anchor in sorted(anchors):
            if anchor < covered:
                continue
            i = anchor
            # Back up over untagged parts (岡田 tagged as a place, before a tagged given name).
            while (
                i > covered
                and anchor - i < _MAX_NAME_TOKENS - 1
                and text[ends[i - 1] : starts[i]] in ("", " ")
                and kind(text, cols, i - 1) is not None
            ):
                i -= 1
            first, wide_score = None, 0.0
            if i == anchor and i in after_space and i > covered:
                wide_score = self._surname_before_wide_space(text, cols, i)
                if wide_score:
                    i, first = i - 1, "sei?"
            run = self._run(text, cols, i, first)
            if run is None:
                continue
            j, kinds = run
            j = _astral_end(text, cols, j)
            head = _astral_head(text, cols, i, covered)
            score = max(self._score(text, cols, i, j, kinds, head), wide_score)
            if score > 0:
                start = starts[head] if head < i else \
                    self._lost_surname_start(text, cols, i, j, kinds, covered)
                end = ends[j - 1]
                title = _TITLE_AT_END.search(text, start, end)
                if title is not None and title.start() > start:
                    end = title.start()  # 川野部+長: UniDic glued the title to the surname
                spans.append((start, end, score))
            covered = j
        return spans, tagged, tagged_starts

    def _run(self, text: str, cols: Columns, i: int, first: str | None = None
             ) -> tuple[int, list[str]] | None:
        """The name starting at token i: (end index, kinds of its parts), or None. `first`:
        the kind of token i when the caller knows it better than its tag."""
        starts, ends, _ = cols
        n = len(starts)
        kind = first or self._kind(text, cols, i)
        if kind is None and i + 1 < n and text[starts[i + 1] : ends[i + 1]] in HONORIFICS:
            # One-kanji surnames (林, 森) are ordinary words unless an honorific follows.
            kind = "sei?" if text[starts[i] : ends[i]] in self.lists.short_surnames else None
        if kind is None:
            return None
        kinds = [kind]
        j = i + 1
        while j < n and len(kinds) < _MAX_NAME_TOKENS:
            if text[ends[j - 1] : starts[j]] not in ("", " "):
                break
            if ends[j - 1] == starts[j] and _astral_token(text, cols, j):
                j += 1  # 寅+𠮷+之助: the kanji MeCab could not read is part of the name
                continue
            nxt = self._kind(text, cols, j)
            if nxt is not None:
                kinds.append(nxt)
                j += 1
                continue
            if kinds[-1].startswith("mei") and len(kinds) >= 2:
                # The rest of a given name UniDic tagged only in part (拓+真).
                joined = text[starts[j - 1] : ends[j]]
                if len(joined) <= 4 and joined in self.lists.given_names:
                    j += 1
                    continue
                if self._given_name_tail(text, cols, j):
                    j += 1
                    break
            if kinds[-1].startswith("sei"):
                k = self._given_name_end(text, cols, j)
                if k > j:
                    kinds.append("mei?")
                    j = k
                    continue
            break
        return j, kinds

    def _surname_before_wide_space(self, text: str, cols: Columns, i: int) -> float:
        """The score of the name when the token before i, across a U+3000 space, is the
        surname of the given name at i (蔵元　千早さん), else 0. MeCab reads that space as a
        token, so the surname lost the given name that makes it one (蔵元 千早さん is tagged
        姓 + 名; 蔵元　千早さん 普通名詞 + 名). Taken only where a name is expected (an
        honorific, a title or a mail address after, a name label or a list of people before),
        and only two or three kanji that start a word and are no organisation, title or
        department."""
        starts, ends, poss = cols
        kind = self._kind(text, cols, i) if i > 0 else None
        if kind not in ("mei", "mei?") or not poss[i - 1].startswith(_SPACED_SURNAME_POS):
            return 0.0
        start, end = starts[i - 1], ends[i - 1]
        word = text[start:end]
        if not _MIN_SPACED_SURNAME_CHARS <= len(word) <= _MAX_SPACED_SURNAME_CHARS or \
                not all(map(_is_kanji, word)) or word[-1] in NOT_NAME_ENDINGS or \
                word in ORGANISATION_WORDS or word in TITLES or word in HONORIFICS or \
                word in NOT_PERSON_VALUES or word.endswith(TITLES_BEFORE):
            return 0.0
        if start > 0 and _is_name_char(text[start - 1]) and \
                not "\u3041" <= text[start - 1] <= "\u3096":
            return 0.0  # inside a longer word; after a particle (担当は) a word starts
        after = ends[i] + 1 if text[ends[i] : ends[i] + 1] in _TITLE_PREFIXES else ends[i]
        line_head = text[text.rfind("\n", 0, start) + 1 : start].rstrip(" \t")
        before = line_head.rstrip(":")
        if _HONOUR_AT.match(text, after) is None and not mailbox_at(text, ends[i]) and \
                not before.endswith(TITLES_BEFORE) and not before.endswith(NAME_LABELS) and \
                not (line_head.endswith((":", "、", ",", "/"))
                     and next(labels_before_colons(line_head, _LIST_LABELS), None) is not None):
            return 0.0
        return 0.85 if kind == "mei" else 0.75

    @staticmethod
    def _given_name_tail(text: str, cols: Columns, j: int) -> bool:
        """Whether token j is the last kanji of a given name UniDic tagged in part (橋本巧+馬):
        one kanji, no space before it, a short given name with it, and nothing after it that
        could continue a word (the end, a space, a bracket, punctuation)."""
        starts, ends, _ = cols
        start, end = starts[j], ends[j]
        surface = text[start:end]
        if len(surface) != 1 or not _is_kanji(surface) or surface in _NOT_NAME_TAILS:
            return False
        if ends[j - 1] != start or end - starts[j - 1] > _MAX_TAIL_GIVEN_CHARS:
            return False
        return end == len(text) or not _is_name_char(text[end])

    def _lost_surname_start(self, text: str, cols: Columns, i: int, j: int,
                            kinds: list[str], covered: int) -> int:
        """Where a name really starts when MeCab broke an unlisted surname into one-kanji
        pieces and tagged the given name as a whole name (古+高+和+禎 -> 和禎): the pieces
        before it, when they start a line or follow punctuation, so no surname is left
        behind next to a scrubbed given name."""
        starts, ends, _ = cols
        start = starts[i]
        name = text[start : ends[j - 1]]
        if len(name) > 3 or not all(map(_is_kanji, name)) or \
                not ({"sei", "mei"} <= {k.rstrip("?") for k in kinds}):
            return start
        k = i
        while k > covered and i - k < _MAX_LOST_SURNAME_CHARS:
            piece = text[starts[k - 1] : ends[k - 1]]
            if ends[k - 1] != starts[k] or len(piece) != 1 or not _is_kanji(piece) \
                    or piece in NOT_NAME_ENDINGS:
                break
            k -= 1
        if k == i:
            return start
        before = starts[k]
        if before > 0 and _is_name_char(text[before - 1]):
            return start
        return before

    def _given_name_end(self, text: str, cols: Columns, j: int) -> int:
        """End (exclusive) of an untagged given name starting at token j, else j.

        UniDic splits rare given names (七+夏, 零): take the longest 1-3 tokens the name list
        knows, or a one- or two-kanji noun that an honorific follows.
        """
        starts, ends, poss = cols
        n = len(starts)
        for k in range(min(j + 3, n), j, -1):
            surface = text[starts[j] : ends[k - 1]]
            if len(surface) <= 4 and surface in self.lists.given_names and \
                    surface not in ORGANISATION_WORDS:
                return k
        surface = text[starts[j] : ends[j]]
        if (
            len(surface) <= 2
            and all("\u4e00" <= ch <= "\u9fff" or _is_astral_kanji(ch) for ch in surface)
            and poss[j].startswith("名詞")
            and surface not in TITLES
            and surface not in HONORIFICS
            and surface not in ORGANISATION_WORDS
            and j + 1 < n
            and text[starts[j + 1] : ends[j + 1]] in HONORIFICS
        ):
            return j + 1
        return j

    def _score(self, text: str, cols: Columns, i: int, j: int, kinds: list[str],
               head: int | None = None) -> float:
        """How sure the name of tokens i..j-1 is; `head`: the token it starts at when astral
        kanji before token i belong to it (`_astral_head`)."""
        starts, ends, poss = cols
        after = text[starts[j] : ends[j]] if j < len(starts) else ""
        start, end = starts[i if head is None else head], ends[j - 1]
        name = text[start:end]
        before = text[max(0, start - 12) : start].rstrip(" :：\u3000\t")
        honoured_after = after in HONORIFICS or after in TITLES or (
            after in _TITLE_PREFIXES and _TITLE_AT.match(text, ends[j]) is not None)
        if honoured_after and text[end : starts[j]] and _all_hiragana(name):
            honoured_after = False  # "たく さん": a word split by a stray space
        honoured = honoured_after or before.endswith(TITLES_BEFORE)
        if not honoured and (
            after in ORGANISATION_WORDS
            or text.endswith(COMPANY_FORMS, 0, start)
            or _COMPANY_AFTER.match(text, end)
            or text[start - 1 : start] in _PLACE_UNITS  # 浜松市西区寺沢: a town, not a person
            or _BLOCK_AFTER.match(text, end)  # 上宇野令12番地: the town before a block number
        ):
            return 0.0
        tagged = {k for k in kinds if not k.endswith("?")}
        has_sei = any(k.startswith("sei") for k in kinds)
        has_mei = any(k.startswith("mei") for k in kinds)
        if honoured and (tagged or len(kinds) >= 2 or has_sei):
            return 0.85
        first = text[start : ends[i]]
        if has_sei and has_mei and tagged:
            # "調 整": two one-kanji words UniDic tagged as a name, split by a stray space.
            stray = len(first) == 1 and first not in self.lists.short_surnames and " " in name
            return 0.4 if stray else 0.85
        if len(kinds) == 1 and poss[i].startswith(_WHOLE_NAME_POS):
            return self._whole_name_score(name, honoured_after)
        if len(kinds) == 1:
            # Alone, without an honorific: a listed surname of two characters or more (佐藤です)
            # passes; UniDic's surname tag on words like 黄, 金, 小文字, 真中 does not.
            if not tagged or len(first) == 1 or _all_hiragana(first):
                return 0.0
            return 0.55 if kinds == ["sei"] and first in self.lists.surnames else 0.4
        if "sei" in tagged:
            return 0.55
        if tagged:
            return 0.4
        return 0.0

    @staticmethod
    def _whole_name_score(name: str, honoured_after: bool) -> float:
        """One token UniDic knows as a whole person's name. Its katakana entries are also
        words of technical text (アン, コール, リスト), so they need an honorific or a title
        after them (ロバーツ判事, ウィルソン氏); a kanji entry of two or more characters is a
        name alone (朝青龍が, 琴欧州は): ordinary kanji words are not listed as people."""
        if honoured_after:  # Latin words are tagged too (Aivazian 氏): this recognizer reads kana
            return 0.85 if all(map(_is_kanji, name)) or (
                len(name) >= _MIN_FOREIGN_CHARS and all(map(_is_katakana, name))) else 0.0
        return 0.6 if len(name) >= 2 and all(map(_is_kanji, name)) else 0.0

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type="PERSON",
            start=start,
            end=end,
            score=score,
            analysis_explanation=AnalysisExplanation(
                recognizer=self.name, original_score=score,
                textual_explanation="UniDic person-name tags, name lists and honorifics",
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )

"""JP_ADDRESS: prefecture, municipality, town, chome/banchi/go block, optional building.

A full address needs a block number (丁目/番地/号 or 1-2-3): a bare "東京都千代田区" is a place,
not a person's address. Without a prefecture (宇都宮市江野町5-12-14, 港区六本木6-10-1) a
municipality, town and block still count, lower, and are raised to a full score when they name
a real place: UniDic tags a proper noun in the municipality or town (宇都宮, 六本木), or the block
is written out as 丁目 and 番 or as 番地 and a number, which nothing but an address does.
"""

from __future__ import annotations

import re
from bisect import bisect_left

import regex
from presidio_analyzer import RecognizerResult

from transforms.recognizers.base import JA_CHARS, NUM_END, JaPatternRecognizer
from transforms.recognizers.prefectures import PREFECTURE_RE

_KANJI_NUM = "一二三四五六七八九十"
_MUNICIPALITY = rf"(?:[{JA_CHARS}]{{1,8}}?[市区町村郡]){{1,3}}"
# Town names may hold Latin letters and a middle dot (丸の内JPタワー, ＡＢＣ通り: full-width
# letters are ASCII on the PII view).
_TOWN = rf"[{JA_CHARS}A-Za-z・]{{0,20}}?"
_KANJI = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々ヶ"
# Place names also use a katakana ケ (袖ケ浦, 駒ケ谷); towns hiragana (丸の内, 松が谷, 二つ室)
# and ノ or ツ (虎ノ門, 一ツ橋). A town still starts with a kanji, so a leading "住所は" is
# never swallowed.
_PLACE = _KANJI + "ケ"
_SEGMENT = rf"[{_KANJI}][{_PLACE}]{{0,5}}?[市区町村郡]"
# Municipalities spelt in kana (いすみ市, あきる野市, 南さつま市, 虻田郡ニセコ町): after another
# municipality, or first where nothing but a separator precedes them (else "住所はいすみ市"
# would start at は). The first kind is found from its 市/町/村 back (`_kana_first`): a
# pattern free to start at any kana scanned four times slower than all the others together.
_KANA_SEGMENT = (
    rf"(?:[\u3041-\u3096]{{2,5}}[{_KANJI}]?|[{_KANJI}][\u3041-\u3096]{{2,4}}"
    r"|[\u30a1-\u30fa\u30fc]{2,5})[市町村]"
)
_KANJI_MUNICIPALITY = rf"{_SEGMENT}(?:{_SEGMENT}|{_KANA_SEGMENT}){{0,2}}"
_KANA_MUNICIPALITY = rf"{_KANA_SEGMENT}(?:{_SEGMENT}|{_KANA_SEGMENT}){{0,2}}"
_KANA_SEGMENT_CHARS = 6  # the longest kana segment before its 市/町/村
_UNIT = re.compile("[市町村]")
_SEPARATORS = frozenset(":,、。「（(〒-0123456789")
_KANJI_TOWN = (
    rf"(?:[{_KANJI}][{_PLACE}\u3041-\u3096ノツ]{{0,9}}?"
    r"(?:[A-Za-z]{1,4}[\u30a1-\u30fa\u30fc]{1,8})?)?"
)
_BLOCK = (
    rf"(?:\d{{1,4}}|[{_KANJI_NUM}]{{1,3}})"
    r"(?:丁目 ?(?:\d{1,4}(?:番地?|-)? ?(?:\d{1,4}号?)?)?"
    r"|番地?(?:の?\d{1,4}号?)?"
    r"|-\d{1,4}(?:-\d{1,4})?)"
)
_BUILDING_WORDS = (
    "ビル|マンション|ハイツ|コーポ|シティ|タワー|パレス|荘|レジデンス|ハウス|アパート|プラザ"
    "|ヒルズ|コート|館|メゾン|ガーデン|テラス|ハイム|レジデンス|センター"
)
# A building is a name ending in a room/floor number, or a name ending in a building word.
_ROOM = r"[A-Z]?\d{1,4}(?:階|号室|号|F)?"
_BUILDING = (
    rf"(?: ?[{JA_CHARS}A-Za-z・&]{{1,20}}?{_ROOM}"
    rf"| ?[{JA_CHARS}A-Za-z・&]{{0,15}}?(?:{_BUILDING_WORDS})(?: ?{_ROOM})?)?"
)
_MUNICIPAL_SCORE = 0.45
# As high as a full address: where a name overlaps it (上宇野令), the longer span wins.
_NAMED_PLACE_SCORE = 0.85
# Where the block starts inside a match: the first digit, or a kanji numeral before 丁目.
_BLOCK_START = re.compile(rf"\d|[{_KANJI_NUM}]{{1,3}}丁目")
# Blocks that only addresses are written in: 3丁目4番, 12番地5.
_WRITTEN_OUT_BLOCK = re.compile(r"丁目 ?\d{1,4}番|番地 ?の?\d")
_PROPER_NOUN_POS = "名詞,固有名詞"


class JaAddressRecognizer(JaPatternRecognizer):
    ENTITY = "JP_ADDRESS"
    PATTERNS = (
        ("address_full", PREFECTURE_RE + _MUNICIPALITY + _TOWN + _BLOCK + _BUILDING + NUM_END,
         0.85),
        # Kanji only before the block, so a leading "住所は" is not swallowed into the span.
        ("address_municipal", _KANJI_MUNICIPALITY + _KANJI_TOWN + _BLOCK + _BUILDING + NUM_END,
         _MUNICIPAL_SCORE),
    )
    CONTEXT = ("住所", "所在", "送付", "自宅", "在住", "現住所", "届け")
    TRIGGER = r"[市区町村郡][^\n]{0,16}?(?:\d|[一二三四五六七八九十]丁目)"

    def __init__(self) -> None:
        super().__init__()
        self._kana_first = regex.compile(
            _KANA_MUNICIPALITY + _KANJI_TOWN + _BLOCK + _BUILDING + NUM_END, self.FLAGS
        )

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        results.extend(self._kana_first_results(text, results))
        for result in results:
            if result.score <= _MUNICIPAL_SCORE and self._names_a_place(
                    text, result.start, result.end, nlp_artifacts):
                result.score = _NAMED_PLACE_SCORE
                if result.analysis_explanation is not None:
                    result.analysis_explanation.set_improved_score(_NAMED_PLACE_SCORE)
        return results

    def _kana_first_results(self, text: str,
                            found: list[RecognizerResult]) -> list[RecognizerResult]:
        """Addresses whose first municipality is spelt in kana, after a separator; a match of
        the kanji pattern inside one (野市東和町2-30 in あきる野市…) is widened to it."""
        results: list[RecognizerResult] = []
        taken = [(r.start, r.end) for r in found]
        for unit in _UNIT.finditer(text):
            u = unit.start()
            for start in range(max(0, u - _KANA_SEGMENT_CHARS), u - 1):
                if start > 0 and not (text[start - 1].isspace()
                                      or text[start - 1] in _SEPARATORS):
                    continue
                match = self._kana_first.match(text, start)
                if match is None:
                    continue
                inside = [r for r in found if start < r.end and r.start < match.end()]
                if inside:
                    for result in inside:
                        result.start, result.end = min(result.start, start), max(result.end,
                                                                                 match.end())
                    break
                if any(s < match.end() and start < e for s, e in taken):
                    break
                results.append(RecognizerResult(
                    entity_type=self.ENTITY, start=start, end=match.end(),
                    score=_MUNICIPAL_SCORE,
                    analysis_explanation=self.build_regex_explanation(
                        self.name, "address_kana_municipal", self._kana_first.pattern,
                        _MUNICIPAL_SCORE, None, self.FLAGS),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                ))
                taken.append((start, match.end()))
                break
        return results

    @staticmethod
    def _names_a_place(text: str, start: int, end: int, nlp_artifacts) -> bool:
        """Whether a municipality-first match names a real place, not 地区1-2 or 第3区2-1."""
        block = _BLOCK_START.search(text, start, end)
        if block is None:
            return False
        if _WRITTEN_OUT_BLOCK.search(text, block.start(), end):
            return True
        tokens = getattr(nlp_artifacts, "kura_tokens", None)
        if not tokens:
            return False
        starts = nlp_artifacts.token_starts
        first = max(bisect_left(starts, start + 1) - 1, 0)  # the token holding `start`
        for k in range(first, bisect_left(starts, block.start())):
            if tokens[k].pos.startswith(_PROPER_NOUN_POS):
                return True
        return False

"""JP_ADDRESS: prefecture, municipality, town, chome/banchi/go block, optional building.

A full address needs a block number (丁目/番地/号 or 1-2-3): a bare "東京都千代田区" is a place,
not a person's address. Without a prefecture, a municipality plus block still counts, lower.
"""

from __future__ import annotations

from transforms.recognizers.base import JA_CHARS, NUM_END, JaPatternRecognizer
from transforms.recognizers.prefectures import PREFECTURE_RE

_KANJI_NUM = "一二三四五六七八九十"
_MUNICIPALITY = rf"(?:[{JA_CHARS}]{{1,8}}?[市区町村郡]){{1,3}}"
# Town names may hold Latin letters and a middle dot (丸の内JPタワー, ＡＢＣ通り: full-width
# letters are ASCII on the PII view).
_TOWN = rf"[{JA_CHARS}A-Za-z・]{{0,20}}?"
_KANJI = r"\u3400-\u4dbf\u4e00-\u9fff々ヶ"
_KANJI_MUNICIPALITY = rf"(?:[{_KANJI}]{{1,6}}?[市区町村郡]){{1,3}}"
_KANJI_TOWN = rf"[{_KANJI}]{{0,8}}?"
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


class JaAddressRecognizer(JaPatternRecognizer):
    ENTITY = "JP_ADDRESS"
    PATTERNS = (
        ("address_full", PREFECTURE_RE + _MUNICIPALITY + _TOWN + _BLOCK + _BUILDING + NUM_END,
         0.85),
        # Kanji only before the block, so a leading "住所は" is not swallowed into the span.
        ("address_municipal", _KANJI_MUNICIPALITY + _KANJI_TOWN + _BLOCK + _BUILDING + NUM_END,
         0.45),
    )
    CONTEXT = ("住所", "所在", "送付", "自宅", "在住", "現住所", "届け")
    TRIGGER = r"[市区町村郡][^\n]{0,16}?(?:\d|[一二三四五六七八九十]丁目)"

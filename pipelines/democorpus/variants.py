"""Near-duplicate variants of a document: a few words edited, a greeting changed, widths changed.

Every variant carries at least one content edit, because a width change alone disappears in
Kura's stored-text normalization and would make an exact duplicate, not a near one. Edits never
touch personal values (they rewrite function words only), and width changes are applied to the
planted values too, so the variant's planted list stays exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pipelines.democorpus.compose import Draft
from pipelines.democorpus.emails import GREETINGS

# Rewordings a second author or a later revision typically makes (a few characters each).
_REWORDINGS: tuple[tuple[str, str], ...] = (
    ("いたします", "します"),
    ("ください", "くださいませ"),
    ("ございます", "あります"),
    ("とのことでした", "とのことです"),
    ("になりました", "となりました"),
    ("してください", "してくださいね"),
    ("確認", "確かめ"),
    ("ので、", "ため、"),
    ("場合は", "ときは"),
    ("予定です", "予定としています"),
    ("することになった", "することとした"),
    ("お願いいたします", "お願い申し上げます"),
    ("ありがとうございます", "ありがとうございました"),
    ("について", "に関して"),
    ("できます", "可能です"),
)

_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_HALFWIDTH_KATAKANA = dict(zip(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
    "ァィゥェォッャュョー",
    "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｯｬｭｮｰ",
    strict=True,
))
_VOICED = {"ガ": "ｶﾞ", "ギ": "ｷﾞ", "グ": "ｸﾞ", "ゲ": "ｹﾞ", "ゴ": "ｺﾞ", "ザ": "ｻﾞ", "ジ": "ｼﾞ",
           "ズ": "ｽﾞ", "ゼ": "ｾﾞ", "ゾ": "ｿﾞ", "ダ": "ﾀﾞ", "デ": "ﾃﾞ", "ド": "ﾄﾞ", "バ": "ﾊﾞ",
           "ビ": "ﾋﾞ", "ブ": "ﾌﾞ", "ベ": "ﾍﾞ", "ボ": "ﾎﾞ", "パ": "ﾊﾟ", "ピ": "ﾋﾟ", "プ": "ﾌﾟ",
           "ペ": "ﾍﾟ", "ポ": "ﾎﾟ"}
_TO_HALFWIDTH_KATAKANA = str.maketrans({**_HALFWIDTH_KATAKANA, **_VOICED})


def fullwidth_digits(text: str) -> str:
    return text.translate(_FULLWIDTH_DIGITS)


def halfwidth_katakana(text: str) -> str:
    return text.translate(_TO_HALFWIDTH_KATAKANA)


def _reword(text: str, rng: random.Random, edits: int) -> str:
    candidates = [pair for pair in _REWORDINGS if pair[0] in text]
    for old, new in rng.sample(candidates, min(edits, len(candidates))):
        # Edit one occurrence only (the k-th), so the variant stays close to its original.
        starts = [i for i in range(len(text)) if text.startswith(old, i)]
        if not starts:  # an earlier, overlapping rewording took it
            continue
        at = starts[rng.randrange(len(starts))]
        text = text[:at] + new + text[at + len(old):]
    return text


def _swap_greeting(text: str, rng: random.Random) -> str:
    """Swap one "お世話になっております" greeting for a sibling (a few characters apart)."""
    family = [g for g in GREETINGS if "お世話になっております" in g]
    for greeting in sorted(family, key=len, reverse=True):  # the longest that is there
        if greeting in text:
            return text.replace(greeting, rng.choice([g for g in family if g != greeting]), 1)
    return text


def near_duplicate(draft: Draft, rng: random.Random) -> Draft:
    """A variant of `draft` that a near-dedup at usual thresholds groups with it."""
    if draft.kind == "email":  # short texts: a greeting and at most one rewording
        text = _reword(_swap_greeting(draft.text, rng), rng, edits=rng.randint(0, 1))
    else:
        text = _reword(draft.text, rng, edits=rng.randint(1, 3))
    if text == draft.text:  # nothing to reword: append a short, realistic revision note
        text = draft.text + "\n（一部修正）"
    widen: Callable[[str], str] | None = None
    roll = rng.random()
    if roll < 0.25:
        widen = fullwidth_digits
    elif roll < 0.4:
        widen = halfwidth_katakana
    pii = draft.pii
    if widen is not None:
        text = widen(text)
        pii = tuple((kind, widen(value)) for kind, value in pii)
    kept = tuple(item for item in pii if item[1] in text)
    return Draft(draft.kind, draft.title, text, kept)

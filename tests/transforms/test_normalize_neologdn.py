"""neologdn as a test-only reference: where Kura's stored text differs from it, and why.

Every class of difference `classify_differences` finds on the man-page corpus must be named in
transforms/normalize.py's module docstring, which explains why Kura differs.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from transforms import normalize
from transforms.normalize import stored_text

neologdn = pytest.importorskip("neologdn")
log = logging.getLogger(__name__)

TILDES = set("~〜～∼")
DASHES = set("—―‒–‐‑−֊﹣－")
BOX_DRAWING = set("─━")
CURLY_QUOTES = set("‘’“”")
INVISIBLE = {"\u200b", "\u200e", "\u200f", "\ufeff", "\u2060"}


def _is_ascii(ch: str) -> bool:
    return ch.isascii()


def _space_class(line: str, start: int, end: int, kept: int) -> str:
    """Class of a run of spaces line[start:end] of which neologdn kept `kept`."""
    before = line[start - 1] if start > 0 else ""
    after = line[end] if end < len(line) else ""
    if not before or not after:
        return "space_stripped_at_line_edge"
    if kept:
        return "space_run_collapsed"
    if before == "*":  # neologdn reads * as a symbol it glues to the next word: `/* x` -> `/*x`
        return "space_after_asterisk_removed"
    if _is_ascii(before) and _is_ascii(after):
        return "space_between_latin_removed"
    if _is_ascii(before) or _is_ascii(after):
        return "space_between_japanese_and_latin_removed"
    return "space_between_non_latin_removed"


def _space_only_classes(ours: str, theirs: str) -> Iterable[str]:
    """theirs is ours minus some spaces: walk both and classify each run of spaces."""
    i = j = 0
    while i < len(ours):
        if ours[i] != " ":
            i += 1
            j += 1
            continue
        start = i
        while i < len(ours) and ours[i] == " ":
            i += 1
        kept = 0
        while j < len(theirs) and theirs[j] == " ":
            j += 1
            kept += 1
        if kept < i - start:
            yield _space_class(ours, start, i, kept)


def _char_class(ours: str, theirs: str) -> str:
    """Class of one character Kura kept (`ours`) that neologdn replaced by `theirs`."""
    if ours in CURLY_QUOTES and theirs in "`'\"":
        return "curly_quote_to_ascii"
    if ours in DASHES and theirs == "-":
        return "dash_to_ascii_hyphen"
    if ours == "¥" and theirs == "\\":
        return "yen_to_backslash"
    if 0xFF01 <= ord(ours) <= 0xFF5E and theirs == chr(ord(ours) - 0xFEE0):
        return "fullwidth_punctuation_to_ascii"
    if unicodedata.normalize("NFC", theirs) == ours:
        return "nfc_singleton_kept_by_neologdn"  # Greek oxia U+1F71 -> tonos U+03AC
    if unicodedata.normalize("NFKC", ours) == theirs:
        return "other_compatibility_fold"
    return "unclassified"


def _span_classes(ours: str, theirs: str) -> list[str]:
    """Classes of one differing span (spaces already removed from both sides)."""
    if not theirs:
        if set(ours) <= TILDES:
            return ["tilde_deleted"]
        if set(ours) <= DASHES:
            return ["dash_deleted"]
        return ["unclassified"]
    if not ours:
        return ["invisible_kept_by_neologdn" if set(theirs) <= INVISIBLE else "unclassified"]
    if set(theirs) == {"ー"} and set(ours) <= BOX_DRAWING:
        return ["box_drawing_to_long_vowel"]
    if set(theirs) == {"ー"} and set(ours) <= DASHES | BOX_DRAWING:
        return ["dash_to_long_vowel"]
    if len(ours) == len(theirs):
        return [_char_class(a, b) for a, b in zip(ours, theirs, strict=True)]
    # A quote or dash next to a tilde that neologdn dropped: split off the tildes.
    if set(ours) & TILDES:
        rest = "".join(ch for ch in ours if ch not in TILDES)
        return ["tilde_deleted", *_span_classes(rest, theirs)]
    return ["unclassified"]


def _line_classes(ours: str, theirs: str) -> list[str]:
    ours_bare, theirs_bare = ours.replace(" ", ""), theirs.replace(" ", "")
    if ours_bare == theirs_bare:
        return list(_space_only_classes(ours, theirs))
    # Spaces and other changes mixed: classify the non-space changes on space-free text (so
    # deleted spaces cannot misalign the diff) and count the line's deleted spaces apart.
    classes = []
    matcher = SequenceMatcher(None, ours_bare, theirs_bare, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            classes += _span_classes(ours_bare[i1:i2], theirs_bare[j1:j2])
    if ours.count(" ") > theirs.count(" "):
        classes.append("space_removed_in_changed_line")
    return classes


def classify_differences(raw_texts: Iterable[str]) -> Counter[str]:
    """Count, by class, the spans where Kura's stored text and neologdn's output differ."""
    counts: Counter[str] = Counter()
    for raw in raw_texts:
        ours, theirs = stored_text(raw), neologdn.normalize(raw)
        if ours == theirs:
            counts["identical_documents"] += 1
            continue
        ours_lines, theirs_lines = ours.split("\n"), theirs.split("\n")
        if len(ours_lines) != len(theirs_lines):
            counts["unclassified_line_count_changed"] += 1
            continue
        for ours_line, theirs_line in zip(ours_lines, theirs_lines, strict=True):
            if ours_line != theirs_line:
                counts.update(_line_classes(ours_line, theirs_line))
    return counts


# --- the design's examples, no corpus needed --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "neologdn_output", "kura_stored"),
    [
        ("10時〜12時", "10時12時", "10時〜12時"),
        ("¥100", "\\100", "¥100"),
        ("０３－１２３４", "03ー1234", "03－1234"),
        ("──", "ー", "──"),
        ("ファイル file", "ファイルfile", "ファイル file"),
        ("ｶﾞｲﾄﾞ", "ガイド", "ガイド"),
    ],
)
def test_kura_keeps_what_neologdn_destroys(raw: str, neologdn_output: str, kura_stored: str):
    assert neologdn.normalize(raw) == neologdn_output
    assert stored_text(raw) == kura_stored


def test_classifier_names_the_known_classes() -> None:
    counts = classify_differences(
        ["10時〜12時", "ファイル file を", "a  b", "“x”", "a–b", "├──┤", "（注）", "a\u200eb",
         "/* x", "\u1f71", "ok"]
    )
    assert counts == Counter(
        {
            "tilde_deleted": 1,
            "space_between_japanese_and_latin_removed": 2,
            "space_run_collapsed": 1,
            "curly_quote_to_ascii": 2,
            "dash_to_ascii_hyphen": 1,
            "box_drawing_to_long_vowel": 1,
            "fullwidth_punctuation_to_ascii": 2,
            "invisible_kept_by_neologdn": 1,
            "space_after_asterisk_removed": 1,
            "nfc_singleton_kept_by_neologdn": 1,
            "identical_documents": 1,
        }
    )


# --- the man-page corpus ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.shared
def test_every_difference_from_neologdn_on_man_pages_is_documented(manpages_path: Path):
    with manpages_path.open(encoding="utf-8") as lines:
        raw_texts = [json.loads(line)["text"] for line in lines]
    counts = classify_differences(raw_texts)
    for name, count in counts.most_common():
        log.warning("neologdn difference %-45s %8d", name, count)

    unclassified = sum(n for name, n in counts.items() if name.startswith("unclassified"))
    assert unclassified <= 5, counts
    documented = normalize.__doc__ or ""
    missing = [name for name in counts if not name.startswith("unclassified")
               and name != "identical_documents" and f"`{name}`" not in documented]
    assert not missing, f"document these classes in transforms/normalize.py: {missing}"
    # The design's promises, on real text: no tilde deleted, no yen turned into a backslash.
    stored = [stored_text(raw) for raw in raw_texts]
    for chars in ("~〜～", "¥"):
        assert sum(map(sum_of(chars), stored)) == sum(map(sum_of(chars), raw_texts))


def sum_of(chars: str):
    return lambda text: sum(text.count(ch) for ch in chars)

"""Three normalization views of a document's text, each an ordered list of named rules.

- `stored_text(text)`: what the shard keeps. Meaning-preserving: a reader should not notice it.
- `matching_key(stored)`: a fold for dedup and filters only, never written to a shard.
- `pii_view(stored)`: a one-for-one fold of the stored text (same length), so a span found on it
  applies to the stored text unchanged.

Each view is a tuple of `Rule`s (`STORED_TEXT_RULES`, `MATCHING_KEY_RULES`, `PII_VIEW_RULES`)
applied in order; every rule is idempotent and the order is chosen so that the whole view is too
(a later rule never produces what an earlier one would change). Every rule has a fast path (a
precompiled character-class search or a quick-check) so clean text costs a few scans, not a
per-character Python loop.

Decisions worth knowing:
- Lone surrogates (JSON `\\ud800` escapes) are removed; a high+low pair written as two escapes is
  joined into the character it encodes. U+FFFD would put a visible "?" box where the source had
  an unrenderable half of an emoji; removal matches how other invisible debris is treated. The
  stored text of any str therefore encodes to UTF-8.
- U+000B and U+000C (vertical tab, form feed) become newlines rather than being deleted: they
  separate lines (`str.splitlines` agrees), and deleting them would glue two words together.
- U+200D (zero-width joiner) is kept between two emoji, where it builds one glyph (family,
  rainbow flag); elsewhere it is removed like the other zero-width characters. Variation
  selectors are kept: an ideographic variation sequence is part of a name.
- NFC is applied except to CJK compatibility ideographs (U+F900-U+FAFF, U+2F800-U+2FA1F): NFC
  maps them to their unified twins, which loses the glyph a name was written with. The matching
  key folds them (NFKC).
- Half-width voiced marks (ﾞ ﾟ) become the spacing marks ゛ ゜, then the dakuten rule merges a
  spacing or combining mark into the kana before it where a precomposed kana exists (か゛ -> が,
  ｶﾞ -> ガ, う゛ -> ゔ); after any other character the mark is left alone (あ゛ is deliberate).
- The matching key treats every whitespace character alike: a run between two Japanese
  characters is dropped, any other run becomes one space, and the ends are stripped. Rules that
  need lines (duplicate-line fractions) must read the stored text.

Differences from neologdn, the usual Japanese normalizer:
tests/transforms/test_normalize_neologdn.py runs `neologdn.normalize` and `stored_text` over
the 1,784 pages of manpages-ja (6.7 M characters) and classifies every differing span; the
counts below are from that run (only 2 pages come out identical). Each class, and why Kura differs:
- `space_between_japanese_and_latin_removed` (250,351) and `space_between_non_latin_removed`
  (59,811): neologdn deletes a space between two Japanese characters and between Japanese and
  ASCII (`ファイル file` -> `ファイルfile`, `、 元に` -> `、元に`, also `│ │` in tables). The
  space is the author's: deleting it glues an option name to its particle and breaks
  tables. The stored text keeps it; the matching key drops whitespace between two Japanese
  characters only (where it carries no meaning for dedup).
- `space_after_asterisk_removed` (3,224): neologdn glues `*` to the next word (`/* file` ->
  `/*file`, `char *arg` keeps, `* LC_*` -> `*LC_*`), corrupting C code and globs. Kept.
- `space_removed_in_changed_line` (1,177): spaces neologdn deleted in a line that also has one
  of the other differences (counted once per line); same reasons as above.
- `space_run_collapsed`, `space_stripped_at_line_edge` (0 here: the pages have no runs):
  neologdn collapses runs and strips line ends; the stored text keeps layout (indentation, code),
  the key collapses runs.
- `box_drawing_to_long_vowel` (4,950): neologdn turns `─` runs (table rules) into one `ー`. A
  box-drawing rule is not a long vowel: kept; the key makes it ー only right after kana.
- `curly_quote_to_ascii` (1,990): neologdn folds ‘ ’ “ ” to ` ' ". The quotes are the
  author's typography: kept in the stored text (NFKC leaves them in the key as well).
- `tilde_deleted` (554): neologdn deletes `~` and `〜` (`~/.bashrc` -> `/.bashrc`,
  `10時〜12時` -> `10時12時`): a tilde is a home directory, a range or an approximation. Kura
  never deletes one; the key unifies 〜 ～ ∼ to `~`.
- `fullwidth_punctuation_to_ascii` (240): （ ） ： ？ ！ ／ folded by neologdn. Kura keeps
  Japanese punctuation in the stored text (only letters and digits are folded: they are the
  same characters in a different width; punctuation width is typographic) and folds it in the
  key (NFKC) and the PII view.
- `dash_to_long_vowel` (175): neologdn turns — ― and － into ー (`０３－１２３４` ->
  `03ー1234`): a dash after a digit or Latin letter is a range, a minus or a separator,
  never a long vowel. Kept; the key maps the hyphen family to `-` and only after kana to ー.
- `dash_to_ascii_hyphen` (76) and `dash_deleted` (2): – − ‐ become `-` (or dropped next to a
  space) by neologdn. The stored text keeps the author's dash; the key and the PII view fold it.
- `yen_to_backslash` (8): neologdn maps `¥` to `\\` (a Shift_JIS habit): a yen sign is money.
  Kept in every view.
- `nfc_singleton_kept_by_neologdn` (17): Greek with oxia (U+1F71) that Unicode canonically
  maps to tonos (U+03AC); Kura applies NFC, neologdn does not. Invisible to a reader.
- `invisible_kept_by_neologdn` (2): bidi marks (U+200E, U+200F) and zero-width spaces that
  neologdn keeps; Kura removes them (they only make equal texts compare unequal).
One span (`unclassified`) is a diff alignment artifact (`‐-` aligned against `--`).
What both do alike: half-width katakana to full width, full-width letters and digits to ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from schemas.records import Document, Reject


@dataclass(frozen=True)
class Rule:
    """One named normalization rule: a str -> str function applied in its view's order.

    `triggers`, when given, is the body of a regex character class: the rule returns its input
    unchanged when none of those characters occurs in it (a test checks this). A view scans
    once for the union of the triggers of consecutive such rules and skips them all when it
    finds none: one scan instead of one per rule, which halves the cost on clean text.
    """

    name: str
    apply: Callable[[str], str]
    triggers: str = ""

    @property
    def description(self) -> str:
        doc = self.apply.__doc__ or ""
        return doc.strip().splitlines()[0] if doc.strip() else self.name


def _occurs(chars: str) -> Callable[[str], object]:
    """A test of whether a text holds any character of the class body `chars`, truthy if so.

    A few plain characters (no range, no escape) are looked for with `in`, a memchr-like search
    ~10x faster than the regex engine's scan for a small class: `re` compiles a class of one or
    two runs to range tests, not to its lookup table, and scanning for the 4 voiced marks cost
    1.8x the scan for the whole union of rules before them.
    """
    if len(chars) <= 4 and "-" not in chars and "\\" not in chars:
        return lambda text: any(char in text for char in chars)
    return re.compile(f"[{chars}]").search


def _view(rules: tuple[Rule, ...]) -> Callable[[str], str]:
    """The function applying `rules` in order, with consecutive triggered rules grouped."""
    stages: list[tuple[Callable[[str], object] | None, tuple[Callable[[str], str], ...]]] = []
    group: list[Rule] = []

    def close_group() -> None:
        if group:
            union = _occurs("".join(rule.triggers for rule in group))
            stages.append((union, tuple(rule.apply for rule in group)))
            group.clear()

    for rule in rules:
        if rule.triggers:
            group.append(rule)
        else:
            close_group()
            stages.append((None, (rule.apply,)))
    close_group()

    def apply(text: str) -> str:
        for triggers, functions in stages:
            if triggers is None or triggers(text):
                for function in functions:
                    text = function(text)
        return text

    return apply


# --- stored text -----------------------------------------------------------------------------

_SURROGATES = "\ud800-\udfff"
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _join_pair(match: re.Match[str]) -> str:
    high, low = (ord(ch) for ch in match.group())
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def remove_lone_surrogates(text: str) -> str:
    """Join high+low surrogate pairs into their character; remove lone surrogates."""
    if not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub("", _SURROGATE_PAIR.sub(_join_pair, text))


_LINE_BREAK_CHARS = "\r\u000b\u000c\u0085\u2028\u2029"
_OTHER_LINE_BREAKS = re.compile("[\u000b\u000c\u0085\u2028\u2029]")
_LINE_BREAKS = re.compile("\r\n?|[\u000b\u000c\u0085\u2028\u2029]")


def unify_newlines(text: str) -> str:
    """CRLF, CR, NEL, U+2028, U+2029, VT and FF become \\n."""
    if "\r" not in text and not _OTHER_LINE_BREAKS.search(text):
        return text
    return _LINE_BREAKS.sub("\n", text)


# C0 (but \t and \n), DEL, C1, soft hyphen, Arabic letter mark, Mongolian vowel separator,
# zero-width space and non-joiner, bidi marks/embeddings/isolates, word joiner, invisible math
# operators, BOM. Not variation selectors (names need them), not interlinear annotation anchors
# (they delimit ruby), not tag characters (subdivision flags).
_INVISIBLE_CHARS = (
    "\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
_EMOJI = "\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
_STRAY_ZWJ = re.compile(f"(?<![{_EMOJI}])\u200d|\u200d(?![{_EMOJI}])")


def remove_invisible(text: str) -> str:
    """Remove control, zero-width, BOM and bidi characters (a ZWJ between emoji stays)."""
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    if "\u200d" in text:
        text = _STRAY_ZWJ.sub("", text)
    return text


def _sparse_translation(table: dict[int, str]) -> Callable[[str], str]:
    """`text.translate(table)` that translates only the runs of characters the table maps.

    str.translate costs ~50 ns a character on non-ASCII text; a one-character regex scan costs
    ~3 (a `[...]+` pattern loses the engine's fast scan, so it only runs once one is found), and
    the characters these tables fold are rare.
    """
    chars = "".join(re.escape(chr(cp)) for cp in sorted(table))
    one, runs = re.compile(f"[{chars}]"), re.compile(f"[{chars}]+")

    def translate(text: str) -> str:
        if not one.search(text):
            return text
        return runs.sub(lambda match: match.group().translate(table), text)

    return translate


def _nfkc_table(first: int, last: int) -> dict[int, str]:
    return {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(first, last + 1)}


# U+FF61-U+FF9F: half-width CJK punctuation and katakana. The voiced marks become the spacing
# marks (NFKC would give combining ones, which would then sit on whatever precedes them).
_HALFWIDTH_KANA_CHARS = "\uff61-\uff9f"
_HALFWIDTH_KANA = _sparse_translation(
    _nfkc_table(0xFF61, 0xFF9F) | {0xFF9E: "\u309b", 0xFF9F: "\u309c"}
)


def halfwidth_katakana_to_fullwidth(text: str) -> str:
    """Half-width katakana and CJK punctuation (ｶﾀｶﾅ｡) to full width (カタカナ。)."""
    return _HALFWIDTH_KANA(text)


_FULLWIDTH_ALNUM_CHARS = "\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
_FULLWIDTH_ALNUM = _sparse_translation(
    _nfkc_table(0xFF10, 0xFF19) | _nfkc_table(0xFF21, 0xFF3A) | _nfkc_table(0xFF41, 0xFF5A)
)


def fullwidth_alnum_to_ascii(text: str) -> str:
    """Full-width ASCII letters and digits to ASCII (Ａ１ -> A1); punctuation stays."""
    return _FULLWIDTH_ALNUM(text)


_CJK_COMPATIBILITY = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")


def _normalize_lines(form: str, text: str) -> str:
    """unicodedata.normalize(form, text), re-normalizing only the lines that need it.

    A newline never composes, decomposes or reorders, so normalization splits at newlines; a
    document usually has a handful of unnormalized characters, and normalizing a line is
    ~15x dearer than quick-checking it.
    """
    if text.isascii() or unicodedata.is_normalized(form, text):
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.isascii() and not unicodedata.is_normalized(form, line):
            lines[i] = unicodedata.normalize(form, line)
    return "\n".join(lines)


def nfc(text: str) -> str:
    """Unicode NFC, except that CJK compatibility ideographs keep their code points."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    if not _CJK_COMPATIBILITY.search(text):
        return _normalize_lines("NFC", text)
    # A compatibility ideograph is a starter that composes with nothing, so normalizing the
    # pieces between them equals normalizing the whole, minus the ideographs' own mapping.
    pieces = _CJK_COMPATIBILITY.split(text)
    return "".join(
        piece if i % 2 else unicodedata.normalize("NFC", piece) for i, piece in enumerate(pieces)
    )


_VOICED_MARKS = "\u3099\u309a\u309b\u309c"
_TO_COMBINING = {"\u309b": "\u3099", "\u309c": "\u309a"}


def _voiced_kana_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for cp in [*range(0x3041, 0x3097), 0x309D, *range(0x30A1, 0x30FB), 0x30FD]:
        for mark in _VOICED_MARKS:
            composed = unicodedata.normalize("NFC", chr(cp) + _TO_COMBINING.get(mark, mark))
            if len(composed) == 1:
                table[chr(cp) + mark] = composed
    return table


_VOICED_KANA = _voiced_kana_table()
_KANA_AND_MARK = re.compile(
    "[" + "".join(sorted({pair[0] for pair in _VOICED_KANA})) + "][" + _VOICED_MARKS + "]"
)


def merge_dakuten(text: str) -> str:
    """A spacing or combining (han)dakuten after a kana merges into it (か゛ -> が, ハ゜ -> パ)."""
    if not any(mark in text for mark in _VOICED_MARKS):
        return text
    return _KANA_AND_MARK.sub(lambda m: _VOICED_KANA.get(m.group(), m.group()), text)


STORED_TEXT_RULES: tuple[Rule, ...] = (
    Rule("lone_surrogates", remove_lone_surrogates, _SURROGATES),
    Rule("newlines", unify_newlines, _LINE_BREAK_CHARS),
    Rule("invisible", remove_invisible, _INVISIBLE_CHARS + "\u200d"),
    Rule("halfwidth_katakana", halfwidth_katakana_to_fullwidth, _HALFWIDTH_KANA_CHARS),
    Rule("fullwidth_alnum", fullwidth_alnum_to_ascii, _FULLWIDTH_ALNUM_CHARS),
    # NFC after the width folds: Ｅ + U+0301 only composes once Ｅ is E.
    Rule("nfc", nfc),
    Rule("dakuten", merge_dakuten, _VOICED_MARKS),
)
_STORED_TEXT = _view(STORED_TEXT_RULES)


def stored_text(text: str) -> str:
    """The text a shard keeps: STORED_TEXT_RULES in order. Valid Unicode for any str."""
    return _STORED_TEXT(text)


# --- matching key ----------------------------------------------------------------------------

_SPACING_MARKS_TO_COMBINING = {0x309B: "\u3099", 0x309C: "\u309a"}


def nfkc(text: str) -> str:
    """NFKC, with spacing ゛ ゜ read as combining marks so か゛ folds to が."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    if "\u309b" in text or "\u309c" in text:
        text = text.translate(_SPACING_MARKS_TO_COMBINING)
    return _normalize_lines("NFKC", text)


def _replace_all(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    """`pattern.sub`, but a text with no match comes back as the same object, uncopied."""
    return pattern.sub(replacement, text) if pattern.search(text) else text


_IGNORABLE_CHARS = "\u180b-\u180d\u180f\u200c\u200d\ufe00-\ufe0f\U000e0100-\U000e01ef"
_IGNORABLE = re.compile(f"[{_IGNORABLE_CHARS}]")


def strip_variation_selectors(text: str) -> str:
    """Remove variation selectors (and joiners): 葛󠄀 and 葛 match."""
    return _replace_all(_IGNORABLE, "", text)


_TILDE_CHARS = "\u301c\uff5e\u223c\u223d\u2053\u3030\u02dc"
_TILDE = re.compile(f"[{_TILDE_CHARS}]")


def unify_tildes(text: str) -> str:
    """Wave dash, full-width tilde, tilde operator and swung dash all become ~."""
    return _replace_all(_TILDE, "~", text)


_HYPHEN_LIKE = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_HYPHEN = re.compile(f"[{_HYPHEN_LIKE}]")


def unify_hyphens(text: str) -> str:
    """Hyphens, dashes and minus signs all become ASCII -."""
    return _replace_all(_HYPHEN, "-", text)


_KANA = "\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe\u31f0-\u31ff"
_LONG_VOWEL_LOOKALIKES = "\\-\u2500\u2501"  # after unify_hyphens, every dash is "-"
# Only runs that need a change match: a look-alike, or ー followed by more marks, after kana.
# The pattern starts with a character class so the engine scans for it quickly (a leading
# lookbehind or alternation made it 2.5x slower); the assertions then check the context.
_LONG_VOWEL_RUN = re.compile(
    f"[ー{_LONG_VOWEL_LOOKALIKES}](?<=[{_KANA}][ー{_LONG_VOWEL_LOOKALIKES}])"
    f"(?:(?<=[{_LONG_VOWEL_LOOKALIKES}])|(?=[ー{_LONG_VOWEL_LOOKALIKES}]))"
    f"[ー{_LONG_VOWEL_LOOKALIKES}]*"
)


def unify_long_vowels(text: str) -> str:
    """After kana, a run of ー and its look-alikes (-, ─, ━) becomes one ー."""
    return _LONG_VOWEL_RUN.sub("ー", text)


# The characters whose casefold is not NFKC-normalized (ǰ -> j + U+030C, Ⅰ -> ⅰ, Ａ -> ａ), for
# Unicode 14 (Python 3.11); a test recomputes the set from unicodedata.
_CASEFOLD_DENORMALIZES = re.compile(
    "[\u0132\u013f\u01c4-\u01c5\u01c7-\u01c8\u01ca-\u01cb\u01f0-\u01f2\u0390\u03b0\u03f9"
    "\u1e96-\u1e99\u1f50\u1f52\u1f54\u1f56\u1fb6-\u1fb7\u1fbb\u1fc6-\u1fc7\u1fc9\u1fcb"
    "\u1fd2-\u1fd3\u1fd6-\u1fd7\u1fdb\u1fe2-\u1fe4\u1fe6-\u1fe7\u1feb\u1ff6-\u1ff7\u1ff9"
    "\u1ffb\u2160-\u216f\u24b6-\u24cf\uff21-\uff3a]"
)


def casefold(text: str) -> str:
    """Unicode casefolding, re-normalized where casefolding leaves non-NFKC text (ǰ)."""
    if _CASEFOLD_DENORMALIZES.search(text):
        return unicodedata.normalize("NFKC", text.casefold())
    return text.casefold()


_JAPANESE = (
    "\u3001-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0003ffff"
)
_SPACE_BETWEEN_JAPANESE = re.compile(f" (?=[{_JAPANESE}])(?<=[{_JAPANESE}] )")


def fold_whitespace(text: str) -> str:
    """Whitespace between Japanese characters dropped; other runs one space; ends stripped."""
    text = " ".join(text.split())
    if text.isascii():
        return text
    return _SPACE_BETWEEN_JAPANESE.sub("", text)


MATCHING_KEY_RULES: tuple[Rule, ...] = (
    Rule("nfkc", nfkc),
    Rule("variation_selectors", strip_variation_selectors, _IGNORABLE_CHARS),
    Rule("tildes", unify_tildes, _TILDE_CHARS),
    Rule("hyphens", unify_hyphens, _HYPHEN_LIKE),
    Rule("long_vowels", unify_long_vowels),  # after hyphens: it reads the unified "-"
    Rule("casefold", casefold),
    Rule("whitespace", fold_whitespace),
)
_MATCHING_KEY = _view(MATCHING_KEY_RULES)


def matching_key(stored: str) -> str:
    """The dedup and filter key of a stored text: MATCHING_KEY_RULES in order."""
    return _MATCHING_KEY(stored)


# --- PII view --------------------------------------------------------------------------------

_PII_TABLE: dict[int, str] = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
_PII_TABLE |= {ord(ch): "-" for ch in _HYPHEN_LIKE}
_PII_TABLE |= {0x3000: " ", 0xFE6B: "@", 0xFE52: ".", 0xFE50: ",", 0xFE55: ":"}
_PII_FOLD = _sparse_translation(_PII_TABLE)
_PII_FOLD_CHARS = "".join(re.escape(chr(cp)) for cp in sorted(_PII_TABLE))
_DIGIT_LONG_VOWELS = "ーｰ\u2500\u2501"
# Led by the character class so the engine scans for it quickly; a leading lookbehind made
# every position a match attempt (2.7x slower on man pages, where ー is everywhere).
_LONG_VOWEL_BETWEEN_DIGITS = re.compile(
    f"[{_DIGIT_LONG_VOWELS}](?<=[0-9][{_DIGIT_LONG_VOWELS}])(?=[0-9])"
)


def fold_for_pii(text: str) -> str:
    """Full-width ASCII, hyphens and dashes, ideographic space, small ＠ ． to ASCII, 1 for 1."""
    return _PII_FOLD(text)


def digit_long_vowel_to_hyphen(text: str) -> str:
    """ー (or ─) between two digits is a hyphen that was typed as a long vowel: 03ー1234."""
    return _LONG_VOWEL_BETWEEN_DIGITS.sub("-", text)


PII_VIEW_RULES: tuple[Rule, ...] = (
    Rule("pii_fold", fold_for_pii, _PII_FOLD_CHARS),
    # After the fold, which makes full-width digits ASCII.
    Rule("digit_long_vowel", digit_long_vowel_to_hyphen, _DIGIT_LONG_VOWELS),
)
_PII_VIEW = _view(PII_VIEW_RULES)


def pii_view(stored: str) -> str:
    """A one-character-for-one fold of the stored text: len(pii_view(s)) == len(s) always."""
    return _PII_VIEW(stored)


def normalize_views(text: str) -> tuple[str, str]:
    """(stored text, matching key) of a raw text."""
    stored = stored_text(text)
    return stored, matching_key(stored)


# --- pipeline step ---------------------------------------------------------------------------


class NormalizeStep:
    """Step "normalize": Document.text becomes the stored text and match_key its key.

    A document with nothing but whitespace after normalization is rejected as
    `normalize.empty` with its length before normalization.
    """

    name = "normalize"

    def setup(self) -> None:
        """Nothing heavy to build: tables and patterns are compiled at import."""

    def __call__(self, doc: Document) -> Document | Reject:
        stored = stored_text(doc.text)
        if not stored or stored.isspace():
            return Reject("normalize.empty", {"chars_before": len(doc.text)})
        return replace(doc, text=stored, match_key=matching_key(stored))

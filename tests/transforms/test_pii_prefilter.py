"""The PII stage's shortcuts answer exactly as the plain definitions they replace.

`transforms.recognizers.triggers` decides each recognizer's trigger with fewer scans, the person
recognizer tests its cheapest evidence first, and the residual check shares one scan between its
four types. References here are the definitions themselves: `re.search(TRIGGER, view)`, the
person evidence on a plain token tuple (which takes the text-first path), and the PII stage /
residual check rebuilt with plain regex triggers.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.pii import PiiConfig
from transforms.analyze import analyze
from transforms.normalize import pii_view, stored_text
from transforms.pii import build_engine, find_pii, scrub
from transforms.recognizers import (
    RECOGNIZER_CLASSES,
    JaAddressRecognizer,
    JaHealthInsuranceRecognizer,
)
from transforms.recognizers.definition import CERTAIN
from transforms.recognizers.triggers import ViewScan, fast_trigger, is_known
from transforms.residual import (
    _PREFILTER,
    RESIDUAL_DEFINITIONS,
    Residual,
    find_residual_pii,
    mask_placeholders,
)

TRIGGERS = sorted({cls.TRIGGER for cls in RECOGNIZER_CLASSES if getattr(cls, "TRIGGER", "")})

# Pieces that build PII-shaped and near-miss strings: digits of every kind the patterns read
# (ASCII, full-width, kanji, Arabic-Indic: `\d` is Unicode), joiners, Latin letters, the words
# of the e-mail and bank triggers, kana and kanji, line breaks.
PIECES = (
    *"0123456789", "〇", "一", "九", "٣", "０", "７", "-", " ", "  ", ".", ":", "@", "＠", "(", ")",
    "[", "]", "ー", "+81", "\n", "\t", "A", "B", "Z", "a", "f", "F", "x", "at", "AT", "dot", "Dot",
    "アット", "普通", "口座", "支店", "保険者番号", "記号", "市", "区", "丁目", "の", "東京",
    "テスト",
    "1234", "5678", "9012", "090", "0312345678", "192.168", "fe80::1", "AB1234567", "AB12345678CD",
)
texts = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


def test_every_trigger_without_a_literal_start_has_a_fast_form() -> None:
    # Address and health-insurance triggers start with kanji words: `re` already skips ahead.
    literal_start = {JaAddressRecognizer.TRIGGER, JaHealthInsuranceRecognizer.TRIGGER}
    assert len(TRIGGERS) == 12 and all(is_known(t) for t in TRIGGERS if t not in literal_start)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_fast_triggers_answer_as_their_regexes(text: str) -> None:
    scan = ViewScan(text)
    for pattern in TRIGGERS:
        assert fast_trigger(pattern)(scan) == (re.search(pattern, text) is not None), pattern


def test_unknown_trigger_falls_back_to_its_regex() -> None:
    assert not is_known(r"x\d")
    assert fast_trigger(r"x\d")(ViewScan("ax7")) and not fast_trigger(r"x\d")(ViewScan("a7x"))


@pytest.fixture(scope="module")
def engines():
    """The PII stage's engine, and the same engine with every trigger a plain regex search."""
    engine = build_engine(PiiConfig())
    plain = tuple(
        (entity, lambda scan, rx=re.compile(trigger.__self__.TRIGGER): rx.search(scan.view)
         is not None)
        for entity, trigger in engine.triggers
    )
    return engine, replace(engine, triggers=plain)


def _reference_residual(text: str) -> list[Residual]:
    """`find_residual_pii` as defined: the prefilter, then each type's own trigger regex."""
    if not _PREFILTER.search(text):
        return []
    view = pii_view(mask_placeholders(text))
    found = [
        Residual(t.kind, t.entity, f.start, f.end)
        for t in RESIDUAL_DEFINITIONS.values()
        if t.trigger.search(view)
        for f in t.find(view)
        if f.score >= CERTAIN
    ]
    return sorted(found, key=lambda r: (r.start, -r.end, r.kind))


def _same_outputs(texts_: list[str], engines, tagger) -> int:
    engine, plain = engines
    found_any = 0
    for text in texts_:
        tokens = analyze(text, tagger)
        view = pii_view(text)
        fast = [(r.entity_type, r.start, r.end, r.score) for r in find_pii(view, tokens, engine)]
        ref = [(r.entity_type, r.start, r.end, r.score) for r in find_pii(view, tokens, plain)]
        assert fast == ref
        assert engine.person.has_name_evidence(view, tokens) == \
            engine.person.has_name_evidence(view, tuple(tokens))
        scrubbed = scrub(text, tokens, engine)
        assert scrubbed == scrub(text, analyze(text, tagger), plain)
        assert find_residual_pii(scrubbed.text) == _reference_residual(scrubbed.text)
        assert find_residual_pii(text) == _reference_residual(text)
        found_any += bool(fast)
    return found_any


def test_pii_eval_set_gives_the_reference_findings(engines, tagger) -> None:
    from bench.pii_evalset import generate

    items = generate(7)[:400]
    assert _same_outputs([item["text"] for item in items], engines, tagger) > 100


@pytest.mark.slow
def test_man_pages_give_the_reference_findings(engines, tagger, manpages_path) -> None:
    with manpages_path.open(encoding="utf-8") as handle:
        sample = [stored_text(json.loads(line)["text"]) for line in islice(handle, 150)]
    _same_outputs(sample, engines, tagger)

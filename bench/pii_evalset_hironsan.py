"""Source "hironsan": real Japanese news sentences with their person names tagged by hand.

`hironsancorpus` (PyPI, MIT) ships 500 sentences (IOB2, IREX tags) in its wheel; nothing is
downloaded. PSN runs are gold PERSON spans: Japanese, katakana and `・`-joined foreign names,
ring names, readings in brackets. Dates, times, money amounts and percentages (DAT, TIM, MON,
and PER, which this corpus uses for percentages) and organisation names (ORG) are look-alikes
that must be kept. Locations (LOC: countries, cities) are neither: they are not addresses, and
the address recognizer's treatment of a bare place name is not what this source measures.
"""

from __future__ import annotations

from importlib import resources

GOLD = {"PSN": "PERSON"}
LOOKALIKES = {"DAT": "hironsan_date", "TIM": "hironsan_time", "MON": "hironsan_money",
              "PER": "hironsan_percent", "ORG": "hironsan_org"}


def _sentences() -> list[list[tuple[str, str]]]:
    """(surface, IOB2 tag) per token; a blank line ends a sentence."""
    text = resources.files("hironsan.corpus").joinpath("iob_sents.txt").read_text("utf-8")
    sentences, current = [], []
    for line in text.split("\n"):
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        fields = line.split("\t")
        current.append((fields[0], fields[-1]))
    if current:
        sentences.append(current)
    return sentences


def _runs(tokens: list[tuple[str, str]]) -> tuple[str, list[tuple[str, int, int]]]:
    """The sentence text and its (tag, start, end) entity runs."""
    text, runs = "", []
    for surface, iob in tokens:
        start = len(text)
        text += surface
        prefix, _, tag = iob.partition("-")
        if prefix == "I" and runs and runs[-1][0] == tag and runs[-1][2] == start:
            runs[-1] = (tag, runs[-1][1], len(text))
        elif prefix in ("B", "I"):
            runs.append((tag, start, len(text)))
    return text, runs


def generate() -> list[dict]:
    """Every sentence of the corpus (train and test halves), in corpus order."""
    items = []
    for index, tokens in enumerate(_sentences()):
        text, runs = _runs(tokens)
        items.append({
            "id": f"h{index}", "source": "hironsan", "text": text,
            "spans": [{"type": GOLD[t], "start": s, "end": e} for t, s, e in runs if t in GOLD],
            "lookalikes": [{"kind": LOOKALIKES[t], "start": s, "end": e}
                           for t, s, e in runs if t in LOOKALIKES],
        })
    return items

"""Score Kura's PII stage and presidio's default setup on the evaluation set, in one run.

    .venv/bin/python -m bench.pii_eval [--set bench/data/pii_eval.jsonl] [--no-baseline]

Per entity type: recall (a gold span counts as found when detections of its type cover >= 80%
of its characters), precision (detections overlapping a gold span of their type), and the share
of look-alikes kept (no scrubbed detection overlaps them). False positives on real man-page
paragraphs are reported per 100k characters.

"presidio default" is what a user tries first offline: `AnalyzerEngine()` wants to download
en_core_web_lg (fails here) and spaCy's "ja" pipeline needs SudachiPy, so it is presidio's
predefined recognizers for "en" over a blank English spaCy pipeline saved to a temporary
directory, with tldextract pinned to its bundled suffix list (no network).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from schemas.pii import PII_ENTITIES, PiiConfig
from transforms.normalize import pii_view
from transforms.pii import build_engine, find_pii
from transforms.pii_nlp import MecabTokenizer

# presidio default types mapped onto Kura's (LOCATION is its nearest thing to an address).
BASELINE_TYPES = {"LOCATION": "JP_ADDRESS"}
COVER = 0.8


def load_items(path: Path | None, seed: int = 7) -> list[dict]:
    if path is None:
        from bench.pii_evalset import generate

        return generate(seed)
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def kura_detector():
    engine = build_engine(PiiConfig())
    tokenize = MecabTokenizer()
    scrubbed = engine.scrubbed_entities

    def detect(text: str) -> list[tuple[str, int, int, bool]]:
        found = find_pii(pii_view(text), tokenize(text), engine)
        return [(r.entity_type, r.start, r.end, r.entity_type in scrubbed) for r in found]

    return detect


def baseline_detector():
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    email_recognizer.tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())
    model_dir = Path(tempfile.mkdtemp(prefix="kura-blank-en-"))
    spacy.blank("en").to_disk(model_dir)
    nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": str(model_dir)}])
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])

    def detect(text: str) -> list[tuple[str, int, int, bool]]:
        results = analyzer.analyze(text=text, language="en", score_threshold=0.5)
        return [(BASELINE_TYPES.get(r.entity_type, r.entity_type), r.start, r.end, True)
                for r in results]

    return detect


def _covered(start: int, end: int, spans: list[tuple[int, int]]) -> int:
    return sum(max(0, min(end, e) - max(start, s)) for s, e in spans)


def score(items: list[dict], detect) -> dict:
    gold_n, hit_n = Counter(), Counter()
    det_n, det_ok = Counter(), Counter()
    looks_n, looks_kept = Counter(), Counter()
    fp_real, real_chars = Counter(), 0
    t0 = time.perf_counter()
    for item in items:
        found = detect(item["text"])
        by_type = defaultdict(list)
        for entity, start, end, _ in found:
            by_type[entity].append((start, end))
        for span in item["spans"]:
            gold_n[span["type"]] += 1
            length = span["end"] - span["start"]
            if _covered(span["start"], span["end"], by_type[span["type"]]) >= COVER * length:
                hit_n[span["type"]] += 1
        for entity, start, end, _ in found:
            det_n[entity] += 1
            if any(s["type"] == entity and start < s["end"] and end > s["start"]
                   for s in item["spans"]):
                det_ok[entity] += 1
        scrubbed_spans = [(s, e) for _, s, e, scrubbed in found if scrubbed]
        for look in item["lookalikes"]:
            looks_n[look["kind"]] += 1
            if _covered(look["start"], look["end"], scrubbed_spans) == 0:
                looks_kept[look["kind"]] += 1
        if item["source"] == "manpage":
            real_chars += len(item["text"])
            for entity, *_ in found:
                fp_real[entity] += 1
    return {"gold": gold_n, "hit": hit_n, "det": det_n, "det_ok": det_ok, "looks": looks_n,
            "kept": looks_kept, "fp_real": fp_real, "real_chars": real_chars,
            "seconds": time.perf_counter() - t0}


def _ratio(a: int, b: int) -> str:
    return f"{a / b:5.3f}" if b else "  -  "


def report(scores: dict[str, dict]) -> None:
    names = list(scores)
    print(f"{'entity':22}{'gold':>6}" + "".join(f"{n + ' rec':>22}{'prec':>7}" for n in names))
    for entity in PII_ENTITIES:
        first = scores[names[0]]
        if not first["gold"][entity] and not any(s["det"][entity] for s in scores.values()):
            continue
        row = f"{entity:22}{first['gold'][entity]:>6}"
        for name in names:
            s = scores[name]
            row += f"{_ratio(s['hit'][entity], s['gold'][entity]):>22}"
            row += f"{_ratio(s['det_ok'][entity], s['det'][entity]):>7}"
        print(row)
    print()
    print(f"{'look-alike kind':22}{'n':>6}" + "".join(f"{n + ' kept':>23}" for n in names))
    kinds = sorted(scores[names[0]]["looks"])
    for kind in [*kinds, "ALL"]:
        n = (sum(scores[names[0]]["looks"].values()) if kind == "ALL"
             else scores[names[0]]["looks"][kind])
        row = f"{kind:22}{n:>6}"
        for name in names:
            kept = (sum(scores[name]["kept"].values()) if kind == "ALL"
                    else scores[name]["kept"][kind])
            row += f"{_ratio(kept, n):>23}"
        print(row)
    print()
    for name in names:
        s = scores[name]
        per100k = {k: round(v * 1e5 / max(s["real_chars"], 1), 1) for k, v in
                   s["fp_real"].most_common()}
        print(f"{name}: detections on {s['real_chars']:,} chars of clean man-page text, "
              f"per 100k chars: {per100k}; scored in {s['seconds']:.1f} s")
    other = {k: v for k, v in scores[names[-1]]["det"].items() if k not in PII_ENTITIES}
    if other:
        print(f"{names[-1]} also reported (types Kura does not use): {dict(other)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=None, help="JSONL (default: generate)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (without --set)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    items = load_items(args.set, args.seed)
    scores = {"kura": score(items, kura_detector())}
    if not args.no_baseline:
        scores["presidio-default"] = score(items, baseline_detector())
    spans = sum(len(i["spans"]) for i in items)
    looks = sum(len(i["lookalikes"]) for i in items)
    print(f"{len(items)} items, {spans} PII spans, {looks} look-alikes\n")
    report(scores)


if __name__ == "__main__":
    main()

"""Score Kura's PII stage and presidio's default setup on the evaluation set, in one run.

    .venv/bin/python -m bench.pii_eval [--set bench/data/pii_eval.jsonl] [--no-baseline]
        [--show-misses N] [--strict]

Per entity type and per source: recall (a gold span counts as found when detections of its
type cover >= 80% of its characters), precision (detections overlapping a gold span of their
type), and the share of look-alikes kept (no scrubbed detection overlaps them). False
positives on real man-page paragraphs are reported per 100k characters. Each type's recall
and the share of look-alikes kept are checked against the targets (RECALL_TARGETS,
LOOKALIKES_KEPT_TARGET): pass or FAIL, and `--show-misses N` prints the cases behind a failure.

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


# The bar each type must clear (recall), and the share of look-alikes that must be kept.
RECALL_TARGETS = {
    **dict.fromkeys(("PHONE_NUMBER", "EMAIL_ADDRESS", "JP_MY_NUMBER", "CREDIT_CARD",
                     "JP_POSTAL_CODE", "JP_BANK_ACCOUNT", "IP_ADDRESS"), 0.99),
    **dict.fromkeys(("PERSON", "JP_ADDRESS"), 0.95),
}
LOOKALIKES_KEPT_TARGET = 0.97
_CONTEXT_CHARS = 12


def _covered(start: int, end: int, spans: list[tuple[int, int]]) -> int:
    return sum(max(0, min(end, e) - max(start, s)) for s, e in spans)


def _excerpt(text: str, start: int, end: int) -> str:
    """The case, one line: a few characters either side and the span in [[ ]]."""
    before = text[max(0, start - _CONTEXT_CHARS) : start]
    after = text[end : end + _CONTEXT_CHARS]
    return f"{before}[[{text[start:end]}]]{after}".replace("\n", "⏎")


def score(items: list[dict], detect) -> dict:
    """Counts per type and per (source, type); look-alikes per kind and per source."""
    gold_n, hit_n = Counter(), Counter()
    det_n, det_ok = Counter(), Counter()
    looks_n, looks_kept = Counter(), Counter()
    fp_real, real_chars = Counter(), 0
    misses: dict[str, list[str]] = defaultdict(list)
    t0 = time.perf_counter()
    for item in items:
        source, text = item["source"], item["text"]
        found = detect(text)
        by_type = defaultdict(list)
        for entity, start, end, _ in found:
            by_type[entity].append((start, end))
        for span in item["spans"]:
            entity = span["type"]
            gold_n[entity] += 1
            gold_n[source, entity] += 1
            length = span["end"] - span["start"]
            if _covered(span["start"], span["end"], by_type[entity]) >= COVER * length:
                hit_n[entity] += 1
                hit_n[source, entity] += 1
            else:
                misses[entity].append(
                    f"{source}/{item['id']}: {_excerpt(text, span['start'], span['end'])}")
        for entity, start, end, _ in found:
            det_n[entity] += 1
            det_n[source, entity] += 1
            if any(s["type"] == entity and start < s["end"] and end > s["start"]
                   for s in item["spans"]):
                det_ok[entity] += 1
                det_ok[source, entity] += 1
        scrubbed = [(entity, s, e) for entity, s, e, is_scrubbed in found if is_scrubbed]
        for look in item["lookalikes"]:
            kind = look["kind"]
            looks_n[kind] += 1
            looks_n[source] += 1
            hits = [entity for entity, s, e in scrubbed if s < look["end"] and e > look["start"]]
            if not hits:
                looks_kept[kind] += 1
                looks_kept[source] += 1
            else:
                misses["look-alike " + kind].append(
                    f"{source}/{item['id']} as {hits[0]}: "
                    f"{_excerpt(text, look['start'], look['end'])}")
        if source == "manpage":
            real_chars += len(text)
            for entity, *_ in found:
                fp_real[entity] += 1
    return {"gold": gold_n, "hit": hit_n, "det": det_n, "det_ok": det_ok, "looks": looks_n,
            "kept": looks_kept, "fp_real": fp_real, "real_chars": real_chars,
            "misses": misses, "seconds": time.perf_counter() - t0}


def _ratio(a: int, b: int) -> str:
    return f"{a / b:5.3f}" if b else "  -  "


def _verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f">= {target:.2f} {'pass' if value >= target else 'FAIL'}"


def report(scores: dict[str, dict], sources: list[str]) -> list[str]:
    """Print the tables; return the failed targets (Kura's, the first detector)."""
    names = list(scores)
    first = scores[names[0]]
    failed = []
    print(f"{'entity':22}{'gold':>6}" + "".join(f"{n + ' rec':>22}{'prec':>7}" for n in names)
          + f"{'target (' + names[0] + ' recall)':>30}")
    for entity in PII_ENTITIES:
        if not first["gold"][entity] and not any(s["det"][entity] for s in scores.values()):
            continue
        row = f"{entity:22}{first['gold'][entity]:>6}"
        for name in names:
            s = scores[name]
            row += f"{_ratio(s['hit'][entity], s['gold'][entity]):>22}"
            row += f"{_ratio(s['det_ok'][entity], s['det'][entity]):>7}"
        target = RECALL_TARGETS.get(entity)
        recall = first["hit"][entity] / first["gold"][entity] if first["gold"][entity] else 0.0
        if target is not None and recall < target:
            failed.append(entity)
        print(row + f"{_verdict(recall, target):>30}")
    print()
    print(f"{'look-alike kind':22}{'n':>6}" + "".join(f"{n + ' kept':>23}" for n in names))
    kinds = sorted(k for k in first["looks"] if k not in sources)
    for kind in [*kinds, "ALL"]:
        n = sum(first["looks"][k] for k in kinds) if kind == "ALL" else first["looks"][kind]
        row = f"{kind:22}{n:>6}"
        for name in names:
            kept = (sum(scores[name]["kept"][k] for k in kinds) if kind == "ALL"
                    else scores[name]["kept"][kind])
            row += f"{_ratio(kept, n):>23}"
        if kind == "ALL":
            share = sum(first["kept"][k] for k in kinds) / n if n else 1.0
            if share < LOOKALIKES_KEPT_TARGET:
                failed.append("look-alikes kept")
            row += f"  {_verdict(share, LOOKALIKES_KEPT_TARGET)}"
        print(row)
    print()
    print(f"per source ({names[0]}): recall and precision per type, look-alikes kept")
    print(f"{'source':18}{'entity':22}{'gold':>6}{'recall':>8}{'prec':>7}{'det':>6}")
    for source in sources:
        for entity in PII_ENTITIES:
            gold, det = first["gold"][source, entity], first["det"][source, entity]
            if not gold and not det:
                continue
            print(f"{source:18}{entity:22}{gold:>6}"
                  f"{_ratio(first['hit'][source, entity], gold):>8}"
                  f"{_ratio(first['det_ok'][source, entity], det):>7}{det:>6}")
        n = first["looks"][source]
        if n:
            print(f"{source:18}{'(look-alikes kept)':22}{n:>6}"
                  f"{_ratio(first['kept'][source], n):>8}")
    print()
    for name in names:
        s = scores[name]
        per100k = {k: round(v * 1e5 / max(s["real_chars"], 1), 1) for k, v in
                   s["fp_real"].most_common()}
        print(f"{name}: detections on {s['real_chars']:,} chars of clean man-page text, "
              f"per 100k chars: {per100k}; scored in {s['seconds']:.1f} s")
    other = {k: v for k, v in scores[names[-1]]["det"].items()
             if isinstance(k, str) and k not in PII_ENTITIES}
    if other:
        print(f"{names[-1]} also reported (types Kura does not use): {dict(other)}")
    return failed


def show_misses(scores: dict, failed: list[str], limit: int) -> None:
    """The cases behind each failed target (the set is synthetic or public text)."""
    misses = scores["misses"]
    keys = [k for k in failed if k in misses]
    if "look-alikes kept" in failed:
        keys += sorted(k for k in misses if k.startswith("look-alike "))
    for key in keys:
        cases = misses[key]
        print(f"\n{key}: {len(cases)} missed" + (f", first {limit}:" if len(cases) > limit
                                                   else ":"))
        for case in cases[:limit]:
            print(f"  {case}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=None, help="JSONL (default: generate)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (without --set)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--show-misses", type=int, default=0, metavar="N",
                        help="print up to N missed cases for each failed target")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args()
    items = load_items(args.set, args.seed)
    sources = list(dict.fromkeys(item["source"] for item in items))
    scores = {"kura": score(items, kura_detector())}
    if not args.no_baseline:
        scores["presidio-default"] = score(items, baseline_detector())
    spans = sum(len(i["spans"]) for i in items)
    looks = sum(len(i["lookalikes"]) for i in items)
    print(f"{len(items)} items, {spans} PII spans, {looks} look-alikes; "
          f"sources: {', '.join(sources)}\n")
    failed = report(scores, sources)
    print("\ntargets: " + ("all met" if not failed else "FAILED: " + ", ".join(failed)))
    if args.show_misses and failed:
        show_misses(scores["kura"], failed, args.show_misses)
    if args.strict and failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""`generate_demo_corpus`: the member corpus `kura demo` onboards.

Layout under `dest` (all paths relative to the manifest, which sits at `dest/manifest.toml`):

    jsonl/manuals.jsonl, support-chat.jsonl, mail-archive.jsonl   UTF-8, with broken lines
    csv/tickets-eucjp.csv                                          EUC-JP, multi-line quoted text
    csv/inquiries-bom.csv                                          UTF-8 with BOM
    text/minutes-NNNN.txt, contract-NNNN.txt                       CP932, CRLF, one per file
    text/memo-utf16-0001.txt                                       UTF-16 LE with BOM, CRLF
    text/notice-iso2022jp-NNNN.txt                                 ISO-2022-JP
    text/scan-0001.txt, text/empty.txt                             a binary file, an empty file

Deterministic: the same seed and size give byte-identical files (no clock, no set order, seeded
Faker and `random.Random` streams only).
"""

from __future__ import annotations

import logging
import random
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

from pipelines.democorpus import broken
from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.kinds import COMPOSERS, KIND_WEIGHTS, compose_fitting, fit
from pipelines.democorpus.layout import DemoFile, Sink, make_sinks, route
from pipelines.democorpus.manifest import CORPUS_ID, Source, manifest_toml
from pipelines.democorpus.pii import PII_KINDS, PiiFactory
from pipelines.democorpus.variants import near_duplicate
from pipelines.democorpus.write import write_sinks

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261123
DEFAULT_DOCUMENTS = 600
MIN_DOCUMENTS = 60
EXACT_SHARE = 0.09  # extra exact copies, as a share of all good documents
NEAR_SHARE = 0.09  # near-duplicate variants, likewise

SOURCES: tuple[Source, ...] = (
    # JSONL is declared UTF-8: a per-file guess would be thrown by its one Shift_JIS line.
    Source("jsonl/*.jsonl", "jsonl", "utf-8", "text"),
    Source("csv/*.csv", "csv", "auto", "text"),
    Source("text/*.txt", "text", "auto"),
)


@dataclass(frozen=True)
class DemoCorpus:
    """What was written, for `kura demo`'s summary and for tests that check the pipeline.

    Expected outcome of a correct run: records read = `documents` + the 8 broken JSONL lines +
    the binary file (the empty file yields none); those 9 are rejects; dedup removes
    exact_duplicates + near_duplicates (how a cluster splits them into "exact" and "near" depends
    on which member is kept). `planted_pii` values are as written in the files: compare them with
    shards after the same stored-text normalization (full-width digits become ASCII there).
    """

    manifest_path: Path
    planted_pii: tuple[str, ...]  # every personal value, as written (decoded), first-seen order
    planted: Mapping[str, int]  # exact_duplicates, near_duplicates, broken.<kind>
    pii_by_kind: Mapping[str, tuple[str, ...]]
    files: tuple[DemoFile, ...]
    documents: int  # good records (originals + exact copies + near variants)


def _place_duplicates(sinks: dict[str, Sink], originals: list[tuple[str, Draft]], exact: int,
                      near: int, rng: random.Random) -> None:
    targets = [name for name, sink in sinks.items() if sink.takes_duplicates]
    candidates = [(name, draft) for name, draft in originals if sinks[name].takes_duplicates]
    for _ in range(exact):
        home, draft = rng.choice(candidates)
        target = home
        if rng.random() < 0.5:  # the same text again in another format and encoding
            other = rng.choice(targets)
            if fit(draft, sinks[other].encoding) == draft:
                target = other
        sinks[target].records.append(draft)
    texts = {draft.text for _, draft in originals}
    for _ in range(near):
        for _attempt in range(100):
            home, draft = rng.choice(candidates)
            variant = near_duplicate(draft, rng)
            if variant.text not in texts:  # else two variants of one original came out equal
                break
        else:
            raise RuntimeError("could not make a distinct near-duplicate")
        texts.add(variant.text)
        target = home if rng.random() < 0.7 else rng.choice(targets)
        if fit(variant, sinks[target].encoding) != variant:
            target = home  # edits keep to the home file's repertoire; another may not hold it
        if fit(variant, sinks[target].encoding) != variant:
            raise RuntimeError(f"a near-duplicate does not fit {sinks[target].encoding}")
        sinks[target].records.append(variant)


def _prepare(dest: Path) -> None:
    """Refuse a non-empty directory unless it holds an earlier demo corpus, which is replaced."""
    if not dest.exists() or not any(dest.iterdir()):
        return
    manifest = dest / "manifest.toml"
    marker = f'id = "{CORPUS_ID}"'
    if not manifest.is_file() or marker not in manifest.read_text("utf-8", errors="replace"):
        raise FileExistsError(f"{dest} is not empty and holds no demo corpus; use an empty dir")
    for sub in ("jsonl", "csv", "text"):
        shutil.rmtree(dest / sub, ignore_errors=True)
    manifest.unlink()


def generate_demo_corpus(
    dest: Path, seed: int = DEFAULT_SEED, documents: int = DEFAULT_DOCUMENTS
) -> DemoCorpus:
    """Write the demo corpus and its manifest under `dest`; return what was planted."""
    if documents < MIN_DOCUMENTS:
        raise ValueError(f"documents must be at least {MIN_DOCUMENTS}, got {documents}")
    dest = Path(dest)
    _prepare(dest)
    Faker.seed(seed)  # the shared generator, for any Faker call that bypasses the instance
    fake = Faker("ja_JP")
    fake.seed_instance(seed)  # this instance's own generator: what makes the draws repeatable
    # Separate streams: layout choices never shift the text, and vice versa.
    layout_rng = random.Random(f"kura-demo:{seed}:layout")
    composer = Composer(random.Random(f"kura-demo:{seed}:text"),
                        PiiFactory(fake, random.Random(f"kura-demo:{seed}:pii")))

    exact = round(documents * EXACT_SHARE)
    near = round(documents * NEAR_SHARE)
    sinks = make_sinks()
    originals: list[tuple[str, Draft]] = []
    seen: dict[str, int] = dict.fromkeys(COMPOSERS, 0)
    kinds = layout_rng.choices(list(COMPOSERS), weights=KIND_WEIGHTS, k=documents - exact - near)
    for kind in kinds:
        name = route(kind, seen[kind], layout_rng)
        seen[kind] += 1
        draft = compose_fitting(composer, kind, sinks[name].encoding)
        sinks[name].records.append(draft)
        originals.append((name, draft))
    _place_duplicates(sinks, originals, exact, near, layout_rng)

    files, broken_pii = write_sinks(dest, sinks, composer, layout_rng)
    manifest_path = dest / "manifest.toml"
    manifest_path.write_bytes(manifest_toml(SOURCES).encode("utf-8"))

    by_kind: dict[str, dict[str, None]] = {kind: {} for kind in PII_KINDS}
    every: dict[str, None] = {}
    for draft_pii in [d.pii for s in sinks.values() for d in s.records] + broken_pii:
        for kind, value in draft_pii:
            by_kind[kind][value] = None
            every[value] = None
    planted = {"exact_duplicates": exact, "near_duplicates": near}
    for kind in broken.JSONL_KINDS + broken.FILE_KINDS:
        planted[f"broken.{kind}"] = sum(k == kind for f in files for _, k in f.broken)
    log.info("demo corpus: %d documents, %d files, %d planted personal values",
             documents, len(files), len(every))
    return DemoCorpus(
        manifest_path=manifest_path,
        planted_pii=tuple(every),
        planted=planted,
        pii_by_kind={kind: tuple(values) for kind, values in by_kind.items()},
        files=files,
        documents=documents,
    )

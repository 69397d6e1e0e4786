"""The demo corpus generator: deterministic bytes, honest encodings, valid planted identifiers,
duplicates and broken records exactly as counted, and a manifest Kura accepts."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.jp import cn, in_

from pipelines.democorpus import DemoCorpus, DemoFile, generate_demo_corpus
from pipelines.democorpus.compose import Composer
from pipelines.democorpus.encode import as_written
from pipelines.democorpus.kinds import COMPOSERS
from pipelines.democorpus.pii import PiiFactory, fix_faker_phone
from pipelines.democorpus.variants import near_duplicate
from schemas.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
_ASCII_DIGITS = str.maketrans("０１２３４５６７８９－−", "0123456789--")


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoCorpus, float]:
    dest = tmp_path_factory.mktemp("demo") / "corpus"
    started = time.perf_counter()
    corpus = generate_demo_corpus(dest)
    return corpus, time.perf_counter() - started


@pytest.fixture(scope="module")
def corpus(corpus_run: tuple[DemoCorpus, float]) -> DemoCorpus:
    return corpus_run[0]


def _root(corpus: DemoCorpus) -> Path:
    return corpus.manifest_path.parent


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _good_texts(corpus: DemoCorpus) -> list[str]:
    """Every good record's text, decoded with its file's declared encoding and parser."""
    texts: list[str] = []
    for file in corpus.files:
        data = (_root(corpus) / file.path).read_bytes()
        broken = {locator for locator, _ in file.broken}
        if file.broken and file.format == "text":
            continue
        if file.format == "jsonl":
            for locator, line in enumerate(data.split(b"\n")[:-1], start=1):
                if locator not in broken:
                    texts.append(json.loads(line.decode(file.encoding))["text"])
        elif file.format == "csv":
            rows = list(csv.DictReader(io.StringIO(data.decode(file.encoding), newline="")))
            texts += [row["text"] for row in rows]
        else:
            texts.append(data.decode(file.encoding).removeprefix("\ufeff"))
    return texts


def _matching_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _shingles(text: str, n: int = 5) -> set[str]:
    key = _matching_key(text)
    return {key[i:i + n] for i in range(len(key) - n + 1)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


# --- determinism -------------------------------------------------------------------------------

def test_two_runs_write_byte_identical_files_whatever_the_hash_seed(
    corpus: DemoCorpus, tmp_path: Path
) -> None:
    other = tmp_path / "again"
    script = ("import sys; from pathlib import Path; "
              "from pipelines.democorpus import generate_demo_corpus; "
              "generate_demo_corpus(Path(sys.argv[1]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(other)], cwd=REPO, env=env, check=True)
    assert _digests(other) == _digests(_root(corpus))


def test_another_seed_gives_another_corpus(tmp_path: Path) -> None:
    a = generate_demo_corpus(tmp_path / "a", seed=1, documents=60)
    b = generate_demo_corpus(tmp_path / "b", seed=2, documents=60)
    assert _digests(_root(a)) != _digests(_root(b))


def test_regenerating_over_an_earlier_demo_replaces_it_and_refuses_foreign_dirs(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "demo"
    generate_demo_corpus(dest, seed=7, documents=120)
    generate_demo_corpus(dest, seed=7, documents=60)  # fewer files: stale ones must go
    fresh = tmp_path / "fresh"
    generate_demo_corpus(fresh, seed=7, documents=60)
    assert _digests(dest) == _digests(fresh)

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_demo_corpus(foreign)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_too_few_documents_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_demo_corpus(tmp_path / "tiny", documents=10)


# --- manifest and files ------------------------------------------------------------------------

def test_manifest_validates_and_its_globs_cover_every_file(corpus: DemoCorpus) -> None:
    manifest = load_manifest(corpus.manifest_path)
    assert manifest.corpus.id == "acme-business-docs"
    assert manifest.corpus.member == "acme"
    for source in manifest.sources:
        assert not Path(source.uri).is_absolute()
        assert source.location.model_dump() == {
            "provider": "onprem", "country": "JP", "region": "jp-tokyo"}
    root = _root(corpus)
    covered = {p.relative_to(root).as_posix()
               for source in manifest.sources for p in root.glob(source.uri)}
    assert covered == {file.path for file in corpus.files}
    assert {f.format for f in corpus.files} == {"jsonl", "csv", "text"}
    longest = max(len(line) for f in corpus.files if f.format == "jsonl"
                  for line in (root / f.path).read_bytes().split(b"\n"))
    assert longest > manifest.limits.max_record_bytes  # the planted oversized record


def test_encodings_and_formats_are_the_ones_promised(corpus: DemoCorpus) -> None:
    encodings = Counter(f.encoding for f in corpus.files)
    for expected in ("utf-8", "cp932", "euc_jp", "utf-8-sig", "utf-16", "iso2022_jp"):
        assert encodings[expected] >= 1, expected
    root = _root(corpus)
    assert (root / "csv/inquiries-bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (root / "text/memo-utf16-0001.txt").read_bytes().startswith(b"\xff\xfe")
    cp932_file = next(f for f in corpus.files if f.encoding == "cp932")
    assert b"\r\n" in (root / cp932_file.path).read_bytes()
    tickets = (root / "csv/tickets-eucjp.csv").read_bytes().decode("euc_jp")
    rows = list(csv.reader(io.StringIO(tickets, newline="")))
    assert rows[0][3] == "text" and all("\n" in row[3] for row in rows[1:])  # quoted multi-line


def test_every_file_decodes_with_its_declared_encoding_except_the_broken_ones(
    corpus: DemoCorpus,
) -> None:
    root = _root(corpus)
    for file in corpus.files:
        data = (root / file.path).read_bytes()
        if file.format != "jsonl" and file.broken:
            continue
        if file.format != "jsonl":
            assert data.decode(file.encoding)
            continue
        lines = data.split(b"\n")
        assert lines[-1] == b"" and len(lines) - 1 == file.records
        broken = dict(file.broken)
        for locator, line in enumerate(lines[:-1], start=1):
            if locator in broken:
                continue
            record = json.loads(line.decode(file.encoding))
            assert isinstance(record["text"], str) and record["text"].strip()
            record["text"].encode("utf-8")  # no lone surrogates in good records


def test_each_broken_record_is_broken_the_way_it_says(corpus: DemoCorpus) -> None:
    root = _root(corpus)
    seen: Counter[str] = Counter()
    for file in corpus.files:
        data = (root / file.path).read_bytes()
        for locator, kind in file.broken:
            seen[kind] += 1
            if kind == "empty_file":
                assert data == b"" and file.records == 0
                continue
            if kind == "binary_file":
                assert b"\x00" in data
                for codec in ("utf-8", "cp932", "euc_jp", "utf-16"):
                    with pytest.raises(UnicodeDecodeError):
                        data.decode(codec)
                continue
            line = data.split(b"\n")[locator - 1]
            if kind == "invalid_utf8":
                with pytest.raises(UnicodeDecodeError):
                    line.decode("utf-8")
                continue
            text = line.decode("utf-8")
            if kind in ("truncated_json", "nul_byte"):
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
                assert (b"\x00" in line) == (kind == "nul_byte")
                continue
            record = json.loads(text)
            if kind == "text_not_string":
                assert not isinstance(record["text"], str)
            elif kind == "missing_text":
                assert "text" not in record
            elif kind == "empty_text":
                assert record["text"] == ""
            elif kind == "lone_surrogate":
                with pytest.raises(UnicodeEncodeError):
                    record["text"].encode("utf-8")
            elif kind == "oversized":
                assert len(line) > 65_536
            else:
                pytest.fail(f"unexpected broken kind {kind}")
    assert {f"broken.{kind}": n for kind, n in seen.items()} == {
        key: n for key, n in corpus.planted.items() if key.startswith("broken.")}
    assert all(n == 1 for n in seen.values()) and len(seen) == 10


# --- planted personal data ---------------------------------------------------------------------

def test_planted_identifiers_pass_their_checks(corpus: DemoCorpus) -> None:
    def digits(value: str) -> str:
        return re.sub(r"\D", "", value.translate(_ASCII_DIGITS))

    my_numbers = corpus.pii_by_kind["my_number"]
    cards = corpus.pii_by_kind["credit_card"]
    corporate = corpus.pii_by_kind["corporate_number"]
    assert len(my_numbers) >= 20 and len(cards) >= 20 and len(corporate) >= 20
    assert all(in_.is_valid(digits(v)) for v in my_numbers)
    assert all(luhn.is_valid(digits(v)) and len(digits(v)) in (15, 16) for v in cards)
    # real issuer prefixes (Visa, Mastercard, JCB, Amex), which card recognizers check too
    assert all(re.match(r"4|5[1-5]|35(2[89]|[3-8]\d)|3[47]", digits(v)) for v in cards)
    assert all(cn.is_valid(digits(v)) for v in corporate)
    assert all(len(digits(v)) == 12 for v in corpus.pii_by_kind["drivers_license"])
    assert all(len(digits(v)) == 7 for v in corpus.pii_by_kind["bank_account"])
    for phone in corpus.pii_by_kind["phone"]:
        folded = phone.translate(_ASCII_DIGITS)
        assert folded.startswith("+81") or re.fullmatch(r"0[1-9]\d{0,3}-\d{1,4}-\d{3,4}", folded)


def test_personal_data_comes_in_many_japanese_kinds_and_forms(corpus: DemoCorpus) -> None:
    kinds = corpus.pii_by_kind
    assert all(len(values) >= 20 for values in kinds.values()), {
        k: len(v) for k, v in kinds.items()}
    phones = [p.translate(_ASCII_DIGITS) for p in kinds["phone"]]
    for prefix in ("090-", "080-", "070-", "03-", "0120-", "+81"):
        assert any(p.startswith(prefix) for p in phones), prefix
    assert any(re.match(r"0\d-", p) for p in phones)  # Faker's fixed numbers, repaired
    assert any("－" in p or "−" in p for p in kinds["phone"])  # full-width forms
    assert any(re.search(r"[０-９]", p) for p in kinds["postal_code"])
    names = kinds["person_name"]
    assert any(re.fullmatch(r"[^\sァ-ヶー]+ [^\sァ-ヶー]+", n) for n in names)  # kanji, spaced
    assert any(" " not in n for n in names)  # kanji, run together
    assert any(re.fullmatch(r"[ァ-ヶー]+ [ァ-ヶー]+", n) for n in names)  # katakana
    text = "\n".join(_good_texts(corpus))
    for honorific in ("様", "さん", "氏"):
        assert any(f"{n}{honorific}" in text for n in names), honorific
    for context in ("マイナンバー", "個人番号", "〒", "普通", "銀行", "支店", "運転免許証"):
        assert context in text, context


def test_every_planted_value_is_written_in_the_files_as_listed(corpus: DemoCorpus) -> None:
    root = _root(corpus)
    blobs = []
    for file in corpus.files:
        data = (root / file.path).read_bytes()
        if file.encoding == "binary":
            continue
        if file.format == "jsonl":  # one line is Shift_JIS on purpose
            broken = dict(file.broken)
            blobs += [line.decode("cp932" if broken.get(i) == "invalid_utf8" else "utf-8")
                      for i, line in enumerate(data.split(b"\n")[:-1], start=1)]
        else:
            blobs.append(data.decode(file.encoding))
    text = "\n".join(blobs)
    missing = [value for value in corpus.planted_pii if value not in text]
    assert not missing, f"{len(missing)} planted values are not in the files"
    assert len(set(corpus.planted_pii)) == len(corpus.planted_pii)
    assert set(corpus.planted_pii) == {v for values in corpus.pii_by_kind.values() for v in values}


# --- duplicates and quality --------------------------------------------------------------------

def test_exact_and_near_duplicates_are_as_many_as_planted(corpus: DemoCorpus) -> None:
    texts = [t.replace("\r\n", "\n") for t in _good_texts(corpus)]
    assert len(texts) == corpus.documents
    copies = Counter(texts)
    assert sum(n - 1 for n in copies.values()) == corpus.planted["exact_duplicates"]
    assert 0.08 <= corpus.planted["exact_duplicates"] / corpus.documents <= 0.10
    assert 0.08 <= corpus.planted["near_duplicates"] / corpus.documents <= 0.10

    # Group the distinct texts by 5-gram Jaccard >= 0.8, using an index of rare shingles to find
    # candidate pairs (every pair above 0.8 shares most shingles, so it shares a rare one too).
    unique = list(copies)
    sets = [_shingles(t) for t in unique]
    frequency = Counter(s for shingles in sets for s in shingles)
    index: dict[str, list[int]] = {}
    for i, shingles in enumerate(sets):
        for s in sorted(shingles, key=lambda s: (frequency[s], s))[:40]:
            index.setdefault(s, []).append(i)
    parent = list(range(len(unique)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best_apart = 0.0
    for members in index.values():
        for a in members:
            for b in members:
                if a < b:
                    score = _jaccard(sets[a], sets[b])
                    if score >= 0.8:
                        parent[find(a)] = find(b)
                    else:
                        best_apart = max(best_apart, score)
    clusters = Counter(find(i) for i in range(len(unique)))
    assert sum(n - 1 for n in clusters.values()) == corpus.planted["near_duplicates"]
    assert best_apart < 0.7  # distinct documents stay clear of any usual near-dup threshold


def test_near_duplicate_variants_stay_close_but_differ_in_content() -> None:
    fake = Faker("ja_JP")
    fake.seed_instance(3)
    composer = Composer(random.Random(3), PiiFactory(fake, random.Random(4)))
    rng = random.Random(5)
    for i in range(100):
        composer.begin()
        original = COMPOSERS[list(COMPOSERS)[i % len(COMPOSERS)]](composer)
        variant = near_duplicate(original, rng)
        assert _matching_key(variant.text) != _matching_key(original.text)
        assert _jaccard(_shingles(original.text), _shingles(variant.text)) >= 0.85
        assert all(value in variant.text for _, value in variant.pii)


def test_documents_would_pass_japanese_quality_filters(corpus: DemoCorpus) -> None:
    for text in _good_texts(corpus):
        chars = [ch for ch in text if not ch.isspace()]
        hiragana = sum("\u3041" <= ch <= "\u309f" for ch in chars) / len(chars)
        japanese = sum(
            "\u3041" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" or "\uff66" <= ch <= "\uff9f"
            for ch in chars) / len(chars)
        lines = [line for line in text.splitlines() if line.strip()]
        assert hiragana >= 0.2 and japanese >= 0.5 and len(chars) >= 300
        assert len(set(lines)) / len(lines) >= 0.9  # no repeated lines to speak of


def test_default_corpus_size_and_generation_time_are_sane(
    corpus_run: tuple[DemoCorpus, float],
) -> None:
    corpus, seconds = corpus_run
    total = sum(p.stat().st_size for p in _root(corpus).rglob("*") if p.is_file())
    assert corpus.documents == 600
    assert 500_000 < total < 5_000_000
    assert seconds < 60  # a sanity bound only (measured ~1 s); `kura demo` budgets two minutes
    assert isinstance(corpus.files[0], DemoFile)


# --- the small pure parts ----------------------------------------------------------------------

@given(st.from_regex(r"\A\d\d-\d{4}-\d{4}\Z"))
def test_repaired_faker_phones_have_a_real_two_digit_area_code(number: str) -> None:
    fixed = fix_faker_phone(number)
    assert re.fullmatch(r"0[346]-\d{4}-\d{4}", fixed)
    assert fixed[2:] == number[2:]


@given(st.from_regex(r"\A0[789]0-\d{4}-\d{4}\Z"))
def test_mobile_numbers_pass_the_phone_repair_unchanged(number: str) -> None:
    assert fix_faker_phone(number) == number


def test_as_written_is_what_a_reader_of_the_legacy_file_decodes() -> None:
    assert as_written("10時〜12時", "cp932") == "10時～12時"
    assert as_written("０３－１２３４", "euc_jp") == "０３−１２３４"
    assert as_written("ｶﾞｲﾄﾞ", "iso2022_jp") is None
    assert as_written("髙橋", "euc_jp") is None
    assert as_written("髙橋", "utf-16") == "髙橋"

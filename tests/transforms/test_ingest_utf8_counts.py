"""first_pass's UTF-8 statistics against decoding the whole file at once.

The reference decodes every byte in one call with surrogateescape, as the encoding choice
defines the counts: the invalid bytes are the escapes, the multi-byte bytes are the UTF-8
bytes of every other non-ASCII character. first_pass must agree however the file is chunked.
"""

from __future__ import annotations

import itertools
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from transforms.ingest_stream import first_pass

_ESCAPE = re.compile("[\udc80-\udcff]")


def reference_counts(data: bytes) -> tuple[int, int]:
    text = data.decode("utf-8", "surrogateescape")
    valid = _ESCAPE.sub("", text)
    multibyte = len(valid.encode("utf-8")) - sum(ch.isascii() for ch in valid)
    return multibyte, len(text) - len(valid)


# Valid characters of each UTF-8 length, and what breaks UTF-8: stray continuation and lead
# bytes, truncated and overlong sequences, encoded surrogates, code points past U+10FFFF,
# Shift_JIS, a BOM.
_PIECES = [b"a", b"\n", "é".encode(), "あ".encode(), "😀".encode(),
           b"\x80", b"\xff", b"\xe3\x81", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           "テスト".encode("cp932"), b"\xef\xbb\xbf"]


@st.composite
def chunked_files(draw) -> list[bytes]:
    data = b"".join(draw(st.lists(st.sampled_from(_PIECES), max_size=40)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=500, deadline=None)
@given(chunked_files())
@example([b"\xe3", b"\x81", b"\x82"])
@example([b"ok", b"\xe3\x81"])
@example([b"\xed\xa0", b"\x80\xe3\x81\x82"])
def test_utf8_counts_equal_decoding_the_whole_file(chunks: list[bytes]) -> None:
    facts = first_pass(chunks)
    assert (facts.utf8_multibyte, facts.utf8_invalid) == reference_counts(b"".join(chunks))
    assert facts.size == sum(map(len, chunks))


def test_a_valid_file_after_an_invalid_chunk_counts_only_the_invalid_bytes() -> None:
    chunks = ["日本語".encode()[:-1], b"\xff\xfe", "テキスト".encode() * 3]
    facts = first_pass(chunks)
    assert (facts.utf8_multibyte, facts.utf8_invalid) == (6 + 36, 2 + 2)
    assert (facts.utf8_multibyte, facts.utf8_invalid) == reference_counts(b"".join(chunks))

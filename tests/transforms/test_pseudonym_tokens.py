"""The pseudonym tokens the index and `kura forget` hash: found exactly, hashed the same way
the PII step's tokens would be."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transforms.pii import pseudonym
from transforms.pseudonym_tokens import (
    token_hash,
    token_hashes,
    value_identity,
    value_token_hashes,
)

SECRET = b"test-secret"
tokens = st.builds(lambda e, h: f"<{e}_{h}>", st.sampled_from(["PERSON", "PHONE_NUMBER",
                                                                "JP_MY_NUMBER"]),
                   st.text("0123456789abcdef", min_size=12, max_size=12))
# Text around tokens: anything that cannot complete a token by itself.
filler = st.text(st.characters(blacklist_characters="<>"), max_size=30)


@given(st.lists(st.tuples(filler, tokens), max_size=5), filler)
def test_token_hashes_finds_exactly_the_tokens_in_a_text(pieces, tail) -> None:
    text = "".join(f + t for f, t in pieces) + tail
    assert token_hashes(text) == {token_hash(t) for _, t in pieces}


def test_near_tokens_are_not_tokens() -> None:
    assert token_hashes("<PERSON_12345> <PERSON_0123456789AB> <person_0123456789ab> "
                        "<PERSON_0123456789abc>") == frozenset()


def test_a_value_hashes_as_the_pii_step_would_have_tokenized_it() -> None:
    hashes = value_token_hashes(SECRET, ["PERSON", "PHONE_NUMBER"], "山田 太郎")
    assert hashes["PERSON"] == token_hash(pseudonym(SECRET, "PERSON", "山田太郎"))
    assert hashes["PHONE_NUMBER"] == token_hash(pseudonym(SECRET, "PHONE_NUMBER", "山田太郎"))
    text = f"担当は{pseudonym(SECRET, 'PERSON', '山田太郎')}様です"
    assert hashes["PERSON"] in token_hashes(text)


def test_value_identity_ignores_width_spacing_and_separators() -> None:
    assert value_identity("山田　太郎") == value_identity("山田太郎")
    assert value_identity("０９０－１２３４－５６７８") == value_identity("09012345678")

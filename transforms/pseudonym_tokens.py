"""Pseudonym tokens as the index and `kura forget` see them: hashes only.

In pseudonym mode the PII step writes `<ENTITY_hex>` tokens into the stored text
(transforms/pii.py `pseudonym`). The pseudonym index keeps, per document, the sha256 of each
token in its text, never the token itself, so the index alone does not even say which
documents share a person: whoever looks a person up needs the value and the corpus secret
to compute the token, and then its hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# `<ENTITY_hex>` as `pseudonym` writes it (entity names are upper-case with underscores).
TOKEN_PATTERN = re.compile(r"<([A-Z][A-Z0-9_]*)_([0-9a-f]{12})>")


def token_hash(token: str) -> str:
    """sha256 hex of a pseudonym token's UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_hashes(text: str) -> frozenset[str]:
    """The hashes of every pseudonym token in a stored text."""
    return frozenset(token_hash(match.group(0)) for match in TOKEN_PATTERN.finditer(text))


def value_token_hashes(secret: bytes, entities: Iterable[str], value: str) -> dict[str, str]:
    """The hash of the token `value` would have become as each entity type (entity -> hash):
    the PII step tokenizes a value under the type its recognizer gave it."""
    from transforms.pii import pseudonym  # presidio: imported by the one command that needs it

    return {entity: token_hash(pseudonym(secret, entity, value)) for entity in entities}


def value_identity(value: str) -> str:
    """How `pseudonym` sees a value (width, spaces, hyphens, brackets and case folded): used to
    compare a value with other text without caring how it was typed."""
    from transforms.normalize import pii_view

    return re.sub(r"[\s\-()]", "", pii_view(value)).casefold()

"""The document kinds and their composers, and fitting a document to a file's encoding."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.democorpus.compose import Composer, Draft
from pipelines.democorpus.contracts import compose_contract
from pipelines.democorpus.emails import compose_email
from pipelines.democorpus.encode import as_written
from pipelines.democorpus.manuals import compose_manual
from pipelines.democorpus.minutes import compose_minutes
from pipelines.democorpus.support import compose_support_log

COMPOSERS: dict[str, Callable[[Composer], Draft]] = {
    "support_log": compose_support_log,
    "email": compose_email,
    "manual": compose_manual,
    "minutes": compose_minutes,
    "contract": compose_contract,
}
KIND_WEIGHTS: tuple[int, ...] = (30, 25, 15, 15, 15)  # in COMPOSERS order


def fit(draft: Draft, encoding: str) -> Draft | None:
    """The draft as a reader decodes it from `encoding`, or None if it cannot be written so."""
    text, title = as_written(draft.text, encoding), as_written(draft.title, encoding)
    if text is None or title is None:
        return None
    pii = tuple((kind, as_written(value, encoding) or value) for kind, value in draft.pii)
    return Draft(draft.kind, title, text, tuple(item for item in pii if item[1] in text))


def compose_fitting(composer: Composer, kind: str, encoding: str) -> Draft:
    for _ in range(50):
        composer.begin()
        fitted = fit(COMPOSERS[kind](composer), encoding)
        if fitted is not None:
            return fitted
    raise RuntimeError(f"could not compose a {kind} document that fits {encoding}")

"""The demo member corpus `kura demo` onboards: realistic Japanese business documents with
planted personal data, exact and near duplicates, legacy encodings and broken records."""

from pipelines.democorpus.generate import (
    DEFAULT_DOCUMENTS,
    DEFAULT_SEED,
    DemoCorpus,
    generate_demo_corpus,
)
from pipelines.democorpus.layout import DemoFile

__all__ = ["DEFAULT_DOCUMENTS", "DEFAULT_SEED", "DemoCorpus", "DemoFile", "generate_demo_corpus"]

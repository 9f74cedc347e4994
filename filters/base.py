"""The filter contract: a document in, the (possibly rewritten) document or a `Rejection` out.

A filter is configured from its YAML section (a pydantic `Options` model), keeps no global state,
loads heavy resources in `setup()`, and declares the reasons it can give and the annotations it adds,
so that the pipeline can count, validate and write them without knowing the filter.
"""

from __future__ import annotations

from typing import ClassVar

from corpus.config import Options
from corpus.document import Document, Rejection


class Filter:
    name: ClassVar[str]
    Options: ClassVar[type[Options]]
    reasons: ClassVar[tuple[str, ...]] = ()  # the rules; reasons are f"{name}/{rule}"
    annotations: ClassVar[tuple[str, ...]] = ()  # names declared in corpus.document.ANNOTATIONS

    def __init__(self, options: Options, seed: int = 0) -> None:
        self.options = options
        self.seed = seed

    def setup(self) -> None:
        """Load models and word lists; called once per worker before the first document."""

    def __call__(self, doc: Document) -> Document | Rejection:
        raise NotImplementedError

    def batch(self, docs: list[Document]) -> list[Document | Rejection]:
        """One result per document, in order. Filters with vectorised work (NumPy, a model's batch
        predict) override this; the per-document call stays the reference behaviour."""
        return [self(doc) for doc in docs]

    def reject(self, rule: str, detail: str | None = None) -> Rejection:
        assert rule in self.reasons, f"{self.name}: undeclared rule {rule!r}"
        return Rejection(f"{self.name}/{rule}", detail)

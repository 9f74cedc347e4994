"""The filter contract: a document in, the (possibly rewritten) document or a `Rejection` out.

A filter is configured from its YAML section (a pydantic `Options` model), keeps no global state,
loads heavy resources in `setup()`, and declares the reasons it can give and the annotations it adds,
so that the pipeline can count, validate and write them without knowing the filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from corpus.config import Options
from corpus.document import Document, ErrorRecord, Rejection


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


@dataclass(slots=True)
class Trace:
    """One document's way through stages run in memory (``corpus inspect``, tests)."""

    input: Document
    result: Document | Rejection | ErrorRecord
    removed: list[tuple[str, str]] = field(default_factory=list)  # (line, "stage/rule") lines dropped

    @property
    def alive(self) -> bool:
        return isinstance(self.result, Document)


def run_in_memory(stages: list, docs: list[Document]) -> list[Trace]:
    """Run configured stages over documents without Beam, with the same decisions as the pipeline.

    A `Filter` is applied document by document; a corpus-wide stage (C4) provides ``run_in_memory``,
    which does its shuffles with dicts.
    """
    traces = [Trace(doc, doc) for doc in docs]
    for stage in stages:
        stage.setup()
        if not isinstance(stage, Filter):
            stage.run_in_memory(traces)
            continue
        for trace in traces:
            if trace.alive:
                trace.result = apply_safely(stage, trace.result)
    return traces


def apply_safely(flt: Filter, doc: Document) -> Document | Rejection | ErrorRecord:
    """``flt(doc)``; an exception becomes an error record (``<stage>/exception``), as in the pipeline."""
    try:
        return flt(doc)
    except Exception as err:  # one bad document must not stop a corpus-sized run
        return ErrorRecord(doc.source, None, f"{flt.name}/exception", f"{type(err).__name__}: {err}",
                           raw=doc.text[:1024].encode("utf-8", "replace"), id=doc.id)

"""One document per key: the GroupByKey step shared by C4's URL dedup and the dedup stage's exact
and URL passes, and the re-batching that follows any per-document shuffle."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam

from corpus.document import Document, Rejected, Rejection

REBATCH = 1000


def rebatch(label: str):
    """Per-document elements after a shuffle -> batches again (batch boundaries never matter: every
    step is per document and the writer sorts)."""
    return label >> beam.BatchElements(min_batch_size=1, max_batch_size=REBATCH)


class _SplitByKey(beam.DoFn):
    def __init__(self, key_fn: Callable[[Document], Any]) -> None:
        self.key_fn = key_fn

    def process(self, batch) -> Iterator[tuple[Any, Document]]:  # (and "unkeyed" batches)
        unkeyed = []
        for doc in batch:
            key = self.key_fn(doc)
            if key is None:
                unkeyed.append(doc)
            else:
                yield key, doc
        if unkeyed:
            yield beam.pvalue.TaggedOutput("unkeyed", unkeyed)


class _KeepOne(beam.DoFn):
    def __init__(self, choose: Callable[[list[Document]], Document],
                 rejection: Callable[[Document], Rejection]) -> None:
        self.choose, self.rejection = choose, rejection

    def process(self, keyed):
        _, docs = keyed
        docs = list(docs)
        survivor = self.choose(docs)
        yield survivor
        duplicates = [Rejected(d, self.rejection(survivor)) for d in docs if d is not survivor]
        if duplicates:
            yield beam.pvalue.TaggedOutput("rejected", duplicates)


class KeepOnePerKey(beam.PTransform):
    """Batches -> {"kept", "rejected"}: of the documents sharing ``key_fn``'s key, ``choose`` keeps
    one and the others get ``rejection(survivor)``; documents whose key is None pass untouched."""

    def __init__(self, key_fn: Callable[[Document], Any], choose: Callable[[list[Document]], Document],
                 rejection: Callable[[Document], Rejection]) -> None:
        super().__init__()
        self.key_fn, self.choose, self.rejection = key_fn, choose, rejection

    def expand(self, batches):
        keyed = batches | "Key" >> beam.ParDo(_SplitByKey(self.key_fn)).with_outputs("unkeyed", main="keyed")
        result = (keyed.keyed
                  # key -> [document, ...]
                  | "GroupByKey" >> beam.GroupByKey()
                  | "KeepOne" >> beam.ParDo(_KeepOne(self.choose, self.rejection)).with_outputs("rejected", main="kept"))
        kept = (result.kept | rebatch("Rebatch"), keyed.unkeyed) | "WithUnkeyed" >> beam.Flatten()
        return {"kept": kept, "rejected": result.rejected}

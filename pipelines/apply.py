"""ApplyFilter: a pure filter over batches of documents, with kept / rejected / errors / counts outputs."""

from __future__ import annotations

from collections import Counter

import apache_beam as beam

from corpus.document import Document, ErrorRecord, Rejected, Rejection
from filters.base import Filter


class _FilterFn(beam.DoFn):
    def __init__(self, flt: Filter) -> None:
        self.filter = flt

    def setup(self) -> None:
        self.filter.setup()
        self.counters = {}

    def process(self, batch: list[Document]):
        kept: list[Document] = []
        rejected: list[Rejected] = []
        errors: list[ErrorRecord] = []
        try:
            results = self.filter.batch(batch)
        except Exception:  # find the document that broke the batch; the others go on
            results = [self._one(doc) for doc in batch]
        for doc, result in zip(batch, results, strict=True):
            if isinstance(result, Document):
                kept.append(result)
            elif isinstance(result, Rejection):
                rejected.append(Rejected(doc, result))
            else:
                errors.append(result)
        counts = Counter(("rejected", r.rejection.reason) for r in rejected)
        counts.update(("errors", e.reason) for e in errors)
        for (_, reason), n in counts.items():
            self._counter(reason).inc(n)
        if kept:
            yield kept
        if rejected:
            yield beam.pvalue.TaggedOutput("rejected", rejected)
        if errors:
            yield beam.pvalue.TaggedOutput("errors", errors)
        if counts:
            yield beam.pvalue.TaggedOutput("counts", counts)

    def _one(self, doc: Document) -> Document | Rejection | ErrorRecord:
        try:
            return self.filter(doc)
        except Exception as err:  # one bad document must not stop a corpus-sized run
            return ErrorRecord(doc.source, None, f"{self.filter.name}/exception", f"{type(err).__name__}: {err}",
                               raw=doc.text[:1024].encode("utf-8", "replace"), id=doc.id)

    def _counter(self, reason: str):
        if reason not in self.counters:
            self.counters[reason] = beam.metrics.Metrics.counter(self.filter.name, reason)
        return self.counters[reason]


class ApplyFilter(beam.PTransform):
    """Batches of documents -> ``kept`` batches, ``rejected`` and ``errors`` batches, ``counts``."""

    def __init__(self, flt: Filter) -> None:
        super().__init__()
        self.filter = flt

    def expand(self, batches):
        return batches | "Apply" >> beam.ParDo(_FilterFn(self.filter)).with_outputs(
            "rejected", "errors", "counts", main="kept")

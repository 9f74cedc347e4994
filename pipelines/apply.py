"""ApplyFilter: a pure filter over batches of documents, with kept / rejected / errors outputs."""

from __future__ import annotations

from collections import Counter

import apache_beam as beam

from corpus.document import Document, ErrorRecord, Rejected, Rejection
from filters.base import Filter, apply_safely


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
            results = [apply_safely(self.filter, doc) for doc in batch]
        for doc, result in zip(batch, results, strict=True):
            if isinstance(result, Document):
                kept.append(result)
            elif isinstance(result, Rejection):
                rejected.append(Rejected(doc, result))
            else:
                errors.append(result)
        for reason, n in Counter([r.rejection.reason for r in rejected] + [e.reason for e in errors]).items():
            self._counter(reason).inc(n)  # for runners' UIs; stats.json counts the outputs themselves
        if kept:
            yield kept
        if rejected:
            yield beam.pvalue.TaggedOutput("rejected", rejected)
        if errors:
            yield beam.pvalue.TaggedOutput("errors", errors)

    def _counter(self, reason: str):
        if reason not in self.counters:
            self.counters[reason] = beam.metrics.Metrics.counter(self.filter.name, reason)
        return self.counters[reason]


class ApplyFilter(beam.PTransform):
    """Batches of documents -> ``kept`` batches, ``rejected`` and ``errors`` batches."""

    def __init__(self, flt: Filter) -> None:
        super().__init__()
        self.filter = flt

    def expand(self, batches):
        return batches | "Apply" >> beam.ParDo(_FilterFn(self.filter)).with_outputs(
            "rejected", "errors", main="kept")

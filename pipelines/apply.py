"""ApplyFilter: a pure filter as a DoFn with ``kept`` / ``rejected`` / ``errors`` outputs."""

from __future__ import annotations

import apache_beam as beam

from corpus.document import Document, ErrorRecord, Rejected, Rejection
from filters.base import Filter


class _FilterFn(beam.DoFn):
    def __init__(self, flt: Filter) -> None:
        self.filter = flt

    def setup(self) -> None:
        self.filter.setup()
        self.counters = {}

    def _count(self, reason: str) -> None:
        counter = self.counters.get(reason)
        if counter is None:
            counter = self.counters[reason] = beam.metrics.Metrics.counter(self.filter.name, reason)
        counter.inc()

    def process(self, doc: Document):
        try:
            result = self.filter(doc)
        except Exception as err:  # one bad document must not stop a corpus-sized run
            reason = f"{self.filter.name}/exception"
            self._count(reason)
            yield beam.pvalue.TaggedOutput("errors", ErrorRecord(
                doc.source, None, reason, f"{type(err).__name__}: {err}",
                raw=doc.text[:1024].encode("utf-8", "replace"), id=doc.id))
            return
        if isinstance(result, Rejection):
            self._count(result.reason)
            yield beam.pvalue.TaggedOutput("rejected", Rejected(doc, result))
        else:
            yield result


class ApplyFilter(beam.PTransform):
    def __init__(self, flt: Filter) -> None:
        super().__init__(f"Filter[{flt.name}]")
        self.filter = flt

    def expand(self, documents):
        return documents | "Apply" >> beam.ParDo(_FilterFn(self.filter)).with_outputs(
            "rejected", "errors", main="kept")

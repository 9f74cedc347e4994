"""The whole run as one Beam graph: read -> stages in config order -> write documents, rejects, errors."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.config import RunConfig
from corpus.document import document_schema, error_schema
from filters.base import Filter
from pipelines.apply import ApplyFilter
from pipelines.read import ReadDocuments
from pipelines.write import WriteDataset

COUNTS_FILE = "_counts.json"  # the pipeline's own tally, turned into stats.json by the launcher


def _write_counts(counts: list, outputs: list, path: str) -> None:
    payload = {"counts": sorted([list(key), n] for key, n in counts), "outputs": dict(sorted(outputs))}
    with FileSystems.create(path) as f:
        f.write(json.dumps(payload).encode())


def build_pipeline(p: beam.Pipeline, config: RunConfig, stages: list[Filter], files: list[str],
                   directory: str, progress=None) -> None:
    read = p | "Read" >> ReadDocuments(files, config.read)
    documents = read.documents
    rejected, errors = [], [read.errors]
    for flt in stages:
        result = documents | f"Stage[{flt.name}]" >> ApplyFilter(flt)
        documents = result.kept
        rejected.append(result.rejected)
        errors.append(result.errors)
    rejected = rejected | "AllRejected" >> beam.Flatten()
    errors = errors | "AllErrors" >> beam.Flatten()

    annotations = ("date",) + tuple(a for flt in stages for a in flt.annotations)
    out = config.output
    outputs = [
        documents
        | "DocumentRows" >> beam.Map(lambda d: d.to_row())
        | "WriteDocuments" >> WriteDataset(FileSystems.join(directory, "documents"), document_schema(annotations),
                                           out.max_shard_bytes, out.num_shards, name="documents"),
        errors
        | "ErrorRows" >> beam.Map(lambda e: e.to_row())
        | "WriteErrors" >> WriteDataset(FileSystems.join(directory, "errors"), error_schema(),
                                        out.max_shard_bytes, name="errors"),
    ]
    if out.write_rejected:
        outputs.append(
            rejected
            | "RejectedRows" >> beam.Map(lambda r: r.to_row())
            | "WriteRejected" >> WriteDataset(FileSystems.join(directory, "rejected"),
                                              document_schema(annotations, rejected=True),
                                              out.max_shard_bytes, name="rejected"))

    if progress is not None:
        for kind, pcoll in (("read", read.documents), ("kept", documents), ("rejected", rejected), ("errors", errors)):
            progress.attach(pcoll, kind)

    # (category, key) for every document at every exit, counted exactly.
    tallies = [
        read.documents | "TallyRead" >> beam.Map(lambda _: ("read", "documents")),
        documents | "TallyKept" >> beam.Map(lambda _: ("kept", "documents")),
        rejected | "TallyRejected" >> beam.Map(lambda r: ("rejected", r.rejection.reason)),
        errors | "TallyErrors" >> beam.Map(lambda e: ("errors", e.reason)),
        read.skipped | "TallySkipped" >> beam.Map(lambda kind: ("skipped", kind)),
    ]
    counts = (tallies | "AllTallies" >> beam.Flatten() | "Count" >> beam.combiners.Count.PerElement()
              | "CollectCounts" >> beam.combiners.ToList())
    summaries = outputs | "AllOutputs" >> beam.Flatten() | "CollectOutputs" >> beam.combiners.ToList()
    _ = counts | "WriteCounts" >> beam.Map(_write_counts, beam.pvalue.AsSingleton(summaries),
                                           FileSystems.join(directory, COUNTS_FILE))

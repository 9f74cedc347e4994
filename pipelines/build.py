"""The whole run as one Beam graph: read -> stages in config order -> write documents, rejects, errors."""

from __future__ import annotations

import json
from collections import Counter

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from corpus.config import RunConfig
from corpus.document import document_schema, error_schema
from filters.base import Filter
from pipelines.apply import ApplyFilter
from pipelines.c4 import C4Clean
from pipelines.dedup import DedupStage
from pipelines.read import ReadDocuments
from pipelines.t5 import SpanCorruption
from pipelines.write import WriteDataset

COUNTS_FILE = "_counts.json"  # the pipeline's own tally, turned into stats.json by the launcher


class _MergeCounts(beam.CombineFn):
    def create_accumulator(self) -> Counter:
        return Counter()

    def add_input(self, acc: Counter, counts: Counter) -> Counter:
        acc.update(counts)
        return acc

    def merge_accumulators(self, accs) -> Counter:
        total = Counter()
        for acc in accs:
            total.update(acc)
        return total

    def extract_output(self, acc: Counter) -> Counter:
        return acc


def _write_counts(counts: Counter, outputs: list, path: str) -> None:
    payload = {"counts": sorted([list(key), n] for key, n in counts.items()), "outputs": dict(sorted(outputs))}
    with FileSystems.create(path) as f:
        f.write(json.dumps(payload).encode())


# Corpus-wide stages: their Beam transforms, by stage name. Every other stage is a Filter.
CORPUS_STAGES = {
    "c4": lambda stage, directory, output: C4Clean(stage),
    "dedup": lambda stage, directory, output: DedupStage(stage, FileSystems.join(directory, "clusters"),
                                                         output.max_shard_bytes),
}


def stage_transform(stage, directory: str, output) -> beam.PTransform:
    if isinstance(stage, Filter):
        return ApplyFilter(stage)
    return CORPUS_STAGES[stage.name](stage, directory, output)


def _tally(category: str):
    return lambda batch: Counter((category, record.reason if category == "errors" else record.rejection.reason)
                                 for record in batch)


def _document_row(doc):
    return doc.to_row()


def _record_row(record):
    return record.to_row()


def build_pipeline(p: beam.Pipeline, config: RunConfig, stages: list, files: list[str],
                   directory: str, progress=None) -> None:
    read = p | "Read" >> ReadDocuments(files, config.read)
    documents = read.documents  # batches: [Document, ...]
    rejected, errors, stage_outputs = [], [read.errors], []
    for stage in stages:
        result = documents | f"Stage[{stage.name}]" >> stage_transform(stage, directory, config.output)
        documents = result["kept"]
        rejected.append(result["rejected"])
        errors.append(result["errors"])
        if isinstance(result, dict):  # corpus-wide stages may write datasets of their own (clusters/)
            stage_outputs += result.get("outputs", [])
    rejected = rejected | "AllRejected" >> beam.Flatten()
    errors = errors | "AllErrors" >> beam.Flatten()

    annotations = ("date",) + tuple(a for flt in stages for a in flt.annotations)
    out = config.output
    outputs = [
        documents | "WriteDocuments" >> WriteDataset(
            FileSystems.join(directory, "documents"), document_schema(annotations),
            out.max_shard_bytes, out.num_shards, name="documents", to_row=_document_row),
        errors | "WriteErrors" >> WriteDataset(
            FileSystems.join(directory, "errors"), error_schema(), out.max_shard_bytes, name="errors",
            to_row=_record_row),
    ]
    outputs += stage_outputs
    if config.t5 is not None:
        outputs.append(documents | "T5SpanCorruption" >> SpanCorruption(config.t5, config.seed, directory,
                                                                         out.max_shard_bytes))
    if out.write_rejected:
        outputs.append(rejected | "WriteRejected" >> WriteDataset(
            FileSystems.join(directory, "rejected"), document_schema(annotations, rejected=True),
            out.max_shard_bytes, name="rejected", to_row=_record_row))

    if progress is not None:
        for kind, pcoll in (("read", read.documents), ("kept", documents), ("rejected", rejected), ("errors", errors)):
            progress.attach(pcoll, kind)

    # Documents in are counted per file by the reader, rejections and errors per batch where they
    # leave, kept documents by the writer that wrote them. stats.json checks that these agree.
    counts = [read.counts,
              rejected | "TallyRejected" >> beam.Map(_tally("rejected")),
              errors | "TallyErrors" >> beam.Map(_tally("errors"))]
    summaries = outputs | "AllOutputs" >> beam.Flatten() | "CollectOutputs" >> beam.combiners.ToList()
    _ = (counts
         | "AllCounts" >> beam.Flatten()
         | "MergeCounts" >> beam.CombineGlobally(_MergeCounts())
         | "WriteCounts" >> beam.Map(_write_counts, beam.pvalue.AsSingleton(summaries),
                                     FileSystems.join(directory, COUNTS_FILE)))

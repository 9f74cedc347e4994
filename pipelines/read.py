"""ReadDocuments: every supported format, by glob, from any filesystem Beam knows (local, gs://).

Documents travel through the pipeline in batches (lists of up to `BATCH_DOCS` documents from one
file): Beam's per-element cost is paid per batch, not per document.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus.config import ReadConfig
from corpus.document import Document, ErrorRecord
from corpus.errors import InputError
from corpus.formats import Skipped, read_records

BATCH_DOCS = 1000
BATCH_CHARS = 16 * 2**20
_GLOB_CHARS = set("*?[")


def expand_inputs(patterns: list[str] | tuple[str, ...]) -> list[str]:
    """Match globs to files; a dataset directory (``state.json``) stands for its shards.

    Done on the launching machine, so that a typo in a glob is one clear error before any job starts.
    """
    if not patterns:
        raise InputError("no input given (--input GLOB)")
    files: list[str] = []
    for pattern in patterns:
        if not any(c in _GLOB_CHARS for c in pattern):
            dataset = _dataset_files(pattern)
            if dataset is not None:
                files += dataset
                continue
        try:
            matched = FileSystems.match([pattern])[0].metadata_list
        except (OSError, beam.io.filesystem.BeamIOError) as err:
            raise InputError(f"{pattern}: cannot list: {err}") from None
        found = []
        for meta in matched:
            dataset = _dataset_files(meta.path)
            if dataset is not None:
                found += dataset
            elif not _is_local_directory(meta.path):
                found.append(meta.path)
            elif pattern.rstrip("/") == meta.path.rstrip("/"):
                raise InputError(f"{pattern}: a directory but not a dataset (no state.json); "
                                 f"name its files with a glob, e.g. {pattern.rstrip('/')}/*.jsonl.gz")
        if not found:
            raise InputError(f"{pattern}: no files match")
        files += found
    return sorted(set(files))


def _is_local_directory(path: str) -> bool:
    return FileSystems.get_scheme(path) is None and os.path.isdir(path)


def _dataset_files(path: str) -> list[str] | None:
    state_path = FileSystems.join(path, "state.json")
    if not FileSystems.exists(state_path):
        return None
    try:
        with FileSystems.open(state_path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            names = [entry["filename"] for entry in json.loads(f.read())["_data_files"]]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{state_path}: not a dataset state file: {err}") from None
    return [FileSystems.join(path, name) for name in names]


class ParseFile(beam.DoFn):
    """One input file -> batches of documents (main), batches of ``errors``, and its ``counts``
    (documents read, non-document records skipped; errors are counted where they are written)."""

    def __init__(self, config: ReadConfig) -> None:
        self.config = config

    def setup(self) -> None:
        self.documents = beam.metrics.Metrics.counter("read", "documents")
        self.errors = beam.metrics.Metrics.counter("read", "errors")

    def process(self, path: str):
        counts: Counter = Counter()
        try:
            raw = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        except (OSError, beam.io.filesystem.BeamIOError) as err:
            yield beam.pvalue.TaggedOutput("errors", [ErrorRecord(path, None, "read/unreadable", str(err))])
            return
        batch: list[Document] = []
        errors: list[ErrorRecord] = []
        chars = 0
        with raw:
            for record in read_records(raw, path, self.config):
                if isinstance(record, Document):
                    batch.append(record)
                    chars += len(record.text)
                    if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
                        yield self._flush(batch, counts)
                        batch, chars = [], 0
                elif isinstance(record, Skipped):
                    counts["skipped", record.kind] += 1
                else:
                    errors.append(record)
        if batch:
            yield self._flush(batch, counts)
        if errors:
            self.errors.inc(len(errors))
            yield beam.pvalue.TaggedOutput("errors", errors)
        yield beam.pvalue.TaggedOutput("counts", counts)

    def _flush(self, batch: list[Document], counts: Counter) -> list[Document]:
        counts["read", "documents"] += len(batch)
        self.documents.inc(len(batch))
        return batch


class ReadDocuments(beam.PTransform):
    """Files -> batches of documents; ``errors`` (batches of ErrorRecord); ``counts`` per file."""

    def __init__(self, files: list[str], config: ReadConfig) -> None:
        super().__init__()
        self.files = files
        self.config = config

    def expand(self, pbegin):
        return (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles" >> beam.ParDo(ParseFile(self.config)).with_outputs("errors", "counts", main="documents")
        )

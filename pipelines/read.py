"""ReadDocuments: every supported format, by glob, from any filesystem Beam knows (local, gs://)."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpus.config import ReadConfig
from corpus.document import Document, ErrorRecord
from corpus.formats import InputError, Skipped, read_records

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
            elif not _is_directory(meta.path):
                found.append(meta.path)
            elif pattern == meta.path or pattern.rstrip("/") == meta.path.rstrip("/"):
                raise InputError(f"{pattern}: a directory but not a dataset (no state.json); "
                                 f"name its files with a glob, e.g. {pattern.rstrip('/')}/*.jsonl.gz")
        if not found:
            raise InputError(f"{pattern}: no files match")
        files += found
    return sorted(set(files))


def _is_directory(path: str) -> bool:
    import os

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
    """One input file -> documents (main), ``errors``, and ``skipped`` non-document records."""

    def __init__(self, config: ReadConfig) -> None:
        self.config = config

    def setup(self) -> None:
        self.documents = beam.metrics.Metrics.counter("read", "documents")
        self.errors = beam.metrics.Metrics.counter("read", "errors")

    def process(self, path: str):
        try:
            raw = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
        except (OSError, beam.io.filesystem.BeamIOError) as err:
            yield beam.pvalue.TaggedOutput("errors", ErrorRecord(path, None, "read/unreadable", str(err)))
            return
        with raw:
            for record in read_records(raw, path, self.config):
                if isinstance(record, Document):
                    self.documents.inc()
                    yield record
                elif isinstance(record, Skipped):
                    yield beam.pvalue.TaggedOutput("skipped", record.kind)
                else:
                    self.errors.inc()
                    yield beam.pvalue.TaggedOutput("errors", record)


class ReadDocuments(beam.PTransform):
    """Files -> documents; unparseable records to ``errors``, non-document records to ``skipped``."""

    def __init__(self, files: list[str], config: ReadConfig) -> None:
        super().__init__()
        self.files = files
        self.config = config

    def expand(self, pbegin):
        return (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles" >> beam.ParDo(ParseFile(self.config)).with_outputs("errors", "skipped", main="documents")
        )

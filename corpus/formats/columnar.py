"""Parquet files and Arrow IPC files/streams, including this toolkit's own output datasets.

Reading our own ``documents/`` output back keeps ``source`` and every declared annotation, so runs
can be chained (clean today, deduplicate tomorrow) without losing provenance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.config import ReadConfig
from corpus.document import ANNOTATIONS, Document, ErrorRecord
from corpus.formats.jsonl import document_from_mapping

_BATCH_ROWS = 1024


def read(raw: BinaryIO, path: str, fmt: str, config: ReadConfig) -> Iterator[Document | ErrorRecord]:
    try:
        batches = _parquet_batches(raw) if fmt == "parquet" else _arrow_batches(raw)
        position = 0
        for batch in batches:
            names = batch.schema.names
            has_source = "source" in names
            keep = [name for name in ANNOTATIONS if name in names and name not in _mapped(config)]
            for row in batch.to_pylist():
                yield _document(row, path, position, config, has_source, keep)
                position += 1
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        yield ErrorRecord(path, None, "read/corrupt_file", f"{type(err).__name__}: {err}")


def _document(row, path, position, config, has_source, keep) -> Document | ErrorRecord:
    def error(reason: str, message: str) -> ErrorRecord:
        return ErrorRecord(path, position, reason, message, raw=repr(row)[:1024].encode())

    source = row["source"] if has_source and isinstance(row["source"], str) else path
    doc = document_from_mapping(row, path, position, config.fields, error, source=source)
    if isinstance(doc, Document):
        doc.annotations.update({name: row[name] for name in keep if row[name] is not None})
    return doc


def _mapped(config: ReadConfig) -> set[str]:
    return set(config.fields.model_dump().values())


def _parquet_batches(raw: BinaryIO) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(raw).iter_batches(batch_size=_BATCH_ROWS)


def _arrow_batches(raw: BinaryIO) -> Iterator[pa.RecordBatch]:
    """IPC stream (what `datasets` and this toolkit write) or IPC file, told apart by the magic."""
    head = raw.read(6)
    raw.seek(0)
    reader = pa.ipc.open_file(raw) if head == b"ARROW1" else pa.ipc.open_stream(raw)
    if isinstance(reader, pa.ipc.RecordBatchFileReader):
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    else:
        yield from reader

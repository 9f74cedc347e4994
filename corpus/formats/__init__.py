"""Input formats: each turns a binary stream into documents, error records and skipped records.

The readers are pure Python over a file object, so the Beam reader (`pipelines.read`) and the
Beam-free tools (`corpus inspect`) share them. Compression is handled here, not by the caller, so that
a truncated gzip member or a broken zstd frame becomes an error record like any other bad input.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

from corpus.config import ReadConfig
from corpus.document import Document, ErrorRecord
from corpus.errors import InputError

FORMATS = ("jsonl", "wet", "parquet", "arrow")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is not a document by design (a WARC `warcinfo` record), counted, not kept."""

    source: str
    kind: str


Record = Document | ErrorRecord | Skipped

_SUFFIXES = (
    (".warc.wet.gz", "wet"), (".wet.gz", "wet"), (".warc.wet", "wet"), (".wet", "wet"),
    (".jsonl.gz", "jsonl"), (".jsonl.zst", "jsonl"), (".jsonl", "jsonl"),
    (".json.gz", "jsonl"), (".json.zst", "jsonl"), (".json", "jsonl"), (".ndjson", "jsonl"),
    (".parquet", "parquet"), (".arrow", "arrow"),
)


def detect_format(path: str, configured: str = "auto") -> str:
    if configured != "auto":
        return configured
    lower = path.lower()
    for suffix, fmt in _SUFFIXES:
        if lower.endswith(suffix):
            return fmt
    raise InputError(f"{path}: cannot tell the format from the name; set read.format to one of {', '.join(FORMATS)}")


def decompressed(raw: BinaryIO, path: str) -> BinaryIO:
    """The decompressed stream for ``.gz`` (all members, as Common Crawl writes them) and ``.zst``."""
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if lower.endswith(".zst"):
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))
    return raw


def read_records(raw: BinaryIO, path: str, config: ReadConfig) -> Iterator[Record]:
    """Every record of one input file; damage to the file ends it with an error record."""
    from corpus.formats import columnar, jsonl, wet

    fmt = detect_format(path, config.format)
    if fmt in ("parquet", "arrow"):
        yield from columnar.read(raw, path, fmt, config)
        return
    stream = decompressed(raw, path)
    reader = jsonl.read if fmt == "jsonl" else wet.read
    records_read = 0
    try:
        for record in reader(stream, path, config):
            records_read += 1
            yield record
    except (EOFError, OSError, zstandard.ZstdError) as err:
        # gzip raises EOFError on a truncated member and BadGzipFile (an OSError) on garbage.
        yield ErrorRecord(source=path, position=records_read, reason="read/corrupt_file",
                          error=f"{type(err).__name__}: {err} (the {records_read} records before it were read)")

"""Common Crawl WET files: WARC/1.0 records whose ``conversion`` records hold extracted page text.

Streaming and resynchronising: the record's ``Content-Length`` says where its body ends, and a record
whose headers are broken becomes one error record, after which reading resumes at the next
``WARC/1.`` line. One document per ``conversion`` record, with WARC-Target-URI as ``url``,
WARC-Date as ``date`` and WARC-Record-ID as ``id``; other record types (``warcinfo``) are counted
as skipped. (The C4 stage re-applies TFDS's own line-level quirks on top of this; see filters/c4.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from corpus.config import ReadConfig
from corpus.document import Document, ErrorRecord, fallback_id
from corpus.formats import Skipped

_MAX_HEADER_LINE = 64 * 1024
_MAX_HEADERS = 256


class _BrokenRecord(Exception):
    pass


def read(stream: BinaryIO, path: str, config: ReadConfig) -> Iterator[Document | ErrorRecord | Skipped]:
    position = -1
    pending: bytes | None = None  # a version line found while resynchronising
    while True:
        line = pending if pending is not None else stream.readline(_MAX_HEADER_LINE)
        pending = None
        if not line:
            return
        if not line.strip():
            continue
        position += 1
        if not line.startswith(b"WARC/"):
            garbage, pending = _resync(stream, line)
            yield ErrorRecord(path, position, "read/bad_warc_header",
                              f"expected a 'WARC/1.x' line, skipped {len(garbage)} bytes", raw=garbage)
            continue
        try:
            headers = _read_headers(stream)
            length = _content_length(headers, config.max_record_bytes)
        except _BrokenRecord as err:
            garbage, pending = _resync(stream, line)
            yield ErrorRecord(path, position, "read/bad_warc_header", str(err), raw=garbage)
            continue
        body = stream.read(length)
        if len(body) < length:
            yield ErrorRecord(path, position, "read/truncated_record",
                              f"Content-Length {length} but the file ends after {len(body)} bytes", raw=body)
            return
        record_type = headers.get("warc-type", "")
        if record_type != "conversion":
            yield Skipped(path, f"warc/{record_type or 'untyped'}")
            continue
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            yield ErrorRecord(path, position, "read/invalid_utf8",
                              f"invalid UTF-8 at byte {err.start} of the record body", raw=body,
                              id=_record_id(headers))
            continue
        annotations = {"date": headers["warc-date"]} if "warc-date" in headers else {}
        yield Document(id=_record_id(headers) or fallback_id(path, position), text=text, source=path,
                       url=headers.get("warc-target-uri"), annotations=annotations)


def _read_headers(stream: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        line = stream.readline(_MAX_HEADER_LINE)
        if not line:
            raise _BrokenRecord("file ends inside the record headers")
        if not line.strip():
            return headers
        name, sep, value = line.decode("utf-8", "replace").partition(":")
        if not sep:
            raise _BrokenRecord(f"header line without a colon: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    raise _BrokenRecord(f"more than {_MAX_HEADERS} header lines")


def _content_length(headers: dict[str, str], limit: int) -> int:
    try:
        length = int(headers["content-length"])
    except KeyError:
        raise _BrokenRecord("no Content-Length header") from None
    except ValueError:
        raise _BrokenRecord(f"bad Content-Length {headers['content-length']!r}") from None
    if length < 0:
        raise _BrokenRecord(f"bad Content-Length {length}")
    if length > limit:
        raise _BrokenRecord(f"Content-Length {length} exceeds read.max_record_bytes={limit}")
    return length


def _record_id(headers: dict[str, str]) -> str | None:
    record_id = headers.get("warc-record-id")
    return record_id.strip("<>") if record_id else None


def _resync(stream: BinaryIO, first: bytes) -> tuple[bytes, bytes | None]:
    """Skip to the next version line; return (what was skipped, truncated; that line or None)."""
    skipped = bytearray(first[:1024])
    while True:
        line = stream.readline(_MAX_HEADER_LINE)
        if not line or line.startswith(b"WARC/1."):
            return bytes(skipped), line or None
        if len(skipped) < 1024:
            skipped += line[: 1024 - len(skipped)]

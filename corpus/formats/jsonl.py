"""JSON Lines: one JSON object per line; field names come from ``read.fields`` (dotted paths allowed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from corpus.config import FieldNames, ReadConfig
from corpus.document import Document, ErrorRecord, fallback_id

_CHUNK = 1 << 20


def read(stream: BinaryIO, path: str, config: ReadConfig) -> Iterator[Document | ErrorRecord]:
    limit = config.max_record_bytes
    position = -1
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        position += 1
        if len(line) > limit and not line.endswith(b"\n"):
            skipped = len(line) + _skip_rest_of_line(stream)
            yield ErrorRecord(path, position, "read/record_too_large",
                              f"line of {skipped} bytes exceeds read.max_record_bytes={limit}", raw=line)
            continue
        if not line.strip():
            continue  # blank lines separate nothing in JSONL; they are not records
        yield parse_line(line, path, position, config.fields)


def parse_line(line: bytes, path: str, position: int, fields: FieldNames) -> Document | ErrorRecord:
    def error(reason: str, message: str) -> ErrorRecord:
        return ErrorRecord(path, position, reason, message, raw=line)

    try:
        obj = orjson.loads(line)  # strict: valid UTF-8, no lone surrogates, no NaN
    except orjson.JSONDecodeError as strict_error:
        obj = _lenient_parse(line, strict_error)
        if isinstance(obj, tuple):
            return error(*obj)
    if not isinstance(obj, dict):
        return error("read/not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return document_from_mapping(obj, path, position, fields, error, source=path)


def _lenient_parse(line: bytes, strict_error: orjson.JSONDecodeError) -> Any:
    """The slow path for lines orjson refuses: say why, or accept what Python's json accepts (NaN)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return ("read/invalid_utf8", f"invalid UTF-8 at byte {err.start}: {err.reason}")
    if "surrogate" in str(strict_error):  # "\ud800" escapes half a UTF-16 pair: no UTF-8 text holds it
        return ("read/invalid_utf8", f"a lone surrogate escape: {strict_error}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        return ("read/invalid_json", f"{err.msg} at column {err.colno}")
    except RecursionError:
        return ("read/invalid_json", "JSON nested too deeply")


def document_from_mapping(obj: dict[str, Any], path: str, position: int, fields: FieldNames,
                          error, source: str) -> Document | ErrorRecord:
    """Shared by JSONL and the columnar readers: map configured fields, check their types."""
    text = lookup(obj, fields.text)
    if text is None:
        return error("read/missing_text", f"no {fields.text!r} field (set read.fields.text)")
    if not isinstance(text, str):
        return error("read/bad_field_type", f"{fields.text!r} must be a string, got {type(text).__name__}")
    raw_id = lookup(obj, fields.id)
    if raw_id is None:
        doc_id = fallback_id(path, position)
    elif isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
        doc_id = str(raw_id)
    else:
        return error("read/bad_field_type", f"{fields.id!r} must be a string or an integer, got {type(raw_id).__name__}")
    url = lookup(obj, fields.url)
    if url is not None and not isinstance(url, str):
        return error("read/bad_field_type", f"{fields.url!r} must be a string, got {type(url).__name__}")
    date = lookup(obj, fields.date)
    annotations = {}
    if date is not None:
        annotations["date"] = date if isinstance(date, str) else str(date)
    return Document(id=doc_id, text=text, source=source, url=url, annotations=annotations)


def lookup(obj: dict[str, Any], dotted: str) -> Any:
    if "." not in dotted:
        return obj.get(dotted)
    value: Any = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _skip_rest_of_line(stream: BinaryIO) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped

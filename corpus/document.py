"""The record every stage reads and writes, and the two ways a record can leave the pipeline early.

A document is kept (a `Document` comes out of the last stage), rejected (a filter returned a
`Rejection` with a machine-readable ``stage/rule`` reason), or it never became a document because
its input could not be parsed (an `ErrorRecord`). Nothing else can happen to it: that is what lets
``stats.json`` prove that ``in = kept + rejected + errors``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# Annotation columns: every per-document value a stage or a reader adds, declared here once, in the
# order they appear in output datasets. A stage names the ones it produces (`Filter.annotations`).
ANNOTATIONS: dict[str, pa.DataType] = {
    "date": pa.string(),  # crawl date as given by the input (WARC-Date, a JSON `date` field), ISO 8601
    "language": pa.string(),  # detected language code (c4: langdetect)
    "language_score": pa.float32(),  # the detector's probability for `language`
    "cluster_id": pa.string(),  # dedup: the near-duplicate cluster a surviving document represents
}

# Every column is nullable in the written schema, as in the schemas `datasets` writes: a schema that
# differs from `Features.arrow_schema` only in nullability makes `load_from_disk` cast (and copy).
CORE_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("id", pa.string()),
    ("text", pa.string()),
    ("url", pa.string()),
    ("source", pa.string()),
)

REJECTION_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("reason", pa.string()),  # stage/rule
    ("detail", pa.string()),
)

ERROR_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("source", pa.string()),
    ("position", pa.int64()),  # record index in the file (line, WARC record, row); null if unknown
    ("id", pa.string()),
    ("reason", pa.string()),
    ("error", pa.string()),
    ("raw", pa.binary()),  # the record's bytes, truncated
)

RAW_BYTES_KEPT = 1024  # how much of an unparseable record the error output keeps


@dataclass(slots=True)
class Document:
    id: str
    text: str
    source: str
    url: str | None = None
    annotations: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        row = {"id": self.id, "text": self.text, "url": self.url, "source": self.source}
        row.update(self.annotations)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Document":
        annotations = {k: row[k] for k in ANNOTATIONS if row.get(k) is not None}
        return cls(id=row["id"], text=row["text"], source=row["source"], url=row.get("url"),
                   annotations=annotations)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A filter's "no": ``reason`` is ``stage/rule``; ``detail`` says what triggered it."""

    reason: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    document: Document
    rejection: Rejection

    def to_row(self) -> dict[str, Any]:
        row = self.document.to_row()
        row["reason"] = self.rejection.reason
        row["detail"] = self.rejection.detail
        return row


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """An input that never became a document (or a document a stage crashed on)."""

    source: str
    position: int | None
    reason: str  # ``read/invalid_json``, ``<stage>/exception``, ...
    error: str
    raw: bytes | None = None
    id: str | None = None

    def to_row(self) -> dict[str, Any]:
        return {"source": self.source, "position": self.position, "id": self.id,
                "reason": self.reason, "error": self.error,
                "raw": None if self.raw is None else self.raw[:RAW_BYTES_KEPT]}


def fallback_id(source: str, position: int) -> str:
    """A stable id for inputs that carry none: the same file and record give the same id."""
    return hashlib.sha1(f"{source}\x00{position}".encode()).hexdigest()[:20]


def _schema(fields) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


def document_schema(annotations: list[str] | tuple[str, ...] = (), rejected: bool = False) -> pa.Schema:
    """Core fields, then the requested annotations in declaration order, then reason/detail."""
    unknown = set(annotations) - set(ANNOTATIONS)
    if unknown:
        raise ValueError(f"undeclared annotations {sorted(unknown)}; declare them in corpus.document.ANNOTATIONS")
    fields = list(CORE_FIELDS)
    fields += [(name, ANNOTATIONS[name]) for name in ANNOTATIONS if name in annotations]
    if rejected:
        fields += REJECTION_FIELDS
    return _schema(fields)


def error_schema() -> pa.Schema:
    return _schema(ERROR_FIELDS)

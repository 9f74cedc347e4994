"""Sharded Arrow datasets in the layout `datasets.Dataset.save_to_disk` writes.

``data-00000-of-000NN.arrow`` files in Arrow IPC *stream* format (what ``load_from_disk``
memory-maps), ``state.json`` with the seven keys `datasets` reads, ``dataset_info.json`` whose
``features`` match the schema, and the same features in the schema's ``huggingface`` metadata.

Determinism: a row's shard is a hash of its id (never its arrival order), rows are sorted inside
the shard, and record batches have a fixed size, so the bytes depend only on the rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any, BinaryIO

import pyarrow as pa

WRITER_BATCH_ROWS = 1000  # datasets' default writer_batch_size

_VALUE_DTYPES = {
    pa.string(): "string", pa.large_string(): "large_string", pa.binary(): "binary",
    pa.int64(): "int64", pa.int32(): "int32", pa.uint16(): "uint16", pa.uint32(): "uint32",
    pa.float32(): "float32", pa.float64(): "float64", pa.bool_(): "bool",
}


def feature_of(dtype: pa.DataType) -> dict[str, Any]:
    """The `datasets` feature dict of an Arrow type (Value, or List of a feature)."""
    if pa.types.is_list(dtype):
        return {"feature": feature_of(dtype.value_type), "_type": "List"}
    try:
        return {"dtype": _VALUE_DTYPES[dtype], "_type": "Value"}
    except KeyError:
        raise ValueError(f"no datasets feature for Arrow type {dtype}") from None


def features_of(schema: pa.Schema) -> dict[str, Any]:
    return {f.name: feature_of(f.type) for f in schema}


def with_hf_metadata(schema: pa.Schema) -> pa.Schema:
    info = json.dumps({"info": {"features": features_of(schema)}})
    return schema.with_metadata({"huggingface": info})


def dataset_info(schema: pa.Schema, description: str = "") -> dict[str, Any]:
    return {"citation": "", "description": description, "features": features_of(schema),
            "homepage": "", "license": ""}


def state(num_shards: int, fingerprint: str) -> dict[str, Any]:
    return {
        "_data_files": [{"filename": shard_name(i, num_shards)} for i in range(num_shards)],
        "_fingerprint": fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }


def shard_name(index: int, num_shards: int) -> str:
    return f"data-{index:05d}-of-{num_shards:05d}.arrow"


def num_shards_for(total_bytes: int, max_shard_bytes: int, fixed: int | None = None) -> int:
    return fixed if fixed else max(1, math.ceil(total_bytes / max_shard_bytes))


def shard_of(row: dict[str, Any], num_shards: int) -> int:
    """The shard a row belongs to: a hash of its id (of where it came from, for error rows)."""
    key = row["id"] if row.get("id") is not None else f"{row.get('source')}\x00{row.get('position')}"
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_shards


def row_bytes(row: dict[str, Any]) -> int:
    """A cheap, deterministic size estimate used to choose the number of shards (lists: of ids)."""
    return sum(len(v) * (4 if isinstance(v, list) else 1) for v in row.values()
               if isinstance(v, (str, bytes, list))) + 8 * len(row)


def row_order(row: dict[str, Any]) -> tuple:
    """Total order inside a shard: by id, then by every other value (ids can repeat in inputs)."""
    # (is-not-null, value) pairs compare without copying the text, and never compare None with a value.
    return (str(row.get("id")), tuple((row[k] is not None, row[k]) for k in sorted(row) if k != "id"))


class _HashingSink:
    """A write-only file object that hashes and counts what passes through (for pa.PythonFile)."""

    closed = False

    def __init__(self, sink: BinaryIO) -> None:
        self.sink, self.sha, self.size = sink, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self.sha.update(data)
        self.size += len(data)
        return self.sink.write(data) or len(data)

    def flush(self) -> None:
        self.sink.flush()


def write_shard(sink: BinaryIO, schema: pa.Schema, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Write sorted rows as an IPC stream; return rows, bytes and sha256 of what was written."""
    ordered = sorted(rows, key=row_order)
    hashing = _HashingSink(sink)
    with pa.ipc.new_stream(pa.PythonFile(hashing, mode="w"), schema) as writer:
        for start in range(0, len(ordered), WRITER_BATCH_ROWS):
            writer.write_batch(pa.RecordBatch.from_pylist(ordered[start:start + WRITER_BATCH_ROWS], schema=schema))
    return {"rows": len(ordered), "bytes": hashing.size, "sha256": hashing.sha.hexdigest()}


def fingerprint(shard_digests: list[str]) -> str:
    return hashlib.sha256("".join(shard_digests).encode()).hexdigest()[:16]

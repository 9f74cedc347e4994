"""WriteDataset: batches of records -> a sharded Arrow dataset that `datasets.load_from_disk` opens."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Callable

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from corpus import arrow_dataset as ad


def _write_text(path: str, text: str) -> None:
    with FileSystems.create(path) as f:
        f.write(text.encode("utf-8"))


def _split_by_shard(rows: list[dict], num_shards: int):
    """A batch of rows -> (shard index, the batch's rows for that shard), one pair per shard hit."""
    by_shard: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_shard[ad.shard_of(row, num_shards)].append(row)
    return list(by_shard.items())


class _WriteShard(beam.DoFn):
    def __init__(self, directory: str, schema: pa.Schema) -> None:
        self.directory, self.schema = directory, schema

    def process(self, keyed_batches, num_shards: int):
        index, batches = keyed_batches
        path = FileSystems.join(self.directory, ad.shard_name(index, num_shards))
        with FileSystems.create(path) as sink:
            info = ad.write_shard(sink, self.schema, [row for batch in batches for row in batch])
        yield {"index": index, **info}


def _finalize(shards: list[dict], num_shards: int, directory: str, schema: pa.Schema, name: str) -> tuple:
    """Fill in empty shards (so every name in state.json exists), then write the metadata."""
    by_index = {s["index"]: s for s in shards}
    for index in range(num_shards):
        if index not in by_index:
            with FileSystems.create(FileSystems.join(directory, ad.shard_name(index, num_shards))) as sink:
                by_index[index] = {"index": index, **ad.write_shard(sink, schema, [])}
    ordered = [by_index[i] for i in range(num_shards)]
    _write_text(FileSystems.join(directory, "dataset_info.json"), json.dumps(ad.dataset_info(schema), indent=2))
    _write_text(FileSystems.join(directory, "state.json"),
                json.dumps(ad.state(num_shards, ad.fingerprint([s["sha256"] for s in ordered])), indent=2))
    return name, {"rows": sum(s["rows"] for s in ordered), "bytes": sum(s["bytes"] for s in ordered),
                  "shards": num_shards}


def _identity(record: Any) -> dict:
    return record


class WriteDataset(beam.PTransform):
    """Batches of records -> ``directory`` in the save_to_disk layout; outputs ``(name, summary)``.

    The shard count is derived from the data (total size / ``max_shard_bytes``), never from the
    runner, and each row goes to the shard its id hashes to, where rows are sorted.
    """

    def __init__(self, directory: str, schema: pa.Schema, max_shard_bytes: int,
                 num_shards: int | None = None, name: str = "",
                 to_row: Callable[[Any], dict] = _identity) -> None:
        super().__init__()
        self.directory = directory
        self.schema = ad.with_hf_metadata(schema)
        self.max_shard_bytes = max_shard_bytes
        self.fixed_shards = num_shards
        self.name = name or directory
        self.to_row = to_row

    def expand(self, batches):
        to_row = self.to_row
        rows = batches | "ToRows" >> beam.Map(lambda batch: [to_row(record) for record in batch])
        num_shards = beam.pvalue.AsSingleton(
            rows
            | "MeasureBytes" >> beam.Map(lambda batch: sum(map(ad.row_bytes, batch)))
            | "TotalBytes" >> beam.CombineGlobally(sum)
            | "CountShards" >> beam.Map(ad.num_shards_for, self.max_shard_bytes, self.fixed_shards))
        return (
            rows
            # [row, ...] -> (shard index, [row, ...]) for every shard the batch touches
            | "SplitByShard" >> beam.FlatMap(_split_by_shard, num_shards=num_shards)
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShards" >> beam.ParDo(_WriteShard(self.directory, self.schema), num_shards=num_shards)
            | "CollectShards" >> beam.combiners.ToList()
            | "WriteMetadata" >> beam.Map(_finalize, num_shards, self.directory, self.schema, self.name)
        )

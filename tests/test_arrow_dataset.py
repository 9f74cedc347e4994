"""The output layout is the one `datasets.save_to_disk` writes, and `load_from_disk` memory-maps it."""

from __future__ import annotations

import io
import json

import apache_beam as beam
import datasets
import pyarrow as pa
from apache_beam.testing.util import assert_that, equal_to

from conftest import beam_pipeline
from corpus import arrow_dataset as ad
from corpus.document import document_schema, error_schema
from pipelines.write import WriteDataset


def rows(n: int, prefix: str = "d") -> list[dict]:
    return [{"id": f"{prefix}{i:04d}", "text": f"text number {i} " * (i % 7 + 1), "url": None if i % 3 else f"https://x/{i}",
             "source": "s.jsonl", "date": None} for i in range(n)]


def test_features_match_what_datasets_derives_from_the_schema():
    schema = pa.schema([("id", pa.string()), ("n", pa.int64()), ("f", pa.float32()), ("raw", pa.binary()),
                        ("tokens", pa.list_(pa.int32())), ("ids16", pa.list_(pa.uint16()))])
    assert ad.features_of(schema) == datasets.Features.from_arrow_schema(schema).to_dict()
    for schema in (document_schema(("date",), rejected=True), error_schema()):
        assert ad.features_of(schema) == datasets.Features.from_arrow_schema(schema).to_dict()


def test_state_has_the_seven_keys_datasets_reads():
    state = ad.state(3, "abc")
    assert sorted(state) == ["_data_files", "_fingerprint", "_format_columns", "_format_kwargs",
                             "_format_type", "_output_all_columns", "_split"]
    assert [f["filename"] for f in state["_data_files"]] == [
        "data-00000-of-00003.arrow", "data-00001-of-00003.arrow", "data-00002-of-00003.arrow"]


def test_shard_bytes_depend_only_on_the_rows():
    schema = ad.with_hf_metadata(document_schema(("date",)))
    data = rows(2500)
    first, second = io.BytesIO(), io.BytesIO()
    info1 = ad.write_shard(first, schema, data)
    info2 = ad.write_shard(second, schema, list(reversed(data)))
    assert first.getvalue() == second.getvalue() and info1 == info2
    assert info1["rows"] == 2500 and info1["bytes"] == len(first.getvalue())
    reader = pa.ipc.open_stream(first.getvalue())  # an IPC *stream*, in batches of 1000 rows
    batches = list(reader)
    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    assert [r["id"] for b in batches for r in b.to_pylist()] == sorted(r["id"] for r in data)


def test_duplicate_ids_still_sort_deterministically():
    schema = document_schema(())
    a = [{"id": "same", "text": "b", "url": None, "source": "s"}, {"id": "same", "text": "a", "url": "u", "source": "s"}]
    one, two = io.BytesIO(), io.BytesIO()
    ad.write_shard(one, schema, a)
    ad.write_shard(two, schema, a[::-1])
    assert one.getvalue() == two.getvalue()


def test_shard_count_follows_the_size():
    assert ad.num_shards_for(0, 100) == 1
    assert ad.num_shards_for(250, 100) == 3
    assert ad.num_shards_for(250, 100, fixed=8) == 8


def test_write_dataset_loads_with_datasets_memory_mapped_and_round_trips(tmp_path):
    data = rows(300)
    out = str(tmp_path / "ds")
    shards = ad.num_shards_for(sum(map(ad.row_bytes, data)), 4000)
    assert shards > 5
    with beam_pipeline() as p:
        summary = (p | beam_create([data[:120], data[120:250], data[250:]])  # batches of rows
                   | WriteDataset(out, document_schema(("date",)), max_shard_bytes=4000, name="documents"))
        assert_that(summary | beam.MapTuple(lambda name, s: (name, s["rows"], s["shards"])),
                    equal_to([("documents", 300, shards)]))
    ds = datasets.load_from_disk(out)
    assert is_memory_mapped(ds)
    assert len(ds.cache_files) == shards
    assert sorted(ds, key=lambda r: r["id"]) == sorted(data, key=lambda r: r["id"])
    state = json.loads((tmp_path / "ds/state.json").read_text())
    for i, entry in enumerate(state["_data_files"]):  # every shard holds exactly the ids that hash to it
        table = pa.ipc.open_stream((tmp_path / "ds" / entry["filename"]).read_bytes()).read_all()
        assert all(ad.shard_of({"id": x}, shards) == i for x in table.column("id").to_pylist())
        assert table.column("id").to_pylist() == sorted(table.column("id").to_pylist())


def test_empty_input_writes_a_loadable_empty_dataset(tmp_path):
    out = str(tmp_path / "empty")
    with beam_pipeline() as p:
        _ = p | beam_create([]) | WriteDataset(out, error_schema(), max_shard_bytes=1000)
    ds = datasets.load_from_disk(out)
    assert len(ds) == 0 and list(ds.features) == error_schema().names


def beam_create(data):
    return "Create" >> beam.Create(data, reshuffle=False)


def is_memory_mapped(ds: datasets.Dataset) -> bool:
    """True when every block of the dataset's table is a memory-mapped Arrow file (nothing copied)."""
    table = ds.data
    if isinstance(table, datasets.table.ConcatenationTable):
        return all(isinstance(block, datasets.table.MemoryMappedTable) for row in table.blocks for block in row)
    return isinstance(table, datasets.table.MemoryMappedTable)

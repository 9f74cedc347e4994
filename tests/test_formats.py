"""Readers: every format, and every kind of damage, ends as a document, an error record, or a skip."""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from conftest import wet_record, write_jsonl
from corpus.config import FieldNames, ReadConfig
from corpus.document import Document, ErrorRecord, fallback_id
from corpus.errors import InputError
from corpus.formats import Skipped, detect_format, read_records


def read_all(path, config: ReadConfig = ReadConfig()):
    with open(path, "rb") as f:
        return list(read_records(f, str(path), config))


def split(records):
    docs = [r for r in records if isinstance(r, Document)]
    errors = [r for r in records if isinstance(r, ErrorRecord)]
    skipped = [r for r in records if isinstance(r, Skipped)]
    assert len(docs) + len(errors) + len(skipped) == len(records)
    return docs, errors, skipped


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"])
def test_jsonl_plain_and_compressed(tmp_path, name):
    lines = b'{"id": "x1", "text": "hello", "url": "https://a.example/", "date": "2020-01-01"}\n{"id": 7, "text": "two"}\n'
    path = tmp_path / name
    if name.endswith(".gz"):
        lines = gzip.compress(lines)
    elif name.endswith(".zst"):
        lines = zstandard.ZstdCompressor().compress(lines)
    path.write_bytes(lines)
    docs, errors, _ = split(read_all(path))
    assert errors == []
    assert [(d.id, d.text, d.url, d.annotations) for d in docs] == [
        ("x1", "hello", "https://a.example/", {"date": "2020-01-01"}),
        ("7", "two", None, {}),
    ]
    assert all(d.source == str(path) for d in docs)


def test_jsonl_bad_lines_become_error_records_with_positions(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [
        {"text": "good one"},
        b'{"text": "truncated',
        b'{"text": "bad \xff\xfe utf8"}',
        b"[1, 2, 3]",
        {"no_text": 1},
        {"text": 42},
        {"text": "ok", "id": {"nested": True}},
        b"",  # a blank line is not a record
        {"text": "last"},
    ])
    docs, errors, _ = split(read_all(path))
    assert [d.text for d in docs] == ["good one", "last"]
    assert [(e.position, e.reason) for e in errors] == [
        (1, "read/invalid_json"), (2, "read/invalid_utf8"), (3, "read/not_an_object"),
        (4, "read/missing_text"), (5, "read/bad_field_type"), (6, "read/bad_field_type"),
    ]
    assert errors[1].raw.startswith(b'{"text": "bad \xff')
    # documents without an id get a stable one from file and position
    assert docs[0].id == fallback_id(str(path), 0) and docs[1].id == fallback_id(str(path), 8)


def test_jsonl_configurable_and_nested_field_names(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"doc_id": "a", "content": "body", "meta": {"link": "http://x/"}}])
    config = ReadConfig(fields=FieldNames(id="doc_id", text="content", url="meta.link"))
    (doc,) = read_all(path, config)
    assert (doc.id, doc.text, doc.url) == ("a", "body", "http://x/")


def test_jsonl_line_over_the_record_limit_is_an_error_and_reading_goes_on(tmp_path):
    path = write_jsonl(tmp_path / "big.jsonl", [{"text": "x" * 5000}, {"text": "small"}])
    docs, errors, _ = split(read_all(path, ReadConfig(max_record_bytes=1000)))
    assert [d.text for d in docs] == ["small"]
    assert errors[0].reason == "read/record_too_large" and errors[0].position == 0
    assert len(errors[0].raw) <= 1024


def test_truncated_gzip_keeps_what_was_read_and_reports_the_damage(tmp_path):
    data = gzip.compress(b"".join(b'{"text": "doc %d"}\n' % i for i in range(2000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    docs, errors, _ = split(read_all(path))
    assert 0 < len(docs) < 2000
    assert [e.reason for e in errors] == ["read/corrupt_file"]
    assert errors[0].position == len(docs)
    assert "EOFError" in errors[0].error


def test_concatenated_gzip_members_are_all_read(tmp_path):
    path = tmp_path / "multi.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "a"}\n') + gzip.compress(b'{"text": "b"}\n'))
    assert [d.text for d in read_all(path)] == ["a", "b"]


def test_garbage_that_is_not_gzip(tmp_path):
    path = tmp_path / "fake.jsonl.gz"
    path.write_bytes(b"this is not gzip at all")
    assert [r.reason for r in read_all(path)] == ["read/corrupt_file"]


def test_empty_file_reads_nothing(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert read_all(path) == []


def test_real_common_crawl_wet_file(shared):
    path = shared / "data/warc/cc-main-2024-22_whirlwind.warc.wet.gz"
    docs, errors, skipped = split(read_all(path))
    assert errors == []
    assert [s.kind for s in skipped] == ["warc/warcinfo"]
    (doc,) = docs
    assert doc.url == "https://an.wikipedia.org/wiki/Escopete"
    assert doc.id == "urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d"
    assert doc.annotations == {"date": "2024-05-18T01:58:10Z"}
    assert doc.text.startswith("Escopete - Biquipedia, a enciclopedia libre\nIr al contenido\n")
    assert len(doc.text.encode()) == 4456  # exactly the record's Content-Length


def test_wet_broken_headers_resynchronise(tmp_path):
    good1 = wet_record("first page\nline two", "https://a.example/1", "urn:uuid:1")
    no_length = b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://b/\r\n\r\nbody without length\r\n\r\n"
    bad_length = b"WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: lots\r\n\r\nbody\r\n\r\n"
    garbage = b"random junk between records\r\n"
    good2 = wet_record("second page", "https://a.example/2", "urn:uuid:2")
    bad_utf8 = wet_record("x", "https://a.example/3", "urn:uuid:3").replace(b"\r\n\r\nx", b"\r\n\r\n\xff")
    path = tmp_path / "broken.warc.wet.gz"
    path.write_bytes(gzip.compress(good1 + garbage + no_length + bad_length + good2 + bad_utf8))
    docs, errors, _ = split(read_all(path))
    assert [d.text for d in docs] == ["first page\nline two", "second page"]
    assert [e.reason for e in errors] == ["read/bad_warc_header"] * 3 + ["read/invalid_utf8"]
    assert errors[-1].id == "urn:uuid:3"


def test_wet_truncated_record(tmp_path):
    record = wet_record("a" * 100, "https://a.example/", "urn:uuid:9")
    path = tmp_path / "t.wet"
    path.write_bytes(record[:-60])
    (error,) = read_all(path)
    assert error.reason == "read/truncated_record"


def test_parquet_and_arrow_inputs(tmp_path):
    table = pa.table({"id": ["p1", "p2"], "text": ["one", "two"], "url": [None, "https://p/"],
                      "date": ["2021-01-01", None], "extra": [1, 2]})
    pq.write_table(table, tmp_path / "t.parquet")
    with pa.ipc.new_stream(tmp_path / "s.arrow", table.schema) as w:
        w.write_table(table)
    with pa.ipc.new_file(tmp_path / "f.arrow", table.schema) as w:
        w.write_table(table)
    for name in ("t.parquet", "s.arrow", "f.arrow"):
        docs = read_all(tmp_path / name)
        assert [(d.id, d.text, d.url, d.annotations) for d in docs] == [
            ("p1", "one", None, {"date": "2021-01-01"}), ("p2", "two", "https://p/", {})], name


def test_corrupt_parquet_is_an_error_record(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 not really")
    assert [r.reason for r in read_all(path)] == ["read/corrupt_file"]


def test_format_detection():
    assert detect_format("gs://b/CC-MAIN-x.warc.wet.gz") == "wet"
    assert detect_format("a.JSONL.ZST") == "jsonl"
    assert detect_format("a.txt", "jsonl") == "jsonl"
    with pytest.raises(InputError, match="read.format"):
        detect_format("notes.txt")


def test_readers_accept_any_binary_stream():
    stream = io.BytesIO(b'{"text": "in memory"}\n')
    (doc,) = list(read_records(stream, "mem.jsonl", ReadConfig()))
    assert doc.text == "in memory"


def test_lone_surrogate_escapes_are_invalid_utf8_not_a_crash_later(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [b'{"text": "half a pair \\ud800 here"}', b'{"text": "a real pair \\ud83d\\ude00"}'])
    docs, errors, _ = split(read_all(path))
    assert [d.text for d in docs] == ["a real pair \U0001F600"]
    assert [(e.position, e.reason) for e in errors] == [(0, "read/invalid_utf8")]


def test_json_that_python_accepts_but_strict_parsers_refuse_is_still_read(tmp_path):
    path = write_jsonl(tmp_path / "n.jsonl", [b'{"text": "score is missing", "score": NaN}', b"[" * 5000 + b"]" * 5000])
    docs, errors, _ = split(read_all(path))
    assert [d.text for d in docs] == ["score is missing"]
    assert [(e.position, e.reason) for e in errors] == [(1, "read/invalid_json")]

"""End to end: `pipelines.run.run` reads, filters, writes, counts, and publishes only complete output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import LIMITS_ONLY, wet_record, write_jsonl
from corpus.config import load_config
from filters import registry
from filters.limits import LimitsFilter
from corpus.errors import OutputError
from pipelines.run import run

IN_MEMORY = ["--direct_num_workers=1"]


@pytest.fixture
def corpus_dir(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    docs = [{"id": f"j{i}", "text": f"Document {i}. " * (i % 5 + 1), "url": f"https://site{i % 4}.example/{i}"}
            for i in range(60)]
    docs += [{"id": "empty", "text": "   "}, {"id": "huge", "text": "z" * 3000}]
    write_jsonl(src / "part-0.jsonl.gz", docs[:30] + [b"{oops"])
    write_jsonl(src / "part-1.jsonl", docs[30:] + [b'"a string"'])
    (src / "crawl.warc.wet.gz").write_bytes(gzip.compress(
        wet_record("", "", "urn:uuid:info", warc_type="warcinfo")
        + b"".join(wet_record(f"WET page {i}\nsecond line", f"https://wet.example/{i}", f"urn:uuid:w{i}")
                   for i in range(10))))
    (src / "empty.jsonl").write_bytes(b"")
    return src


def config(*overrides):
    return load_config(LIMITS_ONLY, overrides)


def read_dataset(path: Path) -> list[dict]:
    return sorted(datasets.load_from_disk(str(path)).to_list(), key=lambda r: (r["id"] or "", r.get("position") or 0))


def test_run_accounts_for_every_input_document(corpus_dir, tmp_path):
    out = tmp_path / "out"
    stats = run(config(), [str(corpus_dir / "*")], str(out), IN_MEMORY)
    assert stats["documents"] == {"in": 74, "read": 72, "kept": 70, "rejected": 2, "errors": 2, "balanced": True}
    assert stats["rejected"] == {"limits/empty": 1, "limits/too_long": 1}
    assert stats["errors"] == {"read/invalid_json": 1, "read/not_an_object": 1}
    assert stats["skipped_records"] == {"warc/warcinfo": 1}
    assert stats["stages"] == [{"name": "limits", "in": 72, "kept": 70, "errors": {},
                                "rejected": {"limits/empty": 1, "limits/too_long": 1}}]
    assert stats["inputs"]["files"] == 4 and stats["seed"] == 0
    assert stats["config"]["stages"] == [{"limits": {"max_chars": 2000}}]
    assert {"apache-beam", "pyarrow", "python"} <= set(stats["versions"])
    assert json.loads((out / "stats.json").read_text()) == stats

    kept = read_dataset(out / "documents")
    assert len(kept) == 70 == stats["outputs"]["documents"]["rows"]
    wet = next(r for r in kept if r["id"] == "urn:uuid:w3")
    assert wet == {"id": "urn:uuid:w3", "text": "WET page 3\nsecond line", "url": "https://wet.example/3",
                   "source": str(corpus_dir / "crawl.warc.wet.gz"), "date": "2024-05-18T01:58:10Z"}
    rejected = read_dataset(out / "rejected")
    assert [(r["id"], r["reason"]) for r in rejected] == [("empty", "limits/empty"), ("huge", "limits/too_long")]
    assert rejected[1]["detail"] == "3000 characters > max_chars=2000"
    errors = read_dataset(out / "errors")
    assert [(Path(e["source"]).name, e["position"], e["reason"], e["raw"]) for e in errors] == [
        ("part-0.jsonl.gz", 30, "read/invalid_json", b"{oops\n"),
        ("part-1.jsonl", 32, "read/not_an_object", b'"a string"\n')]
    assert not list(tmp_path.glob("*.incomplete-*"))


def test_same_bytes_in_memory_and_multi_processing(corpus_dir, tmp_path):
    outputs = []
    for name, args in [("one", IN_MEMORY),
                       ("many", ["--direct_running_mode=multi_processing", "--direct_num_workers=2"])]:
        run(config("output.num_shards=3"), [str(corpus_dir / "*")], str(tmp_path / name), args)
        outputs.append({p.relative_to(tmp_path / name): p.read_bytes()
                        for p in sorted((tmp_path / name).rglob("*")) if p.is_file() and p.name != "stats.json"})
    one, many = outputs
    assert len([p for p in one if p.name.startswith("data-")]) == 3 + 1 + 1  # documents sharded in 3
    assert one == many


def test_default_local_runner_uses_worker_processes_and_matches(corpus_dir, tmp_path):
    run(config(), [str(corpus_dir / "*")], str(tmp_path / "a"), IN_MEMORY)
    run(config(), [str(corpus_dir / "*")], str(tmp_path / "b"), ["--direct_num_workers=2"])
    for name in ("documents", "rejected", "errors"):
        for a in (tmp_path / "a" / name).iterdir():
            assert a.read_bytes() == (tmp_path / "b" / name / a.name).read_bytes()


def test_runs_chain_on_their_own_output_and_parquet(corpus_dir, tmp_path):
    first = tmp_path / "first"
    run(config(), [str(corpus_dir / "*")], str(first), IN_MEMORY)
    second = tmp_path / "second"
    stats = run(config("limits.max_chars=15"), [str(first / "documents")], str(second), IN_MEMORY)
    assert stats["documents"]["in"] == 70 and stats["documents"]["balanced"]
    kept = read_dataset(second / "documents")
    assert kept and all(len(r["text"]) <= 15 for r in kept)
    wet = [r for r in read_dataset(second / "documents") + read_dataset(second / "rejected") if r["id"] == "urn:uuid:w1"]
    assert wet[0]["source"].endswith("crawl.warc.wet.gz") and wet[0]["date"] == "2024-05-18T01:58:10Z"

    table = pa.table({"id": ["q1", "q2"], "text": ["parquet one", ""]})
    pq.write_table(table, tmp_path / "t.parquet")
    stats = run(config(), [str(tmp_path / "t.parquet")], str(tmp_path / "pq"), IN_MEMORY)
    assert stats["documents"] == {"in": 2, "read": 2, "kept": 1, "rejected": 1, "errors": 0, "balanced": True}


def test_existing_output_is_refused_unless_overwrite(corpus_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(OutputError, match="exists; choose another --output or pass --overwrite"):
        run(config(), [str(corpus_dir / "*")], str(out), IN_MEMORY)
    assert (out / "keep.txt").read_text() == "precious"
    run(config(), [str(corpus_dir / "*")], str(out), IN_MEMORY, overwrite=True)
    assert (out / "stats.json").exists() and not (out / "keep.txt").exists()


class _BrokenSetup(LimitsFilter):
    name = "broken"

    def setup(self) -> None:
        raise RuntimeError("model file is corrupt")


def test_a_failed_run_publishes_nothing(corpus_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(registry.FILTERS, "broken", _BrokenSetup)
    cfg = config().model_copy(update={"stages": [{"broken": {}}]})
    with pytest.raises(Exception, match="model file is corrupt"):
        run(cfg, [str(corpus_dir / "*")], str(tmp_path / "out"), IN_MEMORY)
    assert list(tmp_path.iterdir()) == [corpus_dir]  # no output, no staging directory left behind


def test_multi_threading_mode_is_refused(corpus_dir, tmp_path):
    with pytest.raises(OutputError, match="multi_threading loses elements"):
        run(config(), [str(corpus_dir / "*")], str(tmp_path / "o"), ["--direct_running_mode=multi_threading"])

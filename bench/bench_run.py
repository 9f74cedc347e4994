"""Benchmark: the whole default run on Beam against the same work in a plain Python loop.

    python bench/bench_run.py [--copies 8]

Input: the real web text in ../shared/data/webtext/ (about 3,250 documents), repeated --copies
times with distinct ids, as one JSONL.gz file per copy. Baselines, measured in the same process on
the same files:
  * reader: a bare ``json.loads`` loop over the decompressed lines vs this toolkit's JSONL reader
    (which also validates fields, UTF-8 and record sizes);
  * run: read + the configured filters + one Arrow file, in a Python loop, vs ``corpus run`` with
    one in-process worker and with one worker process per core. The ratio is Beam's overhead.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from corpus.config import ReadConfig, load_config
from corpus.document import Document, Rejection, document_schema
from corpus.formats import read_records
from filters.registry import build_stages
from pipelines.run import run

SHARED = Path(os.environ.get("CORPUS_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def make_input(directory: Path, copies: int) -> tuple[list[Path], int]:
    texts = []
    for path in sorted((SHARED / "data/webtext").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            texts += [json.loads(line).get("text") or "" for line in f]
    files, size = [], 0
    for copy in range(copies):
        path = directory / f"copy-{copy:03d}.jsonl.gz"
        lines = "".join(json.dumps({"id": f"{copy}-{i}", "text": t}) + "\n" for i, t in enumerate(texts))
        size += len(lines.encode())
        path.write_bytes(gzip.compress(lines.encode(), compresslevel=1, mtime=0))
        files.append(path)
    return files, size


def bare_json(files: list[Path]) -> int:
    n = 0
    for path in files:
        with gzip.open(path, "rb") as f:
            for line in f:
                json.loads(line)
                n += 1
    return n


def toolkit_reader(files: list[Path]) -> int:
    n = 0
    for path in files:
        with open(path, "rb") as f:
            n += sum(1 for _ in read_records(f, str(path), ReadConfig()))
    return n


def plain_loop(files: list[Path], out: Path) -> int:
    """Read, filter, and write one Arrow stream: the run's work without Beam."""
    config = load_config()
    stages = build_stages(config)
    kept = []
    for path in files:
        with open(path, "rb") as f:
            for record in read_records(f, str(path), config.read):
                if not isinstance(record, Document):
                    continue
                for stage in stages:
                    record = stage(record)
                    if isinstance(record, Rejection):
                        break
                else:
                    kept.append(record.to_row())
    kept.sort(key=lambda r: r["id"])
    schema = document_schema(("date",))
    with pa.ipc.new_stream(str(out), schema) as writer:
        for start in range(0, len(kept), 1000):
            writer.write_batch(pa.RecordBatch.from_pylist(kept[start:start + 1000], schema=schema))
    return len(kept)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files, size = make_input(tmp, args.copies)
        docs, _ = timed(bare_json, files)
        print(f"input: {docs:,} documents, {size / 1e6:.1f} MB of JSONL in {len(files)} files; {os.cpu_count()} cores")

        rows = []
        _, t_json = timed(bare_json, files)
        _, t_reader = timed(toolkit_reader, files)
        rows.append(("reader: bare json.loads loop", t_json, 1.0))
        rows.append(("reader: toolkit JSONL reader", t_reader, t_reader / t_json))

        _, t_loop = timed(plain_loop, files, tmp / "plain.arrow")
        glob = str(tmp / "*.jsonl.gz")
        _, t_one = timed(run, load_config(), [glob], str(tmp / "one"), ["--direct_num_workers=1"])
        _, t_all = timed(run, load_config(), [glob], str(tmp / "all"), [])
        rows.append(("run: plain Python loop (1 core)", t_loop, 1.0))
        rows.append(("run: Beam, 1 in-process worker", t_one, t_one / t_loop))
        rows.append((f"run: Beam, {os.cpu_count()} worker processes", t_all, t_all / t_loop))

        print(f"{'what':42} {'seconds':>8} {'docs/s':>10} {'x baseline':>10}")
        for name, seconds, ratio in rows:
            print(f"{name:42} {seconds:8.2f} {docs / seconds:10,.0f} {ratio:10.2f}")


if __name__ == "__main__":
    main()

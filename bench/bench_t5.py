"""Benchmark: T5 span corruption, the noise function alone and the whole stage, per core.

    python bench/bench_t5.py [--copies 2]

Input: the real web text in ../shared/data/webtext/ (about 3,250 documents), repeated --copies times
with distinct ids. Measured in one process, on one core:
  * the noise function: ``span_corruption_example`` (TF-exact Philox mask + sentinels) on 568-token
    pieces, examples per second;
  * the stage without Beam: tokenize (a tokenizer trained once, outside the timing), chunk, group,
    concatenate, split and denoise in a plain loop -- the baseline;
  * the stage on Beam: ``corpus run`` with the limits stage and t5 (the same tokenizer given as a
    file), one in-process worker. The ratio to the baseline is Beam's overhead.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from corpus import span_corruption as sc
from corpus.config import load_config
from corpus.tokenizer import Vocabulary, train, training_sample
from pipelines.run import run
from pipelines.t5 import _group_of, seed_pair

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED", ROOT.parent / "shared"))


def load_texts() -> list[str]:
    texts = []
    for path in sorted((SHARED / "data/webtext").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            texts += [t for t in (json.loads(line).get("text") for line in f) if t]
    return texts


def plain_loop(docs: list[tuple[str, str]], vocab: Vocabulary, seed: int = 0, per_group: int = 128) -> int:
    tokens_length, targets_length = sc.random_spans_helper(512)
    groups: dict[int, list] = {}
    num_groups = max(1, math.ceil(len(docs) / per_group))
    for (doc_id, _), ids in zip(docs, vocab.encode([t for _, t in docs]), strict=True):
        if ids:
            start, end = sc.select_random_chunk(len(ids), seed_pair(seed, "chunk", doc_id))
            groups.setdefault(_group_of(doc_id, num_groups), []).append((doc_id, np.asarray(ids[start:end])))
    examples = 0
    for group, chunks in groups.items():
        tokens = sc.reduce_concat_tokens([c for _, c in sorted(chunks, key=lambda c: c[0])])
        for piece, segment in enumerate(sc.split_tokens(tokens, tokens_length)):
            sc.span_corruption_example(segment, vocab.vocab_size, seed_pair(seed, "noise", group, piece))
            examples += 1
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args()
    texts = load_texts() * args.copies
    docs = [(f"{i}", t) for i, t in enumerate(texts)]
    model = train(training_sample(docs, 5000), 8000)
    vocab = Vocabulary(model)

    rng = np.random.default_rng(0)
    pieces = [rng.integers(3, vocab.vocab_size - 100, 568) for _ in range(2000)]
    start = time.perf_counter()
    for i, piece in enumerate(pieces):
        sc.span_corruption_example(piece, vocab.vocab_size, seed_pair(0, "noise", 0, i))
    noise_s = time.perf_counter() - start

    start = time.perf_counter()
    examples = plain_loop(docs, vocab)
    loop_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "spm.model").write_bytes(model)
        with gzip.open(tmp / "docs.jsonl.gz", "wt", encoding="utf-8") as f:
            for doc_id, text in docs:
                f.write(json.dumps({"id": doc_id, "text": text}) + "\n")
        config = load_config(ROOT / "tests/configs/limits_and_t5.yaml",
                             [f"t5.tokenizer={tmp / 'spm.model'}", "t5.decoder_only=false", "limits.max_chars=0"])
        start = time.perf_counter()
        stats = run(config, [str(tmp / "docs.jsonl.gz")], str(tmp / "out"), ["--direct_num_workers=1"])
        beam_s = time.perf_counter() - start
    beam_examples = stats["outputs"]["examples"]["rows"]

    print(f"input: {len(docs):,} documents, {sum(map(len, texts)) / 1e6:.1f} MB of text; vocab {vocab.vocab_size:,}; 1 core")
    print(f"{'what':44} {'seconds':>8} {'examples':>9} {'examples/s':>11} {'x baseline':>10}")
    print(f"{'noise function alone (568 tokens)':44} {noise_s:8.2f} {len(pieces):9,} {len(pieces) / noise_s:11,.0f} {'':>10}")
    print(f"{'stage without Beam (baseline)':44} {loop_s:8.2f} {examples:9,} {examples / loop_s:11,.0f} {1.0:10.2f}")
    print(f"{'stage on Beam (corpus run, 1 worker)':44} {beam_s:8.2f} {beam_examples:9,} {beam_examples / beam_s:11,.0f} "
          f"{beam_s / loop_s:10.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: MinHash signatures (filters/minhash.py) against datasketch, per core.

    python bench/bench_minhash.py [--preset fineweb] [--copies 1] [--rounds 3] [--batch 1000]

Input: the real web text in ../shared/data/webtext/ (about 3,250 documents; ``text``, else the
WET-like ``text_full``), repeated --copies times. Everything runs in this one process, on one core;
each measurement is the best of --rounds passes over all documents (the passes alternate between the
contenders, so a busy machine slows both alike). The preset gives n-gram size, normalisation and
num_perm (fineweb: word 5-grams, 112 permutations); seed 1, datasketch's default scheme (affine32).
Our signatures are computed --batch documents per ``signatures`` call, as the Beam stage batches them.

1. From the same shingles (shingling excluded; every contender gets the shingle strings of
   ``minhash.shingles``, already encoded to UTF-8):
   * datasketch: ``MinHash(num_perm, seed).update_batch(shingles)`` per document (SHA-1 inside);
   * ours, sha1: the same SHA-1 hashes (as a set) + ``signatures`` -- bit-identical to datasketch's,
     checked;
   and from the same 32-bit hashes (the permutation and minimum only):
   * datasketch: ``MinHash(num_perm, seed, hashfunc=int).update_batch(hashes)`` per document;
   * ours: ``signatures(hashes)`` -- checked identical.
2. From text (shingling included: normalisation, n-grams, hashing, signatures):
   * datasketch: ``minhash.shingles(text)`` fed to ``MinHash.update_batch``, per document;
   * ours, sha1: ``shingle_hashes(text, hash="sha1")`` + ``signatures`` -- checked identical;
   * ours, poly (the default): ``shingle_hashes(text)`` + ``signatures``;
   * ours, poly, shingling only: ``shingle_hashes(text)``.

Targets (the dedup issue): ours >= 3x datasketch's docs/s per core, and >= 10 MB/s of text per core
through shingling + signatures. Exits 1 if a checked signature differs from datasketch's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from filters import minhash  # noqa: E402

SHARED = Path(os.environ.get("CORPUS_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def load_texts(copies: int) -> list[str]:
    texts = []
    for path in sorted((SHARED / "data/webtext").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                texts.append(record.get("text") or record.get("text_full") or "")
    if not texts:
        sys.exit(f"no web text in {SHARED / 'data/webtext'} (set CORPUS_SHARED)")
    return texts * copies


def batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="fineweb", choices=sorted(minhash.PRESETS))
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    preset = minhash.PRESETS[args.preset]
    n, num_perm, norm, seed = preset["ngram"], preset["num_perm"], preset["normalization"], 1

    texts = load_texts(args.copies)
    mb = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    # warm-up: the code point tables, the permutations, datasketch's imports
    minhash.signatures([minhash.shingle_hashes("warm up", n, normalization=norm)], num_perm, seed)
    MinHash(num_perm, seed).update_batch([b"warm up"])
    shingle_bytes = [[s.encode("utf-8", "surrogatepass") for s in minhash.shingles(t, n, norm)] for t in texts]
    sha1_sets = [minhash.shingle_hashes(t, n, hash="sha1", normalization=norm) for t in texts]
    sha1_lists = [h.tolist() for h in sha1_sets]
    n_shingles = sum(len(s) for s in shingle_bytes)

    def ds_from_shingles():
        out = []
        for shingles in shingle_bytes:
            m = MinHash(num_perm, seed)
            m.update_batch(shingles)
            out.append(m.hashvalues)
        return np.array(out)

    def ours_from_shingles():
        out = []
        for batch in batches(shingle_bytes, args.batch):
            hashes = []
            for shingles in batch:
                digests = b"".join(map(minhash._DIGEST, map(minhash._sha1, shingles)))
                hashes.append(np.unique(np.frombuffer(digests, dtype="<u4")[::5]))
            out.append(minhash.signatures(hashes, num_perm, seed))
        return np.concatenate(out)

    def ds_from_hashes():
        out = []
        for hashes in sha1_lists:
            m = MinHash(num_perm, seed, hashfunc=int)
            m.update_batch(hashes)
            out.append(m.hashvalues)
        return np.array(out)

    def ours_from_hashes():
        return np.concatenate([minhash.signatures(b, num_perm, seed) for b in batches(sha1_sets, args.batch)])

    def ds_from_text():
        out = []
        for text in texts:
            m = MinHash(num_perm, seed)
            m.update_batch([s.encode("utf-8", "surrogatepass") for s in minhash.shingles(text, n, norm)])
            out.append(m.hashvalues)
        return np.array(out)

    def ours_from_text(hash_name):
        def run():
            return np.concatenate([
                minhash.signatures([minhash.shingle_hashes(t, n, hash_name, norm) for t in b], num_perm, seed)
                for b in batches(texts, args.batch)])
        return run

    def ours_shingling_only():
        return [minhash.shingle_hashes(t, n, normalization=norm) for t in texts]

    contenders = {
        "datasketch, from shingles": ds_from_shingles,
        "ours sha1, from shingles": ours_from_shingles,
        "datasketch, from 32-bit hashes": ds_from_hashes,
        "ours, from 32-bit hashes": ours_from_hashes,
        "datasketch, from text": ds_from_text,
        "ours sha1, from text": ours_from_text("sha1"),
        "ours poly, from text": ours_from_text("poly"),
        "ours poly, shingling only": ours_shingling_only,
    }
    best = dict.fromkeys(contenders, float("inf"))
    results = {}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            results[name] = run()
            best[name] = min(best[name], time.perf_counter() - start)

    problems = []
    for ours, theirs in [("ours sha1, from shingles", "datasketch, from shingles"),
                         ("ours, from 32-bit hashes", "datasketch, from 32-bit hashes"),
                         ("ours sha1, from text", "datasketch, from text"),
                         ("ours sha1, from text", "datasketch, from shingles")]:
        if not np.array_equal(results[ours], results[theirs]):
            problems.append(f"{ours} != {theirs}")
    baseline = {"datasketch, from shingles": None, "ours sha1, from shingles": "datasketch, from shingles",
                "datasketch, from 32-bit hashes": None, "ours, from 32-bit hashes": "datasketch, from 32-bit hashes",
                "datasketch, from text": None, "ours sha1, from text": "datasketch, from text",
                "ours poly, from text": "datasketch, from text", "ours poly, shingling only": "datasketch, from text"}

    docs = len(texts)
    print(f"input: {docs:,} documents, {mb:.1f} MB of text, {n_shingles:,} {n}-gram shingles "
          f"({args.preset}: {preset['normalization']} normalisation, {num_perm} permutations, "
          f"scheme affine32); one core, best of {args.rounds}")
    print()
    print(f"{'what':34} {'seconds':>8} {'docs/s':>9} {'MB/s':>7} {'x datasketch':>13} {'identical':>9}")
    checked = {"ours sha1, from shingles", "ours, from 32-bit hashes", "ours sha1, from text"}
    for name, seconds in best.items():
        ref = baseline[name]
        ratio = f"{best[ref] / seconds:13.2f}" if ref else f"{'':13}"
        same = ("no" if any(p.startswith(name) for p in problems) else "yes") if name in checked else ""
        print(f"{name:34} {seconds:8.3f} {docs / seconds:9,.0f} {mb / seconds:7.1f} {ratio} {same:>9}")
    text_ratio = best["datasketch, from text"] / best["ours poly, from text"]
    mbps = mb / best["ours poly, from text"]
    print()
    print(f"target >= 3x datasketch per core: {text_ratio:.1f}x from text (default poly hash), "
          f"{best['datasketch, from shingles'] / best['ours sha1, from shingles']:.1f}x from shingles "
          f"(sha1, bit-identical), "
          f"{best['datasketch, from 32-bit hashes'] / best['ours, from 32-bit hashes']:.1f}x from hashes")
    print(f"target >= 10 MB/s per core through shingling + signatures: {mbps:.1f} MB/s (poly), "
          f"{mb / best['ours sha1, from text']:.1f} MB/s (sha1)")
    if problems:
        print("\nSIGNATURES DIFFER FROM DATASKETCH -- " + "; ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()

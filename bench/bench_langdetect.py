"""Benchmark: filters.langdetect_fast.detect_langs against langdetect.detect_langs (seed 0).

    python bench/bench_langdetect.py [--rounds 2] [--chunk 50] [--step 1]

Input: every document text of the shared real web text in ../shared/data/webtext/ (``text``, and both
``text_full`` and ``text_main`` of the HTML-derived file: 4,719 texts, many languages), every --step-th.
Everything runs in this one process, on one core; times are this process's CPU time
(``time.process_time``), so that other work on the machine counts less. Both sides load their
profiles first (timed apart). The two alternate on chunks of --chunk texts, and each chunk's best of
--rounds counts. Ours is measured twice: "cold", its word cache emptied at the start of every round
(every word is new once, as in the first pages of a run), and "warm", in --rounds more passes
without emptying it (as in a long C4 run, where most words were met before).

Every output must be identical: the same (lang, prob) list, probabilities equal as floats, or the
same exception (class, message). Target (the C4 issue): >= 5x the reference per text. Exits 1 if
any output differs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = Path(os.environ.get("CORPUS_SHARED", REPO.parent / "shared"))
FIELDS = ("text", "text_full", "text_main")
TARGET = 5.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted((SHARED / "data/webtext").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                texts.extend((path.name, record[k]) for k in FIELDS if isinstance(record.get(k), str))
    return texts


def run(detect, texts: list[str]) -> tuple[float, list, list[float]]:
    """(CPU seconds, outputs, CPU seconds per text)."""
    results, each = [], []
    clock = time.process_time
    start = clock()
    for text in texts:
        t = clock()
        try:
            results.append([(p.lang, p.prob) for p in detect(text)])
        except Exception as e:  # noqa: BLE001 - compared below
            results.append(("raised", type(e).__name__, str(e)))
        each.append(clock() - t)
    return clock() - start, results, each


def best(times: list[float], each: list[float], c: int, seconds: float, chunk, per_text: list[float]) -> None:
    """Keep chunk c's time (and its per-text times) if it is the best so far."""
    if seconds < times[c]:
        times[c] = seconds
        for i, t in zip(chunk, each):
            per_text[i] = t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes over the texts (>= 1)")
    parser.add_argument("--chunk", type=int, default=50, help="texts per alternation")
    parser.add_argument("--step", type=int, default=1, help="take every step-th text")
    args = parser.parse_args()

    import langdetect
    from langdetect import DetectorFactory

    from filters import langdetect_fast

    docs = load_texts()[::args.step]
    if not docs:
        sys.exit(f"no texts under {SHARED / 'data/webtext'}")
    texts = [t for _, t in docs]
    DetectorFactory.seed = 0  # as c4_utils.detect_english

    start = time.perf_counter()
    langdetect.detect_langs("warm up the profiles")
    ref_load = time.perf_counter() - start
    start = time.perf_counter()
    langdetect_fast._get_model()
    fast_load = time.perf_counter() - start
    log(f"profiles loaded: langdetect {ref_load:.2f} s, then langdetect_fast {fast_load:.2f} s more")

    chunks = [range(i, min(i + args.chunk, len(texts))) for i in range(0, len(texts), args.chunk)]
    rounds = max(1, args.rounds)
    ref_time, cold_time, warm_time = ([float("inf")] * len(chunks) for _ in range(3))
    ref_each, cold_each, warm_each = ([0.0] * len(texts) for _ in range(3))
    expected, got = [None] * len(texts), [None] * len(texts)
    for round_ in range(2 * rounds):
        cold = round_ < rounds
        if cold:
            langdetect_fast.clear_caches()
        for c, chunk in enumerate(chunks):
            part = [texts[i] for i in chunk]
            if cold:
                seconds, results, each = run(langdetect.detect_langs, part)
                best(ref_time, each, c, seconds, chunk, ref_each)
                for i, r in zip(chunk, results):
                    expected[i] = r
            seconds, results, each = run(langdetect_fast.detect_langs, part)
            best(cold_time if cold else warm_time, each, c, seconds, chunk, cold_each if cold else warm_each)
            for i, r in zip(chunk, results):
                if got[i] is None:
                    got[i] = r
                assert got[i] == r, "not deterministic"
        log(f"round {round_ + 1} of {2 * rounds} done ({'cold' if cold else 'warm'})")

    n = len(texts)
    same = [e == g for e, g in zip(expected, got)]
    raised = sum(1 for e in expected if e and e[0] == "raised")
    kept = sum(1 for e in expected if e and e[0] != "raised" and e[0][0] == "en" and e[0][1] >= 0.99)
    ref_ms, cold_ms, warm_ms = (1e3 * sum(t) / n for t in (ref_time, cold_time, warm_time))
    mb = sum(len(t) for t in texts) / 1e6
    top = Counter(e[0][0] for e in expected if e and e[0] != "raised")
    print(f"input: {n:,} texts from {len({name for name, _ in docs})} files, {mb:.1f} M characters, "
          f"{len(top)} top languages ({', '.join(f'{k} {v}' for k, v in top.most_common(8))}, ...)")
    print(f"{'CPU time, best of ' + str(rounds):34} {'ms/text':>8} {'x ref':>7}")
    print(f"{'langdetect.detect_langs':34} {ref_ms:8.3f} {1.0:7.2f}")
    print(f"{'langdetect_fast, cold word cache':34} {cold_ms:8.3f} {ref_ms / cold_ms:7.2f}")
    print(f"{'langdetect_fast, warm word cache':34} {warm_ms:8.3f} {ref_ms / warm_ms:7.2f}")
    print(f"\n{'per file':48} {'texts':>6} {'chars':>7} {'ref ms':>7} {'cold ms':>8} {'x ref':>6} "
          f"{'warm ms':>8} {'x ref':>6}")
    for name in sorted({name for name, _ in docs}):
        which = [i for i, (d, _) in enumerate(docs) if d == name]
        r, c, w = (sum(each[i] for i in which) for each in (ref_each, cold_each, warm_each))
        chars = sum(len(texts[i]) for i in which) / len(which)
        k = 1e3 / len(which)
        print(f"{name:48} {len(which):6,} {chars:7,.0f} {k * r:7.3f} {k * c:8.3f} {r / c:6.2f} "
              f"{k * w:8.3f} {r / w:6.2f}")
    same_raised = sum(1 for e, s in zip(expected, same) if s and e[0] == "raised")
    print(f"identical outputs: {sum(same):,} of {n:,} ({sum(same) - same_raised:,} of {n - raised:,} "
          f"prediction lists, {same_raised:,} of {raised:,} exceptions); "
          f"C4 keeps {kept:,} (en, prob >= 0.99)")
    print(f"target >= {TARGET:.0f}x: {'met' if ref_ms / cold_ms >= TARGET else 'NOT met'} "
          f"(cold {ref_ms / cold_ms:.1f}x, warm {ref_ms / warm_ms:.1f}x)")
    if not all(same):
        bad = [i for i, s in enumerate(same) if not s]
        print(f"\nOUTPUT DIFFERS FROM THE REFERENCE for {len(bad)} texts, e.g. {docs[bad[0]][0]} text "
              f"{bad[0]}: {got[bad[0]]} != {expected[bad[0]]}")
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Benchmark: C4 cleaning against the real reference (TFDS c4_utils.py), per core and on Beam.

    python bench/bench_c4.py [--copies 1] [--rounds 3] [--beam-rounds 1] [--skip-beam]

Input: the real web text in ../shared/data/webtext/ (about 3,250 documents; ``text``, else the
WET-like ``text_full``), repeated --copies times. Everything runs in this one process, on one core.

1. Cleaning rules: TFDS's own ``clean_page`` (``get_clean_page_fn()``, run through
   tests/c4_reference.py, which supplies TFDS without TensorFlow and counts in a dict, as TFDS's own
   test does; on Beam the counters are Beam Metrics) vs ``filters.c4.clean_page`` on the same texts,
   after loading Punkt for both and warming both up. Both alternate on chunks of 50 documents and
   each chunk's best of --rounds counts. Every output must be identical (same pages kept, same text).
2. Whole pipeline on Beam: the documents are written as one Common Crawl-style WET file (one gzip
   member per WARC/1.0 record, a warcinfo record first). Every document gets a URL (a synthetic one if
   it has none; copy n > 0 gets its own host prefix) and a distinct WARC-Date, so "newest page per
   URL" has no ties (on ties the reference keeps whichever page arrives first). The reference is
   TFDS's c4/en pipeline built from c4_utils exactly as tensorflow_datasets/text/c4.py's
   ``_get_pages_pcollection`` wires it (split_wet_file -> is_valid_length -> newest page per
   normalized URL -> clean_page -> remove_duplicate_text -> detect_english -> bad words, the en list
   C4 pins, filter fraction 1.0) and written with WriteToText; ours is ``corpus run c4`` (pipelines.run)
   writing its Arrow dataset. Both on the FnApiRunner with --direct_num_workers=1, timed end to end;
   both must keep the same URLs with the same texts.

Targets (the C4 issue): ours >= 3x the reference's docs/s for the cleaning rules, and >= 3x for the
whole C4 preset on Beam. Exits 1 if any output differs from the reference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the reference harness is test-only code

SHARED = Path(os.environ.get("CORPUS_SHARED", REPO.parent / "shared"))
NLTK_DATA = SHARED / "resources" / "nltk_data"
LDNOOBW = SHARED / "resources" / "ldnoobw"
C4_EN_BADWORDS = LDNOOBW / "25e679f03d96baa721cde20db9944649e8d0a844" / "en"
TARGET = 3.0
WARC_DATE_START = dt.datetime(2019, 4, 18, tzinfo=dt.timezone.utc)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- input --------------------------------------------------------------------------------------

def load_documents() -> list[tuple[str | None, str]]:
    """(url or None, text) for every webtext document, in file order."""
    docs = []
    for path in sorted((SHARED / "data/webtext").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                docs.append((d.get("url") or None, d.get("text") or d.get("text_full") or ""))
    return docs


def page_urls(docs: list[tuple[str | None, str]], copies: int) -> list[tuple[str, str]]:
    """(url, text) per page: a synthetic URL where there is none, a per-copy host for copies > 0.

    The original URL is kept inside the copy's URL, so URLs that normalise alike in copy 0 still do
    in every copy (normalize_url removes every "http(s)://(www.)")."""
    pages = []
    for copy in range(copies):
        for i, (url, text) in enumerate(docs):
            url = url or f"http://c4bench.invalid/doc/{i}"
            if copy:
                url = f"http://copy{copy}.c4bench.invalid/{url}"
            pages.append((url, text))
    return pages


def _warc_record(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return gzip.compress(head.encode() + body + b"\r\n\r\n", compresslevel=1, mtime=0)


def write_wet(path: Path, pages: list[tuple[str, str]]) -> None:
    """A WET file as Common Crawl writes them: a warcinfo record, then one conversion record per page,
    each record its own gzip member; WARC-Date increases by one second per record (all distinct)."""
    def record_id(key: str) -> str:
        return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}>"

    def date(seconds: int) -> str:
        return (WARC_DATE_START + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    with open(path, "wb") as f:
        info = b"Software-Info: bench_c4.py\r\nFormat: WARC File Format 1.0\r\n"
        f.write(_warc_record([("WARC-Type", "warcinfo"), ("WARC-Date", date(0)),
                              ("WARC-Filename", path.name), ("WARC-Record-ID", record_id("warcinfo")),
                              ("Content-Type", "application/warc-fields"),
                              ("Content-Length", str(len(info)))], info))
        for i, (url, text) in enumerate(pages, start=1):
            body = text.encode("utf-8")
            f.write(_warc_record([
                ("WARC-Type", "conversion"), ("WARC-Target-URI", url), ("WARC-Date", date(i)),
                ("WARC-Record-ID", record_id(f"{i}/{url}")), ("WARC-Refers-To", record_id(f"response/{i}")),
                ("WARC-Block-Digest", "sha1:" + hashlib.sha1(body).hexdigest().upper()),
                ("Content-Type", "text/plain"), ("Content-Length", str(len(body)))], body))


# --- 1. the cleaning rules, per document -------------------------------------------------------------

def clean_reference(ref, texts: list[str]) -> list[str | None]:
    return [ref.clean_page(text)[0] for text in texts]


def clean_ours(texts: list[str], tokenizer, options) -> list[str | None]:
    from filters.c4 import clean_page

    return [clean_page(text, tokenizer, options).text for text in texts]


def first_difference(a: str | None, b: str | None) -> str:
    if a is None or b is None:
        return f"reference {'drops' if a is None else 'keeps'} the page, ours {'drops' if b is None else 'keeps'} it"
    for line in difflib.unified_diff(a.split("\n"), b.split("\n"), "reference", "ours", n=0, lineterm=""):
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++")):
            return f"first differing line: {line[:300]!r}"
    return "texts differ"


def bench_cleaning(ref, texts: list[str], rounds: int, chunk: int = 50) -> dict:
    """Both sides alternate on chunks of ``chunk`` documents (which goes first alternates too), and each
    chunk's fastest round counts, so load from other processes and drift hit both sides alike."""
    from corpus.resources import punkt_english
    from filters.c4 import C4Options

    ref.ensure_sentence_tokenizer()  # TFDS's memoized Punkt
    tokenizer = punkt_english(str(NLTK_DATA))  # ours
    options = C4Options()
    warm = texts[:200]
    clean_reference(ref, warm)
    clean_ours(warm, tokenizer, options)

    chunks = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
    best = {"reference": [float("inf")] * len(chunks), "ours": [float("inf")] * len(chunks)}
    expected, got = [], []
    for round_ in range(rounds):
        for c, part in enumerate(chunks):
            sides = ["reference", "ours"] if (round_ + c) % 2 == 0 else ["ours", "reference"]
            for side in sides:
                start = time.perf_counter()
                result = clean_reference(ref, part) if side == "reference" else clean_ours(part, tokenizer, options)
                best[side][c] = min(best[side][c], time.perf_counter() - start)
                if round_ == 0:
                    (expected if side == "reference" else got).extend(result)
    best_ref, best_ours = sum(best["reference"]), sum(best["ours"])

    differing = [i for i, (a, b) in enumerate(zip(expected, got)) if a != b]
    problems = []
    if differing:
        i = min(differing, key=lambda i: len(texts[i]))
        problems.append(f"cleaning: {len(differing)} of {len(texts)} outputs differ; smallest: document {i} "
                        f"({len(texts[i])} chars): {first_difference(expected[i], got[i])}\n"
                        f"  input: {texts[i][:2000]!r}")
    return {"reference": best_ref, "ours": best_ours, "problems": problems,
            "kept": {"reference": sum(t is not None for t in expected), "ours": sum(t is not None for t in got)}}


# --- 2. the whole pipeline on Beam -------------------------------------------------------------------

def _en_badwords() -> set[str]:
    # c4.py: badwords[lang].update(l.strip() for l in f); the allowlist has no "en" entry.
    with open(C4_EN_BADWORDS, encoding="utf-8") as f:
        return {line.strip() for line in f}


def _page_to_json(page) -> str:
    return json.dumps({"url": page.url, "text": page.text})


def _key_by_normalized_url(page):
    return page.normalized_url, page


def reference_pipeline(ref, wet_path: str, out_path: str) -> None:
    """TFDS c4/en, as c4.py's _get_pages_pcollection wires c4_utils (from the WET file on)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    c4_utils = ref.c4_utils
    ref.ensure_sentence_tokenizer()  # c4_utils would call nltk.download("punkt") (network) otherwise
    options = PipelineOptions(["--direct_num_workers=1"])
    with beam.Pipeline(runner="FnApiRunner", options=options) as pipeline:
        pages = (
            pipeline
            | "wet_paths" >> beam.Create([wet_path])
            | beam.FlatMap(c4_utils.split_wet_file)
            | beam.Filter(c4_utils.is_valid_length))
        pages = (
            pages
            | "normalize_url" >> beam.Map(_key_by_normalized_url)
            | "select_newest" >> beam.CombinePerKey(c4_utils.select_newest_page)
            | beam.Values())
        pages |= "clean_pages" >> beam.FlatMap(c4_utils.get_clean_page_fn())
        pages = c4_utils.remove_duplicate_text(pages)
        pages |= beam.FlatMap(c4_utils.detect_english)
        pages |= beam.Filter(c4_utils.get_badwords_filter_fn({"en": _en_badwords()}, filter_fraction=1.0))
        _ = (pages
             | "to_json" >> beam.Map(_page_to_json)
             | "write" >> beam.io.WriteToText(out_path, num_shards=1, shard_name_template=""))


def our_pipeline(wet_path: str, out_dir: str) -> dict:
    from corpus.config import load_config
    from pipelines.run import run

    config = load_config("c4", [f"c4.badwords_path={LDNOOBW}", f"c4.punkt_path={NLTK_DATA}"])
    return run(config, [wet_path], out_dir, ["--direct_num_workers=1"])


def read_reference_output(path: str) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            page = json.loads(line)
            assert page["url"] not in out, page["url"]
            out[page["url"]] = page["text"]
    return out


def read_our_output(out_dir: str) -> dict[str, str]:
    import pyarrow as pa

    out = {}
    for shard in sorted(Path(out_dir, "documents").glob("*.arrow")):
        with pa.ipc.open_stream(str(shard)) as reader:
            for row in reader.read_all().select(["url", "text"]).to_pylist():
                assert row["url"] not in out, row["url"]
                out[row["url"]] = row["text"]
    return out


def warm_up_beam() -> None:
    """Import Beam and run one trivial pipeline, so neither timed run pays Beam's one-time costs."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    with beam.Pipeline(runner="FnApiRunner", options=PipelineOptions(["--direct_num_workers=1"])) as p:
        _ = p | beam.Create([1, 2, 3]) | beam.Map(lambda x: (x % 2, x)) | beam.GroupByKey()


def bench_beam(ref, pages: list[tuple[str, str]], tmp: Path, rounds: int) -> dict:
    import langdetect

    wet = tmp / "CC-MAIN-bench-00000.warc.wet.gz"
    write_wet(wet, pages)
    warm_up_beam()
    langdetect.DetectorFactory.seed = 0
    langdetect.detect_langs("Load the language profiles once, before either timed run.")  # shared

    ref_out, our_out = str(tmp / "reference.jsonl"), str(tmp / "ours")
    t_ref = t_ours = float("inf")
    for round_ in range(rounds):  # which side goes first alternates; each side's best round counts
        for side in (("reference", "ours") if round_ % 2 == 0 else ("ours", "reference")):
            if side == "reference":
                Path(ref_out).unlink(missing_ok=True)
            else:
                shutil.rmtree(our_out, ignore_errors=True)
            log(f"beam round {round_ + 1}: {side} ...")
            start = time.perf_counter()
            if side == "reference":
                reference_pipeline(ref, str(wet), ref_out)
                t_ref = min(t_ref, time.perf_counter() - start)
            else:
                our_pipeline(str(wet), our_out)
                t_ours = min(t_ours, time.perf_counter() - start)
            log(f"beam round {round_ + 1}: {side} {time.perf_counter() - start:.1f} s")

    expected, got = read_reference_output(ref_out), read_our_output(our_out)
    problems = []
    only_ref, only_ours = sorted(expected.keys() - got.keys()), sorted(got.keys() - expected.keys())
    changed = sorted(u for u in expected.keys() & got.keys() if expected[u] != got[u])
    if only_ref or only_ours or changed:
        texts = dict(pages)
        candidates = only_ref + only_ours + changed
        url = min(candidates, key=lambda u: len(texts.get(u, "")))
        problems.append(
            f"beam: {len(only_ref)} pages kept only by the reference, {len(only_ours)} only by ours, "
            f"{len(changed)} with different text; smallest: {url} ({len(texts.get(url, ''))} chars input): "
            f"{first_difference(expected.get(url), got.get(url))}\n  input: {texts.get(url, '')[:2000]!r}")
    return {"reference": t_ref, "ours": t_ours, "problems": problems,
            "kept": {"reference": len(expected), "ours": len(got)},
            "wet_mb": wet.stat().st_size / 1e6}


# --- report -------------------------------------------------------------------------------------------

def verdict(ratio: float) -> str:
    return "meets target" if ratio >= TARGET else "below target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=1, help="repeat the documents this many times")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed rounds of the cleaning rules (each chunk's best round counts)")
    parser.add_argument("--beam-rounds", type=int, default=1,
                        help="runs of each Beam pipeline, alternating which goes first (best run counts)")
    parser.add_argument("--skip-beam", action="store_true", help="only the cleaning rules")
    args = parser.parse_args()

    start = time.perf_counter()
    import c4_reference as ref  # TFDS c4_utils with a TensorFlow stand-in; imports TFDS (slow)
    log(f"reference harness imported in {time.perf_counter() - start:.1f} s (TF shim: {ref.TF_IS_SHIM})")

    docs = load_documents()
    pages = page_urls(docs, args.copies)
    texts = [text for _, text in pages]
    n = len(texts)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6

    log(f"cleaning rules: {n:,} documents x {args.rounds} rounds ...")
    clean = bench_cleaning(ref, texts, args.rounds)
    beam_result = None
    if not args.skip_beam:
        with tempfile.TemporaryDirectory(prefix="bench_c4_") as tmp:
            beam_result = bench_beam(ref, pages, Path(tmp), args.beam_rounds)

    clean_ratio = clean["reference"] / clean["ours"]
    print(f"input: {n:,} documents ({len(docs):,} x {args.copies} copies), {mb:.1f} MB of text; "
          f"{os.cpu_count()} cores, all timings on 1 core")
    print(f"cleaning rules: ours {clean_ratio:.2f}x the reference's docs/s per core "
          f"(target {TARGET:g}x: {verdict(clean_ratio)})")
    if beam_result:
        beam_ratio = beam_result["reference"] / beam_result["ours"]
        print(f"whole C4 on Beam: ours {beam_ratio:.2f}x the reference's docs/s "
              f"(target {TARGET:g}x: {verdict(beam_ratio)}); WET input {beam_result['wet_mb']:.1f} MB gz")
    print()
    print(f"{'what':44} {'seconds':>8} {'docs/s':>9} {'x ref':>6} {'kept':>6} {'identical':>9}")
    rows = [("clean_page: TFDS reference (1 core)", clean, "reference", 1.0),
            ("clean_page: filters.c4 (1 core)", clean, "ours", clean_ratio)]
    if beam_result:
        rows += [("C4 on Beam: TFDS c4/en pipeline (1 worker)", beam_result, "reference", 1.0),
                 ("C4 on Beam: corpus run c4 (1 worker)", beam_result, "ours", beam_ratio)]
    for name, result, side, ratio in rows:
        seconds = result[side]
        same = "no" if result["problems"] else "yes"
        print(f"{name:44} {seconds:8.2f} {n / seconds:9,.0f} {ratio:6.2f} {result['kept'][side]:6,} {same:>9}")

    problems = clean["problems"] + (beam_result["problems"] if beam_result else [])
    for problem in problems:
        print("\nOUTPUT DIFFERS FROM THE REFERENCE -- " + problem)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()

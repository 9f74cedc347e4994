"""The C4 stage on Beam: TFDS's C4 pipeline (tensorflow_datasets/text/c4.py, 3.1.0), step by step.

    pages -> page rules -> URL dedup (GroupByKey) -> clean_page -> repeated-line removal
          (CombinePerKey + CoGroupByKey) -> language -> bad words -> split

The per-document steps are the filters in ``filters/c4.py``; this module adds the two corpus-wide
steps. Both are shuffles keyed by what they compare, so no worker ever holds more than one URL's
pages or one page's kept lines.
"""

from __future__ import annotations

import apache_beam as beam

from corpus.document import Rejected, Rejection
from filters.c4 import (C4, C4Badwords, C4CleanPage, C4Language, C4PageRules, C4Split, keeper_rank,
                        newest_page, normalize_url, page_line_hashes, without_repeated_lines)
from pipelines.apply import ApplyFilter
from pipelines.keyed import KeepOnePerKey, rebatch

def _normalized_url(doc) -> str:
    return normalize_url(doc.url or "")


def dedupe_urls() -> KeepOnePerKey:
    """One page per normalised URL: the newest (select_newest_page)."""
    return KeepOnePerKey(_normalized_url, newest_page,
                         lambda newest: Rejection("c4/duplicate_url", f"kept {newest.id}"))


class _RemoveLines(beam.DoFn):
    def __init__(self, stage: C4) -> None:
        self.stage = stage

    def setup(self) -> None:
        from corpus.resources import punkt_english

        self.tokenizer = punkt_english(self.stage.options.punkt_path)

    def process(self, joined):
        _, grouped = joined
        options = self.stage.options
        kept_hashes = set(grouped["lines"])
        for doc in grouped["pages"]:
            result, _ = without_repeated_lines(doc, kept_hashes, self.tokenizer, options)
            if isinstance(result, Rejection):
                yield beam.pvalue.TaggedOutput("rejected", [Rejected(doc, result)])
            else:
                yield result


class RemoveRepeatedLines(beam.PTransform):
    """remove_duplicate_text: every line is kept in one page only, the page whose URL has the
    smallest md5; then pages left with too few sentences are dropped."""

    def __init__(self, stage: C4) -> None:
        super().__init__()
        self.stage = stage

    def expand(self, batches):
        version = self.stage.options.c4_version
        pages = batches | "KeyById" >> beam.FlatMap(lambda batch: [(d.id, d) for d in batch])
        lines = (
            batches
            # line hash -> (md5 of url, page id), once per distinct line of each page
            | "EmitLineHashes" >> beam.FlatMap(lambda batch: [
                (h, keeper_rank(d.url, d.id, version)) for d in batch for h in page_line_hashes(d.text, version)])
            | "ChooseKeeper" >> beam.CombinePerKey(min)
            # page id -> line hash it keeps
            | "ByKeeper" >> beam.MapTuple(lambda line, rank: (rank[1], line)))
        result = (
            {"pages": pages, "lines": lines}
            | "JoinPagesAndKeptLines" >> beam.CoGroupByKey()
            | "RemoveLines" >> beam.ParDo(_RemoveLines(self.stage)).with_outputs("rejected", main="kept"))
        return {"kept": result.kept | rebatch("Rebatch"), "rejected": result.rejected}


class C4Clean(beam.PTransform):
    """Batches of documents -> {"kept", "rejected", "errors"}, as ApplyFilter returns them."""

    def __init__(self, stage: C4) -> None:
        super().__init__()
        self.stage = stage

    def expand(self, batches):
        o, seed = self.stage.options, self.stage.seed
        steps = [("PageRules", ApplyFilter(C4PageRules(o, seed)))]
        if o.dedupe_urls:
            steps.append(("DedupeUrls", dedupe_urls()))
        steps.append(("CleanPages", ApplyFilter(C4CleanPage(o, seed))))
        if o.dedupe_lines:
            steps.append(("RemoveRepeatedLines", RemoveRepeatedLines(self.stage)))
        steps.append(("DetectLanguage", ApplyFilter(C4Language(o, seed))))
        if o.badwords and o.c4_version == "3.1.0":
            steps.append(("Badwords", ApplyFilter(C4Badwords(o, seed))))
        if o.split != "all":
            steps.append(("Split", ApplyFilter(C4Split(o, seed))))

        rejected, errors = [], []
        for label, transform in steps:
            result = batches | label >> transform
            batches = result["kept"]
            rejected.append(result["rejected"])
            if "errors" in _tags(result):
                errors.append(result["errors"])
        return {"kept": batches,
                "rejected": rejected | "AllRejected" >> beam.Flatten(),
                "errors": errors | "AllErrors" >> beam.Flatten()}


def _tags(result) -> set:
    return set(result) if isinstance(result, dict) else {"kept", "rejected", "errors"}

"""Deduplication: exact text, URL, and GPT-3-style fuzzy (MinHash LSH) -- the decisions, without Beam.

GPT-3 (Brown et al. 2020, appendix A) "fuzzily deduplicated documents within each dataset using
Spark's MinHashLSH implementation with 10 hashes"; FineWeb (datatrove ``MinhashDedup``) uses 14 bands
of 8 rows over word 5-grams. Both stop at LSH buckets; here candidate pairs are also verified with the
exact Jaccard similarity of their shingle sets (LSH alone is a coin toss near the threshold), and
connected components of the verified pairs decide which documents are copies of each other. One
document per component survives, chosen deterministically (``keep``); the others are rejected as
``dedup/near_duplicate`` with the survivor and their similarity as detail.

The cheap exact passes run first: ``dedup/exact_duplicate`` (same normalised text) and
``dedup/duplicate_url`` (same normalised URL). The shuffles are in ``pipelines/dedup.py``; this module
holds the keys, the choices, and an in-memory run of the whole stage for ``corpus inspect``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import Field, model_validator

from corpus.config import Options
from corpus.document import Document, Rejection

_WHITESPACE = re.compile(r"\s+")
_SCHEME_WWW = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://(www\.)?")


class DedupOptions(Options):
    exact: bool = True  # same text after lower-casing and collapsing whitespace
    urls: bool = True  # same URL without scheme, "www.", fragment and trailing slash
    fuzzy: bool = True
    preset: Literal["fineweb", "gpt3", "custom"] = "fineweb"  # fineweb: 5-grams, 14 x 8; gpt3: unigrams, 10 x 1
    ngram: int | None = Field(default=None, gt=0)  # custom: word n-gram size
    bands: int | None = Field(default=None, gt=0)  # custom: LSH bands (hash tables)
    rows: int | None = Field(default=None, gt=0)  # custom: rows (hashes) per band
    threshold: float | None = Field(default=None, gt=0, le=1)  # custom: choose bands x rows with datasketch
    num_perm: int | None = Field(default=None, gt=0)  # custom with threshold: permutations to split
    minhash_seed: int = 1  # datasketch's default seed
    verify: bool = True  # keep only candidate pairs whose exact shingle Jaccard >= similarity
    similarity: float = Field(default=0.8, gt=0, le=1)
    keep: Literal["smallest_id", "longest", "highest_quality"] = "smallest_id"
    # A bucket with more members than this is verified as a star around its first member and a chain
    # through its members (2k comparisons), not all k^2/2 pairs.
    max_pairwise_bucket: int = Field(default=64, gt=1)
    # Large-star/small-star rounds before giving up with an error: a 100,000-page chain needs 13.
    max_cc_rounds: int = Field(default=16, gt=0)

    @model_validator(mode="after")
    def _custom_needs_shape(self) -> "DedupOptions":
        if self.preset == "custom" and not (self.ngram and ((self.bands and self.rows) or self.threshold)):
            raise ValueError("preset 'custom' needs ngram and either bands + rows or threshold (+ num_perm)")
        return self

    def lsh_shape(self) -> tuple[int, int, int, str]:
        """(ngram, bands, rows, text normalisation) for the preset, or datasketch's choice of bands
        and rows for a threshold (custom shapes use datatrove's normalisation)."""
        from filters import minhash

        if self.preset != "custom":
            preset = minhash.PRESETS[self.preset]
            return preset["ngram"], preset["bands"], preset["rows"], preset["normalization"]
        if self.bands and self.rows:
            return self.ngram, self.bands, self.rows, "datatrove"
        bands, rows = minhash.optimal_bands_rows(self.threshold, self.num_perm or 128)
        return self.ngram, bands, rows, "datatrove"


def exact_key(text: str) -> bytes:
    return hashlib.sha1(_WHITESPACE.sub(" ", text).strip().lower().encode("utf-8", "surrogatepass")).digest()


def url_key(url: str | None) -> str | None:
    if not url:
        return None
    return _SCHEME_WWW.sub("", url.strip()).split("#", 1)[0].rstrip("/").lower() or None


def survivor_rank(doc: Document, keep: str) -> tuple:
    """Smaller ranks survive: the smallest id, the longest text, or the highest quality score; the id
    always breaks ties, so the choice never depends on arrival order."""
    if keep == "longest":
        return (-len(doc.text), doc.id)
    if keep == "highest_quality":
        return (-(doc.annotations.get("quality_score") or 0.0), doc.id)
    return (doc.id,)


def duplicate_of(survivor_id: str, rule: str, similarity: float | None = None) -> Rejection:
    detail = survivor_id if similarity is None else f"{survivor_id} {similarity:.3f}"
    return Rejection(f"dedup/{rule}", detail)


class Dedup:
    """The configured dedup stage (a corpus-wide stage: its shuffles are in pipelines/dedup.py)."""

    name = "dedup"
    Options = DedupOptions
    annotations = ("cluster_id",)
    reasons = ("exact_duplicate", "duplicate_url", "near_duplicate")

    def __init__(self, options: DedupOptions, seed: int = 0) -> None:
        self.options = options
        self.seed = seed

    def setup(self) -> None:
        """Nothing to load."""

    def run_in_memory(self, traces: list) -> None:
        """The same decisions as the Beam stage, over an in-memory sample (``corpus inspect``)."""
        from filters import minhash

        o = self.options

        def group_and_reject(key_fn, rule: str) -> None:
            groups: dict = {}
            for trace in traces:
                if trace.alive and (key := key_fn(trace.result)) is not None:
                    groups.setdefault(key, []).append(trace)
            for members in groups.values():
                survivor = min((t.result for t in members), key=lambda d: survivor_rank(d, o.keep))
                for trace in members:
                    if trace.result is not survivor:
                        trace.result = duplicate_of(survivor.id, rule)

        if o.exact:
            group_and_reject(lambda d: exact_key(d.text), "exact_duplicate")
        if o.urls:
            group_and_reject(lambda d: url_key(d.url), "duplicate_url")
        if not o.fuzzy:
            return
        alive = [t for t in traces if t.alive]
        docs = [t.result for t in alive]
        ngram, bands, rows, normalization = o.lsh_shape()
        shingles = [minhash.shingle_hashes(d.text, ngram, normalization=normalization) for d in docs]
        signatures = minhash.signatures(shingles, bands * rows, o.minhash_seed)
        buckets: dict = {}
        for i, keys in enumerate(minhash.band_keys(signatures, bands, rows)):
            for key in keys:
                buckets.setdefault(key, []).append(i)
        edges: dict[tuple[int, int], float] = {}
        for members in buckets.values():
            for a, b in candidate_pairs(sorted(members, key=lambda i: docs[i].id), o.max_pairwise_bucket):
                sim = minhash.jaccard(shingles[a], shingles[b])
                if not o.verify or sim >= o.similarity:
                    edges[min(a, b), max(a, b)] = max(sim, edges.get((min(a, b), max(a, b)), 0.0))
        parent = list(range(len(docs)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def label(i: int) -> tuple[bytes, str]:  # the order pipelines/dedup.py labels components in
            return hashlib.blake2b(docs[i].id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), docs[i].id

        for a, b in edges:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb, key=label)] = min(ra, rb, key=label)
        best: dict[int, float] = {}
        for (a, b), sim in edges.items():
            best[a], best[b] = max(best.get(a, 0.0), sim), max(best.get(b, 0.0), sim)
        components: dict[int, list[int]] = {}
        for i in best:
            components.setdefault(find(i), []).append(i)
        for members in components.values():
            cluster = docs[find(members[0])].id
            survivor = min((docs[i] for i in members), key=lambda d: survivor_rank(d, o.keep))
            for i in members:
                if docs[i] is survivor:
                    alive[i].result = Document(survivor.id, survivor.text, survivor.source, survivor.url,
                                               {**survivor.annotations, "cluster_id": cluster})
                else:
                    alive[i].result = duplicate_of(survivor.id, "near_duplicate", best[i])


def candidate_pairs(members: list[int], max_pairwise: int) -> list[tuple[int, int]]:
    """The pairs of a bucket to verify: all of them, or for a large bucket a star around the first
    member plus a chain through the others (every member is reached, in 2k comparisons)."""
    if len(members) <= max_pairwise:
        return [(a, b) for i, a in enumerate(members) for b in members[i + 1:]]
    star = [(members[0], b) for b in members[1:]]
    chain = [(a, b) for a, b in zip(members[1:], members[2:])]
    return star + chain

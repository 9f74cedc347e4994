"""The dedup stage on Beam: exact and URL dedup, then MinHash LSH with verified pairs and a
distributed connected-components pass, so that no worker ever holds more than one key's group.

    documents -> exact text key (GroupByKey) -> normalised URL (GroupByKey)
      -> shingles + signatures (vectorised per batch) -> one element per (band key, document id)
      -> GroupByKey per band key -> candidate pairs (distinct) -> both documents' shingles joined in
      -> verified pairs (exact Jaccard)
      -> large-star / small-star rounds (Kiveris et al. 2014) -> component of every node
      -> survivor per component (GroupByKey) -> verdicts joined back to the documents (CoGroupByKey)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa

from corpus.document import Document, Rejected
from filters import minhash
from filters.dedup import Dedup, candidate_pairs, duplicate_of, exact_key, survivor_rank, url_key
from pipelines.keyed import KeepOnePerKey, rebatch
from pipelines.write import WriteDataset

CLUSTERS_SCHEMA = pa.schema([("id", pa.string()), ("survivor", pa.string()), ("size", pa.int64()),
                             ("members", pa.list_(pa.string()))])


def _survivor_by(keep: str):
    return lambda docs: min(docs, key=lambda d: survivor_rank(d, keep))


def _exact(doc: Document) -> bytes:
    return exact_key(doc.text)


def _url(doc: Document) -> str | None:
    return url_key(doc.url)


class _BandEntries(beam.DoFn):
    """A batch -> (band key, id) for every band of every document (signatures computed for the
    whole batch at once), and ``shingles``: (id, shingle hashes) once per document."""

    def __init__(self, ngram: int, bands: int, rows: int, normalization: str, seed: int) -> None:
        self.ngram, self.bands, self.rows, self.seed = ngram, bands, rows, seed
        self.normalization = normalization

    def process(self, batch) -> Iterator[tuple[Any, str]]:  # (and "shingles" pairs)
        shingles = [minhash.shingle_hashes(d.text, self.ngram, normalization=self.normalization) for d in batch]
        signatures = minhash.signatures(shingles, self.bands * self.rows, self.seed)
        for doc, doc_shingles, keys in zip(batch, shingles, minhash.band_keys(signatures, self.bands, self.rows),
                                           strict=True):
            yield beam.pvalue.TaggedOutput("shingles", (doc.id, doc_shingles))
            for key in keys:
                yield key, doc.id


def _candidate_pairs(keyed, max_pairwise: int):
    """One bucket's member ids -> the pairs to verify, (smaller id, larger id)."""
    _, members = keyed
    members = sorted(set(members))
    return [(members[a], members[b]) for a, b in candidate_pairs(list(range(len(members))), max_pairwise)]


def _with_first_shingles(joined):
    """(a, {pairs: [b, ...], shingles: [sa]}) -> (b, (a, sa)) for each candidate partner b."""
    a, grouped = joined
    if not grouped["shingles"]:
        return []
    (sa,) = grouped["shingles"][:1]
    return [(b, (a, sa)) for b in grouped["pairs"]]


class _Verify(beam.DoFn):
    """(b, {pairs: [(a, sa), ...], shingles: [sb]}) -> ((a, b), exact Jaccard) for verified pairs."""

    def __init__(self, verify: bool, similarity: float) -> None:
        self.verify, self.similarity = verify, similarity

    def process(self, joined):
        b, grouped = joined
        if not grouped["shingles"]:
            return
        sb = grouped["shingles"][0]
        for a, sa in grouped["pairs"]:
            sim = minhash.jaccard(sa, sb)
            if not self.verify or sim >= self.similarity:
                yield (a, b), sim


def _large_star(keyed):
    """Kiveris et al.'s Large-Star: connect every larger neighbour of u to u's smallest neighbour."""
    u, neighbours = keyed
    neighbours = set(neighbours)
    m = min(neighbours | {u})
    return [(v, m) for v in neighbours if v > u]


def _small_star(keyed):
    """Small-Star: connect u and its smaller neighbours to the smallest of them."""
    u, smaller = keyed
    group = set(smaller) | {u}
    m = min(group)
    return [(v, m) for v in group if v != m]


def _both_ways(edge):
    a, b = edge
    return [(a, b), (b, a)]


def _towards_smaller(edge):
    a, b = edge
    return [(a, b)] if b < a else [(b, a)]


class ConnectedComponents(beam.PTransform):
    """Edges (a, b) -> (node, component) where component is the smallest node connected to node.

    Alternating Large-Star and Small-Star rounds (Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii,
    "Connected Components in MapReduce and Beyond", SoCC 2014) shrink every component to a star
    around its smallest node in O(log^2 n) rounds; each round is a GroupByKey of the edges, never a
    collection of all of them. Beam graphs cannot loop on data, so ``rounds`` pairs are unrolled and
    the result is checked: if a node is still both a centre and a leaf, the run fails with an error
    that names the option to raise.
    """

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds

    def expand(self, edges):
        for i in range(self.rounds):
            edges = (edges
                     | f"LargeStarEmit{i}" >> beam.FlatMap(_both_ways)
                     | f"LargeStarGroup{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMap(_large_star)
                     | f"LargeStarDistinct{i}" >> beam.Distinct()
                     | f"SmallStarEmit{i}" >> beam.FlatMap(_towards_smaller)
                     | f"SmallStarGroup{i}" >> beam.GroupByKey()
                     | f"SmallStar{i}" >> beam.FlatMap(_small_star)
                     | f"SmallStarDistinct{i}" >> beam.Distinct())
        # (leaf, centre) edges; every centre is its own component
        _ = (edges
             | "NodeRoles" >> beam.FlatMap(lambda e: [(e[0], "leaf"), (e[1], "centre")])
             | "GroupRoles" >> beam.GroupByKey()
             | "CheckConverged" >> beam.Map(_check_converged, self.rounds))
        centres = edges | "Centres" >> beam.Map(lambda e: (e[1], e[1])) | "DistinctCentres" >> beam.Distinct()
        return (edges, centres) | "NodeComponents" >> beam.Flatten()


def _check_converged(keyed, rounds: int) -> None:
    node, roles = keyed
    if len(set(roles)) > 1:
        raise RuntimeError(f"connected components did not converge in {rounds} rounds (node {node!r} is still "
                           f"linked to two levels); raise dedup.max_cc_rounds")


class _Verdicts(beam.DoFn):
    """A component's members -> survivor and (id, Rejection) for the others; the cluster row."""

    def __init__(self, keep: str) -> None:
        self.keep = keep

    def process(self, keyed):
        cluster, members = keyed
        members = sorted(members, key=lambda m: m[0])  # (id, rank, similarity)
        survivor_id = min(members, key=lambda m: m[1])[0]
        for doc_id, _, sim in members:
            yield doc_id, (cluster, survivor_id, sim)
        yield beam.pvalue.TaggedOutput("clusters", [{
            "id": cluster, "survivor": survivor_id, "size": len(members), "members": [m[0] for m in members]}])


class _ApplyVerdicts(beam.DoFn):
    def process(self, joined):
        _, grouped = joined
        verdicts = grouped["verdict"]
        for doc in grouped["doc"]:
            if not verdicts:
                yield doc
                continue
            cluster, survivor_id, sim = verdicts[0]
            if doc.id == survivor_id:
                yield Document(doc.id, doc.text, doc.source, doc.url, {**doc.annotations, "cluster_id": cluster})
            else:
                yield beam.pvalue.TaggedOutput("rejected", [Rejected(doc, duplicate_of(survivor_id, "near_duplicate", sim))])


class NearDuplicates(beam.PTransform):
    def __init__(self, stage: Dedup, directory: str, max_shard_bytes: int) -> None:
        super().__init__()
        self.stage, self.directory, self.max_shard_bytes = stage, directory, max_shard_bytes

    def expand(self, batches):
        o = self.stage.options
        ngram, bands, rows, normalization = o.lsh_shape()
        keep = o.keep
        entries = batches | "BandEntries" >> beam.ParDo(
            _BandEntries(ngram, bands, rows, normalization, o.minhash_seed)).with_outputs("shingles", main="bands")
        # Buckets hold ids only; each document's shingles travel to its candidate pairs in two joins,
        # not once per band (14x less data than carrying them through the buckets).
        pairs = (entries.bands
                 # band key -> [id, ...]
                 | "GroupByBand" >> beam.GroupByKey()
                 | "CandidatePairs" >> beam.FlatMap(_candidate_pairs, o.max_pairwise_bucket)
                 | "DistinctPairs" >> beam.Distinct())
        # (a, b) -> similarity, for verified pairs
        with_first = ({"pairs": pairs, "shingles": entries.shingles}
                      | "JoinFirstShingles" >> beam.CoGroupByKey()
                      | "ToSecond" >> beam.FlatMap(_with_first_shingles))
        edges = ({"pairs": with_first, "shingles": entries.shingles}
                 | "JoinSecondShingles" >> beam.CoGroupByKey()
                 | "Verify" >> beam.ParDo(_Verify(o.verify, o.similarity)))
        components = (edges
                      | "EdgeNodes" >> beam.Keys()
                      # nodes ordered by a hash of their id: adversarial id orders (a chain of pages
                      # whose ids sort along it) then converge as fast as random ones
                      | "HashedNodes" >> beam.Map(lambda e: (_hashed(e[0]), _hashed(e[1])))
                      | "Components" >> ConnectedComponents(o.max_cc_rounds)
                      | "NodeIds" >> beam.MapTuple(lambda node, component: (node[1], component[1])))
        # node -> best similarity to any neighbour
        similarity = (edges
                      | "SimilarityPerNode" >> beam.FlatMap(lambda e: [(e[0][0], e[1]), (e[0][1], e[1])])
                      | "BestSimilarity" >> beam.CombinePerKey(max))
        docs = batches | "KeyById" >> beam.FlatMap(lambda batch: [(d.id, d) for d in batch])
        ranks = (docs
                 | "Ranks" >> beam.MapTuple(lambda doc_id, d: (doc_id, survivor_rank(d, keep))))
        members = ({"component": components, "rank": ranks, "similarity": similarity}
                   | "JoinMembers" >> beam.CoGroupByKey()
                   | "MemberOfComponent" >> beam.FlatMap(_member))
        verdicts = (members
                    | "GroupComponents" >> beam.GroupByKey()
                    | "Verdicts" >> beam.ParDo(_Verdicts(keep)).with_outputs("clusters", main="verdicts"))
        result = ({"doc": docs, "verdict": verdicts.verdicts}
                  | "JoinVerdicts" >> beam.CoGroupByKey()
                  | "ApplyVerdicts" >> beam.ParDo(_ApplyVerdicts()).with_outputs("rejected", main="kept"))
        clusters = verdicts.clusters | "WriteClusters" >> WriteDataset(
            self.directory, CLUSTERS_SCHEMA, self.max_shard_bytes, name="clusters")
        return {"kept": result.kept | rebatch("Rebatch"), "rejected": result.rejected, "clusters": clusters}


def _hashed(doc_id: str) -> tuple[bytes, str]:
    return hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), doc_id


def _member(joined):
    node, grouped = joined
    if not grouped["component"] or not grouped["rank"]:
        return []
    return [(grouped["component"][0], (node, grouped["rank"][0], grouped["similarity"][0]))]


class DedupStage(beam.PTransform):
    """Batches of documents -> {"kept", "rejected", "errors", "outputs"} (outputs: the clusters dataset)."""

    def __init__(self, stage: Dedup, directory: str, max_shard_bytes: int) -> None:
        super().__init__()
        self.stage, self.directory, self.max_shard_bytes = stage, directory, max_shard_bytes

    def expand(self, batches):
        o = self.stage.options
        rejected = []
        if o.exact:
            result = batches | "ExactDuplicates" >> KeepOnePerKey(
                _exact, _survivor_by(o.keep), lambda survivor: duplicate_of(survivor.id, "exact_duplicate"))
            batches, rejected = result["kept"], rejected + [result["rejected"]]
        if o.urls:
            result = batches | "DuplicateUrls" >> KeepOnePerKey(
                _url, _survivor_by(o.keep), lambda survivor: duplicate_of(survivor.id, "duplicate_url"))
            batches, rejected = result["kept"], rejected + [result["rejected"]]
        outputs = []
        if o.fuzzy:
            result = batches | "NearDuplicates" >> NearDuplicates(self.stage, self.directory, self.max_shard_bytes)
            batches, rejected = result["kept"], rejected + [result["rejected"]]
            outputs.append(result["clusters"])
        p = batches.pipeline
        return {"kept": batches,
                "rejected": (rejected or [p | "NoRejections" >> beam.Create([])]) | "AllRejected" >> beam.Flatten(),
                "errors": p | "NoErrors" >> beam.Create([]),
                "outputs": outputs}

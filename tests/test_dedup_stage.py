"""The dedup stage: connected components in Beam, survivors, clusters, and agreement with the
in-memory run that `corpus inspect dedup` shows."""

from __future__ import annotations

import random

import apache_beam as beam
import datasets
import pytest
from apache_beam.testing.util import assert_that, equal_to

from conftest import ROOT, beam_pipeline, write_jsonl
from corpus.config import load_config
from corpus.document import Document
from corpus.inspect import outcome, read_local
from filters.base import run_in_memory
from filters.dedup import candidate_pairs, exact_key, url_key
from filters.registry import build_stages
from pipelines.dedup import ConnectedComponents
from pipelines.run import run

DEDUP_ONLY = ROOT / "tests" / "configs" / "dedup_only.yaml"


def components_of(edges, rounds=10) -> None:
    """Assert that the Beam transform labels every node with its component's smallest node."""
    with beam_pipeline() as p:
        assert_that(p | beam.Create(edges) | ConnectedComponents(rounds), equal_to(expected_components(edges)))


def expected_components(edges):
    """Union-find reference: node -> smallest node of its component."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [(node, find(node)) for node in parent]


def test_long_chain_is_one_component():
    """A~B, B~C, ...: the two ends share nothing but must land in the same component."""
    nodes = [f"n{i:03d}" for i in range(200)]
    random.Random(0).shuffle(nodes)
    components_of(list(zip(nodes, nodes[1:])))


def test_star_and_separate_components():
    star = [("hub", f"leaf{i}") for i in range(50)]
    pairs = [("a1", "a2"), ("b1", "b2"), ("b2", "b3"), ("c9", "c1")]
    components_of(star + pairs)


def test_random_graph_matches_union_find():
    rng = random.Random(1)
    edges = {(f"v{rng.randrange(300):03d}", f"v{rng.randrange(300):03d}") for _ in range(250)}
    components_of([(a, b) for a, b in edges if a != b])


def test_too_few_rounds_fail_loudly():
    nodes = [f"n{i:03d}" for i in range(64)]
    random.Random(2).shuffle(nodes)
    with pytest.raises(Exception, match="did not converge in 1 rounds"):
        with beam_pipeline() as p:
            _ = p | beam.Create(list(zip(nodes, nodes[1:]))) | ConnectedComponents(1)


def test_candidate_pairs_cover_a_large_bucket_with_a_star_and_a_chain():
    assert candidate_pairs([1, 2, 3], 10) == [(1, 2), (1, 3), (2, 3)]
    pairs = candidate_pairs(list(range(6)), 3)
    assert len(pairs) == 5 + 4 and all((0, b) in pairs for b in range(1, 6))


def test_keys():
    assert exact_key("Hello   World\n") == exact_key("hello world")
    assert url_key("https://www.Example.com/a/#top") == url_key("http://example.com/a") == "example.com/a"
    assert url_key(None) is None


PARAGRAPH = ("The city council met on Tuesday to discuss the new budget for parks and public libraries. "
             "Members argued for hours about whether to extend opening hours on weekends. The mayor said "
             "a decision would come after the public consultation closes at the end of the month. ")


@pytest.fixture(scope="module")
def near_duplicates(tmp_path_factory):
    src = tmp_path_factory.mktemp("dedup")
    rng = random.Random(3)
    words = PARAGRAPH.split() * 3
    docs = []
    for family in range(6):
        base = [f"family{family}"] + [rng.choice(words) for _ in range(250)]
        for member in range(4):
            text = list(base)
            for _ in range(member):  # a few substituted words: Jaccard of 5-grams stays above 0.8
                text[rng.randrange(1, len(text))] = f"edit{rng.randrange(1000)}"
            docs.append({"id": f"f{family}-m{member}", "text": " ".join(text), "url": f"https://s{family}.example/{member}"})
    docs += [{"id": f"u{i}", "text": " ".join(rng.choice(words) for _ in range(200)) + f" unique{i}"} for i in range(10)]
    docs.append({"id": "zcopy", "text": docs[0]["text"].upper()})  # an exact duplicate after normalisation
    docs.append({"id": "f0-m0-url", "text": "Another page at the same address.", "url": "http://www.s0.example/0/"})
    write_jsonl(src / "docs.jsonl", docs)
    return src / "docs.jsonl"


def test_beam_stage_and_in_memory_run_agree_and_write_clusters(near_duplicates, tmp_path):
    config = load_config(DEDUP_ONLY)
    stats = run(config, [str(near_duplicates)], str(tmp_path / "out"), ["--direct_num_workers=1"])
    assert stats["documents"]["balanced"]
    kept = {r["id"]: r["cluster_id"] for r in datasets.load_from_disk(str(tmp_path / "out/documents"))}
    rejected = {r["id"]: (r["reason"], r["detail"]) for r in datasets.load_from_disk(str(tmp_path / "out/rejected"))}

    docs = [r for r in read_local([str(near_duplicates)], config.read) if isinstance(r, Document)]
    traces = run_in_memory(build_stages(config), docs)
    assert kept == {t.input.id: t.result.annotations.get("cluster_id") for t in traces if t.alive}
    assert rejected == {t.input.id: outcome(t.result)[1:] for t in traces if not t.alive}

    assert rejected["zcopy"] == ("dedup/exact_duplicate", "f0-m0")
    assert rejected["f0-m0-url"] == ("dedup/duplicate_url", "f0-m0")
    for family in range(6):  # one survivor per family: the smallest id, with its cluster
        assert kept[f"f{family}-m0"].startswith(f"f{family}-m")
        for member in range(1, 4):
            reason, detail = rejected[f"f{family}-m{member}"]
            survivor, similarity = detail.split()
            assert reason == "dedup/near_duplicate" and survivor == f"f{family}-m0" and float(similarity) >= 0.8
    assert all(f"u{i}" in kept and kept[f"u{i}"] is None for i in range(10))
    clusters = datasets.load_from_disk(str(tmp_path / "out/clusters"))
    assert sorted(clusters["survivor"]) == [f"f{f}-m0" for f in range(6)]
    assert all(row["size"] == 4 and row["id"] == kept[row["survivor"]] and row["id"] in row["members"]
               for row in clusters)


def test_dedup_is_the_same_on_every_runner(near_duplicates, tmp_path):
    config = load_config(DEDUP_ONLY)
    run(config, [str(near_duplicates)], str(tmp_path / "a"), ["--direct_num_workers=1"])
    run(config, [str(near_duplicates)], str(tmp_path / "b"), ["--direct_running_mode=multi_processing",
                                                              "--direct_num_workers=2"])
    for name in ("documents", "rejected", "clusters"):
        for a in (tmp_path / "a" / name).iterdir():
            assert a.read_bytes() == (tmp_path / "b" / name / a.name).read_bytes()


def test_inspect_dedup_shows_clusters_with_diffs(near_duplicates):
    from typer.testing import CliRunner

    from corpus.cli import app

    result = CliRunner().invoke(app, ["inspect", "dedup", "--input", str(near_duplicates), "-n", "100"])
    assert result.exit_code == 0, result.output
    assert "✓ survivor f0-m0" in result.output and "dedup/near_duplicate" in result.output
    assert "dedup/exact_duplicate" in result.output and "@@" in result.output  # a diff against the survivor


def test_gpt3_preset_runs_on_unigrams_with_spark_normalisation(near_duplicates):
    config = load_config(DEDUP_ONLY, ["dedup.preset=gpt3"])
    (stage,) = build_stages(config)
    assert stage.options.lsh_shape() == (1, 10, 1, "spark")
    docs = [r for r in read_local([str(near_duplicates)], config.read) if isinstance(r, Document)]
    traces = run_in_memory([stage], docs)
    assert outcome(traces[1].result)[1] == "dedup/near_duplicate"  # f0-m1 is a near copy of f0-m0

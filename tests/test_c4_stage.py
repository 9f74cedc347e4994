"""The C4 stage on Beam agrees with the same stage run in memory (what `corpus inspect` shows)."""

from __future__ import annotations

import json

import datasets
import pytest
from typer.testing import CliRunner

from conftest import SAMPLE
from corpus.cli import app
from corpus.config import load_config
from corpus.document import Document
from corpus.inspect import outcome, read_local
from filters.base import run_in_memory
from filters.registry import build_stages
from pipelines.run import run


@pytest.fixture(scope="module")
def c4_config(shared):
    return load_config("c4", [f"c4.badwords_path={shared / 'resources/ldnoobw'}",
                              f"c4.punkt_path={shared / 'resources/nltk_data'}"])


@pytest.fixture(scope="module")
def shared(request):  # module-scoped twin of conftest's fixture
    from conftest import SHARED

    if not SHARED.is_dir():
        pytest.skip("shared test data absent")
    return SHARED


def test_beam_stage_and_in_memory_run_make_the_same_decisions(c4_config, tmp_path_factory):
    out = tmp_path_factory.mktemp("c4") / "out"
    inputs = [str(SAMPLE / "web.warc.wet.gz"), str(SAMPLE / "pages.jsonl.gz")]
    stats = run(c4_config, inputs, str(out), ["--direct_num_workers=1"])
    assert stats["documents"]["balanced"]

    docs = [r for r in read_local(inputs, c4_config.read) if isinstance(r, Document)]
    traces = run_in_memory(build_stages(c4_config), docs)
    expected_kept = {t.input.id: t.result.text for t in traces if t.alive}
    expected_rejected = {t.input.id: outcome(t.result)[1] for t in traces if not t.alive}

    kept = {r["id"]: r["text"] for r in datasets.load_from_disk(str(out / "documents"))}
    rejected = {r["id"]: r["reason"] for r in datasets.load_from_disk(str(out / "rejected"))}
    assert kept == expected_kept
    assert rejected == expected_rejected
    # the sample exercises every corpus-wide step
    reasons = set(rejected.values())
    assert {"c4/duplicate_url", "c4/empty_after_line_dedup", "c4/too_few_sentences", "c4/wrong_language",
            "c4/badwords", "c4/lorem_ipsum"} <= reasons
    languages = {r["language"] for r in datasets.load_from_disk(str(out / "documents"))}
    assert languages == {"en"}


def test_inspect_shows_decisions_removed_lines_and_json(shared):
    options = ["--set", f"c4.badwords_path={shared / 'resources/ldnoobw'}",
               "--set", f"c4.punkt_path={shared / 'resources/nltk_data'}"]
    runner = CliRunner()
    result = runner.invoke(app, ["inspect", "c4", "--input", str(SAMPLE / "web.warc.wet.gz"), "-n", "40", *options])
    assert result.exit_code == 0, result.output
    assert "✓ kept" in result.output and "c4/too_few_sentences" in result.output
    assert "[c4/no_end_mark]" in result.output  # removed lines are shown with their rule
    assert "40 documents" in result.output

    result = runner.invoke(app, ["inspect", "c4", "--input", str(SAMPLE / "web.warc.wet.gz"), "-n", "40",
                                 "--json", "--reason", "kept", *options])
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows and all(r["decision"] == "kept" and r["text"] for r in rows)
    assert all({"line", "rule"} == set(x) for r in rows for x in r["removed"])


def test_inspect_bad_input_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["inspect", "c4", "--input", str(tmp_path / "nope-*.jsonl")])
    assert result.exit_code == 2 and "no files match" in result.output and "Traceback" not in result.output

"""The `corpus` command: bad input gets one clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import SAMPLE, write_jsonl
from corpus.cli import app

ONE_WORKER = "--direct_num_workers=1"


def invoke(*args):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def small(tmp_path):
    return write_jsonl(tmp_path / "small.jsonl", [{"id": "a", "text": "hello world"}, {"id": "b", "text": ""}, b"{bad"])


def test_run_prints_the_summary_table_and_writes_output(small, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", "--input", str(small), "--output", str(out), "--set", "output.num_shards=2", ONE_WORKER)
    assert result.exit_code == 0, result.output
    for text in ("kept", "limits/empty", "read/invalid_json", "in = kept + rejected + errors"):
        assert text in result.output
    stats = json.loads((out / "stats.json").read_text())
    assert stats["documents"]["in"] == 3 and stats["outputs"]["documents"]["shards"] == 2
    shown = invoke("stats", str(out))
    assert shown.exit_code == 0 and "limits/empty" in shown.output


@pytest.mark.parametrize("args, message", [
    (["--input", "/nonexistent/*.jsonl"], "/nonexistent/*.jsonl: no files match"),
    (["--input", "{tmp}"], "a directory but not a dataset (no state.json)"),
    (["--input", "{small}", "--set", "limits.max_char=3"], "unknown key 'limits.max_char'"),
    (["--input", "{small}", "--set", "output.num_shards=zero"], "output.num_shards: Input should be a valid integer"),
    (["nope", "--input", "{small}"], "neither a file nor a preset"),
    (["--input", "{small}", "--output", "{small}/out"], "cannot write to"),
    (["--input", "{tmp}/notes.txt"], "cannot tell the format from the name"),
])
def test_bad_invocations_exit_2_with_one_clear_message(small, tmp_path, args, message):
    (tmp_path / "notes.txt").write_text("x")
    args = [a.format(tmp=tmp_path, small=small) for a in args]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "out")]
    result = invoke("run", *args, ONE_WORKER)
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and message in result.output.replace("\n", " ")
    assert not (tmp_path / "out").exists()


def test_an_empty_input_file_is_a_valid_empty_run(tmp_path):
    (tmp_path / "empty.jsonl.gz").write_bytes(b"")
    result = invoke("run", "--input", str(tmp_path / "empty.jsonl.gz"), "--output", str(tmp_path / "out"), ONE_WORKER)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out/stats.json").read_text())["documents"]["in"] == 0


def test_validate_prints_the_config_with_defaults():
    result = invoke("validate", "full", "--set", "limits.max_chars=5")
    assert result.exit_code == 0 and "max_chars: 5" in result.output and "max_shard_bytes" in result.output


def test_stats_of_an_unfinished_output(tmp_path):
    result = invoke("stats", str(tmp_path))
    assert result.exit_code == 2 and "not a finished run's output" in result.output


@pytest.mark.skipif(not list(SAMPLE.glob("*.gz")), reason="the bundled sample is not built")
def test_main_job_on_the_bundled_sample(tmp_path):
    """The README's main job: the default config over the bundled sample, end to end."""
    out = tmp_path / "out"
    result = invoke("run", "--input", str(SAMPLE / "*.gz"), "--output", str(out), ONE_WORKER)
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    docs = stats["documents"]
    assert docs["balanced"] and docs["in"] == docs["kept"] + docs["rejected"] + docs["errors"]
    assert docs["read"] > 300 and docs["errors"] == 3
    assert stats["rejected"]["limits/empty"] == 2

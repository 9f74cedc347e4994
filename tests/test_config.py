"""Configs: presets load, overrides apply, and every mistake is named with file, key and choices."""

from __future__ import annotations

import pytest

from corpus.config import RunConfig, load_config
from corpus.errors import ConfigError
from corpus.config import PRESETS_DIR
from filters.c4 import C4
from filters.dedup import Dedup
from filters.limits import LimitsFilter
from filters.registry import build_stages


def write(tmp_path, text: str):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_default_preset_is_full_and_valid():
    config = load_config()
    assert config.origin.endswith("configs/full.yaml")
    assert [type(s) for s in build_stages(config)] == [LimitsFilter, C4, Dedup]


def test_every_preset_is_valid():
    for path in PRESETS_DIR.glob("*.yaml"):
        build_stages(load_config(path.stem))


def test_preset_by_name_or_path(tmp_path):
    assert load_config("full") == load_config(load_config().origin)
    with pytest.raises(ConfigError, match="neither a file nor a preset; presets: .*full"):
        load_config("nope")


def test_overrides_reach_top_level_sections_and_stages():
    config = load_config("full", ["seed=7", "output.num_shards=3", "limits.max_chars=10", "read.format=jsonl"])
    assert (config.seed, config.output.num_shards, config.read.format) == (7, 3, "jsonl")
    limits, c4, _ = build_stages(config)
    assert limits.options.max_chars == 10 and limits.seed == 7 and c4.seed == 7


def test_unknown_top_level_key_names_file_key_and_allowed(tmp_path):
    path = write(tmp_path, "seeds: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "'seeds'" in message
    assert "allowed here: seed, read, stages, output" in message


def test_unknown_nested_key(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'output.shards'; allowed here: max_shard_bytes, num_shards, write_rejected"):
        load_config(write(tmp_path, "output:\n  shards: 3\n"))


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"c.yaml: output.num_shards: .*integer.*'three'"):
        load_config(write(tmp_path, "output:\n  num_shards: three\n"))


def test_unknown_stage_option_is_named_with_allowed_options(tmp_path):
    config = load_config(write(tmp_path, "stages:\n  - limits: {max_char: 5}\n"))
    with pytest.raises(ConfigError, match=r"unknown key 'limits.max_char'; allowed here: min_chars, max_chars, max_line_chars"):
        build_stages(config)


def test_unknown_stage_lists_available(tmp_path):
    config = load_config(write(tmp_path, "stages:\n  - nonsense: {}\n"))
    with pytest.raises(ConfigError, match=r"stages\[0\]: unknown stage 'nonsense'; available: c4, dedup, limits"):
        build_stages(config)


def test_bad_overrides():
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config("full", ["seed"])
    with pytest.raises(ConfigError, match="unknown key 'bogus'"):
        load_config("full", ["bogus.x=1"])


def test_yaml_is_loaded_safely(tmp_path):
    path = write(tmp_path, "seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_stage_entries_must_be_single_and_unique(tmp_path):
    with pytest.raises(ConfigError, match="appear more than once"):
        load_config(write(tmp_path, "stages:\n  - limits: {}\n  - limits: {}\n"))
    with pytest.raises(ConfigError, match="exactly one stage"):
        load_config(write(tmp_path, "stages:\n  - {limits: {}, other: {}}\n"))


def test_config_round_trips_through_stats_dump():
    config = load_config()
    assert RunConfig.model_validate(config.model_dump()) == config.model_copy(update={"origin": "<defaults>"})

"""Run configuration: YAML presets in ``configs/``, validated before anything runs.

A config is untrusted input: it is read with ``yaml.safe_load`` (no tags that build objects), every
unknown key or wrongly typed value is an error naming the file, the key and what is allowed, and
nothing in it is executed. Stage sections are validated by the stage registry (``filters.registry``),
which owns each stage's options; this module owns the frame around them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from corpus.errors import ConfigError

PRESETS_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_PRESET = "full"


class Options(BaseModel):
    """Base for every config section: unknown keys are errors, values are not coerced loosely."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FieldNames(Options):
    """Where a JSON or Parquet record keeps each document field (dotted paths reach nested objects)."""

    id: str = "id"
    text: str = "text"
    url: str = "url"
    date: str = "date"


class ReadConfig(Options):
    format: Literal["auto", "jsonl", "wet", "parquet", "arrow"] = "auto"
    fields: FieldNames = FieldNames()
    # A single record (a JSON line, a WARC record) larger than this becomes an error record instead
    # of being held in memory.
    max_record_bytes: int = Field(default=64 * 2**20, gt=0)


class OutputConfig(Options):
    # Shards are cut so that none holds more than this many bytes of text (the same default as
    # `datasets.Dataset.save_to_disk`'s max_shard_size is 500 MB; smaller shards parallelise better).
    max_shard_bytes: int = Field(default=256 * 2**20, gt=0)
    # A fixed shard count instead of one derived from the size.
    num_shards: int | None = Field(default=None, gt=0)
    write_rejected: bool = True


class T5Config(Options):
    """T5 span-corruption examples (``c4_v220_span_corruption``) from the documents a run keeps."""

    # A SentencePiece model (path or URL). null: train one in the run on the kept documents.
    tokenizer: str | None = None
    train_vocab_size: int = Field(default=32000, gt=3)  # trained pieces, when training (T5: 32,000)
    train_sample_docs: int = Field(default=100_000, gt=0)  # the documents whose ids hash lowest
    extra_ids: int = Field(default=100, ge=0)  # sentinels after the vocabulary, <extra_id_i> = size-1-i
    inputs_length: int = Field(default=512, gt=1)  # random_spans_helper(512) = 568 tokens, 114 targets
    noise_density: float = Field(default=0.15, gt=0, lt=1)
    mean_noise_span_length: float = Field(default=3.0, ge=1)
    random_roll: bool = False
    chunk_max_tokens: int = Field(default=65536, gt=0)  # select_random_chunk(max_length=65536)
    docs_per_group: int = Field(default=128, gt=0)  # reduce_concat_tokens(batch_size=128)
    # Also write tokens/: each document's ids + EOS, for decoder-only (GPT-style) trainers.
    decoder_only: bool = False

    @model_validator(mode="after")
    def _enough_sentinels(self) -> "T5Config":
        """Refuse settings whose examples can need more sentinels than there are extra ids (T5's
        100 extra ids run out from inputs_length 1810 on)."""
        from corpus.span_corruption import span_corruption_lengths

        span_corruption_lengths(self.inputs_length, None, self.noise_density, self.mean_noise_span_length,
                                self.random_roll, self.extra_ids)
        return self


class RunConfig(Options):
    seed: int = 0
    read: ReadConfig = ReadConfig()
    # Ordered stages, each a one-key mapping ``{stage_name: {option: value}}``; options are
    # validated by the registry of stages (``filters.registry.build_stages``).
    stages: list[dict[str, dict[str, Any] | None]] = Field(default_factory=list)
    output: OutputConfig = OutputConfig()
    # Training examples from the kept documents (null: documents only).
    t5: T5Config | None = None
    # Where the config came from, for error messages and stats.json.
    origin: str = Field(default="<defaults>", exclude=True)

    def stage_items(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, dict(options or {})) for entry in self.stages for name, options in entry.items()]


def resolve_config_path(config: str | Path | None) -> Path:
    """A path to a YAML file, or a preset name from ``configs/`` (``full``, ``c4``, ...)."""
    if config is None:
        config = DEFAULT_PRESET
    path = Path(config)
    if path.is_file():
        return path
    preset = PRESETS_DIR / f"{config}.yaml"
    if preset.is_file():
        return preset
    presets = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
    raise ConfigError(f"config {str(config)!r} is neither a file nor a preset; presets: {', '.join(presets)}")


def load_config(config: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, override (``--set a.b=value``) and validate a config."""
    path = resolve_config_path(config)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    for override in overrides:
        apply_override(data, override, path)
    return validate_config(data, str(path))


def validate_config(data: dict[str, Any], origin: str = "<dict>") -> RunConfig:
    try:
        config = RunConfig.model_validate({**data, "origin": origin})
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, origin, RunConfig)) from None
    names = [name for name, _ in config.stage_items()]
    for i, entry in enumerate(config.stages):
        if len(entry) != 1:
            raise ConfigError(f"{origin}: stages[{i}] must name exactly one stage, got {sorted(entry)}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{origin}: stage(s) {duplicates} appear more than once")
    return config


def apply_override(data: dict[str, Any], override: str, origin: Path | str = "--set") -> None:
    """``seed=3``, ``output.num_shards=4``, or ``<stage>.<option>=value`` for a stage in ``stages``."""
    key, sep, raw_value = override.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {override!r}: expected KEY=VALUE, e.g. --set output.num_shards=4")
    value = yaml.safe_load(raw_value) if raw_value else ""
    parts = key.split(".")
    stages = data.get("stages") or []
    stage_entry = next((entry for entry in stages if isinstance(entry, dict) and parts[0] in entry), None)
    if stage_entry is not None and len(parts) >= 2:
        target = stage_entry[parts[0]] if isinstance(stage_entry[parts[0]], dict) else {}
        stage_entry[parts[0]] = target
        parts = parts[1:]
    elif parts[0] not in RunConfig.model_fields or parts[0] == "origin":
        stage_names = [n for entry in stages if isinstance(entry, dict) for n in entry]
        allowed = [f for f in RunConfig.model_fields if f != "origin"] + stage_names
        raise ConfigError(f"--set {key}: unknown key {parts[0]!r} in {origin}; allowed: {', '.join(allowed)}")
    else:
        target = data
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[parts[-1]] = value


def describe_validation_error(err: ValidationError, origin: str, model: type[BaseModel],
                              prefix: tuple[str | int, ...] = ()) -> str:
    """One line per problem: file, dotted key, what is wrong and what is allowed."""
    lines = []
    for problem in err.errors():
        loc = prefix + tuple(problem["loc"])
        key = ".".join(str(p) for p in loc) or "<top level>"
        if problem["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, tuple(problem["loc"])[:-1])
            lines.append(f"{origin}: unknown key {key!r}; allowed here: {', '.join(allowed) or 'nothing'}")
        else:
            lines.append(f"{origin}: {key}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        annotation = getattr(info, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return []
    return [name for name in model.model_fields if name != "origin"]

"""The `corpus` command. Beam is imported only inside the commands that run pipelines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from corpus.config import load_config
from corpus.errors import ConfigError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Turn raw web crawl into training-ready pretraining data (Apache Beam).")
err_console = Console(stderr=True)
console = Console()

ConfigArg = Annotated[Optional[str], typer.Argument(
    help="A YAML config file or a preset name from configs/ (default: full).", show_default=False)]
SetOption = Annotated[list[str], typer.Option(
    "--set", help="Override a config value: --set output.num_shards=4, --set limits.max_chars=1000.")]


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    config: ConfigArg = None,
    input: Annotated[list[str], typer.Option("--input", "-i", help="Input glob(s): JSONL(.gz/.zst), WET, Parquet, Arrow, or a dataset directory.")] = [],  # noqa: B006
    output: Annotated[str, typer.Option("--output", "-o", help="Output directory (local or gs://).")] = "out",
    set_: SetOption = [],  # noqa: B006
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output directory.")] = False,
) -> None:
    """Run a pipeline. Any other --option is passed to Beam (--runner, --direct_num_workers, --project, ...)."""
    beam_args = list(ctx.args)
    if config is not None and config.startswith("-"):  # a Beam option click took for the CONFIG slot
        beam_args.insert(0, config)
        config = None
    try:
        cfg = load_config(config, set_)
        from filters.registry import build_stages

        build_stages(cfg)  # validate every stage section before Beam starts
        from pipelines.run import run as run_pipeline

        stats = run_pipeline(cfg, input, output, beam_args, overwrite=overwrite,
                             show_progress=err_console.is_terminal)
    except ConfigError as err:
        hint = ("\n(Beam options take their value after '=', e.g. --project=my-project; a bare value "
                "is read as the CONFIG argument)") if config and beam_args else ""
        _fail(f"{err}{hint}")
    except UsageError as err:
        _fail(str(err))
    except KeyboardInterrupt:
        _fail("interrupted; nothing was published", 130)
    except Exception as err:  # a failed pipeline: one clear line, not a Beam traceback
        _fail(f"the run failed and published nothing: {type(err).__name__}: {_last_line(err)}", 1)
    from corpus.stats import summary_table

    console.print(summary_table(stats))
    console.print(f"output: {output}")
    if not stats["documents"]["balanced"]:
        _fail("the counts do not add up (in != kept + rejected + errors); see stats.json", 1)


@app.command()
def inspect(
    what: Annotated[str, typer.Argument(help="A stage name (c4, limits, ...) or a config (file or preset).")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="Local input file(s) or glob(s).")] = [],  # noqa: B006
    set_: SetOption = [],  # noqa: B006
    reason: Annotated[Optional[str], typer.Option(help="Show only documents rejected for this reason (or 'kept').")] = None,
    doc_id: Annotated[Optional[str], typer.Option("--id", help="Show only this document.")] = None,
    sample: Annotated[int, typer.Option("-n", "--sample", help="Read at most this many documents.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per document, for scripts.")] = False,
    lines: Annotated[bool, typer.Option(help="Show kept documents with their removed lines marked.")] = True,
) -> None:
    """Run filters without Beam on a sample and show, per document, the decision, the reason and the
    lines each rule removed; then a table of reasons. Corpus-wide steps (URL and line dedup) run over
    the sample only."""
    from corpus import inspect as insp
    from corpus.config import validate_config
    from corpus.document import Document
    from filters.base import run_in_memory
    from filters.registry import FILTERS, build_stages

    try:
        if what in FILTERS:
            cfg = validate_config({"stages": [{what: {}}]}, origin=f"stage {what!r}")
            cfg = load_config_from(cfg, set_)
        else:
            cfg = load_config(what, set_)
        stages = build_stages(cfg)
        records = list(insp.read_local(input, cfg.read, limit=sample))
        traces = run_in_memory(stages, [r for r in records if isinstance(r, Document)])
    except UsageError as err:
        _fail(str(err))
    if doc_id is not None:
        traces = [t for t in traces if t.input.id == doc_id]
    if reason is not None:
        traces = [t for t in traces if (insp.outcome(t.result)[1] or "kept") == reason]
    if as_json:
        for trace in traces:
            console.print_json(data=insp.as_json(trace)) if console.is_terminal else print(json.dumps(insp.as_json(trace), ensure_ascii=False))
        return
    if what == "dedup":
        insp.render_clusters(console, traces)
    else:
        insp.render(console, traces, show_lines=lines)
    console.print(insp.summary(traces))
    unparsed = len(records) - sum(isinstance(r, Document) for r in records)
    if unparsed:
        console.print(f"{unparsed} input record(s) could not be parsed (see `corpus run` errors/)")


def load_config_from(config, overrides):
    """Apply --set overrides to an already validated config."""
    from corpus.config import apply_override, validate_config

    data = config.model_dump(mode="json")
    for override in overrides:
        apply_override(data, override, config.origin)
    return validate_config(data, config.origin)


@app.command()
def validate(config: ConfigArg = None, set_: SetOption = []) -> None:  # noqa: B006
    """Check a config (every stage's options included) and print it with defaults filled in."""
    import yaml

    from filters.registry import build_stages

    try:
        cfg = load_config(config, set_)
        build_stages(cfg)
    except ConfigError as err:
        _fail(str(err))
    console.print(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False), highlight=False)


@app.command()
def stats(output: Annotated[Path, typer.Argument(help="A run's output directory.")]) -> None:
    """Print the summary table of a finished run."""
    from corpus.stats import summary_table

    path = output / "stats.json"
    if not path.is_file():
        _fail(f"{path} not found: {output} is not a finished run's output")
    console.print(summary_table(json.loads(path.read_text())))


tokenizer_app = typer.Typer(no_args_is_help=True, help="SentencePiece tokenizers with T5's conventions.")
app.add_typer(tokenizer_app, name="tokenizer")


@tokenizer_app.command("train")
def tokenizer_train(
    input: Annotated[list[str], typer.Option("--input", "-i", help="Local input file(s), glob(s) or dataset directories.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for spm.model and spm.json.")],
    vocab_size: Annotated[int, typer.Option(help="Trained pieces (T5: 32000); the extra ids come on top.")] = 32000,
    extra_ids: Annotated[int, typer.Option(help="Sentinels appended after the vocabulary, as seqio does.")] = 100,
    sample: Annotated[int, typer.Option(help="Train on this many documents: those whose id hashes lowest.")] = 100_000,
) -> None:
    """Train a unigram SentencePiece model (pad=0, eos=1, unk=2, no BOS) on a deterministic sample."""
    from corpus import tokenizer
    from corpus.config import ReadConfig
    from corpus.document import Document
    from corpus.inspect import read_local

    try:
        docs = [r for r in read_local(input, ReadConfig()) if isinstance(r, Document)]
    except UsageError as err:
        _fail(str(err))
    texts = tokenizer.training_sample(((d.id, d.text) for d in docs), sample)
    if not texts:
        _fail("no documents to train on")
    model = tokenizer.train(texts, vocab_size)
    output.mkdir(parents=True, exist_ok=True)
    (output / "spm.model").write_bytes(model)
    (output / "spm.json").write_text(tokenizer.metadata(model, extra_ids, trained_on_documents=len(texts)))
    vocab = tokenizer.Vocabulary(model, extra_ids)
    console.print(f"{output / 'spm.model'}: {vocab.vocab_size:,} ids ({vocab.vocab_size - extra_ids:,} pieces + "
                  f"{extra_ids} extra ids; <extra_id_0> = {vocab.sentinel(0)}), trained on {len(texts):,} documents")


def _last_line(err: BaseException) -> str:
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else repr(err)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

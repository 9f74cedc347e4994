"""Launch a run: validate, build the graph, run it, then publish the output only if it is complete.

The pipeline writes into ``OUTPUT.incomplete-<run id>``; only after every dataset and stats.json
are written does that directory become ``OUTPUT``. A crashed or killed run therefore leaves nothing
that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
import uuid
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.transforms.environments import SubprocessSDKEnvironment

from corpus.config import RunConfig
from corpus.errors import OutputError
from corpus.stats import build_stats
from filters.registry import build_stages
from pipelines.build import COUNTS_FILE, build_pipeline
from pipelines.progress import Progress
from pipelines.read import expand_inputs


def pipeline_options(beam_args: list[str] | tuple[str, ...]) -> tuple[PipelineOptions, Any]:
    """The user's Beam options and the runner to use (None: the one the options name).

    The default runner is named explicitly (FnApiRunner): a bare DirectRunner first tries to
    download the Prism binary. Without a running mode, a local run uses every core
    (``--direct_num_workers``, default all) in separate worker processes that log errors only.
    ``multi_threading`` is refused: it loses elements after a GroupByKey in Beam 2.77.
    """
    args = list(beam_args)
    given = {a.split("=", 1)[0] for a in args if a.startswith("--")}
    if "--runner" not in given:
        args.append("--runner=FnApiRunner")
    options = PipelineOptions(args)
    direct = options.view_as(DirectOptions)
    if direct.direct_running_mode == "multi_threading":
        raise OutputError("--direct_running_mode=multi_threading loses elements in Beam 2.77; "
                          "use in_memory or multi_processing")
    if options.view_as(StandardOptions).runner != "FnApiRunner" or "--direct_running_mode" in given:
        return options, None
    if "--direct_num_workers" not in given or direct.direct_num_workers == 0:
        direct.direct_num_workers = os.cpu_count() or 1
    if direct.direct_num_workers == 1:
        return options, FnApiRunner()
    # The runner warns that in_memory mode ignores the worker count (our environment is
    # multi-process, so it does not), and relays each worker's start-up warnings.
    for name in ("apache_beam.runners.portability.fn_api_runner.fn_runner",
                 "apache_beam.runners.portability.local_job_service"):
        logging.getLogger(name).setLevel(logging.ERROR)
    workers = SubprocessSDKEnvironment.from_command_string(f"{sys.executable} -m pipelines.worker")
    return options, FnApiRunner(default_environment=workers)


def run(config: RunConfig, inputs: list[str], output: str, beam_args: list[str] | tuple[str, ...] = (),
        overwrite: bool = False, show_progress: bool = False) -> dict[str, Any]:
    """Run ``config`` over ``inputs`` into ``output``; return the stats that were written.

    ``show_progress`` draws a live line on the terminal (local runners only).
    """
    stages = build_stages(config)
    files = expand_inputs(inputs)
    options, runner = pipeline_options(beam_args)
    output = output.rstrip("/")
    if FileSystems.exists(output) and not overwrite:
        raise OutputError(f"{output} exists; choose another --output or pass --overwrite")
    staging = f"{output}.incomplete-{uuid.uuid4().hex[:8]}"
    _check_writable(staging)
    started = time.time()
    try:
        local = options.view_as(StandardOptions).runner in ("FnApiRunner", "DirectRunner")
        progress = Progress() if show_progress and local else None
        with contextlib.ExitStack() as stack:
            if progress is not None:
                stack.enter_context(progress.running())
            with beam.Pipeline(runner=runner, options=options) as p:
                build_pipeline(p, config, stages, files, staging, progress)
        counts_path = FileSystems.join(staging, COUNTS_FILE)
        with FileSystems.open(counts_path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            tally = json.loads(f.read())
        FileSystems.delete([counts_path])
        stats = build_stats([(tuple(k), n) for k, n in tally["counts"]], tally["outputs"],
                            stage_names=[s.name for s in stages], config=config.model_dump(mode="json"),
                            seed=config.seed, inputs=files, wall_time_seconds=time.time() - started)
        with FileSystems.create(FileSystems.join(staging, "stats.json")) as f:
            f.write(json.dumps(stats, indent=2).encode())
        _publish(staging, output, overwrite)
    except BaseException:
        _remove(staging)
        raise
    return stats


def _check_writable(staging: str) -> None:
    try:
        FileSystems.mkdirs(staging)
        probe = FileSystems.join(staging, ".probe")
        with FileSystems.create(probe) as f:
            f.write(b"")
        FileSystems.delete([probe])
    except (OSError, beam.io.filesystem.BeamIOError) as err:
        raise OutputError(f"cannot write to {staging}: {err}") from None


def _publish(staging: str, output: str, overwrite: bool) -> None:
    if FileSystems.get_scheme(output) is None:  # local: one atomic rename
        if overwrite and os.path.exists(output):
            shutil.rmtree(output)
        os.replace(staging, output)
        return
    # Object stores have no directory rename: copy everything, stats.json (the completion marker) last.
    if overwrite and FileSystems.exists(output):
        FileSystems.delete([output])
    files = [m.path for m in FileSystems.match([FileSystems.join(staging, "**")])[0].metadata_list]
    files.sort(key=lambda path: path.endswith("/stats.json"))
    FileSystems.copy(files, [output + path[len(staging):] for path in files])
    FileSystems.delete([staging])


def _remove(path: str) -> None:
    try:
        if FileSystems.exists(path):
            FileSystems.delete([path])
    except Exception:  # cleanup must never hide the error that caused it
        pass

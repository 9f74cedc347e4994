"""A live progress line for local runs: documents read, kept, rejected and failed so far.

Local runners report metrics only when the run ends, so the counting DoFns below write their
running totals to small files in a local directory (one per DoFn instance, replaced atomically),
and a thread in the launcher adds them up and redraws one line. Display only: stats.json is counted
exactly by the pipeline itself.
"""

from __future__ import annotations

import glob
import os
import tempfile
import threading
import time
import uuid

import apache_beam as beam

KINDS = ("read", "kept", "rejected", "errors")


class _Tally(beam.DoFn):
    def __init__(self, directory: str, kind: str) -> None:
        self.directory, self.kind = directory, kind

    def setup(self) -> None:
        self.count, self.written_at = 0, 0.0
        self.path = os.path.join(self.directory, f"{self.kind}-{os.getpid()}-{uuid.uuid4().hex}.json")

    def process(self, batch):
        self.count += len(batch)
        if time.monotonic() - self.written_at > 0.5:
            self._write()

    def finish_bundle(self) -> None:
        self._write()

    def _write(self) -> None:
        self.written_at = time.monotonic()
        partial = self.path + ".tmp"
        with open(partial, "w") as f:
            f.write(str(self.count))
        os.replace(partial, self.path)


class Progress:
    """Owns the tally directory; `attach` adds a counting branch, `running` shows the line."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="corpus-progress-")

    def attach(self, pcoll, kind: str) -> None:
        _ = pcoll | f"Progress[{kind}]" >> beam.ParDo(_Tally(self.directory, kind))

    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(KINDS, 0)
        for path in glob.glob(os.path.join(self.directory, "*.json")):
            kind = os.path.basename(path).split("-", 1)[0]
            try:
                with open(path) as f:
                    totals[kind] += int(f.read() or 0)
            except (OSError, ValueError):
                continue
        return totals

    def running(self):
        return _Display(self)

    def close(self) -> None:
        for path in glob.glob(os.path.join(self.directory, "*")):
            os.remove(path)
        os.rmdir(self.directory)


class _Display:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.stop = threading.Event()

    def __enter__(self):
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        started = time.monotonic()

        def line() -> Text:
            t = self.progress.totals()
            return Text(f"read {t['read']:,} documents · kept {t['kept']:,} · rejected {t['rejected']:,} · "
                        f"errors {t['errors']:,} · {time.monotonic() - started:.0f}s", style="dim")

        def loop() -> None:
            with Live(line(), console=Console(stderr=True), transient=True, refresh_per_second=4) as live:
                while not self.stop.wait(0.25):
                    live.update(line())

        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.progress.close()

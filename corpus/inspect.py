"""`corpus inspect`: what the stages of a config do to a sample, document by document, without Beam.

The same stage objects as the pipeline run in memory (``filters.base.run_in_memory``), so the
decisions are the pipeline's; on top, line-level steps report each line they removed and why.
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Iterator
from typing import Any

from corpus.config import ReadConfig
from corpus.document import Document, ErrorRecord, Rejection
from corpus.errors import InputError
from corpus.formats import read_records

_LINE_WIDTH = 160


def read_local(patterns: list[str], config: ReadConfig, limit: int | None = None) -> Iterator[Document | ErrorRecord]:
    """Documents (and unparseable records) from local files matching ``patterns``, in order."""
    if not patterns:
        raise InputError("no input given (--input FILE)")
    count = 0
    for pattern in patterns:
        paths = sorted(glob.glob(pattern)) or ([pattern] if "*" not in pattern else [])
        if not paths:
            raise InputError(f"{pattern}: no files match")
        for path in paths:
            try:
                f = open(path, "rb")
            except OSError as err:
                raise InputError(f"{path}: cannot open: {err.strerror}") from None
            with f:
                for record in read_records(f, path, config):
                    if isinstance(record, (Document, ErrorRecord)):
                        yield record
                        count += 1
                        if limit is not None and count >= limit:
                            return


def outcome(result: Document | Rejection | ErrorRecord) -> tuple[str, str | None, str | None]:
    """(decision, reason, detail) of a trace's result."""
    if isinstance(result, Document):
        return "kept", None, None
    if isinstance(result, Rejection):
        return "rejected", result.reason, result.detail
    return "error", result.reason, result.error


def as_json(trace) -> dict[str, Any]:
    decision, reason, detail = outcome(trace.result)
    return {"id": trace.input.id, "url": trace.input.url, "source": trace.input.source, "decision": decision,
            "reason": reason, "detail": detail,
            "removed": [{"line": line, "rule": rule} for line, rule in trace.removed],
            "text": trace.result.text if isinstance(trace.result, Document) else None}


def render(console, traces, show_lines: bool = True) -> None:
    """Each document: decision and reason; for kept ones, the text as a diff of what was removed."""
    from rich.text import Text

    for trace in traces:
        decision, reason, detail = outcome(trace.result)
        head = Text()
        head.append("✓ kept    " if decision == "kept" else f"✗ {reason:<40}",
                    style="bold green" if decision == "kept" else "bold yellow" if decision == "rejected" else "bold red")
        head.append(f" {trace.input.id}", style="cyan")
        if trace.input.url:
            head.append(f"  {trace.input.url}", style="dim")
        if detail:
            head.append(f"  ({_clip(detail, 120)})")
        console.print(head)
        if show_lines and decision == "kept" and trace.removed:
            removed = {}
            for line, rule in trace.removed:
                removed.setdefault(line.strip(), rule)
            kept = set(trace.result.text.split("\n"))
            for line in trace.input.text.splitlines():
                stripped = line.strip()
                if not stripped:
                    continue
                body = Text()
                if stripped in removed and stripped not in kept:
                    body.append(f"  - [{removed[stripped]}] ", style="red")
                    body.append(_clip(stripped, _LINE_WIDTH), style="red")
                else:
                    body.append("    " + _clip(stripped, _LINE_WIDTH), style="dim")
                console.print(body, soft_wrap=True)
            console.print()


def render_clusters(console, traces, max_diff_lines: int = 24) -> None:
    """Duplicates side by side: each survivor, then every document dropped as its copy, with a diff
    of the copy against the survivor (``corpus inspect dedup``)."""
    import difflib

    from rich.text import Text

    by_id = {t.input.id: t for t in traces}
    copies: dict[str, list] = {}
    for trace in traces:
        decision, reason, detail = outcome(trace.result)
        if decision == "rejected" and reason.startswith("dedup/") and detail:
            copies.setdefault(detail.split()[0], []).append(trace)
    for survivor_id, members in sorted(copies.items()):
        survivor = by_id.get(survivor_id)
        console.print(Text(f"✓ survivor {survivor_id}  {survivor.input.url or '' if survivor else ''}", style="bold green"))
        base = (survivor.input.text if survivor else "").splitlines()
        for trace in members:
            _, reason, detail = outcome(trace.result)
            console.print(Text(f"  ✗ {trace.input.id}  {reason}  {' '.join(detail.split()[1:])}", style="yellow"))
            diff = list(difflib.unified_diff(base, trace.input.text.splitlines(), lineterm="", n=0))[2:]
            for line in diff[:max_diff_lines]:
                style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
                console.print(Text("      " + _clip(line, _LINE_WIDTH), style=style))
            if len(diff) > max_diff_lines:
                console.print(Text(f"      … {len(diff) - max_diff_lines} more diff lines", style="dim"))
            if not diff:
                console.print(Text("      (identical lines)", style="dim"))
        console.print()


def summary(traces):
    from rich.table import Table

    counts = Counter(outcome(t.result)[1] or "kept" for t in traces)
    total = max(len(traces), 1)
    table = Table(title=f"{len(traces)} documents", title_justify="left")
    table.add_column("decision")
    table.add_column("documents", justify="right")
    table.add_column("share", justify="right")
    for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(reason, f"{n:,}", f"{100 * n / total:.1f}%")
    removed = Counter(rule for t in traces for _, rule in t.removed)
    if removed:
        table.caption = "lines removed: " + ", ".join(f"{rule} {n:,}" for rule, n in removed.most_common())
    return table


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

"""stats.json: what a run read, kept, rejected (per stage and reason) and could not parse.

The counts come from the pipeline itself (counted elements, not runner metrics, which runners may
report approximately), and the accounting is checked, not assumed: ``in`` is counted where documents
are read, ``kept + rejected + errors`` where they leave, and ``balanced`` says whether they agree.
"""

from __future__ import annotations

import platform
from collections import defaultdict
from importlib import metadata
from typing import Any

_PACKAGES = ("corpus-toolkit", "apache-beam", "pyarrow", "numpy", "datasketch", "sentencepiece",
             "fasttext-numpy2-wheel")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def build_stats(counts: list[tuple[tuple[str, str], int]], outputs: dict[str, dict], *,
                stage_names: list[str], config: dict[str, Any], seed: int, inputs: list[str],
                wall_time_seconds: float) -> dict[str, Any]:
    """Assemble stats.json from ``((category, key), count)`` pairs counted by the pipeline.

    ``in`` is counted by the readers, rejections and errors where they happen, ``kept`` is what the
    documents writer wrote. ``balanced`` holds only if ``in = kept + rejected + errors`` and every
    writer wrote exactly as many rows as were counted for it.
    """
    by_category: dict[str, dict[str, int]] = defaultdict(dict)
    for (category, key), n in counts:
        by_category[category][key] = n
    read_documents = by_category["read"].get("documents", 0)
    rejected = dict(sorted(by_category["rejected"].items()))
    errors = dict(sorted(by_category["errors"].items()))
    read_errors = sum(n for reason, n in errors.items() if reason.startswith("read/"))
    kept = outputs["documents"]["rows"]
    total_in = read_documents + read_errors

    stages, flowing = [], read_documents
    for name in stage_names:
        stage_rejected = {r: n for r, n in rejected.items() if r.startswith(f"{name}/")}
        stage_errors = {r: n for r, n in errors.items() if r.startswith(f"{name}/")}
        out = flowing - sum(stage_rejected.values()) - sum(stage_errors.values())
        stages.append({"name": name, "in": flowing, "kept": out, "rejected": stage_rejected, "errors": stage_errors})
        flowing = out

    written_as_counted = (flowing == kept and outputs["errors"]["rows"] == sum(errors.values())
                          and outputs.get("rejected", {}).get("rows", sum(rejected.values())) == sum(rejected.values()))
    return {
        "documents": {"in": total_in, "read": read_documents, "kept": kept,
                      "rejected": sum(rejected.values()), "errors": sum(errors.values()),
                      "balanced": total_in == kept + sum(rejected.values()) + sum(errors.values())
                      and written_as_counted},
        "rejected": rejected,
        "errors": errors,
        "skipped_records": dict(sorted(by_category["skipped"].items())),
        "stages": stages,
        "outputs": outputs,
        "inputs": {"files": len(inputs), "paths": inputs[:1000]},
        "seed": seed,
        "config": config,
        "versions": versions(),
        "wall_time_seconds": round(wall_time_seconds, 3),
    }


def summary_table(stats: dict[str, Any]):
    """A rich renderable: documents in, kept, and every rejection and error reason with its share."""
    from rich.table import Table

    docs = stats["documents"]
    total = max(docs["in"], 1)
    table = Table(title="corpus run: what happened to every input document", title_justify="left")
    table.add_column("outcome")
    table.add_column("reason")
    table.add_column("documents", justify="right")
    table.add_column("share", justify="right")
    table.add_row("in", "", f"{docs['in']:,}", "100.0%")
    table.add_row("kept", "", f"{docs['kept']:,}", f"{100 * docs['kept'] / total:.1f}%", style="green")
    for category in ("rejected", "errors"):
        for reason, n in sorted(stats[category].items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(category, reason, f"{n:,}", f"{100 * n / total:.1f}%",
                          style="yellow" if category == "rejected" else "red")
    status = "in = kept + rejected + errors" if docs["balanced"] else "ACCOUNTING MISMATCH: documents were lost"
    table.caption = f"{status}; {stats['wall_time_seconds']:.1f}s"
    return table

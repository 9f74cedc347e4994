from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from apache_beam.testing.test_pipeline import TestPipeline

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample"
LIMITS_ONLY = ROOT / "tests" / "configs" / "limits_only.yaml"  # foundation tests: no corpus-wide stage
# ../shared beside the checkout (CI lays a copy there); CORPUS_SHARED overrides.
SHARED = Path(os.environ.get("CORPUS_SHARED", ROOT.parent / "shared"))


def beam_pipeline() -> TestPipeline:
    """A TestPipeline on the FnApiRunner, named explicitly (a bare DirectRunner fetches Prism)."""
    return TestPipeline(runner="FnApiRunner")


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} (the shared test data) is not present")
    return SHARED


def write_jsonl(path: Path, records: list, compress: bool | None = None) -> Path:
    lines = b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)
    if compress if compress is not None else path.suffix == ".gz":
        lines = gzip.compress(lines, mtime=0)
    path.write_bytes(lines)
    return path


def wet_record(body: str, uri: str, record_id: str, date: str = "2024-05-18T01:58:10Z",
               warc_type: str = "conversion") -> bytes:
    payload = body.encode()
    headers = (f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\n"
               f"WARC-Record-ID: <{record_id}>\r\nContent-Type: text/plain\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n")
    return headers.encode() + payload + b"\r\n\r\n"

"""Size limits that every pipeline needs before anything expensive runs.

Empty pages and pathological giants are real in crawls (a WET record of a binary file, a page that is
one 50 MB line). Each limit is a counted rejection, never a crash. Set a limit to 0 to disable it.
"""

from __future__ import annotations

from pydantic import Field

from corpus.config import Options
from corpus.document import Document, Rejection
from filters.base import Filter


class LimitsOptions(Options):
    # Fewer non-whitespace characters than this is `limits/empty` (1: only truly empty documents).
    min_chars: int = Field(default=1, ge=0)
    # More characters than this is `limits/too_long`. 0 disables.
    max_chars: int = Field(default=2_000_000, ge=0)
    # A single line longer than this is `limits/line_too_long` (minified code, base64 blobs). 0 disables.
    max_line_chars: int = Field(default=0, ge=0)


class LimitsFilter(Filter):
    name = "limits"
    Options = LimitsOptions
    reasons = ("empty", "too_long", "line_too_long")

    def __call__(self, doc: Document) -> Document | Rejection:
        opts = self.options
        length = len(doc.text)
        if opts.max_chars and length > opts.max_chars:
            return self.reject("too_long", f"{length} characters > max_chars={opts.max_chars}")
        if opts.min_chars and len(doc.text.strip()) < opts.min_chars:
            return self.reject("empty", f"{len(doc.text.strip())} non-blank characters < min_chars={opts.min_chars}")
        if opts.max_line_chars:
            longest = max(map(len, doc.text.split("\n")))
            if longest > opts.max_line_chars:
                return self.reject("line_too_long", f"a line of {longest} characters > max_line_chars={opts.max_line_chars}")
        return doc

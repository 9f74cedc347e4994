"""C4 cleaning, exact to the code that built C4.

Reference: TFDS ``tensorflow_datasets/text/c4_utils.py`` and ``c4.py`` (tensorflow-datasets 4.9.10,
dataset version 3.1.0), which implement section 2.2 of the T5 paper (Raffel et al. 2020). Where the
paper and the code disagree, this module follows the code and says so. ``c4_version: "2.2.0"``
reproduces the variant T5 was trained on (TFDS ``c4_utils.py`` before 3.0.0): bad words checked per
line inside cleaning, no removal of lines repeated inside one page, bytes-lowered line hashes.

The page is processed in the reference's order:

1. ``wet_text``: the text TFDS's own WET splitter makes of a record (lines stripped, blank lines and
   lines starting with ``WARC`` / ``Content-`` / ``CONTENT-`` dropped); pages without URL, text or
   date, and pages over 190,000 characters, are dropped.
2. URL normalisation and URL dedup (the newest page per normalised URL survives) -- a corpus-wide
   step, wired in ``pipelines/c4.py``.
3. ``clean_page``: the line rules and the three-sentence page rule.
4. Repeated-line removal across the corpus (``pipelines/c4.py``), then ``remove_repeated_lines``
   here: lines whose copy was kept in another page are dropped, then the sentence rule again.
5. ``is_english``: langdetect, seed 0, English with probability >= 0.99.
6. ``badwords_regex``: the LDNOOBW list, matched on the lower-cased page.
7. Optionally the train / validation split by URL hash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from itertools import islice
from typing import ClassVar, Literal

from pydantic import Field

from corpus.config import Options
from corpus.document import Document, Rejection
from filters.base import Filter, apply_safely

# --- constants of c4_utils.py ----------------------------------------------------------------------
METADATA_PREFIXES = ("WARC", "CONTENT-", "Content-")
PAGE_DELIMITER = "WARC/1.0"
MAX_PAGE_CHARS = 1.9e5  # is_valid_length(max_length=1.9e5): pages longer than this are dropped
MIN_WORDS_PER_LINE = 5
MIN_NUM_SENTENCES = 3
MAX_WORD_LENGTH = 1000
END_MARKS = (".", "?", "!", '"')
ELLIPSIS = "..."
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")
CITATION_REGEX = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")  # get_clean_page_fn
VALIDATION_MODULUS = 1000  # c4.py: md5(normalized url) % 1000 == 0 is validation (0.1%)
# Languages whose bad words match without word boundaries (get_badwords_filter_fn, 3.1.0).
UNSPACED_LANGUAGES = ("ja", "th", "zh")

# TextIOWrapper(encoding="utf-8"), which split_wet_file reads through, ends lines at \n, \r\n and \r.
_UNIVERSAL_NEWLINE = re.compile(r"\r\n|\r|\n")
# Punkt can only break a sentence after one of these characters.
_SENTENCE_END_CHARS = frozenset(".?!")


class C4Options(Options):
    c4_version: Literal["3.1.0", "2.2.0"] = "3.1.0"
    # Re-apply the reference WET splitter's text rules (strip lines; drop blank lines and lines
    # starting with WARC / Content- / CONTENT-). Harmless on text that is already clean.
    wet_text_rules: bool = True
    # split_wet_file drops pages without a URL or a WARC-Date (2.2.0's splitter: without a URL);
    # set false for inputs that have neither.
    require_url_and_date: bool = True
    max_page_chars: float = Field(default=MAX_PAGE_CHARS, gt=0)
    dedupe_urls: bool = True
    min_words_per_line: int = Field(default=MIN_WORDS_PER_LINE, ge=0)
    min_num_sentences: int = Field(default=MIN_NUM_SENTENCES, ge=0)
    max_word_length: int = Field(default=MAX_WORD_LENGTH, gt=0)
    dedupe_lines: bool = True
    # langdetect language to keep (C4: "en"); null keeps every language.
    language: str | None = "en"
    min_language_probability: float = Field(default=0.99, ge=0, le=1)
    badwords: bool = True
    # A directory laid out <dir>/<commit>/<lang> or <dir>/<lang>, a file, or a URL; null downloads the
    # list C4 pins (LDNOOBW en @ 25e679f) into the cache.
    badwords_path: str | None = None
    # An NLTK data directory with tokenizers/punkt_tab; null uses NLTK's search path, then downloads.
    punkt_path: str | None = None
    # "train" and "validation" keep one of C4's splits (md5 of the normalised URL); "all" keeps both.
    split: Literal["all", "train", "validation"] = "all"


# --- step 1: the WET page, as split_wet_file and is_valid_length see it ----------------------------

def wet_text(text: str) -> str:
    """The page text split_wet_file would build from this WET record body.

    The reference reads the WET file line by line: every line is stripped, blank lines vanish, lines
    starting with a metadata prefix are dropped even inside the body, and a body line that is exactly
    ``WARC/1.0`` starts a new (URL-less, hence dropped) page, so the page ends there.
    """
    kept = []
    for line in _UNIVERSAL_NEWLINE.split(text):
        line = line.strip()
        if not line:
            continue
        if line == PAGE_DELIMITER:
            break
        if not line.startswith(METADATA_PREFIXES):
            kept.append(line)
    return "\n".join(kept)


def normalize_url(url: str) -> str:
    """c4_utils.normalize_url: no scheme, no www., no tracking query, no trailing slash."""
    url = re.sub(r"https?:\/\/(www\.)?", "", url)
    url = re.sub(r"\?(utm_|ref|feed).*", "", url)
    return url.rstrip("/")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def in_validation_split(normalized_url: str) -> bool:
    return int(md5_hex(normalized_url), 16) % VALIDATION_MODULUS == 0


# --- step 3: clean_page ------------------------------------------------------------------------------

def count_sentences(text: str, tokenizer, at_least: int | None = None) -> int:
    """``len(tokenizer.tokenize(text))``, stopping once ``at_least`` sentences are found.

    Punkt breaks only after ``.``, ``?`` or ``!`` followed by more text, so a line with none of them
    before its last character is one sentence, without running Punkt.
    """
    if not text or text.isspace():
        return 0
    if _SENTENCE_END_CHARS.isdisjoint(text[:-1]):
        return 1
    spans = tokenizer.span_tokenize(text)
    return sum(1 for _ in (spans if at_least is None else islice(spans, at_least)))


@dataclass(slots=True)
class Cleaned:
    """What clean_page did: the new text, or the page rule that dropped the page; removed lines."""

    text: str | None
    rule: str | None = None
    detail: str | None = None
    removed: list[tuple[str, str]] = field(default_factory=list)  # (line, rule), when explaining


def clean_page(text: str, tokenizer, options: C4Options = C4Options(), badwords: re.Pattern | None = None,
               explain: bool = False) -> Cleaned:
    """c4_utils.clean_page: the line rules in the reference's order, then the sentence rule.

    Line rules (a failing line is dropped): a word over 1000 characters; citation markers removed,
    then no end mark or an ellipsis at the end; fewer than 5 words; "javascript"; a policy phrase.
    Page rules (the page is dropped): "lorem ipsum"; a curly bracket ("{", probably code); under 3
    sentences in the kept lines. ``badwords`` (2.2.0 only) drops the page on a bad word in a line.
    Note: the paper says lines must end in terminal punctuation; the code also accepts a closing
    double quote and rejects a trailing ellipsis, and it counts sentences with Punkt, per line.
    """
    removed: list[tuple[str, str]] = []
    valid_lines: list[str] = []
    num_sentences = 0
    need = options.min_num_sentences

    def drop(line: str, rule: str) -> None:
        if explain:
            removed.append((line, rule))

    for line in text.splitlines():
        line = line.strip()
        # (a line no longer than the limit cannot hold a longer word: skip the split)
        if len(line) > options.max_word_length and any(len(w) > options.max_word_length for w in line.split()):
            drop(line, "too_long_word")
            continue
        line = CITATION_REGEX.sub("", line)
        if not line.endswith(END_MARKS) or line.endswith(ELLIPSIS):
            drop(line, "no_end_mark")
            continue
        if len(line.split()) < options.min_words_per_line:
            drop(line, "too_few_words")
            continue
        line_lower = line.lower()
        if "lorem ipsum" in line_lower:
            return Cleaned(None, "lorem_ipsum", line[:200], removed)
        if "javascript" in line_lower:
            drop(line, "javascript")
            continue
        if "{" in line:
            return Cleaned(None, "curly_bracket", line[:200], removed)
        if any(p in line_lower for p in POLICY_SUBSTRINGS):
            drop(line, "policy")
            continue
        if badwords is not None:
            found = badwords.search(line_lower)
            if found is not None:
                return Cleaned(None, "badwords", found.group(1), removed)
        if num_sentences < need:  # past the threshold the exact count no longer matters
            num_sentences += count_sentences(line, tokenizer, at_least=need - num_sentences)
        valid_lines.append(line)
    if num_sentences < need:
        return Cleaned(None, "too_few_sentences", f"{num_sentences} < {need} sentences", removed)
    return Cleaned("\n".join(valid_lines).strip(), removed=removed)


# --- step 4: repeated lines -------------------------------------------------------------------------

def line_hash(line: str, c4_version: str = "3.1.0") -> bytes:
    """The key that makes two lines "the same" across the corpus (md5 digest; the reference compares
    hex digests, which is the same equality and the same order in half the bytes).

    3.1.0 (_hash_text): md5 of ``line.strip().lower()``. 2.2.0 (_hash_line): md5 of the UTF-8 bytes,
    stripped and lower-cased *as bytes*, so only ASCII letters are folded.
    """
    if c4_version == "2.2.0":
        return hashlib.md5(line.encode("utf-8").strip().lower()).digest()
    return hashlib.md5(line.strip().lower().encode("utf-8")).digest()


def page_line_hashes(text: str, c4_version: str = "3.1.0") -> set[bytes]:
    return {line_hash(line, c4_version) for line in text.split("\n")}


def keeper_rank(url: str | None, doc_id: str, c4_version: str = "3.1.0") -> tuple[bytes, str]:
    """Which page keeps a repeated line: the smallest md5 of its URL, hashed "to avoid biasing by
    domain" (3.1.0: Top.PerKey(1, key=_hash_text, reverse=True) over ``page.url``; 2.2.0:
    _emit_line_to_urls's min over the *normalised* URL, the key pages carried after URL dedup).
    The id breaks ties deterministically."""
    url = url or ""
    if c4_version == "2.2.0":
        url = normalize_url(url)
    return hashlib.md5(url.encode("utf-8")).digest(), doc_id


def remove_repeated_lines(text: str, kept_hashes: set[bytes], c4_version: str = "3.1.0",
                          explain: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """c4_utils._remove_lines_from_text: keep a line only in the page chosen to keep it.

    ``kept_hashes`` are the line hashes for which this page was chosen. 3.1.0 also drops a line's
    second and later copies inside the page; 2.2.0 keeps them.
    """
    new_lines, seen, removed = [], set(), []
    local = c4_version != "2.2.0"
    for line in text.split("\n"):
        hashed = line_hash(line, c4_version)
        if hashed not in kept_hashes:
            if explain:
                removed.append((line, "repeated_elsewhere"))
        elif local and hashed in seen:
            if explain:
                removed.append((line, "repeated_in_page"))
        else:
            new_lines.append(line)
            seen.add(hashed)
    return "\n".join(new_lines), removed


def newest_page(pages: list[Document]) -> Document:
    """select_newest_page: the latest WARC-Date wins. The reference keeps the first page among equal
    dates, which depends on arrival order; here the smallest id wins, so reruns agree."""
    return max(sorted(pages, key=lambda d: d.id), key=lambda d: d.annotations.get("date") or "")


def without_repeated_lines(doc: Document, kept_hashes: set[bytes], tokenizer, options: C4Options,
                           explain: bool = False) -> tuple[Document | Rejection, list[tuple[str, str]]]:
    """_remove_lines_from_text for one page: drop lines kept elsewhere, then the sentence rule on the
    whole new text (not per line, as in clean_page). 3.1.0 names an empty result separately."""
    text, removed = remove_repeated_lines(doc.text, kept_hashes, options.c4_version, explain)
    if not text and options.c4_version != "2.2.0":
        return Rejection("c4/empty_after_line_dedup"), removed
    need = options.min_num_sentences
    found = count_sentences(text, tokenizer, at_least=need) if need else 0
    if found < need:
        return Rejection("c4/too_few_sentences_after_line_dedup", f"{found} < {need} sentences"), removed
    return _with_text(doc, text), removed


# --- step 5: language -------------------------------------------------------------------------------

def detect_language(text: str) -> tuple[str | None, float, str | None]:
    """langdetect's best guess with DetectorFactory.seed = 0, as detect_english does.

    Computed by ``filters.langdetect_fast``, which gives langdetect's exact predictions (tested on
    every shared web text) several times faster. Returns (language, probability, problem); problem
    is "langdetect_error" or "no_language".
    """
    from langdetect.lang_detect_exception import LangDetectException

    from filters.langdetect_fast import detect_langs

    try:
        predictions = detect_langs(text, seed=0)
    except LangDetectException:
        return None, 0.0, "langdetect_error"
    if not predictions:
        return None, 0.0, "no_language"
    return predictions[0].lang, predictions[0].prob, None


# --- step 6: bad words ------------------------------------------------------------------------------

def badwords_regex(words: list[str], lang: str = "en", c4_version: str = "3.1.0") -> re.Pattern:
    """The reference's bad-word pattern, searched in the lower-cased page (or line, in 2.2.0).

    3.1.0 (get_badwords_filter_fn): escaped words, flanked by a non-word character or the text's
    start/end (no boundaries for ja/th/zh). 2.2.0 (get_clean_page_fn): unescaped words between two
    characters that are not a-z, so a bad word at the very start or end of a line does not match.
    """
    if c4_version == "2.2.0":
        return re.compile("[^a-z]({})[^a-z]".format("|".join(words)))
    alternatives = "|".join(re.escape(w) for w in words)
    if lang in UNSPACED_LANGUAGES:
        return re.compile(f"({alternatives})")
    return re.compile(r"(?:\W|^)({})(?:\W|$)".format(alternatives))


# --- the per-document steps as filters (the corpus-wide steps are in pipelines/c4.py) --------------

class _C4Step(Filter):
    name = "c4"
    Options = C4Options
    annotations: ClassVar[tuple[str, ...]] = ()

    def setup(self) -> None:
        self.tokenizer = None

    def _punkt(self):
        if self.tokenizer is None:
            from corpus.resources import punkt_english

            self.tokenizer = punkt_english(self.options.punkt_path)
        return self.tokenizer


class C4PageRules(_C4Step):
    """Step 1: the WET splitter's text rules, the required fields, and the length limit."""

    reasons = ("no_url", "no_content", "no_timestamp", "too_long")

    def __call__(self, doc: Document) -> Document | Rejection:
        text = wet_text(doc.text) if self.options.wet_text_rules else doc.text
        if self.options.require_url_and_date:
            # _validate_features checks in this order: url, text, timestamp.
            if not doc.url:
                return self.reject("no_url")
            if not text:
                return self.reject("no_content")
            if not doc.annotations.get("date") and self.options.c4_version != "2.2.0":
                return self.reject("no_timestamp")
        elif not text:
            return self.reject("no_content")
        if len(text) > self.options.max_page_chars:
            return self.reject("too_long", f"{len(text)} characters > {self.options.max_page_chars:g}")
        return _with_text(doc, text)


class C4CleanPage(_C4Step):
    """Step 3: clean_page (with the per-line bad-word check in 2.2.0)."""

    reasons = ("lorem_ipsum", "curly_bracket", "too_few_sentences", "badwords")

    def setup(self) -> None:
        super().setup()
        self.line_badwords = None
        if self.options.c4_version == "2.2.0" and self.options.badwords:
            self.line_badwords = load_badwords_regex(self.options)

    def __call__(self, doc: Document) -> Document | Rejection:
        cleaned = clean_page(doc.text, self._punkt(), self.options, self.line_badwords)
        if cleaned.text is None:
            return self.reject(cleaned.rule, cleaned.detail)
        return _with_text(doc, cleaned.text)


class C4Language(_C4Step):
    """Step 5: detect_english: langdetect (seed 0) must say ``language`` with the minimum probability."""

    reasons = ("langdetect_error", "no_language", "low_language_confidence", "wrong_language")
    annotations = ("language", "language_score")

    def __call__(self, doc: Document) -> Document | Rejection:
        lang, prob, problem = detect_language(doc.text)
        if problem:
            return self.reject(problem)
        if prob < self.options.min_language_probability:
            return self.reject("low_language_confidence", f"{lang} {prob:.4f}")
        if self.options.language and lang != self.options.language:
            return self.reject("wrong_language", f"{lang} {prob:.4f}")
        return Document(doc.id, doc.text, doc.source, doc.url,
                        {**doc.annotations, "language": lang, "language_score": prob})


class C4Badwords(_C4Step):
    """Step 6 (3.1.0): a bad word anywhere in the lower-cased page drops it (filter fraction 1.0)."""

    reasons = ("badwords",)

    def setup(self) -> None:
        super().setup()
        self.regex = load_badwords_regex(self.options)

    def __call__(self, doc: Document) -> Document | Rejection:
        found = self.regex.search(doc.text.lower())
        if found is not None:
            return self.reject("badwords", found.group(1))
        return doc


class C4Split(_C4Step):
    """Step 7: keep one of C4's splits, chosen by the md5 of the normalised URL."""

    reasons = ("other_split",)

    def __call__(self, doc: Document) -> Document | Rejection:
        validation = in_validation_split(normalize_url(doc.url or ""))
        if validation != (self.options.split == "validation"):
            return self.reject("other_split", "validation" if validation else "train")
        return doc


class C4:
    """The whole C4 stage as configured: its per-document steps (above) and the options the
    corpus-wide steps in ``pipelines/c4.py`` (URL dedup, repeated lines) run with."""

    name = "c4"
    Options = C4Options
    annotations = C4Language.annotations
    reasons = tuple(sorted({r for step in (C4PageRules, C4CleanPage, C4Language, C4Badwords, C4Split)
                            for r in step.reasons} | {"duplicate_url", "empty_after_line_dedup",
                                                      "too_few_sentences_after_line_dedup"}))

    def __init__(self, options: C4Options, seed: int = 0) -> None:
        self.options = options
        self.seed = seed

    def setup(self) -> None:
        """Nothing to load up front: each step loads what it needs when it is set up."""

    def run_in_memory(self, traces: list) -> None:
        """The whole stage over an in-memory corpus, with the steps, order and choices of
        ``pipelines/c4.py``, recording every line a step removes (``corpus inspect``)."""
        o, seed = self.options, self.seed

        def apply(step: Filter) -> None:
            step.setup()
            for trace in traces:
                if trace.alive:
                    trace.result = apply_safely(step, trace.result)

        def alive() -> list:
            return [t for t in traces if t.alive]

        if o.wet_text_rules:
            for trace in alive():
                trace.removed += [(line.strip(), "c4/wet_metadata_line") for line in _UNIVERSAL_NEWLINE.split(trace.result.text)
                                  if line.strip().startswith(METADATA_PREFIXES)]
        apply(C4PageRules(o, seed))
        if o.dedupe_urls:
            by_url: dict[str, list] = {}
            for trace in alive():
                by_url.setdefault(normalize_url(trace.result.url or ""), []).append(trace)
            for group in by_url.values():
                newest = newest_page([t.result for t in group])
                for trace in group:
                    if trace.result is not newest:
                        trace.result = Rejection("c4/duplicate_url", f"kept {newest.id}")
        cleaner = C4CleanPage(o, seed)
        cleaner.setup()
        for trace in alive():
            cleaned = clean_page(trace.result.text, cleaner._punkt(), o, cleaner.line_badwords, explain=True)
            trace.removed += [(line, f"c4/{rule}") for line, rule in cleaned.removed]
            trace.result = (_with_text(trace.result, cleaned.text) if cleaned.text is not None
                            else Rejection(f"c4/{cleaned.rule}", cleaned.detail))
        if o.dedupe_lines:
            keeper: dict[bytes, tuple[bytes, str]] = {}
            for trace in alive():
                rank = keeper_rank(trace.result.url, trace.result.id, o.c4_version)
                for h in page_line_hashes(trace.result.text, o.c4_version):
                    if h not in keeper or rank < keeper[h]:
                        keeper[h] = rank
            for trace in alive():
                doc = trace.result
                kept = {h for h in page_line_hashes(doc.text, o.c4_version) if keeper[h][1] == doc.id}
                trace.result, removed = without_repeated_lines(doc, kept, cleaner._punkt(), o, explain=True)
                trace.removed += [(line, f"c4/{rule}") for line, rule in removed]
        apply(C4Language(o, seed))
        if o.badwords and o.c4_version == "3.1.0":
            apply(C4Badwords(o, seed))
        if o.split != "all":
            apply(C4Split(o, seed))


def load_badwords_regex(options: C4Options) -> re.Pattern:
    """The configured LDNOOBW list as the reference compiles it for ``options.c4_version``."""
    from corpus.resources import C4_BADWORDS_ALLOWLIST, badwords

    lang = options.language or "en"
    words = badwords(lang, source=options.badwords_path, hint="pass a local copy with --set c4.badwords_path=DIR")
    if options.c4_version == "3.1.0":  # c4.py: a set per language, minus the allowlist
        words = sorted(set(words) - C4_BADWORDS_ALLOWLIST.get(lang, set()))
    return badwords_regex(words, lang, options.c4_version)


def _with_text(doc: Document, text: str) -> Document:
    if text == doc.text:
        return doc
    return Document(id=doc.id, text=text, source=doc.source, url=doc.url, annotations=dict(doc.annotations))

"""Test-only harness: run the REAL C4 reference code (TFDS ``c4_utils``) without TensorFlow, offline.

C4 was built by ``tensorflow_datasets/text/c4.py`` + ``c4_utils.py``. This module calls those
functions themselves (it never re-implements their logic) and exposes them as plain functions over
plain Python values, so our own reimplementation can be compared against the reference document by
document. It is imported by tests only; nothing under ``corpus/`` may import it.

API (all functions call TFDS; ``counters`` are ``{counter name: amount}``):

* ``split_wet_file(path, counters=None) -> list[dict]`` -- ``c4_utils.split_wet_file`` over a local
  ``.warc.wet.gz``; one dict per page with url, normalized_url, text, timestamp, content_type,
  content_length. Pass a dict as ``counters`` to receive the counters it incremented (injected
  ``counter_inc_fn``: "wet-file", "passed", "filtered:no_url", ...).
* ``normalize_url(url) -> str`` -- ``c4_utils.normalize_url``.
* ``clean_page(text, url=...) -> (cleaned_text | None, counters)`` -- ``get_clean_page_fn()`` on a
  ``PageFeatures`` with an injected counter function (exactly as TFDS's c4_utils_test does).
* ``remove_duplicate_text(pages, min_num_sentences=3) -> ({url: new_text}, counters)`` --
  ``c4_utils.remove_duplicate_text`` inside a real Beam pipeline on the FnApiRunner; counters are
  the pipeline's committed Beam metrics in the "dedupe-lines" namespace.
* ``detect_english(text, counters=None) -> bool`` -- ``c4_utils.detect_english``.
* ``badwords_filter(text, words, lang="en", filter_fraction=1.0, url=..., counters=None) -> bool``
  -- ``c4_utils.get_badwords_filter_fn`` applied to a page with ``language=lang``.
* ``hashed_url_in_validation(normalized_url) -> bool`` -- c4.py's split rule: the page goes to
  validation iff ``md5(normalized_url) % 1000 == 0`` (``c4_utils.get_hashed_url_filter_fn``).

``detect_english`` and the badwords filter take no counter function: they call the module-level
``c4_utils.get_counter_inc_fn(namespace)``. For the duration of one call (under a lock) the harness
swaps that factory for a collecting one, so their ``counters`` keys are ``"namespace/name"``
(e.g. ``"english-filter/passed"``, ``"badwords-filter-en/filtered"``).

Two stand-ins make this run in a test process, both test-only and scoped as narrowly as possible:

1. TensorFlow (not installed). ``c4_utils`` uses TFDS's lazy ``tensorflow`` handle for exactly
   ``tf.compat.as_text`` and ``tf.io.gfile.GFile``; resolving the handle also reads
   ``tf.__version__`` (TFDS's ``ensure_tf_version`` compares it, as a string, to "2.1.0"), and while
   ``tensorflow`` is in ``sys.modules`` TFDS's import-time feature code probes
   ``isinstance(x, tf.dtypes.DType)`` (the shim's ``DType`` matches nothing). If a real
   TensorFlow is importable it is used and no shim is installed (``TF_IS_SHIM`` is False). Otherwise
   ``_TensorFlowShim`` is placed in ``sys.modules["tensorflow"]`` before TFDS is imported, TFDS's
   lazy handle is resolved (binding it to the shim), and ``sys.modules`` is then restored, so other
   code in the same test process that probes for TensorFlow (``datasets``, ``importlib.util.find_spec``)
   still sees it absent. Any attribute the shim does not provide raises an AttributeError naming it.
2. NLTK Punkt. ``c4_utils._load_sentence_tokenizer`` calls ``nltk.download("punkt")`` (a network
   call; offline it prints errors and may hang on DNS) and then
   ``nltk.data.load("nltk:tokenizers/punkt/english.pickle")``, which nltk >= 3.9 maps to the
   pickle-free ``PunktTokenizer("english")`` read from ``tokenizers/punkt_tab/english/``. On first use
   of a sentence-counting function the harness lets TFDS's own ``_get_sentences`` load and memoize
   the tokenizer with ``nltk.download`` patched to a no-op and the shared
   ``resources/nltk_data`` first on ``nltk.data.path``; both are restored right after (the
   tokenizer has read its parameters by then). If the shared data is absent this raises
   ``SharedDataMissing`` (a RuntimeError), which tests turn into a skip.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
import threading
import types
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

# Same rule as tests/conftest.py: ../shared beside the checkout; CORPUS_SHARED overrides.
ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CORPUS_SHARED", ROOT.parent / "shared"))
NLTK_DATA = SHARED / "resources" / "nltk_data"


class SharedDataMissing(RuntimeError):
    """The shared test data the reference needs (e.g. NLTK Punkt) is not present."""


# --------------------------------------------------------------------------------------------------
# 1. TensorFlow stand-in (test-only)
# --------------------------------------------------------------------------------------------------

_SHIM_NAME = "tensorflow"


def _as_text(bytes_or_text, encoding="utf-8"):
    """``tf.compat.as_text`` with TensorFlow's semantics: str unchanged, bytes decoded, else TypeError."""
    encoding = codecs.lookup(encoding).name
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, bytes):
        return bytes_or_text.decode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {bytes_or_text!r}")


def _shim_getattr(name: str):
    raise AttributeError(
        f"tf.{name} is not provided by the C4 reference TEST SHIM for TensorFlow "
        f"(tests/c4_reference.py); it only offers compat.as_text and io.gfile.GFile"
    )


def _make_tensorflow_shim() -> types.ModuleType:
    """Build the stand-in. It provides exactly what ``c4_utils`` (and TFDS's lazy import) touch."""
    if importlib.util.find_spec(_SHIM_NAME) is not None:
        raise RuntimeError("a real TensorFlow is importable: refusing to build the TensorFlow test shim")
    tf = types.ModuleType(_SHIM_NAME, "TEST-ONLY stand-in for TensorFlow (tests/c4_reference.py). Not TensorFlow.")
    tf.__spec__ = importlib.machinery.ModuleSpec(_SHIM_NAME, loader=None)
    tf.IS_C4_REFERENCE_TEST_SHIM = True
    # TFDS's ensure_tf_version does `tf.__version__ < "2.1.0"` (string compare); a PEP 440 version
    # whose local label says what it is.
    tf.__version__ = "2.999.0+c4reference.test.shim"
    tf.compat = types.SimpleNamespace(as_text=_as_text)  # c4_utils: normalize_url, _hash_text, ...
    # c4_utils.split_wet_file: `with tf.io.gfile.GFile(path, "rb") as f` -- local files only.
    tf.io = types.SimpleNamespace(gfile=types.SimpleNamespace(GFile=open))
    # While the shim sits in sys.modules, etils' `enp.lazy.has_tf` is True, and TFDS's import-time
    # feature definitions (dtype_utils.cast_to_numpy) probe `isinstance(dtype, tf.dtypes.DType)`.
    # No value is an instance of this empty class, so TFDS takes its NumPy path as without TF.
    tf.dtypes = types.SimpleNamespace(DType=type("DType", (), {"__doc__": "test shim: matches nothing"}))
    tf.__getattr__ = _shim_getattr  # anything else: a loud, named AttributeError
    return tf


def _real_tensorflow_importable() -> bool:
    mod = sys.modules.get(_SHIM_NAME)
    if mod is not None:
        return not getattr(mod, "IS_C4_REFERENCE_TEST_SHIM", False)
    return importlib.util.find_spec(_SHIM_NAME) is not None


def _import_c4_utils():
    """Import TFDS ``c4_utils`` with its lazy ``tensorflow`` bound to real TF, or else to the shim."""
    if _real_tensorflow_importable():
        from tensorflow_datasets.text import c4_utils  # noqa: PLC0415

        return c4_utils, False
    previous = sys.modules.get(_SHIM_NAME)
    sys.modules[_SHIM_NAME] = previous if previous is not None else _make_tensorflow_shim()
    try:
        from tensorflow_datasets.core.utils import lazy_imports_utils  # noqa: PLC0415
        from tensorflow_datasets.text import c4_utils  # noqa: PLC0415

        # Resolve TFDS's lazy handle now (functools.cached_property), while the shim is importable.
        lazy_imports_utils.tensorflow.compat  # noqa: B018
        assert c4_utils.tf is lazy_imports_utils.tensorflow
        bound = lazy_imports_utils.tensorflow._module  # noqa: SLF001
        if not getattr(bound, "IS_C4_REFERENCE_TEST_SHIM", False):
            raise RuntimeError(f"TFDS's lazy tensorflow resolved to {bound!r}, not the test shim")
    finally:
        # Keep the shim out of sys.modules so nothing else in the test process mistakes it for TF.
        if previous is None:
            sys.modules.pop(_SHIM_NAME, None)
    return c4_utils, True


c4_utils, TF_IS_SHIM = _import_c4_utils()
PageFeatures = c4_utils.PageFeatures


# --------------------------------------------------------------------------------------------------
# 2. NLTK Punkt, loaded by TFDS's own code, offline
# --------------------------------------------------------------------------------------------------

_punkt_lock = threading.Lock()


def _noop_download(*args, **kwargs):
    """Stand-in for ``nltk.download`` while TFDS loads Punkt: no network; the data is local."""
    return True


def ensure_sentence_tokenizer() -> None:
    """Make TFDS's memoized Punkt tokenizer available (``c4_utils._SENTENCE_TOKENIZER``)."""
    if c4_utils._SENTENCE_TOKENIZER:  # noqa: SLF001
        return
    punkt_dir = NLTK_DATA / "tokenizers" / "punkt_tab" / "english"
    if not punkt_dir.is_dir():
        raise SharedDataMissing(
            f"{punkt_dir} is missing: the C4 reference counts sentences with NLTK Punkt (punkt_tab), "
            f"which it reads from the shared test data ({SHARED}; set CORPUS_SHARED to relocate it)"
        )
    import nltk  # noqa: PLC0415

    with _punkt_lock:
        if c4_utils._SENTENCE_TOKENIZER:  # noqa: SLF001
            return
        saved_download, saved_path = nltk.download, list(nltk.data.path)
        nltk.download = _noop_download
        nltk.data.path.insert(0, str(NLTK_DATA))
        try:
            c4_utils._get_sentences("Load the tokenizer.")  # noqa: SLF001  (TFDS memoizes it)
        finally:
            nltk.download = saved_download
            nltk.data.path[:] = saved_path
    if not c4_utils._SENTENCE_TOKENIZER:  # noqa: SLF001
        raise RuntimeError("TFDS did not memoize a sentence tokenizer")


# --------------------------------------------------------------------------------------------------
# 3. Counters
# --------------------------------------------------------------------------------------------------


def _collector() -> tuple[dict, Callable]:
    counters: dict = defaultdict(int)

    def counter_inc_fn(counter, amt=1):
        counters[counter] += amt

    return counters, counter_inc_fn


_counter_factory_lock = threading.Lock()


@contextlib.contextmanager
def _collect_module_counters(counters: dict | None):
    """Swap ``c4_utils.get_counter_inc_fn`` for a collector for functions that take no counter fn."""
    sink = counters if counters is not None else {}

    def get_counter_inc_fn(namespace):
        def counter_inc_fn(counter, amt=1):
            key = f"{namespace}/{counter}"
            sink[key] = sink.get(key, 0) + amt

        return counter_inc_fn

    with _counter_factory_lock:
        original = c4_utils.get_counter_inc_fn
        c4_utils.get_counter_inc_fn = get_counter_inc_fn
        try:
            yield sink
        finally:
            c4_utils.get_counter_inc_fn = original


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------

_PAGE_FIELDS = ("url", "normalized_url", "text", "timestamp", "content_type", "content_length")


def split_wet_file(path, counters: dict | None = None) -> list[dict]:
    """TFDS ``c4_utils.split_wet_file`` over a local ``.warc.wet.gz``; fills ``counters`` if given."""
    collected, inc = _collector()
    try:
        return [
            {f: getattr(p, f) for f in _PAGE_FIELDS}
            for p in c4_utils.split_wet_file(os.fspath(path), counter_inc_fn=inc)
        ]
    finally:  # also when the reference raises (e.g. UnicodeDecodeError on invalid UTF-8)
        if counters is not None:
            counters.update(collected)


def normalize_url(url: str) -> str:
    return c4_utils.normalize_url(url)


def clean_page(text: str, url: str = "http://example.com/") -> tuple[str | None, dict]:
    """TFDS ``get_clean_page_fn()`` on one page: (cleaned text, or None if the page is dropped; counters)."""
    ensure_sentence_tokenizer()
    counters, inc = _collector()
    page = PageFeatures(url=url, normalized_url=c4_utils.normalize_url(url), text=text)
    results = list(c4_utils.get_clean_page_fn()(page=page, counter_inc_fn=inc))
    assert len(results) <= 1, results
    return (results[0].text if results else None), dict(counters)


def remove_duplicate_text(pages: Iterable[tuple[str, str]], min_num_sentences: int = 3) -> tuple[dict, dict]:
    """TFDS ``c4_utils.remove_duplicate_text`` in a real Beam pipeline (FnApiRunner).

    ``pages`` is ``[(url, text), ...]`` with distinct urls (the reference asserts one page per url;
    in C4 the pages were already deduplicated by normalized url). Returns ``{url: new_text}`` for the
    pages that survive, and the "dedupe-lines" Beam counters.
    """
    import apache_beam as beam  # noqa: PLC0415
    from apache_beam.metrics.metric import MetricsFilter  # noqa: PLC0415

    pages = list(pages)
    urls = [u for u, _ in pages]
    if len(set(urls)) != len(urls):
        raise ValueError("remove_duplicate_text: urls must be distinct (the reference asserts one page per url)")
    if min_num_sentences:
        ensure_sentence_tokenizer()
    features = [PageFeatures(url=u, normalized_url=c4_utils.normalize_url(u), text=t) for u, t in pages]
    with tempfile.TemporaryDirectory(prefix="c4_reference_dedupe_") as tmp:
        out = os.path.join(tmp, "pages.jsonl")
        pipeline = beam.Pipeline(runner="FnApiRunner")
        pcoll = pipeline | "pages" >> beam.Create(features)
        (
            c4_utils.remove_duplicate_text(pcoll, min_num_sentences=min_num_sentences)
            | "to_json" >> beam.Map(lambda p: json.dumps([p.url, p.text]))
            | "write" >> beam.io.WriteToText(out, num_shards=1, shard_name_template="")
        )
        result = pipeline.run()
        result.wait_until_finish()
        with open(out, encoding="utf-8") as f:
            survivors = dict(json.loads(line) for line in f if line.strip())
    counters = {}
    for c in result.metrics().query(MetricsFilter().with_namespace("dedupe-lines"))["counters"]:
        value = c.committed if c.committed is not None else c.attempted
        counters[c.key.metric.name] = counters.get(c.key.metric.name, 0) + value
    return survivors, counters


def detect_english(text: str, counters: dict | None = None) -> bool:
    """TFDS ``c4_utils.detect_english`` (langdetect, seed 0, p >= 0.99); fills ``counters`` if given."""
    with _collect_module_counters(counters):
        return bool(list(c4_utils.detect_english(PageFeatures(text=text))))


def badwords_filter(
    text: str,
    words: list[str],
    lang: str = "en",
    filter_fraction: float = 1.0,
    url: str = "http://example.com/",
    counters: dict | None = None,
) -> bool:
    """TFDS ``get_badwords_filter_fn({lang: words}, filter_fraction)`` on a page with ``language=lang``.

    True = the page is kept. The word list is keyed by ``lang`` without its "-suffix", as c4.py
    does. ``url`` only matters when ``filter_fraction < 1`` (kept pages are chosen by url hash).
    """
    fn = c4_utils.get_badwords_filter_fn({lang.split("-")[0]: list(words)}, filter_fraction=filter_fraction)
    page = PageFeatures(url=url, normalized_url=c4_utils.normalize_url(url), text=text, language=lang)
    with _collect_module_counters(counters):
        return bool(fn(page))


def _validation_predicate(x: int) -> bool:
    return x % 1000 == 0  # c4.py: `validation_predicate_fn = lambda x: x % 1000 == 0  # 00.1%`


def hashed_url_in_validation(normalized_url: str) -> bool:
    """c4.py's split rule: validation iff md5(normalized_url) as an integer % 1000 == 0."""
    page = PageFeatures(normalized_url=normalized_url)
    return bool(c4_utils.get_hashed_url_filter_fn(_validation_predicate)(page))


__all__ = [
    "SHARED",
    "TF_IS_SHIM",
    "PageFeatures",
    "SharedDataMissing",
    "badwords_filter",
    "c4_utils",
    "clean_page",
    "detect_english",
    "ensure_sentence_tokenizer",
    "hashed_url_in_validation",
    "normalize_url",
    "remove_duplicate_text",
    "split_wet_file",
]

"""External resources the C4 stage needs: the LDNOOBW bad-word lists and NLTK's Punkt English model.

Both are fetched at run time rather than vendored (the word lists are CC BY 4.0 data that C4 pins by
git commit; Punkt is NLTK data), so a run must be able to get them three ways: from a local copy the
user points at, from a per-user cache, or by downloading the pinned version once and caching it. A
downloaded word list is only cached (and, by default, only used) when its sha256 is the one recorded
below, so a changed upstream file cannot silently change which documents C4 drops.

Nothing heavy is imported at module level: ``nltk`` (about 1.5 s to import, it pulls in scipy) and
``apache_beam`` (only for ``gs://`` sources) are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from corpus.errors import ConfigError

logger = logging.getLogger(__name__)

# --- LDNOOBW -------------------------------------------------------------------------------------
# URLs, languages and allowlist as in TFDS 4.9.10, tensorflow_datasets/text/c4.py
# (_EN_BADWORDS_URL, _BADWORDS_URL, _BADWORDS_LANGS, _BADWORDS_ALLOWLIST).

# Tests point this at a local HTTP server; the real files live at <base>/<commit>/<lang>.
LDNOOBW_BASE_URL = "https://raw.githubusercontent.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words"
# The older English list C4 uses "for reproducibility of the original C4".
C4_EN_COMMIT = "25e679f03d96baa721cde20db9944649e8d0a844"
# The commit C4 reads every other language at (it also has a newer `en`, which C4 does not use).
LDNOOBW_COMMIT = "5faf2ba42d7b1c0977169ec3611df25a3c08eb13"

# The files C4 downloads. TFDS then files each list under `lang.split("-")[0]`, so the
# `fr-CA-u-sd-caqc` words join the `fr` set; that merge is the caller's job, not this module's.
C4_BADWORDS_LANGS = (
    "ar", "cs", "da", "de", "en", "eo", "es", "fa", "fi", "fil", "fr", "fr-CA-u-sd-caqc", "hi", "hu",
    "it", "ja", "kab", "ko", "nl", "no", "pl", "pt", "ru", "sv", "th", "tlh", "tr", "zh",
)

# TFDS c4.py: "Words that are allowed since they are common subwords in languages without spaces.
# These each filter >10% of documents of their language when disallowed."
C4_BADWORDS_ALLOWLIST = {"ja": {"sm", "グロ", "女の子"}, "zh": {"性"}}

# sha256 of every file C4 reads (and the newer `en`), computed from the raw files at these commits.
LDNOOBW_SHA256: dict[str, dict[str, str]] = {
    C4_EN_COMMIT: {
        "en": "a506cbcf8a31935b122299f3bb1d32be6db3d0ad498765d28f365dfc4f4d7b8c",
    },
    LDNOOBW_COMMIT: {
        "ar": "23dbd9c55257bf2a4965f46664dc7eac04b61ff4eb3571e41f7e964c7c3ed96b",
        "cs": "90706df86709bade1ca39cf9f9d9836409c674fc3bffcb7525bdd20e59b596bc",
        "da": "ddb46ab67e955d1a5f49c89c18497d23c3d8d6d2522f3740a5d7583f90e434c6",
        "de": "ebe44d7772897390e27f7bec412fdcdf0efc294e4db157f8487c4cd8d4fabd55",
        "en": "af851ecef1d5f212caba17339b12ac39cc2fef7d78c74876f67237644fcee8bd",
        "eo": "0374d76be1dbc77c61362d6e51305e1e4c546b7f734eb96e0bdbad7fd2a6ace1",
        "es": "073334261cc2e7c08339faefd2f19f9623e8240a0ac18fe2a26c368b897496ce",
        "fa": "85828629b90fd18a3f6f6efb1934c1294103c33d1c28c0653970adfa179169e9",
        "fi": "3e0b35b2533ba22fb526d882bea250ddfad907ee7548aacbe15db17e21034c62",
        "fil": "fb4b43691b1249fee2eca1e66795daedda8e7366d42abcde6553dce611d23d99",
        "fr": "79763a705e08256b393952852bb63aa903f4485e0ef02f70735f5e50efff213c",
        "fr-CA-u-sd-caqc": "4a0ef5d55921c91df26676b214d3ac648deef11cfbc4587159ee9aab4085b09a",
        "hi": "83636e9b7a5260451e09e9e471f81dad9f082d107a82da77047e57d7856ed0cc",
        "hu": "a6943a971496f16e9a9d59ba6fde146d229699600e9636828d8d34ed9160aff5",
        "it": "d413f41018d58aa79d2c4809d0161f29ffd5652c4dc34c5b7b9ade680ee5599a",
        "ja": "f83c4d0843ea6474c17bf171edd72b616b3af403f8613f2cde1bd841faf6f316",
        "kab": "df7be2ce4a0c80ee717cd7134c90645a8a0f0c0c458a61f927934dbd50eac96d",
        "ko": "0dd4b74ffea6e3bb35d658e6d8262b53ee99281eaa48ecb515a2065bfcc7f69d",
        "nl": "8298ba0cdc3ca9a1989c349b8ad0148e4504c2804f2f2fb6c2f52bfb39c5ae71",
        "no": "e55b46bcec1ea288256924523a997d8d99e124c9aa3e61cbbbfaeca294f745b4",
        "pl": "98cf824e3692255645c5a72d5913f26fd4f20930f725683b4c96bb312ca5d9b3",
        "pt": "05ef524b0bb7f83f87257f6ec4dabf70e16b8bb6930f769fb93deaf608ff196d",
        "ru": "2598adabd2b761733d72a68d8ee4fcc1d2c38f2f85b6ff489985c6ce1d93bf75",
        "sv": "77f3f99a89bd3b2bde6a654741bacfcb3acca3f5c804af4d8d3fea11e09ea562",
        "th": "835036d87a3a67738e388cd6de92e3c995c186a1427b4e830fe7b85483c257e7",
        "tlh": "3c19004e338c0d91d19ba419185279145848b75b2327aa0e3a752c604ad9f59d",
        "tr": "6c7ae03baee0f3fdc22eed169030567669005dad9a1923e0b571c4bd4f2f2ab5",
        "zh": "a1d9aa037c8b039ef3b40148b3364ce2ca62ce4a955b7082a16ad99f6cbd1bc0",
    },
}

# A word list is a few KiB; anything far larger is not one (and is not held in memory).
_MAX_DOWNLOAD_BYTES = 16 * 2**20
_DOWNLOAD_TIMEOUT_S = 60


def cache_dir() -> Path:
    """``$CORPUS_CACHE``, else ``~/.cache/corpus-toolkit`` (read on every call, so tests can move it)."""
    return Path(os.environ.get("CORPUS_CACHE") or "~/.cache/corpus-toolkit").expanduser()


# Local mirrors of the canonical files, for machines without internet: directories laid out as
# <mirror>/ldnoobw/<commit>/<lang> and <mirror>/nltk_data/..., from $CORPUS_RESOURCE_MIRRORS
# (os.pathsep-separated). A development checkout also uses the team's shared/resources beside it.
# Mirrored word lists must have the recorded sha256, so a mirror is exactly as good as a download.
_CHECKOUT_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "resources"


def mirror_dirs() -> list[Path]:
    configured = [Path(p).expanduser() for p in os.environ.get("CORPUS_RESOURCE_MIRRORS", "").split(os.pathsep) if p]
    return [d for d in [*configured, _CHECKOUT_MIRROR] if d.is_dir()]


def c4_badwords_commit(lang: str) -> str:
    """The LDNOOBW commit C4 reads ``lang`` at: the older one for English, the newer for the rest."""
    return C4_EN_COMMIT if lang == "en" else LDNOOBW_COMMIT


def badwords(lang: str = "en", commit: str | None = None, source: str | None = None, *,
             verify: bool = True, hint: str = "") -> list[str]:
    """The LDNOOBW list for ``lang`` at ``commit``, one entry per line of the file, as TFDS reads it.

    ``commit`` defaults to the one C4 pins for ``lang`` (``c4_badwords_commit``). ``source`` is:

    - None: the cache (``cache_dir()/ldnoobw/<commit>/<lang>``), else a mirror (``mirror_dirs()``),
      else a download from ``LDNOOBW_BASE_URL/<commit>/<lang>`` that is cached once its checksum matches;
    - a directory (local or ``gs://``) laid out as ``<dir>/<commit>/<lang>`` or ``<dir>/<lang>``;
    - a file: a local path, ``gs://...`` or an ``http(s)://`` URL.

    The bytes must have the sha256 in ``LDNOOBW_SHA256``. With ``verify=False`` a file whose checksum
    is unknown or different is used anyway, with a logged warning (and never cached).

    The result reproduces TFDS c4.py exactly: it opens the file as UTF-8 text (``epath.Path.open()``
    is the builtin ``open(path, encoding="utf-8")`` for local files, so lines end at ``\\n``, ``\\r``
    or ``\\r\\n``) and does ``badwords[lang].update(l.strip() for l in f)``. So entries are stripped
    of Unicode whitespace, a blank line would give ``""`` (which TFDS keeps, and which would then match
    everywhere in its regex; none of the pinned files has one), and the list keeps file order and
    duplicates (TFDS's set drops them; ``fil``, ``kab`` and ``zh`` have a few). TFDS then removes
    ``C4_BADWORDS_ALLOWLIST`` words; callers do that too.
    ``hint`` (e.g. which config key takes a local copy) is appended to any error message.
    """
    commit = commit or c4_badwords_commit(lang)
    what = f"the LDNOOBW {lang!r} list at commit {commit}"
    if source is None:
        data = _cached_or_downloaded(lang, commit, what, verify, hint)
    else:
        location = _locate(source, lang, commit, what, hint)
        try:
            data = _read(location)
        except _FETCH_ERRORS as err:
            raise ConfigError(_join(f"{what} could not be read from {location} ({_reason(err)})", hint)) from None
        _check(data, lang, commit, what, location, verify, hint)
    try:
        with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8") as f:
            return [line.strip() for line in f]
    except UnicodeDecodeError as err:  # only reachable with verify=False: every recorded file is UTF-8
        raise ConfigError(_join(f"{what} is not UTF-8 text ({err})", hint)) from None


def _cached_or_downloaded(lang: str, commit: str, what: str, verify: bool, hint: str) -> bytes:
    cached = cache_dir() / "ldnoobw" / commit / lang
    if cached.is_file():
        data = cached.read_bytes()
        if _sha256(data) == _expected(lang, commit):
            return data
        logger.warning("%s: %s does not have the expected sha256; downloading it again", what, cached)
    for mirror in mirror_dirs():
        mirrored = mirror / "ldnoobw" / commit / lang
        if mirrored.is_file() and _sha256(data := mirrored.read_bytes()) == _expected(lang, commit):
            return data
    url = f"{LDNOOBW_BASE_URL}/{commit}/{lang}"
    try:
        data = _read(url)
    except _FETCH_ERRORS as err:
        raise ConfigError(_join(
            f"{what} is not cached and could not be downloaded from {url} ({_reason(err)}); pass a local "
            f"copy (a directory laid out as DIR/<commit>/<lang> or DIR/<lang>, or the file itself), or put "
            f"the file at {cached} (set CORPUS_CACHE to use another cache directory)", hint)) from None
    if _check(data, lang, commit, what, url, verify, hint):
        _write_atomically(cached, data)
    return data


def _locate(source: str, lang: str, commit: str, what: str, hint: str) -> str:
    """The file ``source`` names: itself, or ``<source>/<commit>/<lang>`` / ``<source>/<lang>`` in a directory."""
    if source.startswith(("http://", "https://")):
        return source
    if source.startswith("gs://"):
        from apache_beam.io.filesystems import FileSystems

        base = source.rstrip("/")
        try:
            return next((c for c in (f"{base}/{commit}/{lang}", f"{base}/{lang}") if FileSystems.exists(c)),
                        source)
        except _FETCH_ERRORS as err:  # e.g. no GCS filesystem without the dataflow extra
            raise ConfigError(_join(f"{what} could not be looked up in {source} ({_reason(err)})", hint)) from None
    path = Path(source).expanduser()
    if path.is_dir():
        for candidate in (path / commit / lang, path / lang):
            if candidate.is_file():
                return str(candidate)
        raise ConfigError(_join(f"{what} is not in {path} (looked for {path / commit / lang} and "
                                f"{path / lang})", hint))
    if not path.is_file():
        raise ConfigError(_join(f"{what}: {path} is neither a file nor a directory", hint))
    return str(path)


def _check(data: bytes, lang: str, commit: str, what: str, origin: str, verify: bool, hint: str) -> bool:
    """True when ``data`` has the recorded sha256; otherwise an error, or a warning with ``verify=False``."""
    expected, actual = _expected(lang, commit), _sha256(data)
    if expected == actual:
        return True
    problem = (f"{what} from {origin} has sha256 {actual}, expected {expected}" if expected
               else f"there is no known sha256 for {what} (from {origin}; sha256 {actual})")
    if verify:
        raise ConfigError(_join(f"{problem}; use the file at that commit, or pass verify=False to use "
                                f"it unverified", hint))
    logger.warning("%s; using it unverified (verify=False)", problem)
    return False


def _expected(lang: str, commit: str) -> str | None:
    return LDNOOBW_SHA256.get(commit, {}).get(lang)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# What a failed fetch raises (``_read`` turns HTTP errors into OSErrors): Beam's BeamIOError is an
# OSError too; a gs:// path without the gcp extra is a ValueError or ImportError.
_FETCH_ERRORS = (OSError, ValueError, ImportError)


def _read(location: str) -> bytes:
    """All bytes of a local file, an ``http(s)://`` URL or a ``gs://`` object (at most 16 MiB)."""
    if location.startswith(("http://", "https://")):
        import urllib.request  # imported here: with http.client and email it costs 25 ms
        from http.client import HTTPException
        from urllib.error import HTTPError, URLError

        request = urllib.request.Request(location, headers={"User-Agent": "corpus-toolkit"})
        try:
            with urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT_S) as response:
                data = response.read(_MAX_DOWNLOAD_BYTES + 1)
        except HTTPError as err:
            raise OSError(f"HTTP {err.code} {err.reason}") from None
        except URLError as err:
            raise OSError(str(err.reason)) from None
        except HTTPException as err:
            raise OSError(f"{type(err).__name__}: {err}") from None
    elif location.startswith("gs://"):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(location) as f:
            data = f.read(_MAX_DOWNLOAD_BYTES + 1)
    else:
        with open(location, "rb") as f:
            data = f.read(_MAX_DOWNLOAD_BYTES + 1)
    if len(data) > _MAX_DOWNLOAD_BYTES:
        raise ValueError(f"larger than {_MAX_DOWNLOAD_BYTES} bytes, not a word list")
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it, so no reader sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _reason(err: BaseException) -> str:
    return str(err) or type(err).__name__


def _join(message: str, hint: str) -> str:
    return f"{message}. {hint}" if hint else message


# --- NLTK Punkt ----------------------------------------------------------------------------------

_PUNKT_ENGLISH = "tokenizers/punkt_tab/english/"
_punkt_lock = threading.Lock()
_punkt_memo: dict[str | None, Any] = {}


def punkt_english(source: str | None = None, *, hint: str = "") -> Any:
    """NLTK's Punkt English sentence splitter, the one C4 counts sentences with.

    TFDS c4_utils.py loads it as ``nltk.data.load("nltk:tokenizers/punkt/english.pickle")``; NLTK 3.10
    maps that name to a pickle-free ``PunktTokenizer("english")`` built from the ``punkt_tab`` data. This
    returns a ``PunktSentenceTokenizer`` with the same parameters read from the same files (so the same
    ``.tokenize(text)``): ``PunktTokenizer`` itself can only look in the global ``nltk.data.path``,
    while this loads from the directory asked for.

    ``source`` is an NLTK data directory (holding ``tokenizers/punkt_tab/english/``). With None: the
    directories in ``$NLTK_DATA`` (read now, not only when nltk was imported), ``nltk.data.path``,
    ``cache_dir()/nltk_data``, then the mirrors' ``nltk_data``; if none has it,
    ``nltk.download("punkt_tab")`` into the cache.

    Memoised per ``source`` in this process and thread-safe, so a Beam DoFn calls it in ``setup()`` and
    pickles only ``source``, never the tokenizer. NLTK (3.10's ``pathsec``) refuses to read data outside
    ``nltk.data.path``/``$NLTK_DATA``, so the directory the model is loaded from is appended to
    ``nltk.data.path`` (appended, so it does not change what other NLTK lookups find first).
    """
    key = None if source is None else os.path.realpath(os.path.expanduser(source))
    tokenizer = _punkt_memo.get(key)
    if tokenizer is None:
        with _punkt_lock:
            tokenizer = _punkt_memo.get(key)
            if tokenizer is None:
                tokenizer = _punkt_memo[key] = _load_punkt_english(key, hint)
    return tokenizer


def _load_punkt_english(source: str | None, hint: str) -> Any:
    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer, load_punkt_params

    what = "NLTK's Punkt English model (punkt_tab)"
    if source is not None:
        root = _find_punkt_root([source])
        if root is None:
            raise ConfigError(_join(f"{what} is not in {source} (expected {source}/{_PUNKT_ENGLISH}; "
                                    f"get it with nltk.download('punkt_tab', download_dir=...))", hint))
    else:
        env = [os.path.expanduser(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
        download_dir = str(cache_dir() / "nltk_data")
        mirrors = [str(m / "nltk_data") for m in mirror_dirs()]
        root = _find_punkt_root([*env, *map(str, nltk.data.path), download_dir, *mirrors])
        if root is None:
            Path(download_dir).mkdir(parents=True, exist_ok=True)
            _allow_nltk_root(download_dir)  # pathsec checks the download dir too
            try:
                nltk.download("punkt_tab", download_dir=download_dir, quiet=True, raise_on_error=True)
            except _FETCH_ERRORS as err:
                reason = _reason(err)
            else:
                reason = f"the download did not install it in {download_dir}"
            root = _find_punkt_root([download_dir])
            if root is None:
                raise ConfigError(_join(
                    f"{what} is not installed and could not be downloaded ({reason}); pass an NLTK data "
                    f"directory holding {_PUNKT_ENGLISH}, set NLTK_DATA to one, or run "
                    f"nltk.download('punkt_tab', download_dir={download_dir!r})", hint))
    _allow_nltk_root(root)
    lang_dir = nltk.data.find(_PUNKT_ENGLISH, paths=[root])
    return PunktSentenceTokenizer(load_punkt_params(lang_dir))


def _find_punkt_root(roots: list[str]) -> str | None:
    """The first of ``roots`` that holds the model (found the way NLTK's ``find`` finds it)."""
    import nltk

    for root in roots:
        try:
            nltk.data.find(_PUNKT_ENGLISH, paths=[root])
        except LookupError:
            continue
        return root
    return None


def _allow_nltk_root(root: str) -> None:
    import nltk

    resolved = os.path.realpath(root)
    if all(os.path.realpath(str(p)) != resolved for p in nltk.data.path):
        nltk.data.path.append(root)

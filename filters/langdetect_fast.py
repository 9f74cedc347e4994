"""langdetect's ``detect_langs``, bit for bit, 5-10x faster (bench/bench_langdetect.py).

C4 (TFDS ``c4_utils.detect_english``) sets ``langdetect.DetectorFactory.seed = 0`` and keeps a page
iff ``langdetect.detect_langs(text)[0]`` is ``en`` with prob >= 0.99. ``detect_langs`` here returns the
same list of ``langdetect.language.Language`` (same languages, same float probabilities, same order)
and raises the same ``LangDetectException`` for every input, so keep/drop decisions cannot change.
It reuses langdetect's loaded profiles (``detector_factory._factory``: its language order and its
n-gram probabilities), its URL / e-mail regexes, ``NGram.normalize_vi``, ``NGram.normalize`` (per
distinct character, memoised), ``unicode_block`` and ``Language``. What is re-implemented:

* Text preparation (``Detector.append``, ``cleaning_text``, ``_extract_ngrams``: Python code per
  character, 70 % of the reference's time on web pages). The regexes run only when they can match;
  the Latin / non-Latin counts and the removal of 'A'..'z' are byte translations of the UTF-8 text.
  The n-gram buffer (``NGram``) starts over at every character that normalises to a space, so the
  n-grams of a text are those of its words in order: the text is split at those characters and each
  distinct word's profile rows are memoised (int32 bytes); new words are done together, vectorised
  (code points normalised through a table, n-grams packed into integers and looked up in a hash
  table of the profile n-grams).
* The random numbers. ``_detect_block`` seeds the detector's own ``random.Random`` with the seed
  (it never touches the global ``random`` module), then per trial calls ``gauss`` (CPython keeps the
  second normal of each Box-Muller pair: trials 1, 3, 5, 7 use two ``random()`` = four 32-bit
  Mersenne Twister outputs, trials 2, 4, 6 none) and once per iteration ``choice(ngrams)``
  (``_randbelow``: ``getrandbits(k)``, k = len(ngrams).bit_length(), = one output >> (32 - k),
  drawn again while >= len(ngrams)). For a given seed the outputs are a fixed stream, drawn once;
  the draws are replayed from it with CPython's formulas, the choices vectorised.
* The update loop. Each normalisation interval (the update i = 0, then i = 5b - 4 .. 5b) is one
  ``np.multiply.reduce(axis=0)`` over [probabilities, factors weight + P[ngram]], which multiplies in
  the reference's order; elementwise IEEE operations are the same in NumPy. The sum is the builtin
  ``sum`` over the 55 floats, the very function the reference calls (NumPy's pairwise sum would
  differ in the last bits; Python 3.12 changed ``sum`` of floats, and this follows it).

Differences: the seed is an argument (default 0, C4's) instead of ``DetectorFactory.seed``. The
profiles are copied (a 40 MB float64 matrix) from langdetect's factory on first use, so later changes
to that factory are not seen. The word cache keeps two generations of 50,000 words (about 25 MB).
"""

from __future__ import annotations

import math
import random
import re
import threading
from array import array
from itertools import compress, repeat
from operator import is_

import numpy as np
from langdetect import detector_factory
from langdetect.detector import Detector
from langdetect.lang_detect_exception import ErrorCode, LangDetectException
from langdetect.language import Language
from langdetect.utils import unicode_block as _ub
from langdetect.utils.ngram import NGram

__all__ = ["clear_caches", "detect_langs"]

_N_TRIAL = 7  # Detector.__init__
_MAX_TEXT_LENGTH = 10000  # Detector.__init__
_ALPHA = Detector.ALPHA_DEFAULT
_ALPHA_WIDTH = Detector.ALPHA_WIDTH
_ITERATION_LIMIT = Detector.ITERATION_LIMIT
_CONV_THRESHOLD = Detector.CONV_THRESHOLD
_PROB_THRESHOLD = Detector.PROB_THRESHOLD
_BASE_FREQ = Detector.BASE_FREQ
_N_BLOCKS = _ITERATION_LIMIT // 5  # the last normalisation interval, b = 200, ends at i = 1000
_TWOPI = 2.0 * math.pi  # random.TWOPI

# --- text preparation -------------------------------------------------------------------------------

# cleaning_text: 'A' <= ch <= 'z' is Latin; ch >= U+0300 is non-Latin unless its unicode_block is
# 'Latin Extended Additional'. In langdetect 1.0.9 unicode_block returns an int constant, so that
# comparison with a string is always "different" and every character >= U+0300 counts as non-Latin.
_LEA_EXCLUDED = _ub.unicode_block("\u1e00") == "Latin Extended Additional"
_NOT_NON_LATIN = re.compile("[\x00-\u02ff\u1e00-\u1eff]+" if _LEA_EXCLUDED else "[\x00-\u02ff]+")


def _space_chars() -> str:
    """Every character NGram.normalize maps to ' '.

    normalize maps to ' ' only inside Basic Latin, Latin-1 Supplement and General Punctuation;
    elsewhere it returns a fixed non-space character or ch itself (tests check all code points)."""
    blocks = (_ub.UNICODE_BASIC_LATIN, _ub.UNICODE_LATIN_1_SUPPLEMENT, _ub.UNICODE_GENERAL_PUNCTUATION)
    return "".join(chr(cp) for name, start, end in _ub._unicode_blocks if name in blocks
                   for cp in range(start, end + 1) if NGram.normalize(chr(cp)) == " ")


_SPACE_CHARS = _space_chars()


def _utf8_alternatives(chars: str) -> re.Pattern:
    """A bytes pattern for the UTF-8 encodings of `chars` (grouped by all but their last byte)."""
    groups: dict[bytes, list[int]] = {}
    for ch in chars:
        code = ch.encode("utf-8")
        groups.setdefault(code[:-1], []).append(code[-1])
    return re.compile(b"|".join(re.escape(prefix) + b"[" + b"".join(re.escape(bytes([b])) for b in last)
                                + b"]" for prefix, last in groups.items()))


# The text is split into words in UTF-8: ASCII separators by a byte translation, the others by a regex.
_ASCII_SPACES = bytes(ord(ch) for ch in _SPACE_CHARS if ord(ch) < 0x80)
_TO_SPACE = bytes.maketrans(_ASCII_SPACES, b" " * len(_ASCII_SPACES))
_NON_ASCII_SPACES = _utf8_alternatives("".join(ch for ch in _SPACE_CHARS if ord(ch) >= 0x80))
assert _ASCII_SPACES == bytes(b for b in range(0x80) if not chr(b).isalpha())


class _NormalizeTable(dict):
    """str.translate table: code point -> NGram.normalize(chr(code point)), filled on demand."""

    def __missing__(self, cp: int) -> str:
        value = self[cp] = NGram.normalize(chr(cp))
        return value


_NORMALIZE = _NormalizeTable()


_DMARKS = tuple(NGram.DMARK_CLASS)  # normalize_vi only rewrites a letter followed by one of these
# 'A'..'z' and the characters >= U+0300 counted on the UTF-8 bytes: an ASCII byte is its own character
# and a character >= U+0300 is exactly one lead byte >= 0xCC (continuation bytes are 0x80..0xBF).
_NOT_LATIN_BYTES = bytes(b for b in range(256) if not ord("A") <= b <= ord("z"))
_NOT_NON_LATIN_BYTES = bytes(range(0xCC))
_LATIN_BYTES = bytes(range(ord("A"), ord("z") + 1))


def _prepare(text: str) -> bytes:
    """Detector.append followed by Detector.cleaning_text, as UTF-8 (up to runs of spaces, below)."""
    text = Detector.URL_RE.sub(" ", text)
    if "@" in text:  # MAIL_RE needs an '@'
        text = Detector.MAIL_RE.sub(" ", text)
    if not text.isascii() and any(mark in text for mark in _DMARKS):
        text = NGram.normalize_vi(text)
    # append keeps only the first of consecutive ' ': n-gram extraction emits nothing for a space
    # after a space and the Latin counts ignore spaces, so that step is left out.
    data = text[:_MAX_TEXT_LENGTH].encode("utf-8", "surrogatepass")
    latin = len(data.translate(None, _NOT_LATIN_BYTES))
    if _LEA_EXCLUDED:  # not with langdetect 1.0.9, see above
        non_latin = len(_NOT_NON_LATIN.sub("", text[:_MAX_TEXT_LENGTH]))
    else:
        non_latin = len(data.translate(None, _NOT_NON_LATIN_BYTES))
    if latin * 2 < non_latin:
        data = data.translate(None, _LATIN_BYTES)  # the characters 'A'..'z' are these bytes
    return data


# --- the model: profiles as a matrix, n-gram rows per word -----------------------------------------

class _Model:
    def __init__(self) -> None:
        detector_factory.init_factory()
        factory = detector_factory._factory
        self.langlist = list(factory.langlist)
        table = factory.word_lang_prob_map
        self.row = {gram: i for i, gram in enumerate(table)}
        self.matrix = np.array(list(table.values()), dtype=np.float64)
        assert self.matrix.shape == (len(self.row), len(self.langlist))
        self.init_prob = np.full(len(self.langlist), 1.0 / len(self.langlist))  # _init_probability
        # UTF-8 word -> int32 bytes of its profile rows, for words followed by a space: the words
        # met since the last turnover and those of the generation before that were met again;
        # the last word of texts (no space after it) apart
        self.recent: dict[bytes, bytes] = {}
        self.older: dict[bytes, bytes] = {}
        self.last_words: dict[bytes, bytes] = {}
        self.normal = np.full(0x110000, -1, dtype=np.int32)  # code point -> normalised | upper << 21
        self.hash_keys, self.hash_rows = _hash_table(
            np.array([_pack(gram) for gram in table], dtype=np.uint64))

    def word_rows(self, word: str, trailing: bool) -> bytes:
        """The profile rows (int32 bytes) of the n-grams _extract_ngrams emits for one word.

        `word` is raw text without characters that normalise to a space. NGram.add_char starts the
        word from grams = ' ' (as at the start of the text) and appends the normalised characters,
        keeping the last three; after a character it offers the last 1, 2 and 3 characters of
        ' ' + word, unless it is a "capital word": that character and the one before are upper
        case. `trailing` adds what the space after the word emits (not at the end of the text):
        its 2- and 3-gram (the 1-gram ' ' is skipped).
        """
        s = " " + word.translate(_NORMALIZE)
        grams = [s[1], s[:2]]
        upper = list(map(str.isupper, s))
        if any(upper):
            for i in range(2, len(s)):
                if not (upper[i] and upper[i - 1]):
                    grams += (s[i], s[i - 1:i + 1], s[i - 2:i + 1])
        else:
            for i in range(2, len(s)):
                grams += (s[i], s[i - 1:i + 1], s[i - 2:i + 1])
        if trailing:
            grams += (s[-1:] + " ", s[-2:] + " ")
        return array("i", [r for r in map(self.row.get, grams) if r is not None]).tobytes()

    def _rows_many(self, words: list[bytes]) -> list[bytes]:
        """word_rows(word, trailing=True) for many UTF-8 words at once, vectorised over characters.

        The words, each followed by one space, form a text whose code points are normalised through
        a table (filled with NGram.normalize); at position i the reference offers the 1-, 2- and
        3-gram ending there, minus: everything at a capital-word position (i and i - 1 upper case),
        the 1-gram at a space, the 3-gram at a word's first character. The n-grams, packed as
        integers (21 bits a character), are looked up in a hash table of the profile n-grams.
        """
        points = np.frombuffer((b" ".join(words) + b" ").decode("utf-8", "surrogatepass")
                               .encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        table = self.normal
        entries = table[points]
        if (entries < 0).any():
            for cp in np.unique(points[entries < 0]).tolist():
                ch = NGram.normalize(chr(cp))
                table[cp] = ord(ch) | (ch.isupper() << 21)
            entries = table[points]
        chars = np.empty(len(points) + 2, dtype=np.uint64)  # two spaces before, as NGram starts
        chars[:2] = 32
        chars[2:] = entries & 0x1FFFFF
        upper = np.zeros(len(points) + 1, dtype=bool)
        upper[1:] = entries >= (1 << 21)
        space = chars == 32
        this, one, two = chars[2:], chars[1:-1] << 21, chars[:-2] << 42
        grams = np.empty((len(points), 3), dtype=np.uint64)
        grams[:, 0] = this
        grams[:, 0][space[2:]] = 0
        grams[:, 1] = one | this
        grams[:, 2] = two | one | this
        grams[:, 2][space[1:-1]] = 0
        grams[(space[2:] & space[1:-1]) | (upper[1:] & upper[:-1])] = 0
        rows = self._lookup(grams.ravel())
        kept = rows >= 0
        before = np.zeros(len(rows) + 1, dtype=np.intp)  # kept n-grams before each entry
        np.cumsum(kept, out=before[1:])
        offsets = (4 * before[3 * np.flatnonzero(space[2:]) + 3]).tolist()  # after each word's space
        data = rows[kept].tobytes()
        return [data[a:b] for a, b in zip([0] + offsets, offsets)]

    def _lookup(self, grams: np.ndarray) -> np.ndarray:
        """Profile rows of packed n-grams (-1: not a profile n-gram; 0 is no n-gram)."""
        rows = np.full(len(grams), -1, dtype=np.int32)
        which = np.flatnonzero(grams)
        grams = grams[which]
        slots = (grams * _HASH_MULTIPLIER) >> np.uint64(64 - _HASH_BITS)
        while len(which):
            keys = self.hash_keys[slots]
            hit = keys == grams
            rows[which[hit]] = self.hash_rows[slots[hit]]
            probe = ~hit & (keys != 0)  # linear probing until the key or an empty slot
            which, grams, slots = which[probe], grams[probe], (slots[probe] + np.uint64(1)) & _HASH_MASK
        return rows

    def ngram_rows(self, data: bytes) -> np.ndarray:
        """Profile rows of Detector._extract_ngrams for the (UTF-8) text, in order."""
        data = data.translate(_TO_SPACE)
        if not data.isascii():
            data = _NON_ASCII_SPACES.sub(b" ", data)
        words = data.split()  # ASCII whitespace, all mapped to b" " already
        recent = self.recent
        parts = list(map(recent.get, words))
        if None in parts:
            absent = set(compress(words, map(is_, parts, repeat(None))))
            older = self.older
            new = {w: older[w] for w in absent if w in older}  # still in use: kept a generation more
            missing = [w for w in absent if w not in new]
            if len(missing) >= _FEW_WORDS:
                new.update(zip(missing, self._rows_many(missing)))
            else:
                new.update((w, self.word_rows(w.decode("utf-8", "surrogatepass"), True)) for w in missing)
            recent.update(new)
            if len(recent) > _WORD_CACHE_GENERATION:
                self.older, self.recent = recent, {}
            parts = list(map(new.get, words, parts))
        if words and not data.endswith(b" "):  # the last word has no space after it
            last = words[-1]
            rows = self.last_words.get(last)
            if rows is None:
                if len(self.last_words) > _WORD_CACHE_GENERATION:
                    self.last_words = {}
                rows = self.last_words[last] = self.word_rows(last.decode("utf-8", "surrogatepass"), False)
            parts[-1] = rows
        return np.frombuffer(b"".join(parts), dtype=np.int32)


_WORD_CACHE_GENERATION = 50_000  # words (about 230 bytes each) a cache generation holds
_FEW_WORDS = 8  # fewer missing words than this go through word_rows, one by one
_HASH_BITS = 20
_HASH_MASK = np.uint64((1 << _HASH_BITS) - 1)
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _pack(gram: str) -> int:
    """An n-gram as an integer: 21 bits a character (no normalised character is U+0000)."""
    key = 0
    for ch in gram:
        key = key << 21 | ord(ch)
    return key


def _hash_table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open addressing (linear probing) table: slot -> key (0: empty) and slot -> index of the key."""
    assert len(np.unique(keys)) == len(keys) and keys.all()
    table_keys = np.zeros(1 << _HASH_BITS, dtype=np.uint64)
    table_rows = np.full(1 << _HASH_BITS, -1, dtype=np.int32)
    pending = np.arange(len(keys))
    slots = (keys * _HASH_MULTIPLIER) >> np.uint64(64 - _HASH_BITS)
    while len(pending):
        free = pending[table_keys[slots[pending]] == 0]
        taken, first = np.unique(slots[free], return_index=True)  # one key per free slot
        table_keys[taken] = keys[free[first]]
        table_rows[taken] = free[first]
        placed = np.zeros(len(keys), dtype=bool)
        placed[free[first]] = True
        pending = pending[~placed[pending]]
        slots[pending] = (slots[pending] + np.uint64(1)) & _HASH_MASK
    return table_keys, table_rows


_model: _Model | None = None
_lock = threading.Lock()


def _get_model() -> _Model:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _Model()
    return _model


# --- the random numbers of Detector.random after .seed(seed) ----------------------------------------

class _Stream:
    """The 32-bit Mersenne Twister outputs of random.Random seeded with `seed`, drawn once."""

    def __init__(self, seed) -> None:
        self.rng = random.Random()
        self.rng.seed(seed)  # what Detector._detect_block does to its own Random instance
        self.words = self._draw(1 << 15)
        self.lock = threading.Lock()

    def _draw(self, n: int) -> np.ndarray:
        # getrandbits(32 * n) is n successive genrand_uint32() outputs, the first one least significant
        return np.frombuffer(self.rng.getrandbits(32 * n).to_bytes(4 * n, "little"), dtype="<u4")

    def upto(self, end: int) -> np.ndarray:
        words = self.words
        if end > len(words):
            with self.lock:
                words = self.words
                if end > len(words):
                    more = self._draw(max(end, 2 * len(words)) - len(words))
                    words = self.words = np.concatenate([words, more])
        return words


_streams: dict = {}


def _get_stream(seed) -> _Stream:
    if seed is None:  # random.seed(None): fresh entropy on every detection, as langdetect
        return _Stream(None)
    key = (type(seed), seed)
    stream = _streams.get(key)
    if stream is None:
        stream = _streams.setdefault(key, _Stream(seed))
    return stream


def _random(words: np.ndarray, pos: int) -> float:
    """random.random() from the outputs at pos and pos + 1 (CPython's genrand_res53)."""
    a, b = words[pos:pos + 2].tolist()
    return ((a >> 5) * 67108864.0 + (b >> 6)) * (1.0 / 9007199254740992.0)


def _gauss(stream: _Stream, pos: int, gauss_next: float | None) -> tuple[float, int, float | None]:
    """random.gauss(0.0, 1.0) at stream position pos with gauss_next cached: (value, pos, gauss_next)."""
    if gauss_next is None:
        words = stream.upto(pos + 4)
        x2pi = _random(words, pos) * _TWOPI
        g2rad = math.sqrt(-2.0 * math.log(1.0 - _random(words, pos + 2)))
        z = math.cos(x2pi) * g2rad
        return 0.0 + z * 1.0, pos + 4, math.sin(x2pi) * g2rad
    return 0.0 + gauss_next * 1.0, pos, None


# --- detection --------------------------------------------------------------------------------------

def detect_langs(text: str, seed=0) -> list[Language]:
    """``langdetect.detect_langs(text)`` with ``DetectorFactory.seed = seed`` (C4: 0), bit for bit."""
    model = _get_model()
    rows = model.ngram_rows(_prepare(text))
    n = len(rows)
    if not n:
        raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
    return _sort_probability(model.langlist, _detect_block(model, rows, _get_stream(seed)))


def clear_caches() -> None:
    """Forget the memoised words (the profiles stay loaded)."""
    if _model is not None:
        _model.recent, _model.older, _model.last_words = {}, {}, {}


def _sort_probability(langlist: list[str], prob: list[float]) -> list[Language]:
    result = [Language(lang, p) for (lang, p) in zip(langlist, prob) if p > _PROB_THRESHOLD]
    result.sort(reverse=True)
    return result


def _detect_block(model: _Model, rows: np.ndarray, stream: _Stream) -> list[float]:
    langprob = np.zeros(len(model.langlist))
    draws = _Draws(stream, rows)
    pos = 0
    gauss_next = None
    for _ in range(_N_TRIAL):
        gauss, pos, gauss_next = _gauss(stream, pos, gauss_next)
        alpha = _ALPHA + gauss * _ALPHA_WIDTH
        first = draws.index(pos)
        prob, updates = _trial(model, draws, first, alpha / _BASE_FREQ)
        pos = draws.end(first, updates)
        langprob += prob / _N_TRIAL
    return langprob.tolist()


class _Draws:
    """Every random.choice(ngrams) the stream would give, wherever a choice starts.

    choice is _randbelow(n): getrandbits(k) (k = n.bit_length(), one stream word >> (32 - k)),
    drawn again while >= n. The words a choice rejects would be rejected at any starting point, so
    the choices made from position p on are the accepted candidates at positions >= p, in order.
    """

    __slots__ = ("stream", "rows", "n", "shift", "size", "accepted", "chosen")

    def __init__(self, stream: _Stream, rows: np.ndarray) -> None:
        self.stream, self.rows = stream, rows
        self.n = len(rows)
        self.shift = 32 - self.n.bit_length()
        self.size = 0
        self._draw(1024)

    def _draw(self, size: int) -> None:
        candidates = self.stream.upto(size)[:size] >> self.shift
        self.accepted = np.flatnonzero(candidates < self.n)
        self.chosen = self.rows[candidates[self.accepted]]  # profile rows of the accepted choices
        self.size = size

    def index(self, pos: int) -> int:
        """The index (in accepted) of the first choice made from stream position pos."""
        while True:
            i = int(self.accepted.searchsorted(pos))
            if i < len(self.accepted):
                return i
            self._draw(4 * self.size)

    def rows_of(self, first: int, count: int) -> np.ndarray:
        """Profile rows of the choices first .. first + count - 1."""
        while first + count > len(self.accepted):
            self._draw(4 * self.size)
        return self.chosen[first:first + count]

    def end(self, first: int, count: int) -> int:
        """The stream position after choices first .. first + count - 1."""
        return int(self.accepted[first + count - 1]) + 1


_FIRST_CHUNK = 12  # blocks; half the trials on web text converge within eight


def _trial(model: _Model, draws: _Draws, first: int, weight: float) -> tuple[np.ndarray, int]:
    """One trial's loop; returns the final (normalised) probabilities and the number of updates.

    Block b (0 .. 200) is one normalisation interval of the reference: the update i = 0 alone, then
    the updates i = 5b - 4 .. 5b. It is 6 rows: the probabilities, then its factors weight + P[ngram]
    (block 0: one factor, then four rows of 1.0, which multiply exactly), so that
    multiply.reduce(axis=0) multiplies in the reference's order.

    Convergence is max(p) > CONV_THRESHOLD with p = q / total; max(q) / total is the same number
    (rounding is monotone). It is only computed when the previous leader `lead` has a share
    <= 1e-4: otherwise every other language has at most 1 - 1e-4 of the sum (summation error is
    ~1e-14), so only `lead` can pass the threshold.
    """
    matrix = model.matrix
    nlang = len(model.langlist)
    reduce, divide = np.multiply.reduce, np.divide
    lead = 0
    done, count = 0, _FIRST_CHUNK
    while True:
        rows = draws.rows_of(first, 5 * (done + count) - 4)
        index = np.empty((count, 6), dtype=np.intp)
        index[:, 0] = 0  # replaced by the probabilities
        if done:
            index[:, 1:] = rows[5 * done - 4:].reshape(count, 5)
        else:
            index[0, 1] = rows[0]
            index[0, 2:] = 0  # replaced by 1.0
            index[1:, 1:] = rows[1:].reshape(count - 1, 5)
        blocks = matrix[index]
        blocks += weight
        if done:
            divide(q, total, blocks[0, 0])
        else:
            blocks[0, 0] = model.init_prob
            blocks[0, 2:] = 1.0
            q = np.empty(nlang)
        for j in range(count):
            reduce(blocks[j], 0, None, q)
            values = q.tolist()
            total = sum(values)
            head = blocks[j + 1, 0] if j + 1 < count else np.empty(nlang)
            divide(q, total, head)
            share = values[lead] / total
            if share > 1e-4:
                converged = share > _CONV_THRESHOLD
            else:
                top = max(values)
                lead = values.index(top)
                converged = top / total > _CONV_THRESHOLD
            if converged or done + j >= _N_BLOCKS:
                return head, 5 * (done + j) + 1
        done += count
        count = min(3 * count, _N_BLOCKS + 1 - done)

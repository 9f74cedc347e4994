"""MinHash LSH: the math of GPT-3-style fuzzy deduplication, without Beam.

References:

* GPT-3 (Brown et al. 2020, appendix A): "we fuzzily deduplicated documents (i.e. removed documents
  with high overlap with other documents) within each dataset using Spark's MinHashLSH implementation
  with 10 hashes, using the same features as were used for classification above" -- the features are
  the words of Spark's standard ``Tokenizer`` (lower-cased, split on whitespace). Spark's
  ``MinHashLSH(numHashTables=10)`` is OR-amplification over 10 single MinHash values (Spark implements
  no AND-amplification: every hash table holds a vector of dimension 1), i.e. **10 bands of 1 row**:
  two documents are candidates when any one of the 10 MinHash values agrees. Preset ``gpt3``.
* FineWeb (datatrove ``src/datatrove/pipeline/dedup/minhash.py``, ``MinhashConfig``): word 5-grams of
  ``simplify_text`` (``src/datatrove/utils/text.py``, default ``TextNormConfig``), **14 buckets of 8
  hashes** (112 permutations), seed 1. Preset ``fineweb``.
* datasketch 2.0.0 (``datasketch/minhash.py``, ``datasketch/lsh.py``): the signatures here are
  bit-identical to ``datasketch.MinHash(num_perm, seed, scheme=...)`` fed the same 32-bit shingle
  hashes, the band keys are the keys ``MinHashLSH`` stores, and the LSH shape for a threshold is
  ``MinHashLSH``'s own choice.

The steps, each a pure function:

1. ``words(text)``: normalisation and word split (below).
2. ``shingles(text, n)`` / ``shingle_hashes(text, n)``: word n-grams, joined by single spaces, hashed to
   32 bits, as a set (sorted unique ``uint32``: repeats cannot change a minimum).
3. ``signatures(hashes, num_perm, seed)``: MinHash signatures of a batch of documents, vectorised.
4. ``band_keys(signatures, bands, rows)``: the LSH bucket keys; documents sharing a key are candidates.
5. ``jaccard(a, b)``: the exact Jaccard similarity of two shingle sets, to verify candidates.

**Normalisation** ``"datatrove"`` (the default) is datatrove's ``simplify_text`` with its default
``TextNormConfig``, in its order: lower-case; every whitespace character (``str.isspace``, which is
what ``re``'s ``\\s`` matches) becomes a space; datatrove's ``PUNCTUATION`` characters (ASCII and CJK
punctuation, typographic quotes and dashes, C0/C1 control characters) are deleted; NFD, then every
combining mark (category ``Mn``) is deleted (so "café" -> "cafe"); every run of decimal digits
(``\\d+``, category ``Nd``) becomes "0". Words are then the whitespace-separated tokens. Where datatrove
then runs a language's word tokenizer (NLTK's Treebank tokenizer for English), this splits on
whitespace only: after punctuation removal the two differ only on Treebank's contraction rules
("cannot" -> "can not", "gonna" -> "gon na"). ``"spark"`` (the GPT-3 preset) is Spark's
``Tokenizer``: lower-case and split on whitespace, punctuation kept (``str.split``'s Unicode
whitespace, where Java's ``\\s`` is ASCII whitespace only; no empty tokens).

**Short documents**: a document with at least one word but fewer than ``n`` gets one shingle, all of
its words (datatrove gives it no shingle at all, so it is never deduplicated; here short pages that are
equal after normalisation still meet). A document without words gets no shingles: its signature is the
empty value (every entry the scheme's maximum, as datasketch's), ``band_keys`` gives it no key, and its
Jaccard similarity with anything is 0.

**Shingle hashes**: ``"sha1"`` is datasketch's (and datatrove's) ``sha1_hash32``: the first 4 bytes,
little-endian, of the SHA-1 of the shingle's UTF-8 bytes -- exactly what ``MinHash.update(shingle
.encode("utf-8"))`` hashes, so signatures match datasketch objects fed the same shingles. It costs one
SHA-1 call per shingle (about 5 MB/s of text per core through shingling + signatures, against 18 MB/s
with ``"poly"``). ``"poly"`` (the default) hashes all shingles of a document at once in NumPy: the
polynomial ``sum_j (c_j + 1) * P**j mod 2**64`` over the shingle's code points ``c_j`` (``P =
POLY_BASE``), through the 64-bit MurmurHash3 finaliser, high 32 bits. It is a different function of
the same shingle (different signatures, the same statistics), defined on code points, so it does not
depend on the platform or an encoding. Use one hash per corpus: signatures made with different
hashes (or schemes, or seeds) do not compare.

**Schemes** (how a 32-bit shingle hash ``h`` is permuted; ``"affine32"`` is datasketch 2.0's default):
``"affine32"``: ``a * fmix32(h) + b mod 2**32`` in ``uint32`` (``a`` odd, a bijection); ``"legacy"``
(datasketch before 2.0; datatrove's formula, though datatrove draws its own ``a``, ``b``): ``((a * h +
b) mod 2**64 mod (2**61 - 1)) & (2**32 - 1)`` in ``uint64`` -- NumPy's ``uint64`` product wraps
before the modulo, and so does this. ``legacy`` is about 8x slower (64-bit products, the modulo).
Signatures come back in the dtype of datasketch's ``hashvalues`` for the scheme: ``uint32`` for
``affine32``, ``uint64`` for ``legacy``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from operator import methodcaller
from typing import Literal

import numpy as np

try:  # CPython's own SHA-1: the same digests as hashlib's OpenSSL one, less overhead per call
    from _sha1 import sha1 as _sha1
except ImportError:  # pragma: no cover
    from hashlib import sha1 as _sha1

Scheme = Literal["affine32", "legacy"]
ShingleHash = Literal["poly", "sha1"]
Normalization = Literal["datatrove", "spark"]

SCHEMES = ("affine32", "legacy")
SHINGLE_HASHES = ("poly", "sha1")
NORMALIZATIONS = ("datatrove", "spark")

# Named shapes. ``ngram``: words per shingle; ``bands`` x ``rows`` = ``num_perm`` permutations.
PRESETS: dict[str, dict] = {
    # Brown et al. 2020, appendix A: Spark MinHashLSH, numHashTables=10, over the classifier's
    # features (Spark Tokenizer words): OR over 10 single MinHash values; P(candidate) = 1 - (1 - s)^10.
    "gpt3": {"ngram": 1, "bands": 10, "rows": 1, "num_perm": 10, "normalization": "spark"},
    # datatrove MinhashConfig defaults (FineWeb): n_grams=5, num_buckets=14, hashes_per_bucket=8.
    # P(candidate) = 1 - (1 - s^8)^14: 0.5 at s = 0.69, 0.92 at s = 0.8.
    "fineweb": {"ngram": 5, "bands": 14, "rows": 8, "num_perm": 112, "normalization": "datatrove"},
}

# datatrove src/datatrove/utils/text.py PUNCTUATION (verbatim), deleted by "datatrove" normalisation.
PUNCTUATION = (
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
) + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)))
)

# "poly" shingle hash: an odd 64-bit base (2^64 / golden ratio) and its inverse modulo 2^64.
POLY_BASE = 0x9E3779B97F4A7C15
_POLY_INVERSE = pow(POLY_BASE, -1, 1 << 64)
_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))

_MERSENNE = np.uint64((1 << 61) - 1)  # datasketch _mersenne_prime
_MAX_HASH32 = np.uint64((1 << 32) - 1)  # datasketch _max_hash
_EMPTY = {"affine32": np.uint32(0xFFFFFFFF), "legacy": np.uint64(0xFFFFFFFF)}
_DTYPE = {"affine32": np.dtype(np.uint32), "legacy": np.dtype(np.uint64)}
_KEY_DTYPE = {"affine32": np.dtype(">u4"), "legacy": np.dtype(">u8")}  # MinHashLSH._byteswap

_DIGEST = methodcaller("digest")
_SPACE, _ZERO = 32, 48
_DELETE = 0xFFFFFFFF  # code-point map: delete this character
_MARK = 0xFFFFFFFE  # code-point map after NFD: a combining mark (category Mn), deleted


# --- normalisation ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _code_point_maps() -> tuple[np.ndarray, np.ndarray]:
    """Two code point -> code point tables for "datatrove" normalisation, built once per process
    (a few tenths of a second: the Unicode category of every code point, from this Python's
    ``unicodedata``, so the tables follow the same Unicode version as datatrove on this Python).

    ``before_nfd``: whitespace -> space, PUNCTUATION -> delete, decimal digits -> "0", else itself.
    ``after_nfd``: whitespace -> space, combining marks -> delete, decimal digits -> "0", else itself.
    """
    every = "".join(map(chr, range(0x110000)))
    whitespace = [m.start() for m in re.finditer(r"\s", every)]
    digits = [m.start() for m in re.finditer(r"\d", every)]
    marks = [i for i, category in enumerate(map(unicodedata.category, every)) if category == "Mn"]
    identity = np.arange(0x110000, dtype=np.uint32)
    before, after = identity.copy(), identity
    # simplify_text's order: whitespace -> " ", then punctuation deleted (the fullwidth digit "１" is
    # in PUNCTUATION), then NFD and marks, then digits -> "0". The later assignment wins.
    before[digits] = after[digits] = _ZERO
    before[[ord(c) for c in PUNCTUATION]] = _DELETE
    after[marks] = _MARK
    before[whitespace] = after[whitespace] = _SPACE
    for table in (before, after):
        table.flags.writeable = False
    return before, after


def _to_code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _from_code_points(code_points: np.ndarray) -> str:
    return code_points.tobytes().decode("utf-32-le", "surrogatepass")


def normalized_code_points(text: str, normalization: Normalization = "datatrove") -> np.ndarray:
    """The normalised text as code points: its words joined by single spaces (``uint32``)."""
    if normalization == "spark":
        return _to_code_points(" ".join(text.lower().split()))
    if normalization != "datatrove":
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    before, after = _code_point_maps()
    cps = before.take(_to_code_points(text.lower()))
    cps = cps[cps != _DELETE]
    if cps.size and cps.max() >= 0xC0:  # below U+00C0 nothing decomposes and nothing is a mark
        text = _from_code_points(cps)
        if not unicodedata.is_normalized("NFD", text):
            text = unicodedata.normalize("NFD", text)
        cps = after.take(_to_code_points(text))
        cps = cps[cps != _MARK]
    # Collapse runs of digits (now runs of "0") and of spaces; drop leading and trailing spaces.
    run = np.empty(cps.size, dtype=bool)
    if cps.size:
        space, zero = cps == _SPACE, cps == _ZERO
        run[0] = space[0]
        np.logical_or(space[1:] & space[:-1], zero[1:] & zero[:-1], out=run[1:])
        cps = cps[~run]
        if cps.size and cps[-1] == _SPACE:
            cps = cps[:-1]
    return cps


def words(text: str, normalization: Normalization = "datatrove") -> list[str]:
    """The normalised words of a text (see the module docstring)."""
    normalized = _from_code_points(normalized_code_points(text, normalization))
    return normalized.split(" ") if normalized else []


def _shingle_spans(cps: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) code point offsets of each word n-gram of normalised text; one span for a text of
    1 to n-1 words, none for an empty one."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not cps.size:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    spaces = np.flatnonzero(cps == _SPACE)
    if spaces.size + 1 < n:
        return np.zeros(1, dtype=np.int64), np.array([cps.size], dtype=np.int64)
    starts = np.concatenate(([0], spaces + 1))
    ends = np.concatenate((spaces, [cps.size]))
    return starts[: starts.size - n + 1], ends[n - 1:]


def shingles(text: str, n: int = 5, normalization: Normalization = "datatrove") -> list[str]:
    """The word n-grams of a text in order, repeats included: what to feed ``datasketch.MinHash``
    (as ``s.encode("utf-8")``) for the same sets as ``shingle_hashes(..., hash="sha1")``."""
    cps = normalized_code_points(text, normalization)
    text = _from_code_points(cps)
    # code point offsets == str offsets
    return [text[s:e] for s, e in zip(*(a.tolist() for a in _shingle_spans(cps, n)))]


def _fmix64(h: np.ndarray) -> np.ndarray:
    shift, m1, m2 = _FMIX64
    h ^= h >> shift
    h *= m1
    h ^= h >> shift
    h *= m2
    h ^= h >> shift
    return h


def _poly_hashes(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The "poly" hash of each span [start, end) of ``cps`` (see the module docstring), vectorised:
    with prefix sums S[k] = sum_{j<k} (c_j + 1) P^j, a span's polynomial is (S[e] - S[s]) * P^-s."""
    size = cps.size
    powers = np.empty(size, dtype=np.uint64)
    powers[0] = 1
    if size > 1:
        powers[1:] = POLY_BASE
        np.multiply.accumulate(powers, out=powers)
    prefix = np.zeros(size + 1, dtype=np.uint64)
    terms = cps.astype(np.uint64)
    terms += np.uint64(1)
    terms *= powers
    np.cumsum(terms, out=prefix[1:])
    inverse = np.empty(size, dtype=np.uint64)
    inverse[0] = 1
    if size > 1:
        inverse[1:] = _POLY_INVERSE
        np.multiply.accumulate(inverse, out=inverse)
    h = prefix[ends] - prefix[starts]
    h *= inverse[starts]
    return (_fmix64(h) >> np.uint64(32)).astype(np.uint32)


def _sha1_hashes(cps: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each span's UTF-8 bytes."""
    data = _from_code_points(cps).encode("utf-8", "surrogatepass")
    if len(data) != cps.size:  # not ASCII: code point offsets -> byte offsets
        lengths = np.ones(cps.size + 1, dtype=np.int64)
        lengths[0] = 0
        lengths[1:] += (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
        offsets = np.cumsum(lengths)
        starts, ends = offsets[starts], offsets[ends]
    # C iterators all the way: no bytecode per shingle
    pieces = map(memoryview(data).__getitem__, map(slice, starts.tolist(), ends.tolist()))
    digests = b"".join(map(_DIGEST, map(_sha1, pieces)))
    return np.frombuffer(digests, dtype="<u4")[::5].astype(np.uint32)


def shingle_hashes(text: str, n: int = 5, hash: ShingleHash = "poly",
                   normalization: Normalization = "datatrove") -> np.ndarray:
    """The set of a text's 32-bit shingle hashes: sorted unique ``uint32`` (empty for a text without
    words). ``hash="sha1"`` gives exactly the values datasketch computes for ``shingles(text, n)``."""
    cps = normalized_code_points(text, normalization)
    starts, ends = _shingle_spans(cps, n)
    if not starts.size:
        return np.zeros(0, dtype=np.uint32)
    if hash == "poly":
        hashes = _poly_hashes(cps, starts, ends)
    elif hash == "sha1":
        hashes = _sha1_hashes(cps, starts, ends)
    else:
        raise ValueError(f"hash must be one of {SHINGLE_HASHES}, got {hash!r}")
    hashes.sort()
    keep = np.empty(hashes.size, dtype=bool)
    keep[0] = True
    np.not_equal(hashes[1:], hashes[:-1], out=keep[1:])
    return hashes[keep]


# --- signatures ------------------------------------------------------------------------------------
@lru_cache(maxsize=32)
def permutations(num_perm: int, seed: int = 1,
                 scheme: Scheme = "affine32") -> tuple[np.ndarray, np.ndarray]:
    """The permutation parameters (a, b) datasketch draws for ``MinHash(num_perm, seed, scheme=...)``:
    taken from a datasketch object, not re-derived (read-only arrays)."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    from datasketch import MinHash

    drawn = MinHash(num_perm, seed, scheme=scheme).permutations
    a, b = (np.array(p, dtype=_DTYPE[scheme]) for p in drawn)
    a.flags.writeable = b.flags.writeable = False
    return a, b


def signatures(shingle_hashes: Sequence[np.ndarray], num_perm: int = 128, seed: int = 1,
               scheme: Scheme = "affine32", chunk_values: int = 1 << 19) -> np.ndarray:
    """MinHash signatures of a batch of documents: row i is ``datasketch.MinHash(num_perm, seed,
    scheme=scheme)`` updated with the 32-bit hashes ``shingle_hashes[i]`` (bit for bit), shape
    ``(len(shingle_hashes), num_perm)``, ``uint32`` (affine32) or ``uint64`` (legacy). A document
    without shingles gets the empty signature (every entry 2**32 - 1).

    The work runs over all documents' shingles at once, ``chunk_values`` permuted values (about
    ``chunk_values / num_perm`` shingles; 2 MB for affine32 by default, cache-sized) at a time, so
    memory stays bounded whatever the batch: the batch's hashes (4 bytes a shingle) plus the chunk.
    """
    a, b = permutations(num_perm, seed, scheme)
    out = np.full((len(shingle_hashes), num_perm), _EMPTY[scheme], dtype=_DTYPE[scheme])
    arrays = [_as_hashes(h) for h in shingle_hashes]
    lengths = np.fromiter((h.size for h in arrays), dtype=np.int64, count=len(arrays))
    docs = np.flatnonzero(lengths)
    if not docs.size:
        return out
    values = np.concatenate([arrays[i] for i in docs.tolist()])
    ends = np.cumsum(lengths[docs])
    starts = ends - lengths[docs]
    if scheme == "affine32":
        from datasketch.minhash import _fmix

        values = _fmix(values, 32)  # datasketch's pre-mix: the MurmurHash3 32-bit finaliser
    else:
        values = values.astype(np.uint64)
    step = max(1, chunk_values // num_perm)
    # (num_perm, shingles) layout: long contiguous inner loops for NumPy's SIMD kernels.
    a, b = a[:, None], b[:, None]
    buffer = np.empty((num_perm, min(step, values.size)), dtype=_DTYPE[scheme])
    scratch = np.empty_like(buffer) if scheme == "legacy" else None
    for c0 in range(0, values.size, step):
        c1 = min(c0 + step, values.size)
        phv = buffer[:, : c1 - c0]
        np.multiply(a, values[None, c0:c1], out=phv)  # wraps, as datasketch's arrays do
        phv += b
        if scheme == "legacy":
            _mod_mersenne(phv, scratch[:, : c1 - c0])
            phv &= _MAX_HASH32
        # the documents overlapping [c0, c1) and where each starts inside it
        d0, d1 = np.searchsorted(ends, c0, "right"), np.searchsorted(starts, c1, "left")
        rows = docs[d0:d1]
        mins = np.minimum.reduceat(phv, np.maximum(starts[d0:d1], c0) - c0, axis=1)
        out[rows] = np.minimum(out[rows], mins.T)
    return out


def _mod_mersenne(x: np.ndarray, scratch: np.ndarray) -> None:
    """x %= 2**61 - 1 in place, for uint64 x, without a division: 2**61 = 1 (mod 2**61 - 1), so
    x = hi * 2**61 + lo = hi + lo, which is below 2 * (2**61 - 1): subtract once if needed."""
    np.right_shift(x, np.uint64(61), out=scratch)
    x &= _MERSENNE
    x += scratch
    np.greater_equal(x, _MERSENNE, out=scratch, casting="unsafe")
    scratch *= _MERSENNE
    x -= scratch


def _as_hashes(h) -> np.ndarray:
    h = np.asarray(h)
    if h.dtype == np.uint32:
        return h.ravel()
    if h.size and (h.dtype.kind not in "iu" or int(h.min()) < 0 or int(h.max()) > 0xFFFFFFFF):
        raise ValueError("shingle hashes must be 32-bit unsigned integers")
    return h.astype(np.uint32).ravel()


def empty_signature(num_perm: int, scheme: Scheme = "affine32") -> np.ndarray:
    """The signature of a document without shingles (datasketch's initial hash values)."""
    return np.full(num_perm, _EMPTY[scheme], dtype=_DTYPE[scheme])


def to_datasketch(signature: np.ndarray, seed: int = 1, scheme: Scheme = "affine32"):
    """A ``datasketch.LeanMinHash`` holding a signature, for datasketch's own LSH and estimators."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=seed, hashvalues=signature, scheme=scheme)


# --- LSH -------------------------------------------------------------------------------------------
def band_keys(signatures: np.ndarray, bands: int, rows: int,
              skip_empty: bool = True) -> list[list[tuple[int, bytes]]]:
    """For each document, its ``(band, key)`` LSH buckets: ``key`` is the big-endian bytes of the
    band's ``rows`` hash values (``rows * 4`` bytes for uint32 signatures, ``rows * 8`` for uint64),
    the very key ``datasketch.MinHashLSH`` stores in hash table ``band``
    (``_H(hashvalues[band * rows:(band + 1) * rows])``). Bands use the first ``bands * rows`` values.
    Documents with the empty signature (no shingles) get no keys unless ``skip_empty=False`` (they
    would otherwise all share every bucket)."""
    signatures = np.asarray(signatures)
    if signatures.dtype not in (np.uint32, np.uint64):
        raise ValueError(f"signatures must be uint32 or uint64, got {signatures.dtype}")
    if signatures.ndim != 2 or bands < 1 or rows < 1 or bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows do not fit signatures of shape {signatures.shape}")
    dtype = _KEY_DTYPE["affine32" if signatures.dtype == np.uint32 else "legacy"]
    width = rows * dtype.itemsize
    data = np.ascontiguousarray(signatures[:, : bands * rows], dtype=dtype).tobytes()
    stride = bands * width
    empty = (signatures == 0xFFFFFFFF).all(axis=1) if skip_empty else np.zeros(len(signatures), dtype=bool)
    result = []
    for i, is_empty in enumerate(empty.tolist()):
        if is_empty:
            result.append([])
            continue
        base = i * stride
        result.append([(band, data[base + band * width:base + (band + 1) * width]) for band in range(bands)])
    return result


def optimal_bands_rows(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                       false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) that ``datasketch.MinHashLSH(threshold, num_perm, weights=(fp, fn))`` would use:
    its ``_optimal_param``, which minimises the weighted areas under the false-positive and
    false-negative parts of ``collision_probability`` (bands * rows may be below num_perm)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)


def collision_probability(jaccard, bands: int, rows: int):
    """P(two sets of Jaccard similarity ``jaccard`` share at least one band): 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - np.asarray(jaccard, dtype=np.float64) ** rows) ** bands


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle-hash sets (unique arrays, as ``shingle_hashes`` gives);
    0.0 when both are empty (nothing to compare is never a near-duplicate)."""
    union = a.size + b.size
    if not union:
        return 0.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (union - common)

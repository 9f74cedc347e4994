"""filters/minhash.py against its references: datatrove's simplify_text (copied below), datasketch's
MinHash / LeanMinHash / MinHashLSH (installed, pinned 2.0.0), and the LSH collision probability."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import struct
import unicodedata

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH

from filters import minhash

# --- reference: datatrove src/datatrove/utils/text.py, simplify_text with DEF_TEXT_NORM_CONFIG ----
_NUMBERS = re.compile(r"\d+")
_WHITESPACE = re.compile(r"\s+")


def datatrove_simplify_text(text: str) -> str:
    text = text.lower()
    text = _WHITESPACE.sub(" ", text.strip())
    text = text.translate(str.maketrans("", "", minhash.PUNCTUATION))
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = _NUMBERS.sub("0", text)
    return text.strip()


def sha1_hash32(data: bytes) -> int:  # datasketch.hashfunc.sha1_hash32
    return struct.unpack("<I", hashlib.sha1(data).digest()[:4])[0]


def webtext(shared) -> list[str]:
    texts = []
    for path in sorted((shared / "data/webtext").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                text = record.get("text") or record.get("text_main") or record.get("text_full") or ""
                texts.append(text[:2000])  # the reference is slow; every document, its first 2,000 characters
    return texts


def random_text(rng: np.random.Generator, vocabulary: list[str], n_words: int) -> str:
    return " ".join(rng.choice(vocabulary, size=n_words).tolist())


VOCABULARY = [f"w{i}" for i in range(300)] + ["Café", "naïve", "l'été", "über", "12,000", "日本語", "—", "..."]


# --- normalisation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("The QUICK brown Fox", ["the", "quick", "brown", "fox"]),
    ("Hello, world! (really?)", ["hello", "world", "really"]),
    ("  tabs\tand\n\nnewlines\r\n  ", ["tabs", "and", "newlines"]),
    ("don't — “quoted” ‘text’", ["dont", "quoted", "‘text"]),  # "‘" is not in datatrove's list
    ("Café naïve ÉCOLE", ["cafe", "naive", "ecole"]),
    ("in 2024, 3.14 and 1,000,000 users", ["in", "0", "0", "and", "0", "users"]),  # "3.14" -> "314"
    ("a-b a_b a/b a.b", ["ab", "ab", "ab", "ab"]),
    ("x , y", ["x", "y"]),  # a word that was only punctuation disappears
    ("vertical\x0btab and\x1cfile separator", ["vertical", "tab", "and", "file", "separator"]),
    ("１２３ x１", ["0", "x"]),  # "１" is in PUNCTUATION: deleted before digits become "0"
    ("", []),
    ("  ... !!! ", []),
])
def test_words_normalisation_cases(text, expected):
    assert minhash.words(text) == expected
    assert minhash.words(text) == datatrove_simplify_text(text).split()


def test_words_equal_datatrove_simplify_text_on_web_text(shared):
    texts = webtext(shared)
    assert len(texts) > 3000
    mismatches = [i for i, t in enumerate(texts) if minhash.words(t) != datatrove_simplify_text(t).split()]
    assert mismatches == []


def test_words_equal_datatrove_simplify_text_on_random_code_points():
    rng = np.random.default_rng(0)
    for _ in range(100):
        cps = rng.integers(0, 0x110000, size=400)
        text = "".join(map(chr, cps[(cps < 0xD800) | (cps >= 0xE000)].tolist()))
        assert minhash.words(text) == datatrove_simplify_text(text).split()
    # combining marks, digits, punctuation and spaces packed together
    alphabet = list("aé1１ ,.\t") + ["\u0301", "\u0300", "\u2260", "\u037e", "\xa0", "\x85", "Ⅻ", "٣"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet, size=30).tolist())
        assert minhash.words(text) == datatrove_simplify_text(text).split(), repr(text)


def test_spark_normalisation_keeps_punctuation():
    assert minhash.words("Hello, World!\n  x", "spark") == ["hello,", "world!", "x"]
    with pytest.raises(ValueError):
        minhash.words("x", "nfkc")


def test_shingles_and_short_documents():
    assert minhash.shingles("a b c d e f", 5) == ["a b c d e", "b c d e f"]
    assert minhash.shingles("A, b; c! d e", 5) == ["a b c d e"]
    assert minhash.shingles("a b a b", 1) == ["a", "b", "a", "b"]
    # fewer than n words: the whole document is one shingle; no words: no shingle
    assert minhash.shingles("Only three words.", 5) == ["only three words"]
    assert minhash.shingles("  !!  ", 5) == []
    assert minhash.shingle_hashes("  !!  ", 5).size == 0
    assert minhash.shingle_hashes("Only three words", 5).size == 1
    with pytest.raises(ValueError):
        minhash.shingles("a b", 0)


@pytest.mark.parametrize("n", [1, 3, 5])
def test_sha1_shingle_hashes_are_datasketch_sha1_hash32(n):
    rng = np.random.default_rng(n)
    for size in [0, 1, 2, 4, 5, 6, 50, 400]:
        text = random_text(rng, VOCABULARY, size)
        expected = sorted({sha1_hash32(s.encode("utf-8")) for s in minhash.shingles(text, n)})
        got = minhash.shingle_hashes(text, n, hash="sha1")
        assert got.dtype == np.uint32 and got.tolist() == expected


def _fmix64(h: int) -> int:
    mask = (1 << 64) - 1
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    return h ^ (h >> 33)


def poly_hash_reference(shingle: str) -> int:
    h = sum((ord(c) + 1) * pow(minhash.POLY_BASE, j, 1 << 64) for j, c in enumerate(shingle)) % (1 << 64)
    return _fmix64(h) >> 32


def test_poly_shingle_hashes_are_the_documented_polynomial():
    rng = np.random.default_rng(1)
    for n in [1, 2, 5]:
        for size in [1, 3, 5, 80]:
            text = random_text(rng, VOCABULARY, size)
            expected = sorted({poly_hash_reference(s) for s in minhash.shingles(text, n)})
            assert minhash.shingle_hashes(text, n).tolist() == expected
    with pytest.raises(ValueError):
        minhash.shingle_hashes("a b", 1, hash="md5")


def test_shingle_hashes_see_only_the_normalised_words():
    a = minhash.shingle_hashes("The cat sat on the mat, and then it slept.")
    b = minhash.shingle_hashes("the  CAT sat on the mat and then -- it slept")
    assert a.tolist() == b.tolist() and a.size == 6


# --- signatures: bit-identical to datasketch -------------------------------------------------------
def datasketch_signature(shingles: list[str], num_perm: int, seed: int, scheme: str) -> np.ndarray:
    m = MinHash(num_perm, seed, scheme=scheme)
    m.update_batch([s.encode("utf-8") for s in shingles])
    return m.hashvalues


@pytest.mark.parametrize("scheme", minhash.SCHEMES)
@pytest.mark.parametrize("num_perm", [128, 112])
@pytest.mark.parametrize("seed", [1, 7, 20240518])
def test_signatures_equal_datasketch(scheme, num_perm, seed):
    rng = np.random.default_rng(seed)
    sizes = [0, 1, 0, 2, 5, 6, 30, 200, 1000] + rng.integers(0, 300, size=40).tolist()
    texts = [random_text(rng, VOCABULARY, int(size)) for size in sizes]
    hashes = [minhash.shingle_hashes(t, 5, hash="sha1") for t in texts]
    # a small chunk makes documents straddle chunk boundaries
    for chunk_values in [1 << 18, num_perm * 7]:
        sigs = minhash.signatures(hashes, num_perm, seed, scheme=scheme, chunk_values=chunk_values)
        assert sigs.shape == (len(texts), num_perm)
        assert sigs.dtype == MinHash(num_perm, seed, scheme=scheme).hashvalues.dtype
        for text, sig in zip(texts, sigs):
            assert np.array_equal(sig, datasketch_signature(minhash.shingles(text, 5), num_perm, seed, scheme))


@pytest.mark.parametrize("scheme", minhash.SCHEMES)
def test_signatures_equal_datasketch_on_raw_32bit_values(scheme):
    """Extreme hash values (0, 2^32 - 1) and unsorted input with repeats, through datasketch's
    ``update`` one value at a time."""
    rng = np.random.default_rng(3)
    docs = [np.array([0, 0xFFFFFFFF], dtype=np.uint32), np.array([7], dtype=np.uint32),
            rng.integers(0, 1 << 32, size=500, dtype=np.uint32), np.zeros(0, dtype=np.uint32),
            np.repeat(rng.integers(0, 1 << 32, size=20, dtype=np.uint32), 3)]
    sigs = minhash.signatures(docs, 64, 5, scheme=scheme)
    for doc, sig in zip(docs, sigs):
        m = MinHash(64, 5, hashfunc=int, scheme=scheme)
        for value in doc.tolist():
            m.update(value)
        assert np.array_equal(sig, m.hashvalues)
    assert np.array_equal(sigs[3], minhash.empty_signature(64, scheme))
    # any integer dtype with 32-bit values is accepted; wider values are refused
    assert np.array_equal(minhash.signatures([docs[2].astype(np.int64)], 64, 5, scheme=scheme)[0], sigs[2])
    with pytest.raises(ValueError):
        minhash.signatures([np.array([1 << 32], dtype=np.uint64)], 64, 5, scheme=scheme)


def test_signatures_of_nothing():
    assert minhash.signatures([], 16, 1).shape == (0, 16)
    empty = minhash.signatures([np.zeros(0, np.uint32)] * 2, 16, 1)
    assert (empty == 0xFFFFFFFF).all()


def test_permutations_are_datasketchs():
    for scheme in minhash.SCHEMES:
        a, b = minhash.permutations(112, 9, scheme)
        expected = MinHash(112, 9, scheme=scheme).permutations
        assert np.array_equal(a, expected[0]) and np.array_equal(b, expected[1])
    # legacy: datasketch draws (a, b) pairs from np.random.RandomState(seed)
    gen = np.random.RandomState(9)
    pairs = [(gen.randint(1, (1 << 61) - 1, dtype=np.uint64), gen.randint(0, (1 << 61) - 1, dtype=np.uint64))
             for _ in range(112)]
    assert minhash.permutations(112, 9, "legacy")[0].tolist() == [int(p[0]) for p in pairs]


# --- LSH -------------------------------------------------------------------------------------------
def near_duplicates(rng: np.random.Generator, count: int, words: int) -> list[str]:
    """Groups of documents: an original and copies with a few words changed."""
    texts = []
    for _ in range(count):
        original = rng.choice(VOCABULARY[:300], size=words).tolist()
        texts.append(" ".join(original))
        for edits in (1, 3, 10, 40):
            copy = list(original)
            for position in rng.choice(words, size=edits, replace=False).tolist():
                copy[position] = f"x{rng.integers(1000)}"
            texts.append(" ".join(copy))
    return texts


@pytest.mark.parametrize("scheme", minhash.SCHEMES)
@pytest.mark.parametrize("bands, rows", [(14, 8), (10, 1), (5, 25)])
def test_lsh_interoperates_with_datasketch(scheme, bands, rows):
    rng = np.random.default_rng(bands)
    num_perm = 128 if bands * rows <= 128 else bands * rows
    texts = near_duplicates(rng, 12, 120)
    hashes = [minhash.shingle_hashes(t, 5, hash="sha1") for t in texts]
    sigs = minhash.signatures(hashes, num_perm, 1, scheme=scheme)
    ours = MinHashLSH(num_perm=num_perm, params=(bands, rows))
    theirs = MinHashLSH(num_perm=num_perm, params=(bands, rows))
    objects = [MinHash(num_perm, 1, scheme=scheme) for _ in texts]
    for i, (text, sig, m) in enumerate(zip(texts, sigs, objects)):
        m.update_batch([s.encode("utf-8") for s in minhash.shingles(text, 5)])
        ours.insert(i, minhash.to_datasketch(sig, 1, scheme))
        theirs.insert(i, m)
    buckets: dict = {}
    for i, keys in enumerate(minhash.band_keys(sigs, bands, rows)):
        for band, key in keys:
            assert len(key) == rows * sigs.dtype.itemsize
            assert key == theirs._H(objects[i].hashvalues[band * rows:(band + 1) * rows])  # the stored key
            assert i in theirs.hashtables[band].get(key)
            buckets.setdefault((band, key), set()).add(i)
    found_any = False
    for i, m in enumerate(objects):
        expected = sorted(theirs.query(m))
        assert sorted(ours.query(LeanMinHash(m))) == expected
        assert sorted(ours.query(minhash.to_datasketch(sigs[i], 1, scheme))) == expected
        # a document's candidates are exactly the documents it shares a band key with
        shared = set().union(*(buckets[k] for k in minhash.band_keys(sigs[i:i + 1], bands, rows)[0]))
        assert sorted(shared) == expected
        found_any |= len(expected) > 1
    assert found_any


def test_band_keys_format_and_empty_documents():
    sigs = minhash.signatures([np.array([1, 2, 3], np.uint32), np.zeros(0, np.uint32)], 12, 1)
    keys = minhash.band_keys(sigs, 3, 4)
    assert [band for band, _ in keys[0]] == [0, 1, 2]
    assert keys[0][1][1] == sigs[0, 4:8].astype(">u4").tobytes()
    assert keys[1] == []  # no shingles: no buckets
    assert len(minhash.band_keys(sigs, 3, 4, skip_empty=False)[1]) == 3
    assert len(minhash.band_keys(sigs, 2, 5)[0]) == 2  # bands * rows below num_perm: the first 10
    legacy = minhash.signatures([np.array([1, 2, 3], np.uint32)], 12, 1, scheme="legacy")
    assert len(minhash.band_keys(legacy, 3, 4)[0][0][1]) == 32
    with pytest.raises(ValueError):
        minhash.band_keys(sigs, 4, 4)


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [112, 128])
def test_optimal_bands_rows_equal_minhashlsh(threshold, num_perm):
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert minhash.optimal_bands_rows(threshold, num_perm) == (lsh.b, lsh.r)
    weighted = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.3, 0.7))
    assert minhash.optimal_bands_rows(threshold, num_perm, 0.3, 0.7) == (weighted.b, weighted.r)


def test_collision_probability_formula():
    assert minhash.collision_probability(0.0, 14, 8) == 0.0
    assert minhash.collision_probability(1.0, 14, 8) == 1.0
    assert minhash.collision_probability(0.8, 14, 8) == pytest.approx(1 - (1 - 0.8 ** 8) ** 14)
    assert minhash.collision_probability(0.5, 10, 1) == pytest.approx(1 - 0.5 ** 10)
    curve = minhash.collision_probability(np.linspace(0, 1, 11), 14, 8)
    assert np.all(np.diff(curve) > 0)


@pytest.mark.parametrize("scheme", minhash.SCHEMES)
@pytest.mark.parametrize("bands, rows", [(14, 8), (10, 1), (20, 5)])
def test_lsh_collision_rate_matches_theory(scheme, bands, rows):
    """Over many random set pairs of Jaccard s, the fraction sharing a band is 1 - (1 - s^r)^b."""
    rng = np.random.default_rng(rows)
    pairs, union = 400, 200
    for s in [0.3, 0.5, 0.7, 0.8, 0.9]:
        common = round(s * union)
        left = (union - common) // 2
        docs = []
        for _ in range(pairs):
            values = rng.choice(1 << 32, size=union, replace=False).astype(np.uint32)
            docs += [values[: common + left], np.concatenate([values[:common], values[common + left:]])]
        exact = minhash.jaccard(np.unique(docs[0]), np.unique(docs[1]))
        assert exact == pytest.approx(common / union)
        keys = minhash.band_keys(minhash.signatures(docs, bands * rows, 11, scheme=scheme), bands, rows)
        hits = sum(bool(set(keys[2 * i]) & set(keys[2 * i + 1])) for i in range(pairs))
        p = float(minhash.collision_probability(exact, bands, rows))
        bound = 4.5 * np.sqrt(p * (1 - p) / pairs) + 0.02
        assert abs(hits / pairs - p) <= bound, (s, hits / pairs, p)


def test_jaccard_is_exact():
    rng = np.random.default_rng(4)
    for _ in range(50):
        a = set(rng.integers(0, 300, size=100).tolist())
        b = set(rng.integers(0, 300, size=80).tolist())
        arr = lambda x: np.array(sorted(x), dtype=np.uint32)  # noqa: E731
        assert minhash.jaccard(arr(a), arr(b)) == pytest.approx(len(a & b) / len(a | b))
    empty = np.zeros(0, np.uint32)
    assert minhash.jaccard(empty, empty) == 0.0
    assert minhash.jaccard(empty, np.array([1], np.uint32)) == 0.0
    doc = minhash.shingle_hashes("one two three four five six seven")
    assert minhash.jaccard(doc, doc) == 1.0


def test_presets():
    assert minhash.PRESETS["fineweb"] == {"ngram": 5, "bands": 14, "rows": 8, "num_perm": 112,
                                          "normalization": "datatrove"}
    assert minhash.PRESETS["gpt3"] == {"ngram": 1, "bands": 10, "rows": 1, "num_perm": 10,
                                       "normalization": "spark"}
    for preset in minhash.PRESETS.values():
        assert preset["bands"] * preset["rows"] == preset["num_perm"]
        assert preset["normalization"] in minhash.NORMALIZATIONS

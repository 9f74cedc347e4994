"""filters/langdetect_fast.py against langdetect itself: the same predictions, bit for bit.

``detect_langs(text)`` must return what ``langdetect.detect_langs(text)`` returns with
``DetectorFactory.seed = 0`` (C4's ``detect_english``): the same languages in the same order with
exactly equal float probabilities, or the same exception (class, message, code). Inputs: a
deterministic third of the shared real web text (all five files, many languages; the benchmark
``bench/bench_langdetect.py`` runs every text), hand-made edge cases and Hypothesis strings. The
building blocks are checked on their own as well: the n-gram rows against ``Detector._extract_ngrams``,
the replayed random numbers against ``random.Random``, the space characters against ``NGram.normalize``
over every code point.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from collections import Counter
from pathlib import Path

import langdetect
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langdetect import DetectorFactory, detector_factory
from langdetect.language import Language
from langdetect.utils.ngram import NGram

from filters import langdetect_fast as fast

WEBTEXT_FIELDS = ("text", "text_full", "text_main")
SUBSET_STEP = 3  # every third text: about 1,570 of the 4,719


def webtext(shared: Path) -> list[tuple[str, str]]:
    """(file name, text) for every document text of data/webtext, in file order."""
    files = sorted((shared / "data" / "webtext").glob("*.jsonl.gz"))
    if not files:
        pytest.skip("no data/webtext in the shared data")
    texts = []
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                texts.extend((path.name, record[k]) for k in WEBTEXT_FIELDS if isinstance(record.get(k), str))
    return texts


def outcome(detect, text, *args):
    """What a detect_langs call gives: [(lang, prob)] or the exception (class, message, code)."""
    try:
        result = detect(text, *args)
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return ("raised", type(e), str(e), getattr(e, "code", None))
    assert all(type(p) is Language and type(p.prob) is float for p in result)
    return [(p.lang, p.prob) for p in result]


def reference(text, seed=0):
    old = DetectorFactory.seed
    DetectorFactory.seed = seed
    try:
        return outcome(langdetect.detect_langs, text)
    finally:
        DetectorFactory.seed = old


def ours(text, seed=0):
    return outcome(fast.detect_langs, text, seed)


def assert_same(texts, seed=0):
    differ = [(i, reference(t, seed), ours(t, seed)) for i, t in enumerate(texts)]
    differ = [d for d in differ if d[1] != d[2]]
    assert not differ, f"{len(differ)} of {len(texts)} differ, e.g. text {differ[0][0]}: {differ[0][1:]}"


# --- the real web text -------------------------------------------------------------------------------

def test_identical_on_web_text(shared):
    texts = webtext(shared)
    subset = texts[::SUBSET_STEP]
    assert len(subset) >= 1500 and {name for name, _ in subset} == {name for name, _ in texts}
    top = Counter()
    for i, (name, text) in enumerate(subset):
        expected, got = reference(text), ours(text)
        assert got == expected, f"{name}, text {SUBSET_STEP * i}: {got} != {expected}"
        top[expected[0][0] if expected and expected[0] != "raised" else str(expected)] += 1
    assert len(top) >= 10, top  # many languages, not just English and German


def test_ngram_rows_match_extract_ngrams(shared):
    model = fast._get_model()
    factory = detector_factory._factory
    for _, text in webtext(shared)[1::25]:
        detector = factory.create()
        detector.append(text)
        detector.cleaning_text()
        expected = [model.row[gram] for gram in detector._extract_ngrams()]
        assert model.ngram_rows(fast._prepare(text)).tolist() == expected


def test_word_paths_agree(shared):
    """The vectorised rows of many new words equal the per-word state machine, word for word."""
    model = fast._get_model()
    words = set()
    for _, text in webtext(shared)[::11]:
        data = fast._prepare(text).translate(fast._TO_SPACE)
        words.update(fast._NON_ASCII_SPACES.sub(b" ", data).split())
    words.update(w.encode("utf-8", "surrogatepass") for w in EDGE_WORDS)
    words = sorted(words)
    batch = model._rows_many(words)
    single = [model.word_rows(w.decode("utf-8", "surrogatepass"), True) for w in words]
    assert batch == single


@pytest.mark.parametrize("few_words", [0, 10**9], ids=["vectorised", "word by word"])
def test_word_cache_state_does_not_matter(shared, monkeypatch, few_words):
    """Same outputs with new words done either way and a cache that turns over every few words."""
    texts = [t for _, t in webtext(shared)[5::97]] + list(EDGE_CASES.values())[:12]
    expected = [ours(t) for t in texts]
    model = fast._get_model()
    monkeypatch.setattr(fast, "_FEW_WORDS", few_words)
    monkeypatch.setattr(fast, "_WORD_CACHE_GENERATION", 5)
    monkeypatch.setattr(model, "recent", {})
    monkeypatch.setattr(model, "older", {})
    monkeypatch.setattr(model, "last_words", {})
    assert [ours(t) for t in texts] == expected
    assert [ours(t) for t in reversed(texts)] == expected[::-1]


# --- edge cases --------------------------------------------------------------------------------------

EDGE_WORDS = ["a", "A", "AB", "ABc", "aBC", "aBcD", "NASA", "ǅungla", "ǄUNGLA", "İstanbul", "ß", "ẞIG",
              "日本語", "ｶﾀｶﾅ", "ひらがな", "한국어", "ㄅㄆ", "ي", "ی", "şţ", "șț", "Ḁḁ", "Ỡỡ", "ÀÉÎ",
              "\ud800x", "x\udfff", "\ud83d\ude00", "😀", "\u3000", "x\u0301", "e\u0300"]

ENGLISH = ("The quick brown fox jumps over the lazy dog. This sentence is written in plain English "
           "and should be detected as such by any reasonable language detector. ")
GERMAN = "Der schnelle braune Fuchs springt über den faulen Hund. Das ist ein deutscher Satz. "

EDGE_CASES = {
    "empty": "",
    "space": " ",
    "whitespace": " \t\n\r\x0b\x0c  \u00a0\u2003\u3000 ",
    "digits": "0123456789 42 3.14159 2024-05-18",
    "punctuation": "!!! ??? ... ,,, ;;; --- ((( ))) [[[ ]]] ''' \"\"\" ``` ^^^ ___ \\\\",
    "urls only": "http://example.com/path?x=1&y=2 https://www.foo.bar/baz#frag http://a.b",
    "emails only": "john.doe@example.com, x_y-z@mail.server.org; a@b.cc",
    "url and e-mail in text": "Contact us at info@example.com or visit https://example.com/about for more "
                              "information about our products and services.",
    "at sign without e-mail": "@ @@ user@ @host a @ b",
    "single word": "hello",
    "single capital word": "HELLO",
    "single letter": "a",
    # no trial converges for "e" and "Hello", two of seven for "internet": ITERATION_LIMIT
    "iteration limit e": "e",
    "iteration limit Hello": "Hello",
    "iteration limit internet": "internet",
    "capital words": "NASA FBI USA UNESCO are acronyms, AbC and aBC and ABc too",
    "long english": ENGLISH * 200,  # 20,000+ characters, beyond max_text_length
    "long, German after the limit": ENGLISH * 62 + GERMAN * 200,
    "long with spaces": ("word " + " " * 40) * 600,
    "mixed scripts": "日本語のテキストです。 This is English text. 中文字符和汉字。 한국어 문장입니다. Русский текст.",
    "mostly CJK with Latin": "東京は日本の首都です。" * 30 + " Tokyo is the capital of Japan.",
    "emoji": "😀🎉👍 great party 🎂🍰 see you there 🙂",
    "emoji only": "😀🎉👍🎂🍰🙂",
    "vietnamese decomposed": "Tie\u0302\u0301ng Vie\u0323\u0302t co\u0301 da\u0302\u0301u, "
                             "Vie\u0302\u0323t Nam la\u0300 mo\u0323\u0302t quo\u0302\u0301c gia.",
    "vietnamese composed": "Tiếng Việt có dấu, Việt Nam là một quốc gia ở Đông Nam Á.",
    "latin extended additional": "Ḁḁ Ḃḃ Ẁẁ Ỳỳ ẞ " * 20,
    "romanian comma below": "Știința și țara românească, în București.",
    "farsi yeh": "این یک متن فارسی است که برای آزمایش نوشته شده است.",
    "arabic": "هذا نص عربي قصير لاختبار كشف اللغة.",
    "cyrillic": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "greek": "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "hebrew": "דג סקרן שט בים מאוכזב ולפתע מצא חברה.",
    "thai": "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า",
    "hindi": "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम",
    "lone surrogates": "abc \ud800 def \udfff ghi \ud83d\ude00 jkl",
    "nul and controls": "hello\x00world\x01\x02 foo\x7fbar",
    "latin-1 excluded": "«quoted» 25° café naïve façade",
    "general punctuation": "word\u2019s \u201cquoted\u201d \u2014 dash\u2026 ellipsis\u2022bullet",
    "non-latin majority": "Привет мир, это проверка. Hello, world.",
    "ideographic space": "日本\u3000語\u3000\u3000テキスト",
    "titlecase": "ǅungla ǅUNGLA ǈubljana",
}


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_cases(text):
    assert ours(text) == reference(text)


@pytest.mark.parametrize("text", [None, b"bytes are not text", 42, ["a list"]], ids=repr)
def test_not_text_raises_the_same(text):
    expected = reference(text)
    assert expected[0] == "raised"
    assert ours(text) == expected


def test_no_features_exception():
    with pytest.raises(langdetect.LangDetectException, match="^No features in text.$") as info:
        fast.detect_langs("1234 !!!")
    assert info.value.code == langdetect.lang_detect_exception.ErrorCode.CantDetectError


@pytest.mark.parametrize("seed", [1, 42, 2**40 + 7])
def test_other_seeds(seed):
    assert_same([ENGLISH, GERMAN + ENGLISH, "ciao come stai", EDGE_CASES["mixed scripts"]], seed)


def test_snippets_of_web_text(shared):
    """Short and mixed-language snippets: trials that do not converge run to ITERATION_LIMIT."""
    texts = [t for _, t in webtext(shared) if t]
    rng = random.Random(1234)
    snippets = []
    for _ in range(60):
        parts = []
        for _ in range(rng.randint(1, 3)):
            text = rng.choice(texts)
            start = rng.randrange(len(text))
            parts.append(text[start:start + rng.choice([3, 10, 30, 100, 400])])
        snippets.append(" ".join(parts))
    assert_same(snippets)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60)
       | st.lists(st.sampled_from(EDGE_WORDS + ["the", "und", "Ab", " ", ".", "@x.com", "http://a.b"]),
                  max_size=20).map(" ".join))
def test_random_strings(text):
    assert ours(text) == reference(text)


# --- the pieces --------------------------------------------------------------------------------------

def test_iteration_limit_is_reached(monkeypatch):
    """The edge cases above do run trials to ITERATION_LIMIT (1,001 updates)."""
    updates = []
    trial = fast._trial

    def counting(*args):
        prob, n = trial(*args)
        updates.append(n)
        return prob, n

    monkeypatch.setattr(fast, "_trial", counting)
    fast.detect_langs("e")
    assert updates == [1001] * 7
    updates.clear()
    fast.detect_langs("internet")
    assert updates.count(1001) == 2


def test_global_random_untouched():
    """Neither langdetect nor this module touches the global random module (each has its own
    random.Random; langdetect builds one per detection, seeded from os.urandom, then seeds it)."""
    before = random.getstate()
    try:
        random.seed(99)
        state = random.getstate()
        langdetect.detect_langs(ENGLISH)
        assert random.getstate() == state
        fast.detect_langs(ENGLISH)
        fast.detect_langs(ENGLISH, seed=5)
        assert random.getstate() == state
    finally:
        random.setstate(before)


def test_stream_is_random_random():
    stream = fast._Stream(0)
    real = random.Random(0)
    n = 3 * len(stream.words)  # past the first draw, so upto() extends it
    assert stream.upto(n)[:n].tolist() == [real.getrandbits(32) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 100, 1023, 1024, 1025, 4097, 30000])
def test_replayed_draws_are_random_random(n):
    """gauss and choice, as _detect_block calls them, against random.Random itself."""
    stream = fast._get_stream(0)
    draws = fast._Draws(stream, np.arange(n, dtype=np.int32))
    real = random.Random()
    real.seed(0)
    rng = random.Random(n)
    pos, gauss_next = 0, None
    for _ in range(9):
        value, pos, gauss_next = fast._gauss(stream, pos, gauss_next)
        assert value == real.gauss(0.0, 1.0)
        count = rng.choice([1, 6, 41, 1001])
        first = draws.index(pos)
        assert draws.rows_of(first, count).tolist() == [real.choice(range(n)) for _ in range(count)]
        pos = draws.end(first, count)


def test_space_characters_are_exactly_those_normalised_to_space():
    spaces = set(fast._SPACE_CHARS)
    assert {chr(cp) for cp in range(sys.maxunicode + 1) if NGram.normalize(chr(cp)) == " "} == spaces
    assert " " in spaces and "\u2019" in spaces and "\u3000" not in spaces


def test_cleaning_counts_every_character_from_u0300():
    """langdetect 1.0.9 compares unicode_block(ch) (an int) with 'Latin Extended Additional' (a
    str), so Latin Extended Additional letters count as non-Latin; this module does the same."""
    assert not fast._LEA_EXCLUDED
    text = "ab " + "Ḁ" * 5  # 2 Latin, 5 "non-Latin": the Latin letters are removed
    assert fast._prepare(text) == " ḀḀḀḀḀ".encode()
    assert ours(text) == reference(text)

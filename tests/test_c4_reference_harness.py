"""The C4 reference harness (tests/c4_reference.py) really runs TFDS's c4_utils, offline, without TF."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import sys

import pytest

import c4_reference as ref
from conftest import wet_record

S = "This sentence has plenty of words in it."


def md5_hex(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


# -- the TensorFlow shim --------------------------------------------------------------------------


def test_reference_is_tfds_c4_utils_and_shim_stays_out_of_sys_modules():
    assert ref.c4_utils.__name__ == "tensorflow_datasets.text.c4_utils"
    if not ref.TF_IS_SHIM:
        pytest.skip("a real TensorFlow is installed; the shim is not in use")
    tf = ref.c4_utils.tf._module  # TFDS's lazy handle, bound to the shim
    assert tf.IS_C4_REFERENCE_TEST_SHIM
    assert "tensorflow" not in sys.modules  # other code still sees TensorFlow as absent
    assert importlib.util.find_spec("tensorflow") is None
    assert tf.compat.as_text(b"caf\xc3\xa9") == "café" and tf.compat.as_text("x") == "x"
    with pytest.raises(TypeError):
        tf.compat.as_text(1)
    with pytest.raises(AttributeError, match="TEST SHIM"):
        tf.constant  # noqa: B018


def test_shim_refuses_when_real_tensorflow_is_importable(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "tensorflow" else real_find_spec(name, *a)
    )
    with pytest.raises(RuntimeError, match="real TensorFlow"):
        ref._make_tensorflow_shim()


# -- functions that need no shared data -----------------------------------------------------------


def test_normalize_url():
    assert ref.normalize_url("https://www.example.com/a/?utm_source=x") == "example.com/a"
    assert ref.normalize_url("http://example.com/x?ref=1") == "example.com/x"
    # the scheme regex is not anchored, and only `?utm_/ref/feed` (not `&utm_`) is cut
    assert ref.normalize_url("https://a.com/?u=http://www.b.com") == "a.com/?u=b.com"
    assert ref.normalize_url("http://a.com/x?a=1&utm_x=2") == "a.com/x?a=1&utm_x=2"


def test_hashed_url_in_validation_is_md5_mod_1000():
    urls = [f"example.com/page/{i}" for i in range(3000)]
    expected = [u for u in urls if int(md5_hex(u), 16) % 1000 == 0]
    assert expected  # the sample hits the 0.1% split
    assert [u for u in urls if ref.hashed_url_in_validation(u)] == expected


def test_badwords_filter():
    counters = {}
    assert ref.badwords_filter("He put the saddle on his ass.", ["ass"], counters=counters) is False
    assert counters == {"badwords-filter/filtered": 1, "badwords-filter-en/filtered": 1}
    assert ref.badwords_filter("I asked for assistance with my cutlass.", ["ass"]) is True
    assert ref.badwords_filter("Ass is not a badword in Spanish.", ["culo"], lang="es") is True
    # filter_fraction < 1 keeps a badword page by the md5 of its normalized url (TFDS's soft filter test)
    assert ref.badwords_filter("bad page", ["bad"], lang="", filter_fraction=0.5, url="filtered.url.com") is False
    assert ref.badwords_filter("bad page", ["bad"], lang="", filter_fraction=0.5, url="unfiltered.url.com") is True
    assert ref.badwords_filter("Ass!", ["ass"], lang="en-latin") is False  # language suffix dropped


def test_detect_english():
    en = ("The committee met on Tuesday to discuss the new budget for the city library, and most "
          "members agreed that the opening hours should be extended during the winter months.")
    fr = ("Le comité s'est réuni mardi pour discuter du nouveau budget de la bibliothèque municipale, "
          "et la plupart des membres ont convenu que les horaires devraient être prolongés en hiver.")
    counters = {}
    assert ref.detect_english(en, counters) is True
    assert counters == {"english-filter/passed": 1}
    counters = {}
    assert ref.detect_english(fr, counters) is False
    assert counters == {"english-filter/filtered:ignored_language": 1,
                        "english-filter/filtered:ignored_language-fr": 1}
    counters = {}
    assert ref.detect_english("12345 !!!", counters) is False
    assert counters == {"english-filter/filtered:langdetect_exception": 1}
    assert ref.c4_utils.get_counter_inc_fn.__module__ == "tensorflow_datasets.text.c4_utils"  # restored


def test_split_wet_file_synthetic(tmp_path):
    body = "  Line one  \n\n\nContent-based line is dropped\nline\rwith CR\nWARC-Date: 1999\nlast"
    data = (wet_record(body, "http://www.x.com/", "urn:uuid:1")
            + wet_record("", "http://empty.com/", "urn:uuid:2"))
    path = tmp_path / "t.warc.wet.gz"
    path.write_bytes(gzip.compress(data))
    counters = {}
    pages = ref.split_wet_file(path, counters)
    assert pages == [{
        "url": "http://www.x.com/", "normalized_url": "x.com",
        # lines stripped, blank lines and body lines starting with WARC/Content- dropped,
        # a lone \r splits a line, and a body "WARC-Date:" line overwrites the timestamp
        "text": "Line one\nline\nwith CR\nlast", "timestamp": "1999",
        "content_type": "text/plain", "content_length": str(len(body.encode())),
    }]
    assert counters == {"wet-file": 1, "passed": 1, "filtered:no_content": 1}


# -- functions that need the shared data (Common Crawl WET, NLTK Punkt) ---------------------------


def test_split_wet_file_whirlwind(shared):
    counters = {}
    pages = ref.split_wet_file(shared / "data/warc/cc-main-2024-22_whirlwind.warc.wet.gz", counters)
    assert [p["url"] for p in pages] == ["https://an.wikipedia.org/wiki/Escopete"]
    page = pages[0]
    assert page["normalized_url"] == "an.wikipedia.org/wiki/Escopete"
    assert page["timestamp"] == "2024-05-18T01:58:10Z"
    assert (page["content_type"], page["content_length"]) == ("text/plain", "4456")
    assert page["text"].startswith("Escopete - Biquipedia, a enciclopedia libre\nIr al contenido\n")
    assert counters == {"wet-file": 1, "filtered:no_url": 1, "passed": 1}  # the warcinfo record has no url


EN_TEXT = """This line has enough words and ends in punctuation, Dr. Roberts!
Economic History | All Institutions | Open Access Articles | Digital Commons Network
\"Open Access. Powered by Scholars. Published by Universities.\"
Digital Commons Network™/ Social and Behavioral Sciences...
Too few words.
You need to enable javascript in your browser in order to see this page.
You have JavaScript disabled and that means you can't see this page.
Adam Roberts has a cookie policy: always eat them.
Colin has a privacy policy: don't share people's secrets.
You'd better follow our terms of use!
"""  # from TFDS's c4_utils_test.py, with its expected result below


def test_clean_page_matches_tfds_test(shared):
    text, counters = ref.clean_page(EN_TEXT)
    assert text == ("This line has enough words and ends in punctuation, Dr. Roberts!\n"
                    "\"Open Access. Powered by Scholars. Published by Universities.\"")
    assert counters == {"line-passed": 2, "line-filtered:too_short": 1, "line-filtered:no_endmark": 2,
                        "line-filtered:javascript": 2, "line-filtered:policy": 3, "passed": 1}


def test_clean_page_edge_cases(shared):
    # blank lines count as no_endmark; output joined with \n
    assert ref.clean_page(f"{S}\n\n   \n{S}\r\n{S}") == (
        f"{S}\n{S}\n{S}", {"line-passed": 3, "line-filtered:no_endmark": 2, "passed": 1})
    # str.splitlines: \r, \u2028, \x0c, \x85 all split lines
    assert ref.clean_page(f"{S}\r{S}\u2028{S}\x0c{S}\x85{S}")[0] == "\n".join([S] * 5)
    # a citation is removed after stripping, so "text. [1]" keeps a trailing space and fails the end mark
    assert ref.clean_page(f"{S} [1]\n{S}[2]\n{S}\n{S}") == (
        "\n".join([S] * 3), {"line-filtered:no_endmark": 1, "line-passed": 3, "passed": 1})
    # "{" only kills the page on a line that passed the end-mark and length checks
    assert ref.clean_page(f"a {{ b.\n{S}\n{S}\n{S}")[0] == "\n".join([S] * 3)
    assert ref.clean_page(f"a {{ b c d e.\n{S}\n{S}\n{S}") == (None, {"filtered:squigglybracket": 1})
    assert ref.clean_page("") == (None, {"filtered:too_few_sentences": 1})
    # sentences are counted per kept line with Punkt: 2 + 1 >= 3
    two = "One two three four five. Six seven eight nine ten.\nEleven twelve thirteen fourteen fifteen."
    assert ref.clean_page(two) == (two, {"line-passed": 2, "passed": 1})


def test_remove_duplicate_text_keeps_line_in_smallest_md5_url(shared):
    shared_line = "This line appears on every page of the site."
    urls = ["http://a.example/1", "http://b.example/2", "http://c.example/3"]
    pages = [(u, f"{shared_line}\nPage {i} has its own first sentence. And a second one. And a third one.")
             for i, u in enumerate(urls)]
    winner = min(urls, key=md5_hex)
    survivors, counters = ref.remove_duplicate_text(pages)
    assert set(survivors) == set(urls)
    for (u, text), i in zip(pages, range(3)):
        own = f"Page {i} has its own first sentence. And a second one. And a third one."
        assert survivors[u] == (text if u == winner else own)
    assert counters == {"line-passed": 4, "line-filtered:global_duplicate": 2, "passed": 3}


def test_remove_duplicate_text_matches_tfds_test(shared):
    pages = [
        ("url/1-0", "This is a duplicated line.\nThis is a unique line.\n"
         "This one comes first and so it stays.\n"
         "This is duplicate within the page so the others are removed.\n"
         "Here is a sentence between the duplicates.\n"
         "This is duplicate within the page so the others are removed.\n"
         "this is Duplicate WITHIN the page so the others are removed. "),
        ("url/2-1", "This is 2nd unique line.\nThis one comes second so it is "
         "removed even though the capitalizaiton is different.\nthis is a Duplicated line. "),
        ("url/3-4", "This is a 3rd unique line.\nThis is a duplicated line.\n"
         "This one comes third and so it is removed. But the page stays "
         "because there are still 3 sentences remaining."),
        ("url/4-4", "This is a 4th unique line.\nThis is a duplicated line.\n"
         "This one comes third and so it is removed, and the page is too "
         "since there aren't enough sentences left."),
    ]
    survivors, counters = ref.remove_duplicate_text(pages)
    assert survivors == {
        "url/1-0": "This is a duplicated line.\nThis is a unique line.\n"
                   "This one comes first and so it stays.\n"
                   "This is duplicate within the page so the others are removed.\n"
                   "Here is a sentence between the duplicates.",
        "url/3-4": "This is a 3rd unique line.\nThis one comes third and so it is removed. But the page "
                   "stays because there are still 3 sentences remaining.",
    }
    assert counters["line-filtered:local_duplicate"] == 2
    assert counters["passed"] == 2 and counters["filtered:too_few_sentences"] == 2

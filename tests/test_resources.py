"""Resources for C4: LDNOOBW lists read as TFDS reads them, checksums enforced, the cache used, downloads
over HTTP (from a server on 127.0.0.1: these tests never reach the internet), clear offline errors, and
the Punkt English splitter equal to the one ``nltk.data.load`` gives."""

from __future__ import annotations

import functools
import hashlib
import http.server
import logging
import shutil
import threading
from pathlib import Path

import pytest

from corpus import resources
from corpus.errors import ConfigError, UsageError
from corpus.resources import C4_EN_COMMIT, LDNOOBW_COMMIT, badwords, punkt_english

SENTENCES = "Mr. Smith went to Washington. He arrived at 5 p.m. on Monday."
# Nothing listens on the discard port: a download from here fails at once, as it does offline.
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh cache, no mirrors, no route to the real LDNOOBW URL, and no proxy in the way of 127.0.0.1."""
    monkeypatch.setenv("CORPUS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CORPUS_RESOURCE_MIRRORS", raising=False)
    monkeypatch.setattr(resources, "_CHECKOUT_MIRROR", tmp_path / "no-mirror")
    monkeypatch.setattr(resources, "LDNOOBW_BASE_URL", UNREACHABLE)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def ldnoobw(shared) -> Path:
    return shared / "resources" / "ldnoobw"


@pytest.fixture
def nltk_data(shared) -> Path:
    return shared / "resources" / "nltk_data"


@pytest.fixture
def server(tmp_path):
    """(document root, base URL) of an HTTP server on 127.0.0.1 in a thread."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def tfds_read(path: Path) -> list[str]:
    """TFDS c4.py: ``with epath.Path(path).open() as f: badwords[lang].update(l.strip() for l in f)``;
    for a local file ``epath.Path.open()`` is ``open(path, "r", encoding="utf-8")``."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- LDNOOBW ---------------------------------------------------------------------------------------


def test_checksum_table_covers_exactly_the_shared_files(ldnoobw):
    files = {(p.parent.name, p.name): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in ldnoobw.glob("*/*") if p.is_file()}
    table = {(commit, lang): sha for commit, langs in resources.LDNOOBW_SHA256.items() for lang, sha in langs.items()}
    assert table == files
    assert {lang for commit, lang in files if commit == LDNOOBW_COMMIT} == set(resources.C4_BADWORDS_LANGS)


def test_badwords_en_is_what_tfds_reads(ldnoobw):
    expected = tfds_read(ldnoobw / C4_EN_COMMIT / "en")
    # The three source shapes: <dir>/<commit>/<lang>, <dir>/<lang>, the file itself.
    assert badwords("en", source=str(ldnoobw)) == expected
    assert badwords("en", C4_EN_COMMIT, source=str(ldnoobw / C4_EN_COMMIT)) == expected
    assert badwords("en", source=str(ldnoobw / C4_EN_COMMIT / "en")) == expected
    assert len(expected) == 377 and "" not in expected and "2 girls 1 cup" in expected


def test_every_language_at_the_commit_c4_pins_is_what_tfds_reads(ldnoobw):
    for lang in resources.C4_BADWORDS_LANGS:
        commit = resources.c4_badwords_commit(lang)
        assert badwords(lang, source=str(ldnoobw)) == tfds_read(ldnoobw / commit / lang), lang
    # The newer `en` is there too, but C4 (and the default) uses the older one.
    assert badwords("en", LDNOOBW_COMMIT, source=str(ldnoobw)) != badwords("en", source=str(ldnoobw))


def test_tfds_semantics_blank_lines_and_duplicates_are_kept(tmp_path, monkeypatch):
    data = b"  a b \r\nc\n\n\tc\n\xe3\x80\x80d\xe3\x80\x80"  # CRLF, a blank line, a duplicate, U+3000 padding
    path = put(tmp_path / "xx", data)
    monkeypatch.setitem(resources.LDNOOBW_SHA256, "deadbeef", {"xx": hashlib.sha256(data).hexdigest()})
    assert badwords("xx", "deadbeef", source=str(path)) == tfds_read(path) == ["a b", "c", "", "c", "d"]


def test_allowlist_is_tfds_c4s():
    assert resources.C4_BADWORDS_ALLOWLIST == {"ja": {"sm", "グロ", "女の子"}, "zh": {"性"}}


def test_checksum_mismatch_is_an_error_unless_verify_is_off(tmp_path, ldnoobw, caplog):
    copy = put(tmp_path / "lists" / C4_EN_COMMIT / "en", (ldnoobw / C4_EN_COMMIT / "en").read_bytes() + b"extra\n")
    with pytest.raises(ConfigError, match=f"'en' list at commit {C4_EN_COMMIT} from .* has sha256 .*, expected a506"):
        badwords("en", source=str(tmp_path / "lists"))
    with caplog.at_level(logging.WARNING, logger="corpus.resources"):
        words = badwords("en", source=str(copy), verify=False)
    assert words[-1] == "extra" and "using it unverified" in caplog.text


def test_unknown_checksum_needs_verify_false(tmp_path, caplog):
    put(tmp_path / "lists" / "xx", b"foo\nbar\n")
    with pytest.raises(ConfigError, match="no known sha256 for the LDNOOBW 'xx' list.*verify=False"):
        badwords("xx", source=str(tmp_path / "lists"))
    with caplog.at_level(logging.WARNING, logger="corpus.resources"):
        assert badwords("xx", source=str(tmp_path / "lists"), verify=False) == ["foo", "bar"]
    assert "no known sha256" in caplog.text


def test_unverified_file_that_is_not_utf8_is_a_config_error(tmp_path):
    put(tmp_path / "xx", b"caf\xe9\n")
    with pytest.raises(ConfigError, match="'xx' list at commit .* is not UTF-8 text"):
        badwords("xx", source=str(tmp_path / "xx"), verify=False)


def test_local_copy_missing(tmp_path):
    with pytest.raises(ConfigError, match=f"not in {tmp_path} \\(looked for .*{LDNOOBW_COMMIT}/de and .*/de\\)"):
        badwords("de", source=str(tmp_path))
    with pytest.raises(ConfigError, match="neither a file nor a directory. --set c4.x=DIR"):
        badwords("de", source=str(tmp_path / "nope"), hint="--set c4.x=DIR")


def test_cache_is_used_without_network(tmp_path, ldnoobw, monkeypatch):
    put(tmp_path / "cache" / "ldnoobw" / C4_EN_COMMIT / "en", (ldnoobw / C4_EN_COMMIT / "en").read_bytes())
    monkeypatch.setattr(resources, "_read", lambda location: pytest.fail(f"fetched {location}"))
    assert badwords("en") == tfds_read(ldnoobw / C4_EN_COMMIT / "en")


def test_download_is_verified_and_cached_atomically(server, ldnoobw, tmp_path, monkeypatch):
    root, url = server
    shutil.copytree(ldnoobw / C4_EN_COMMIT, root / C4_EN_COMMIT)
    monkeypatch.setattr(resources, "LDNOOBW_BASE_URL", url)
    assert badwords("en") == tfds_read(ldnoobw / C4_EN_COMMIT / "en")
    cached = tmp_path / "cache" / "ldnoobw" / C4_EN_COMMIT / "en"
    assert cached.read_bytes() == (ldnoobw / C4_EN_COMMIT / "en").read_bytes()
    assert sorted(p.name for p in cached.parent.iterdir()) == ["en"]  # no temporary file left behind
    monkeypatch.setattr(resources, "LDNOOBW_BASE_URL", UNREACHABLE)
    assert badwords("en") == tfds_read(ldnoobw / C4_EN_COMMIT / "en")  # now from the cache


def test_tampered_download_is_refused_and_not_cached(server, ldnoobw, tmp_path, monkeypatch):
    root, url = server
    put(root / LDNOOBW_COMMIT / "de", (ldnoobw / LDNOOBW_COMMIT / "de").read_bytes() + b"extra\n")
    monkeypatch.setattr(resources, "LDNOOBW_BASE_URL", url)
    with pytest.raises(ConfigError, match=f"from {url}/{LDNOOBW_COMMIT}/de has sha256"):
        badwords("de")
    assert not (tmp_path / "cache" / "ldnoobw" / LDNOOBW_COMMIT / "de").exists()


def test_corrupt_cache_entry_is_downloaded_again(server, ldnoobw, tmp_path, monkeypatch):
    root, url = server
    shutil.copytree(ldnoobw / LDNOOBW_COMMIT, root / LDNOOBW_COMMIT)
    cached = put(tmp_path / "cache" / "ldnoobw" / LDNOOBW_COMMIT / "de", b"truncated")
    monkeypatch.setattr(resources, "LDNOOBW_BASE_URL", url)
    assert badwords("de") == tfds_read(ldnoobw / LDNOOBW_COMMIT / "de")
    assert cached.read_bytes() == (ldnoobw / LDNOOBW_COMMIT / "de").read_bytes()


def test_url_source_names_the_file(server, ldnoobw):
    root, url = server
    shutil.copytree(ldnoobw / LDNOOBW_COMMIT, root / "mirror")
    assert badwords("ja", source=f"{url}/mirror/ja") == tfds_read(ldnoobw / LDNOOBW_COMMIT / "ja")
    with pytest.raises(ConfigError, match=f"could not be read from {url}/mirror/xx \\(HTTP 404"):
        badwords("ja", source=f"{url}/mirror/xx")


def test_offline_error_says_what_is_missing_and_how_to_provide_it(tmp_path):
    with pytest.raises(ConfigError) as err:
        badwords("en", hint="Pass a local copy with --set c4.badwords_path=DIR.")
    message = str(err.value)
    assert isinstance(err.value, UsageError)
    assert message.startswith(f"the LDNOOBW 'en' list at commit {C4_EN_COMMIT} is not cached and could not "
                              f"be downloaded from {UNREACHABLE}/{C4_EN_COMMIT}/en (")
    assert "refused" in message  # the reason
    assert str(tmp_path / "cache" / "ldnoobw" / C4_EN_COMMIT / "en") in message and "CORPUS_CACHE" in message
    assert message.endswith(". Pass a local copy with --set c4.badwords_path=DIR.")


def test_module_imports_neither_beam_nor_nltk():
    import subprocess
    import sys

    code = "import sys, corpus.resources; print(sorted({'apache_beam', 'nltk'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- Punkt -----------------------------------------------------------------------------------------


@pytest.fixture
def nltk(monkeypatch):
    """nltk with its search path and this module's memo restored after the test (both are global)."""
    import nltk

    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path))
    monkeypatch.setattr(nltk.data, "_resource_cache", {})
    monkeypatch.setattr(resources, "_punkt_memo", {})
    monkeypatch.delenv("NLTK_DATA", raising=False)
    return nltk


def test_punkt_english_is_the_tokenizer_nltk_data_load_gives(nltk, nltk_data, monkeypatch):
    ours = punkt_english(str(nltk_data))
    # What TFDS c4_utils.py does, with NLTK_DATA pointing at the same data. nltk reads NLTK_DATA into
    # nltk.data.path when it is imported, which was earlier, so put it there as that import would.
    monkeypatch.setenv("NLTK_DATA", str(nltk_data))
    monkeypatch.setattr(nltk.data, "path", [str(nltk_data), *nltk.data.path])
    reference = nltk.data.load("nltk:tokenizers/punkt/english.pickle")
    assert ours.tokenize(SENTENCES) == reference.tokenize(SENTENCES) == [
        "Mr. Smith went to Washington.", "He arrived at 5 p.m. on Monday."]
    for name in ("abbrev_types", "collocations", "sent_starters", "ortho_context"):
        assert getattr(ours._params, name) == getattr(reference._params, name), name


def test_punkt_english_is_memoised_and_thread_safe(nltk, nltk_data, monkeypatch):
    loads = []
    load = resources._load_punkt_english
    monkeypatch.setattr(resources, "_load_punkt_english", lambda *a: loads.append(a) or load(*a))
    results = []
    threads = [threading.Thread(target=lambda: results.append(punkt_english(str(nltk_data)))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(results) == 8 and all(r is results[0] for r in results)
    assert punkt_english(str(nltk_data) + "/") is results[0]  # the same directory, spelled differently


def test_punkt_english_default_reads_nltk_data_env_at_call_time(nltk, nltk_data, monkeypatch):
    monkeypatch.setattr(nltk, "download", lambda *a, **k: pytest.fail("downloaded"))
    monkeypatch.setenv("NLTK_DATA", str(nltk_data))
    assert len(punkt_english().tokenize(SENTENCES)) == 2


def test_punkt_english_default_downloads_into_the_cache(nltk, nltk_data, tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    calls = []

    def fake_download(package, download_dir, **kwargs):  # what nltk.download("punkt_tab") installs
        calls.append((package, download_dir))
        shutil.copytree(nltk_data / "tokenizers", Path(download_dir) / "tokenizers")
        return True

    monkeypatch.setattr(nltk, "download", fake_download)
    assert len(punkt_english().tokenize(SENTENCES)) == 2
    assert calls == [("punkt_tab", str(tmp_path / "cache" / "nltk_data"))]


def test_punkt_english_missing_offline(nltk, tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])

    def offline(*args, **kwargs):
        raise ValueError("Error loading punkt_tab: <urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(nltk, "download", offline)
    with pytest.raises(ConfigError, match=r"Punkt English model \(punkt_tab\) is not installed and could not be "
                                          r"downloaded \(Error loading punkt_tab.*NLTK_DATA.*--set c4.punkt=DIR$"):
        punkt_english(hint="--set c4.punkt=DIR")
    with pytest.raises(ConfigError, match="is not in .*tokenizers/punkt_tab/english/"):
        punkt_english(str(tmp_path))


def test_a_mirror_serves_offline_but_only_with_the_recorded_checksum(tmp_path, ldnoobw, monkeypatch):
    mirror = tmp_path / "mirror"
    put(mirror / "ldnoobw" / C4_EN_COMMIT / "en", (ldnoobw / C4_EN_COMMIT / "en").read_bytes())
    monkeypatch.setenv("CORPUS_RESOURCE_MIRRORS", str(mirror))
    assert badwords("en") == tfds_read(ldnoobw / C4_EN_COMMIT / "en")
    put(mirror / "ldnoobw" / C4_EN_COMMIT / "en", b"tampered\n")
    with pytest.raises(ConfigError, match="could not be downloaded"):
        badwords("en")

#!/usr/bin/env python3
"""Build the bundled sample corpus from the hand-written sources in sample/src/.

Writes, next to this script:

  web.warc.wet.gz    a Common Crawl style WET file (one gzip member per record)
  pages.jsonl.gz     a dolma/C4 style JSON Lines dump, with 3 deliberately broken lines

Usage (from the repository root):

  python sample/build_sample.py           # (re)write both files, print counts
  python sample/build_sample.py --list    # print one TSV row per output document, write nothing

The build is deterministic: standard library only, gzip members are written with
mtime=0, every identifier is a uuid5 or a hash of fixed strings, and the only
shuffling uses random.Random(1234).  Running it twice gives byte-identical files.

Source layout
-------------
src/pages/*.txt   documents, each introduced by a line "@@@ <doc-id>", followed by
                  "key: value" header lines, a line "---", then the page text, one
                  paragraph or visible line per source line (blank lines are dropped).
                  Headers: url (required), cat (required), out (wet|jsonl, default by
                  hash of the id), date (optional ISO 8601), chrome (full|header|footer|none;
                  default full), lang (informational).
src/sites.json    per-host header/footer lines ("site chrome") wrapped around every
                  page of that host, so that boilerplate repeats across a site.
src/variants.json exact duplicates and near-duplicates derived from source documents.

Macros usable in page text: {{B64:<n>:<seed>}} expands to an n-character base64 blob,
{{B64URL:<n>:<seed>}} to an n-character base64url string (no padding).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import struct
import sys
import uuid
import zlib
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
WET_OUT = HERE / "web.warc.wet.gz"
JSONL_OUT = HERE / "pages.jsonl.gz"

CRAWL = "CC-MAIN-2019-30"
WET_FILENAME = "CC-MAIN-20190717121530-20190717143011-00217.warc.wet.gz"
# Fetch window of the WARC segment the WET file pretends to be derived from.
WET_WINDOW_START = datetime(2019, 7, 17, 12, 15, 30, tzinfo=timezone.utc)
WET_WINDOW_SECONDS = 2 * 3600 + 14 * 60
WARCINFO_DATE = datetime(2019, 7, 24, 8, 12, 9, tzinfo=timezone.utc)
# The JSONL dump pretends to mix documents from several 2019 crawls.
JSONL_DATE_START = datetime(2019, 1, 15, 0, 0, 0, tzinfo=timezone.utc)
JSONL_DATE_DAYS = 330

NAMESPACE = uuid.UUID("6f1c4f3e-2d0b-5a7e-9c55-1b0c2a7d9e10")
SHUFFLE_SEED = 1234
# Positions (0-based, among the final lines) where the broken JSONL lines go.
BROKEN_POSITIONS = (23, 74, 121)

CATEGORY_ORDER = [
    "good", "code", "boilerplate", "lorem", "short", "foreign", "pii", "pii-trap",
    "adult", "spam", "empty",
]


class BuildError(Exception):
    pass


# --------------------------------------------------------------------------- sources

def _det_bytes(seed: str, n: int) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def expand_macros(text: str) -> str:
    def b64(m: re.Match) -> str:
        n, seed = int(m.group(2)), m.group(3)
        raw = _det_bytes(seed, n)  # more than enough bytes
        if m.group(1) == "B64URL":
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:n]
        s = base64.b64encode(raw).decode()[:n]
        return s[: n - (n % 4)] if n % 4 else s

    return re.sub(r"\{\{(B64|B64URL):(\d+):([^}]+)\}\}", b64, text)


def parse_pages(path: Path) -> list[dict]:
    docs: list[dict] = []
    cur: dict | None = None
    in_body = False
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if raw.startswith("@@@ "):
            if cur is not None:
                docs.append(cur)
            cur = {"id": raw[4:].strip(), "body": [], "src": f"{path.name}:{lineno}"}
            in_body = False
            continue
        if cur is None:
            continue  # file preamble / comments
        if not in_body:
            if raw.strip() == "---":
                in_body = True
            elif raw.strip():
                key, sep, val = raw.partition(":")
                if not sep:
                    raise BuildError(f"{path.name}:{lineno}: bad header line {raw!r}")
                cur[key.strip()] = val.strip()
            continue
        cur["body"].append(raw)
    if cur is not None:
        docs.append(cur)
    for d in docs:
        for key in ("url", "cat"):
            if key not in d:
                raise BuildError(f"{d['src']}: document {d['id']} has no {key}")
        if d["cat"] not in CATEGORY_ORDER:
            raise BuildError(f"{d['src']}: unknown category {d['cat']!r}")
        lines = [expand_macros(l).rstrip() for l in d["body"]]
        d["body"] = [l for l in lines if l.strip()]
    return docs


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def site_profile(sites: dict, host: str) -> dict:
    if host in sites:
        return sites[host]
    bare = host[4:] if host.startswith("www.") else "www." + host
    return sites.get(bare, {})


def wrap(body: list[str], profile: dict, chrome: str) -> list[str]:
    header = profile.get("header", []) if chrome in ("full", "header") else []
    footer = profile.get("footer", []) if chrome in ("full", "footer") else []
    # CC's WET extractor emits the HTML <title> first, then the visible text in
    # document order, so the title (first source line) precedes the site header.
    return list(body[:1]) + list(header) + list(body[1:]) + list(footer)


def default_out(doc_id: str) -> str:
    h = int(hashlib.sha1(doc_id.encode()).hexdigest(), 16)
    return "wet" if h % 100 < 55 else "jsonl"


def det_date(key: str, out: str) -> str:
    h = int(hashlib.sha1(("date:" + key).encode()).hexdigest(), 16)
    if out == "wet":
        dt = WET_WINDOW_START + timedelta(seconds=h % WET_WINDOW_SECONDS)
    else:
        dt = JSONL_DATE_START + timedelta(seconds=h % (JSONL_DATE_DAYS * 86400))
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_edits(lines: list[str], edits: list, where: str) -> list[str]:
    lines = list(lines)
    for edit in edits:
        op, args = edit[0], edit[1:]
        if op == "replace":
            old, new = args
            hits = [i for i, l in enumerate(lines) if old in l]
            if not hits:
                raise BuildError(f"{where}: replace target {old!r} not found")
            i = hits[0]
            lines[i] = lines[i].replace(old, new, 1)
        elif op == "truncate":  # keep lines up to and including the one containing args[0]
            hits = [i for i, l in enumerate(lines) if args[0] in l]
            if not hits:
                raise BuildError(f"{where}: truncate marker {args[0]!r} not found")
            lines = lines[: hits[0] + 1] + list(args[1:])
        elif op == "cut":  # cut the line containing args[0] just before it, append rest
            hits = [i for i, l in enumerate(lines) if args[0] in l]
            if not hits:
                raise BuildError(f"{where}: cut marker {args[0]!r} not found")
            i = hits[0]
            pos = lines[i].index(args[0])
            lines = lines[:i] + ([lines[i][:pos].rstrip()] if lines[i][:pos].strip() else []) + list(args[1:])
        elif op == "drop":
            before = len(lines)
            lines = [l for l in lines if args[0] not in l]
            if len(lines) == before:
                raise BuildError(f"{where}: drop target {args[0]!r} not found")
        elif op == "prepend":
            lines = list(args) + lines
        elif op == "append":
            lines = lines + list(args)
        elif op == "insert_after":
            hits = [i for i, l in enumerate(lines) if args[0] in l]
            if not hits:
                raise BuildError(f"{where}: insert_after marker {args[0]!r} not found")
            lines = lines[: hits[0] + 1] + list(args[1:]) + lines[hits[0] + 1:]
        else:
            raise BuildError(f"{where}: unknown edit op {op!r}")
    return lines


def load_documents() -> list[dict]:
    sites = json.loads((SRC / "sites.json").read_text(encoding="utf-8"))
    sites = {k: v for k, v in sites.items() if not k.startswith("_")}
    sources: list[dict] = []
    for path in sorted((SRC / "pages").glob("*.txt")):
        sources.extend(parse_pages(path))
    by_id: dict[str, dict] = {}
    for d in sources:
        if d["id"] in by_id:
            raise BuildError(f"{d['src']}: duplicate document id {d['id']}")
        by_id[d["id"]] = d

    docs: list[dict] = []
    for d in sources:
        out = d.get("out") or default_out(d["id"])
        chrome = d.get("chrome", "full")
        lines = wrap(d["body"], site_profile(sites, host_of(d["url"])), chrome)
        doc = {
            "key": d["id"], "url": d["url"], "out": out, "cat": d["cat"],
            "kind": "original", "of": "", "note": d.get("lang", ""),
            "date": d.get("date") or det_date(d["id"] + d["url"], out),
            "text": "\n".join(lines), "body": d["body"],
        }
        if not doc["text"].strip():
            raise BuildError(f"{d['src']}: document {d['id']} is empty")
        d["final"] = doc
        docs.append(doc)

    variants = json.loads((SRC / "variants.json").read_text(encoding="utf-8"))
    for n, v in enumerate(variants["variants"]):
        where = f"variants.json[{n}] ({v.get('of')})"
        src = by_id.get(v["of"])
        if src is None:
            raise BuildError(f"{where}: unknown source document")
        orig = src["final"]
        out = v.get("out", "same")
        if out == "same":
            out = orig["out"]
        elif out == "other":
            out = "jsonl" if orig["out"] == "wet" else "wet"
        url = v.get("url", orig["url"])
        key = f"{v['of']}~{n}"
        if v["kind"] == "exact":
            text = orig["text"]
        elif v["kind"] == "near":
            body = apply_edits(src["body"], v.get("edits", []), where)
            chrome = v.get("chrome", "full")
            profile_host = v.get("chrome_from", host_of(url))
            lines = wrap(body, site_profile(sites, profile_host), chrome)
            lines = apply_edits(lines, v.get("edits_after", []), where)
            text = "\n".join(lines)
            if text == orig["text"]:
                raise BuildError(f"{where}: near-duplicate is identical to its source")
        else:
            raise BuildError(f"{where}: unknown kind {v['kind']!r}")
        date = v.get("date") or det_date(key + url, out)
        if url == orig["url"] and date == orig["date"]:
            raise BuildError(f"{where}: a re-crawl of the same URL needs a different date")
        docs.append({
            "key": key, "url": url, "out": out, "cat": orig["cat"],
            "kind": v["kind"], "of": v["of"], "note": v.get("note", ""),
            "date": date, "text": text, "body": None,
        })
    return docs


# --------------------------------------------------------------------------- WET

def block_digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def warc_record(headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8") + body + b"\r\n\r\n"


def gz(data: bytes) -> bytes:
    """One gzip member, with a fixed header (no name, mtime 0, OS byte 3 = Unix).

    Written by hand rather than with gzip.compress() so that the header does not
    depend on the platform's zlib build; the deflate stream itself is zlib's level 9.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY)
    body = comp.compress(data) + comp.flush()
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x02\x03"
    trailer = struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)
    return header + body + trailer


def build_wet(docs: list[dict]) -> bytes:
    info_body = (
        "Software-Info: ia-web-commons.1.1.9-SNAPSHOT-20190703082314\r\n"
        "Extracted-Date: " + WARCINFO_DATE.strftime("%a, %d %b %Y %H:%M:%S GMT") + "\r\n"
        "robots: checked via crawler-commons 1.1-SNAPSHOT "
        "(https://github.com/crawler-commons/crawler-commons)\r\n"
        f"isPartOf: {CRAWL}\r\n"
        "operator: Common Crawl Admin (info@commoncrawl.org)\r\n"
        "description: Wide crawl of the web for July 2019\r\n"
        "publisher: Common Crawl\r\n"
    ).encode("utf-8")
    members = [gz(warc_record([
        ("WARC-Type", "warcinfo"),
        ("WARC-Date", WARCINFO_DATE.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("WARC-Filename", WET_FILENAME),
        ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(NAMESPACE, 'warcinfo:' + WET_FILENAME)}>"),
        ("Content-Type", "application/warc-fields"),
        ("Content-Length", str(len(info_body))),
    ], info_body))]
    for d in docs:
        body = d["text"].encode("utf-8")
        members.append(gz(warc_record([
            ("WARC-Type", "conversion"),
            ("WARC-Target-URI", d["url"]),
            ("WARC-Date", d["date"]),
            ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid5(NAMESPACE, 'conversion:' + d['key'])}>"),
            ("WARC-Refers-To", f"<urn:uuid:{uuid.uuid5(NAMESPACE, 'response:' + d['key'])}>"),
            ("WARC-Block-Digest", block_digest(body)),
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
        ], body)))
    return b"".join(members)


# --------------------------------------------------------------------------- JSONL

def doc_id(key: str) -> str:
    return hashlib.sha1(("doc:" + key).encode()).hexdigest()[:24]


def jsonl_line(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def broken_lines() -> list[bytes]:
    # 1. a record cut off mid-string (e.g. a writer killed while flushing)
    full = json.dumps({
        "id": doc_id("broken-truncated"),
        "url": "https://www.lakeshorecyclingclub.org/rides/2019/saturday-century-recap",
        "date": "2019-06-02T19:41:07Z",
        "text": "Saturday Century Recap\nTwenty-three riders rolled out of the marina lot "
                "at 7:05 under a grey sky that never quite made up its mind. The first "
                "forty miles along the lake road went by fast, with a tailwind most of "
                "the way to the orchard stop, where the Hendersons had set out coffee, "
                "banana bread and a cooler of pickle juice for anyone cramping. After "
                "the turn at Millbrook the wind swung around and the pace",
    }, ensure_ascii=False)
    truncated = full[: len(full) - 37].encode("utf-8") + b"\n"
    # 2. Windows-1252 bytes inside a JSON string: not valid UTF-8
    latin = (
        b'{"id": "' + doc_id("broken-latin1").encode() + b'", '
        b'"url": "http://www.cafe-lumiere-annecy.fr/carte.php?lang=fr", '
        b'"date": "2019-03-11T08:02:51Z", '
        b'"text": "Caf\xe9 Lumi\xe8re \x96 Annecy\\nNotre carte\\n'
        b'Soupe \xe0 l\'oignon gratin\xe9e 7,50 \x80\\nTarte fine aux pommes, cr\xe8me fra\xeeche 6,00 \x80\\n'
        b'Ouvert du mardi au dimanche, de 8h \xe0 19h. R\xe9servations conseill\xe9es le week-end."}\n'
    )
    # 3. a JSON array where an object is expected (a row dumped positionally)
    array = jsonl_line([
        doc_id("broken-array"),
        "https://www.stonebridge-hardware.com/store-hours",
        "2019-05-20T14:22:10Z",
        "Store Hours\nMonday to Friday 7:30 am to 7 pm. Saturday 8 am to 6 pm. "
        "Sunday 10 am to 4 pm. Closed Thanksgiving Day, Christmas Day and New Year's Day.",
    ])
    return [truncated, latin, array]


def jsonl_sequence(docs: list[dict]) -> list:
    """The JSONL file's lines in order: document dicts, and bytes for the broken lines."""
    seq: list = list(docs)
    for pos, line in zip(BROKEN_POSITIONS, broken_lines()):
        seq.insert(pos, line)
    return seq


def build_jsonl(docs: list[dict]) -> bytes:
    return gz(b"".join(
        item if isinstance(item, bytes) else jsonl_line(
            {"id": doc_id(item["key"]), "url": item["url"], "date": item["date"], "text": item["text"]})
        for item in jsonl_sequence(docs)))


def special_jsonl_docs() -> list[dict]:
    """The two documents whose text is empty / whitespace only."""
    base = {"out": "jsonl", "cat": "empty", "kind": "original", "of": "", "body": None}
    return [
        dict(base, key="empty-text", url="https://www.brightleaf-interiors.com/gallery/living-rooms?page=3",
             date=det_date("empty-text", "jsonl"), text="", note="empty string"),
        dict(base, key="whitespace-text", url="http://m.tidewater-weekly.com/amp/story/18842",
             date=det_date("whitespace-text", "jsonl"), text=" \n\n\t \n   \n", note="whitespace only"),
    ]


# --------------------------------------------------------------------------- main

def plan() -> tuple[list[dict], list[dict]]:
    docs = load_documents() + special_jsonl_docs()
    rng = random.Random(SHUFFLE_SEED)
    wet = sorted((d for d in docs if d["out"] == "wet"), key=lambda d: d["key"])
    jsl = sorted((d for d in docs if d["out"] == "jsonl"), key=lambda d: d["key"])
    rng.shuffle(wet)
    rng.shuffle(jsl)
    return wet, jsl


def summary(wet: list[dict], jsl: list[dict]) -> str:
    rows = []
    for name, group in (("web.warc.wet.gz", wet), ("pages.jsonl.gz", jsl)):
        c = Counter(d["cat"] for d in group if d["kind"] == "original")
        k = Counter(d["kind"] for d in group)
        rows.append(f"{name}: {len(group)} documents "
                    f"({k['original']} original, {k['exact']} exact dup, {k['near']} near dup)")
        rows.append("  originals by category: " + ", ".join(
            f"{cat}={c[cat]}" for cat in CATEGORY_ORDER if c[cat]))
    rows.append(f"pages.jsonl.gz also holds {len(BROKEN_POSITIONS)} broken lines")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    try:
        wet, jsl = plan()
    except BuildError as e:
        print(f"build_sample: {e}", file=sys.stderr)
        return 1
    if "--list" in argv:
        # position: 1-based conversion record number in the WET file (the warcinfo
        # record not counted), or 1-based line number in the JSONL file.
        print("file\tposition\tcategory\tkind\tduplicate_of\turl\tnote")
        for i, d in enumerate(wet, 1):
            print(f"wet\t{i}\t{d['cat']}\t{d['kind']}\t{d['of']}\t{d['url']}\t{d['note']}")
        for i, d in enumerate(jsonl_sequence(jsl), 1):
            if isinstance(d, bytes):
                print(f"jsonl\t{i}\tbroken\t\t\t\tdeliberately malformed line")
            else:
                print(f"jsonl\t{i}\t{d['cat']}\t{d['kind']}\t{d['of']}\t{d['url']}\t{d['note']}")
        return 0
    WET_OUT.write_bytes(build_wet(wet))
    JSONL_OUT.write_bytes(build_jsonl(jsl))
    print(summary(wet, jsl))
    for p in (WET_OUT, JSONL_OUT):
        print(f"wrote {p.relative_to(HERE.parent)} ({p.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

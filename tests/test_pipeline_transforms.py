"""ReadDocuments and ApplyFilter as Beam transforms, checked with assert_that."""

from __future__ import annotations

import gzip

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from conftest import beam_pipeline, wet_record, write_jsonl
from corpus.config import ReadConfig
from corpus.document import Document, Rejection
from corpus.errors import InputError
from filters.base import Filter
from filters.limits import LimitsFilter, LimitsOptions
from pipelines.apply import ApplyFilter
from pipelines.read import ReadDocuments, expand_inputs


@pytest.fixture
def inputs(tmp_path):
    write_jsonl(tmp_path / "a.jsonl.gz", [{"id": "a1", "text": "alpha"}, b"{broken", {"id": "a2", "text": ""}])
    (tmp_path / "b.warc.wet.gz").write_bytes(gzip.compress(
        wet_record("", "", "urn:uuid:info", warc_type="warcinfo")
        + wet_record("wet page", "https://w.example/", "urn:uuid:w1")))
    return tmp_path


def test_read_documents_routes_documents_errors_and_skips(inputs):
    files = expand_inputs([str(inputs / "*")])
    with beam_pipeline() as p:
        read = p | ReadDocuments(files, ReadConfig())
        assert_that(read.documents | beam.FlatMap(lambda batch: [(d.id, d.text, d.url) for d in batch]),
                    equal_to([("a1", "alpha", None), ("a2", "", None), ("urn:uuid:w1", "wet page", "https://w.example/")]),
                    label="documents")
        assert_that(read.errors | beam.FlatMap(lambda batch: [(e.reason, e.position) for e in batch]),
                    equal_to([("read/invalid_json", 1)]), label="errors")
        assert_that(read.counts | beam.FlatMap(lambda counts: counts.items()),
                    equal_to([(("read", "documents"), 2), (("read", "documents"), 1),
                              (("skipped", "warc/warcinfo"), 1)]), label="counts")


class Boom(Filter):
    name = "boom"
    Options = LimitsOptions
    reasons = ("odd",)

    def __call__(self, doc):
        if doc.text == "explode":
            raise RuntimeError("cannot handle this one")
        return self.reject("odd", doc.text) if len(doc.text) % 2 else Document(doc.id, doc.text.upper(), doc.source)


def test_apply_filter_outputs_kept_rejected_and_errors():
    docs = [Document(str(i), text, "s") for i, text in enumerate(["ab", "abc", "explode", "abcd", "xy"])]
    with beam_pipeline() as p:
        result = p | beam.Create([docs[:4], docs[4:]]) | ApplyFilter(Boom(LimitsOptions()))
        assert_that(result.kept | beam.FlatMap(lambda batch: [d.text for d in batch]),
                    equal_to(["AB", "ABCD", "XY"]), label="kept")
        assert_that(result.rejected | beam.FlatMap(lambda batch: [(r.document.id, r.rejection) for r in batch]),
                    equal_to([("1", Rejection("boom/odd", "abc"))]), label="rejected")
        # the exception in one document does not take its batch down with it
        assert_that(result.errors | beam.FlatMap(lambda batch: [(e.id, e.reason, e.error) for e in batch]),
                    equal_to([("2", "boom/exception", "RuntimeError: cannot handle this one")]), label="errors")


def test_limits_filter_rules():
    limits = LimitsFilter(LimitsOptions(min_chars=1, max_chars=10, max_line_chars=4))
    assert limits(Document("e", " \n\t ", "s")) == Rejection("limits/empty", "0 non-blank characters < min_chars=1")
    assert limits(Document("l", "x" * 11, "s")).reason == "limits/too_long"
    assert limits(Document("w", "abc\nabcde", "s")).reason == "limits/line_too_long"
    kept = Document("k", "abc\nabcd", "s")
    assert limits(kept) is kept
    unlimited = LimitsFilter(LimitsOptions(min_chars=0, max_chars=0, max_line_chars=0))
    assert unlimited(Document("e", "", "s")).text == ""


def test_expand_inputs_errors(tmp_path):
    with pytest.raises(InputError, match="no files match"):
        expand_inputs([str(tmp_path / "missing-*.jsonl")])
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="a directory but not a dataset"):
        expand_inputs([str(tmp_path / "plain")])
    with pytest.raises(InputError, match="no input given"):
        expand_inputs([])

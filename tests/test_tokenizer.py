"""SentencePiece with T5's conventions: pad/eos/unk = 0/1/2, no BOS, <extra_id_i> = vocab_size - 1 - i."""

from __future__ import annotations

import pickle

import pytest
import sentencepiece
from typer.testing import CliRunner

from conftest import SAMPLE
from corpus.cli import app
from corpus.tokenizer import Vocabulary, train, training_sample, with_extra_ids

TEXTS = [f"The quick brown fox number {i} jumps over the lazy dog near river {i % 7}." for i in range(500)]


@pytest.fixture(scope="module")
def model() -> bytes:
    return train(TEXTS, vocab_size=120)


def test_t5_special_ids_and_no_bos(model):
    sp = sentencepiece.SentencePieceProcessor(model_proto=model)
    assert [sp.id_to_piece(i) for i in range(3)] == ["<pad>", "</s>", "<unk>"]
    assert sp.bos_id() == -1 and sp.get_piece_size() == 120


def test_extra_ids_are_appended_in_reverse_like_seqio(model):
    vocab = Vocabulary(model, extra_ids=100)
    assert vocab.vocab_size == 220
    assert [vocab.sentinel(i) for i in (0, 1, 99)] == [219, 218, 120]
    assert vocab.sp.id_to_piece(219) == "▁<extra_id_0>" and vocab.sp.id_to_piece(120) == "▁<extra_id_99>"
    assert vocab.sp.is_unused(219) is False and vocab.sp.id_to_piece(119) == sentencepiece.SentencePieceProcessor(
        model_proto=model).id_to_piece(119)  # the trained pieces keep their ids


def test_sentinel_text_encodes_to_the_sentinel_as_seqio_does(model):
    vocab = Vocabulary(model)
    assert vocab.sentinel(0) in vocab.encode(["over the <extra_id_0> dog"])[0]


def test_encode_has_no_eos_and_decode_round_trips(model):
    vocab = Vocabulary(model)
    (ids,) = vocab.encode(["The quick brown fox jumps."])
    assert 1 not in ids and 0 not in ids
    assert vocab.decode(ids) == "The quick brown fox jumps."
    shown = vocab.show(ids[:3] + [vocab.sentinel(0)] + ids[3:] + [1])
    assert "<extra_id_0>" in shown and shown.endswith("</s>")


def test_vocabulary_pickles_as_bytes_and_reloads(model):
    vocab = Vocabulary(model, extra_ids=10)
    _ = vocab.sp
    clone = pickle.loads(pickle.dumps(vocab))
    assert clone._sp is None and clone.vocab_size == 130 and clone.encode(["fox"]) == vocab.encode(["fox"])


def test_training_is_deterministic_and_the_sample_ignores_order():
    docs = [(f"doc{i}", text) for i, text in enumerate(TEXTS)]
    sample = training_sample(docs, 100)
    assert sample == training_sample(list(reversed(docs)), 100) and len(sample) == 100
    assert train(sample, 100) == train(sample, 100)


def test_non_t5_models_are_refused():
    model = train(TEXTS, vocab_size=100)
    import io

    other = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(TEXTS), model_writer=other, vocab_size=100,
                                             minloglevel=2)  # defaults: unk=0, bos=1, eos=2
    with pytest.raises(ValueError, match="T5 needs 0/1/2"):
        _ = Vocabulary(other.getvalue()).sp
    assert with_extra_ids(model, 0) == model


def test_cli_trains_on_the_sample(tmp_path):
    result = CliRunner().invoke(app, ["tokenizer", "train", "--input", str(SAMPLE / "*.gz"), "--output",
                                      str(tmp_path), "--vocab-size", "500"])
    assert result.exit_code == 0, result.output
    vocab = Vocabulary.load(str(tmp_path / "spm.model"))
    assert vocab.vocab_size == 600 and (tmp_path / "spm.json").exists()

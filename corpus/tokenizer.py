"""SentencePiece vocabularies with T5's conventions, as seqio builds them.

T5 (and seqio's ``SentencePieceVocabulary``, ``seqio/vocabularies.py``) uses a SentencePiece model
trained with pad=0, eos=1, unk=2 and no BOS, and appends ``extra_ids`` sentinel pieces *after* the
trained vocabulary, in reverse order, so that ``<extra_id_i>`` has id ``vocab_size - 1 - i``
(training them in as ``user_defined_symbols`` would put them at ids 3..102 and break that). seqio
appends them to the model proto as ``USER_DEFINED`` pieces ``"▁<extra_id_i>"`` with score 0; this
module does the same at the protobuf wire level (sentencepiece's generated ``*_pb2`` module needs a
newer protobuf than Beam allows), so any SentencePiece model, T5's own included, loads the same way.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import struct
from collections.abc import Iterable
from typing import Any

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
T5_EXTRA_IDS = 100
_USER_DEFINED = 4  # ModelProto.SentencePiece.Type.USER_DEFINED


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _sentinel_piece(i: int) -> bytes:
    """A serialized ``ModelProto.pieces`` entry: SentencePiece{piece=1, score=2, type=3}."""
    piece = _length_delimited(1, f"▁<extra_id_{i}>".encode()) + _varint(2 << 3 | 5) + struct.pack("<f", 0.0)
    piece += _varint(3 << 3 | 0) + _varint(_USER_DEFINED)
    return _length_delimited(1, piece)  # ModelProto.pieces is field 1; repeated fields may be appended


def with_extra_ids(model: bytes, extra_ids: int) -> bytes:
    """seqio's ``_load_model_internal``: append the sentinels in reverse order (extra_id_{n-1} first)."""
    return model + b"".join(_sentinel_piece(i) for i in reversed(range(extra_ids)))


class Vocabulary:
    """A SentencePiece model plus T5's sentinels; pickles as its bytes, loads lazily per process."""

    def __init__(self, model: bytes, extra_ids: int = T5_EXTRA_IDS) -> None:
        self.model = model
        self.extra_ids = extra_ids
        self._sp = None

    @classmethod
    def load(cls, path: str, extra_ids: int = T5_EXTRA_IDS) -> "Vocabulary":
        """From a local path or any filesystem Beam knows (``gs://``)."""
        if "://" in path:
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(path) as f:
                return cls(f.read(), extra_ids)
        with open(path, "rb") as f:
            return cls(f.read(), extra_ids)

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "extra_ids": self.extra_ids}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model"], state["extra_ids"])

    @property
    def sp(self):
        if self._sp is None:
            import sentencepiece

            self._sp = sentencepiece.SentencePieceProcessor(model_proto=with_extra_ids(self.model, self.extra_ids))
            if (self._sp.pad_id(), self._sp.eos_id(), self._sp.unk_id()) != (PAD_ID, EOS_ID, UNK_ID):
                raise ValueError(f"not a T5-style SentencePiece model: pad/eos/unk ids are "
                                 f"{self._sp.pad_id()}/{self._sp.eos_id()}/{self._sp.unk_id()}, T5 needs 0/1/2")
        return self._sp

    @property
    def vocab_size(self) -> int:
        """Trained pieces plus extra ids (T5's 32,000 + 100 = 32,100)."""
        return self.sp.get_piece_size()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.model).hexdigest()[:16]

    def sentinel(self, i: int) -> int:
        return self.vocab_size - 1 - i

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids without EOS, for a batch of texts (one C++ call)."""
        return self.sp.encode(texts)

    def decode(self, ids: Iterable[int]) -> str:
        """seqio's ``_decode``: sentinels become UNK, then SentencePiece decodes."""
        size = self.sp.get_piece_size() - self.extra_ids
        return self.sp.decode([UNK_ID if i >= size else int(i) for i in ids if i != EOS_ID])

    def show(self, ids: Iterable[int]) -> str:
        """Text with sentinels visible as ``<extra_id_i>`` (for looking at examples, not for training)."""
        size = self.vocab_size - self.extra_ids
        parts, run = [], []
        for i in ids:
            if i >= size or i == EOS_ID:
                parts.append(self.sp.decode(run))
                parts.append(f"<extra_id_{self.vocab_size - 1 - i}>" if i >= size else "</s>")
                run = []
            else:
                run.append(int(i))
        parts.append(self.sp.decode(run))
        return " ".join(p for p in parts if p)


def sample_key(doc_id: str) -> bytes:
    return hashlib.sha1(doc_id.encode("utf-8", "surrogatepass")).digest()


def training_sample(docs: Iterable[tuple[str, str]], size: int) -> list[str]:
    """The texts of the ``size`` documents whose ids hash lowest, in that order: the same sample
    whatever order or sharding the documents arrive in."""
    return [text for _, text in heapq.nsmallest(size, ((sample_key(doc_id), text) for doc_id, text in docs))]


def train(texts: Iterable[str], vocab_size: int, *, character_coverage: float = 0.9995,
          max_sentence_length: int = 16384) -> bytes:
    """Train a unigram SentencePiece model with T5's ids (pad=0, eos=1, unk=2, no BOS); the extra
    ids are not trained in but appended when loading (``Vocabulary``). Deterministic for the same
    texts in the same order (one thread)."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type="unigram",
        pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1, character_coverage=character_coverage,
        max_sentence_length=max_sentence_length, hard_vocab_limit=False, num_threads=1, minloglevel=2)
    return model.getvalue()


def metadata(model: bytes, extra_ids: int, **extra: Any) -> str:
    vocab = Vocabulary(model, extra_ids)
    return json.dumps({"vocab_size": vocab.vocab_size, "extra_ids": extra_ids, "pad_id": PAD_ID,
                       "eos_id": EOS_ID, "unk_id": UNK_ID, "sha256": hashlib.sha256(model).hexdigest(),
                       **extra}, indent=2)

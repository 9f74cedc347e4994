"""T5 span-corruption examples on Beam, exact to T5's ``span_corruption`` preprocessor.

    kept documents -> tokenize (no EOS) -> one random chunk of <= 65,536 tokens per document
      -> groups of about 128 documents (by a hash of the id), sorted by id, concatenated without 0s
      -> pieces of 568 tokens (random_spans_helper(512)) -> noise mask, sentinels -> EOS after trim

Reference: t5/data/preprocessors.py (span_corruption, select_random_chunk, reduce_concat_tokens,
split_tokens, denoise) and seqio (SentencePieceVocabulary, append_eos_after_trim); the math is
``corpus/span_corruption.py``. Where T5 draws seeds from the order of a tf.data pipeline, this stage
derives every seed pair from the run seed and a stable key (document id; group and piece), and groups
documents by a hash of their id, so the examples do not depend on the runner or the worker count.
"""

from __future__ import annotations

import hashlib
import math

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from corpus import span_corruption as sc
from corpus.config import T5Config
from corpus.tokenizer import EOS_ID, Vocabulary, metadata, sample_key, train
from pipelines.write import WriteDataset

EXAMPLES_SCHEMA = pa.schema([("id", pa.string()), ("inputs", pa.list_(pa.int32())), ("targets", pa.list_(pa.int32())),
                             ("group", pa.int64()), ("piece", pa.int64()), ("documents", pa.int64())])


def seed_pair(run_seed: int, *key) -> np.ndarray:
    """An int64 seed pair from the run seed and a stable key (never from order or process)."""
    digest = hashlib.blake2b(repr((run_seed, *key)).encode(), digest_size=16).digest()
    return np.frombuffer(digest, dtype="<i8").astype(np.int64)


def _group_of(doc_id: str, num_groups: int) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") % num_groups


class _Tokenize(beam.DoFn):
    """A batch of documents -> (group, (doc id, chunk tokens)); documents with no tokens are skipped,
    as the reference filters empty documents before chunking."""

    def __init__(self, options: T5Config, run_seed: int) -> None:
        self.options, self.run_seed = options, run_seed
        self.vocab = None

    def process(self, batch, model: bytes, num_groups: int):
        if self.vocab is None or self.vocab.model is not model:
            self.vocab = Vocabulary(model, self.options.extra_ids)
        for doc, ids in zip(batch, self.vocab.encode([d.text for d in batch]), strict=True):
            if not ids:
                continue
            start, end = sc.select_random_chunk(len(ids), seed_pair(self.run_seed, "chunk", doc.id),
                                                self.options.chunk_max_tokens)
            yield _group_of(doc.id, num_groups), (doc.id, np.asarray(ids[start:end], dtype=np.int32))


class _Denoise(beam.DoFn):
    """A group of chunks -> its span-corruption examples (EOS appended after trimming, as seqio)."""

    def __init__(self, options: T5Config, run_seed: int, tokens_length: int, targets_length: int) -> None:
        self.options, self.run_seed = options, run_seed
        self.tokens_length, self.targets_length = tokens_length, targets_length

    def setup(self) -> None:
        self.vocab_size = None

    def process(self, group_chunks, model: bytes):
        group, chunks = group_chunks
        chunks = sorted(chunks, key=lambda c: c[0])
        if self.vocab_size is None:
            self.vocab_size = Vocabulary(model, self.options.extra_ids).vocab_size
        vocab_size = self.vocab_size
        o = self.options
        tokens = sc.reduce_concat_tokens([c for _, c in chunks])
        for piece, segment in enumerate(sc.split_tokens(tokens, self.tokens_length)):
            inputs, targets = sc.span_corruption_example(
                segment, vocab_size, seed_pair(self.run_seed, "noise", group, piece),
                noise_density=o.noise_density, mean_noise_span_length=o.mean_noise_span_length,
                random_roll=o.random_roll, num_extra_ids=o.extra_ids)
            yield [{"id": f"{group:09d}-{piece:06d}", "group": group, "piece": piece, "documents": len(chunks),
                    "inputs": _append_eos_after_trim(inputs, o.inputs_length),
                    "targets": _append_eos_after_trim(targets, self.targets_length)}]


def _append_eos_after_trim(ids: np.ndarray, length: int) -> list[int]:
    return [*ids[: length - 1].tolist(), EOS_ID]


def _read_bytes(path: str) -> bytes:
    with FileSystems.open(path) as f:
        return f.read()


def _write_tokenizer(model: bytes, directory: str, extra_ids: int, trained_on: int | None) -> None:
    if not model:
        return
    with FileSystems.create(FileSystems.join(directory, "spm.model")) as f:
        f.write(model)
    info = metadata(model, extra_ids, **({"trained_on_documents": trained_on} if trained_on is not None else {}))
    with FileSystems.create(FileSystems.join(directory, "spm.json")) as f:
        f.write(info.encode())


class SpanCorruption(beam.PTransform):
    """Batches of kept documents -> ``examples/`` (and ``tokens/``, ``tokenizer/``) under ``directory``;
    outputs ``(name, summary)`` pairs like WriteDataset."""

    def __init__(self, options: T5Config, run_seed: int, directory: str, max_shard_bytes: int) -> None:
        super().__init__()
        self.options, self.run_seed = options, run_seed
        self.directory, self.max_shard_bytes = directory, max_shard_bytes
        self.tokens_length, self.targets_length = sc.span_corruption_lengths(
            options.inputs_length, None, options.noise_density, options.mean_noise_span_length,
            options.random_roll, options.extra_ids)

    def expand(self, batches):
        o = self.options
        p = batches.pipeline
        if o.tokenizer:
            model = p | "TokenizerPath" >> beam.Create([o.tokenizer]) | "ReadTokenizer" >> beam.Map(_read_bytes)
            trained_on = None
        else:
            # The documents whose ids hash lowest (training_sample's choice), combined per bundle first.
            sample = (batches
                      | "KeyForSample" >> beam.FlatMap(lambda batch: [(sample_key(d.id), d.text) for d in batch])
                      | "SampleForTokenizer" >> beam.combiners.Top.Smallest(o.train_sample_docs)
                      | "SampleTexts" >> beam.Map(lambda pairs: [text for _, text in sorted(pairs)]))
            # no kept documents: nothing to train on, and nothing will be tokenized
            model = sample | "TrainTokenizer" >> beam.Map(lambda texts: train(texts, o.train_vocab_size) if texts else b"")
            trained_on = o.train_sample_docs
        _ = model | "WriteTokenizer" >> beam.Map(_write_tokenizer, FileSystems.join(self.directory, "tokenizer"),
                                                 o.extra_ids, trained_on)
        model_side = beam.pvalue.AsSingleton(model)
        num_groups = beam.pvalue.AsSingleton(
            batches
            | "CountDocuments" >> beam.Map(len)
            | "TotalDocuments" >> beam.CombineGlobally(sum)
            | "CountGroups" >> beam.Map(lambda n: max(1, math.ceil(n / o.docs_per_group))))
        examples = (
            batches
            # group -> (document id, chunk tokens)
            | "Tokenize" >> beam.ParDo(_Tokenize(o, self.run_seed), model=model_side, num_groups=num_groups)
            | "GroupDocuments" >> beam.GroupByKey()
            | "Denoise" >> beam.ParDo(_Denoise(o, self.run_seed, self.tokens_length, self.targets_length),
                                      model=model_side)
            | "WriteExamples" >> WriteDataset(FileSystems.join(self.directory, "examples"), EXAMPLES_SCHEMA,
                                              self.max_shard_bytes, name="examples"))
        outputs = [examples]
        if o.decoder_only:
            outputs.append(
                batches
                | "DecoderOnlyTokens" >> beam.ParDo(_DocumentTokens(o), model=model_side)
                | "WriteTokens" >> WriteDataset(FileSystems.join(self.directory, "tokens"),
                                                _tokens_schema(o), self.max_shard_bytes, name="tokens"))
        return outputs | "AllExampleOutputs" >> beam.Flatten()


def _tokens_schema(options: T5Config) -> pa.Schema:
    """uint16 ids when every id fits (a vocabulary under 65,500 ids), which halves the bytes."""
    size = (Vocabulary.load(options.tokenizer, options.extra_ids).vocab_size if options.tokenizer
            else options.train_vocab_size + options.extra_ids)
    return pa.schema([("id", pa.string()), ("input_ids", pa.list_(pa.uint16() if size < 65_500 else pa.int32()))])


class _DocumentTokens(beam.DoFn):
    def __init__(self, options: T5Config) -> None:
        self.options = options
        self.vocab = None

    def process(self, batch, model: bytes):
        if self.vocab is None or self.vocab.model is not model:
            self.vocab = Vocabulary(model, self.options.extra_ids)
        rows = [{"id": doc.id, "input_ids": [*ids, EOS_ID]}
                for doc, ids in zip(batch, self.vocab.encode([d.text for d in batch]), strict=True) if ids]
        if rows:
            yield rows

"""The T5 span-corruption stage: examples that load in `datasets`, decode, lose no token, and do not
depend on the runner."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest

from conftest import ROOT, SAMPLE
from corpus.config import load_config
from corpus.tokenizer import EOS_ID, Vocabulary
from pipelines.run import run
from pipelines.t5 import seed_pair

INPUT = str(SAMPLE / "pages.jsonl.gz")  # 150 documents with text, 2 empty ones, 3 broken lines


def t5_config(*overrides):
    base = ["t5.train_vocab_size=1000", "t5.docs_per_group=40", "t5.decoder_only=true", *overrides]
    return load_config(LIMITS_AND_T5, base)


LIMITS_AND_T5 = ROOT / "tests" / "configs" / "limits_and_t5.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    path = tmp_path_factory.mktemp("t5out") / "out"
    run(t5_config(), [INPUT], str(path), ["--direct_num_workers=1"])
    return path


def test_examples_have_t5_lengths_eos_and_sentinels(out):
    ex = datasets.load_from_disk(str(out / "examples"))
    vocab = Vocabulary.load(str(out / "tokenizer/spm.model"))
    assert vocab.vocab_size == 1100 and len(ex) > 10
    for row in ex:
        inputs, targets = row["inputs"], row["targets"]
        assert len(inputs) <= 512 and len(targets) <= 114
        assert inputs[-1] == EOS_ID and targets[-1] == EOS_ID
        sentinels_in = [t for t in inputs if t >= vocab.vocab_size - 100]
        sentinels_out = [t for t in targets if t >= vocab.vocab_size - 100]
        # sentinels count down from <extra_id_0>, in the same order in inputs and targets
        assert sentinels_in == sentinels_out == [vocab.sentinel(i) for i in range(len(sentinels_in))]
        assert targets[0] == vocab.sentinel(0)


def reconstruct(inputs: list[int], targets: list[int], first_sentinel: int) -> list[int]:
    """Put the noise spans from targets back into the inputs' sentinel slots."""
    spans, current = {}, None
    for t in targets[:-1]:
        if t >= first_sentinel:
            current = t
            spans[current] = []
        else:
            spans[current].append(t)
    out = []
    for t in inputs[:-1]:
        out.extend(spans[t] if t >= first_sentinel else [t])
    return out


def test_no_token_is_lost_between_documents_and_examples(out):
    """Every token of every group's concatenated chunks comes back from inputs + targets, in order."""
    vocab = Vocabulary.load(str(out / "tokenizer/spm.model"))
    ex = sorted(datasets.load_from_disk(str(out / "examples")), key=lambda r: (r["group"], r["piece"]))
    tokens = datasets.load_from_disk(str(out / "tokens"))
    by_group: dict[int, list[int]] = {}
    for row in ex:
        by_group.setdefault(row["group"], []).extend(
            reconstruct(row["inputs"], row["targets"], vocab.vocab_size - 100))
    # documents here are far shorter than one 65,536-token chunk, so a group is its documents' tokens
    all_doc_tokens = sorted(len(r["input_ids"]) - 1 for r in tokens)
    assert sum(len(v) for v in by_group.values()) == sum(all_doc_tokens)
    assert sum(r["documents"] for r in ex if r["piece"] == 0) == len(tokens) == 150
    assert sorted(by_group) == list(range(len(by_group))) and len(by_group) == 4  # ceil(150 / 40) groups


def test_decoder_only_tokens_are_uint16_and_eos_terminated(out):
    tokens = datasets.load_from_disk(str(out / "tokens"))
    assert tokens.features["input_ids"].feature.dtype == "uint16"
    vocab = Vocabulary.load(str(out / "tokenizer/spm.model"))
    docs = {r["id"]: r["text"] for r in datasets.load_from_disk(str(out / "documents"))}
    assert set(tokens["id"]) == set(docs)
    for row in tokens.select(range(5)):
        assert row["input_ids"][-1] == EOS_ID
        assert vocab.decode(row["input_ids"][:-1]).split() == vocab.decode(vocab.encode([docs[row["id"]]])[0]).split()


def test_one_example_decodes_with_sentinels_visible(out):
    vocab = Vocabulary.load(str(out / "tokenizer/spm.model"))
    row = datasets.load_from_disk(str(out / "examples"))[0]
    shown = vocab.show(row["inputs"])
    assert "<extra_id_0>" in shown and shown.endswith("</s>")
    assert vocab.show(row["targets"]).startswith("<extra_id_0>")


def test_examples_do_not_depend_on_the_runner(out, tmp_path):
    other = tmp_path / "mp"
    run(t5_config(), [INPUT], str(other),
        ["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    for name in ("examples", "tokens", "tokenizer"):
        for a in sorted((out / name).iterdir()):
            assert a.read_bytes() == (other / name / a.name).read_bytes(), f"{name}/{a.name}"


def test_a_given_tokenizer_is_used_and_copied(out, tmp_path):
    again = tmp_path / "again"
    run(t5_config(f"t5.tokenizer={out / 'tokenizer/spm.model'}"), [INPUT], str(again),
        ["--direct_num_workers=1"])
    assert (again / "tokenizer/spm.model").read_bytes() == (out / "tokenizer/spm.model").read_bytes()
    info = json.loads((again / "tokenizer/spm.json").read_text())
    assert info["vocab_size"] == 1100 and "trained_on_documents" not in info
    a = datasets.load_from_disk(str(again / "examples"))
    b = datasets.load_from_disk(str(out / "examples"))
    assert a["inputs"] == b["inputs"]


def test_seed_pairs_come_from_stable_keys():
    assert (seed_pair(0, "noise", 3, 1) == seed_pair(0, "noise", 3, 1)).all()
    assert not (seed_pair(0, "noise", 3, 1) == seed_pair(1, "noise", 3, 1)).all()
    assert seed_pair(0, "chunk", "x").dtype == np.int64


def test_pytorch_dataloader_split_by_rank_covers_every_example_once(out):
    import torch
    from corpus.loading import examples_for_rank, pad_batch

    seen = []
    for rank in range(3):
        loader = torch.utils.data.DataLoader(examples_for_rank(str(out / "examples"), rank, 3), batch_size=8,
                                             collate_fn=pad_batch)
        ids = []
        for batch in loader:
            assert batch["inputs"].dtype == torch.long and batch["inputs"].shape[1] <= 512
            assert (batch["inputs"][:, 0] != 0).all()  # padding only ever follows the tokens
            ids += batch["id"]
        seen.append(ids)
    everything = datasets.load_from_disk(str(out / "examples"))["id"]
    assert sorted(sum(seen, [])) == sorted(everything)  # nothing missing
    assert sum(map(len, seen)) == len(set(sum(seen, [])))  # no overlap between ranks


def test_settings_that_need_more_sentinels_than_extra_ids_are_refused():
    from corpus.errors import ConfigError

    assert t5_config("t5.inputs_length=1809").t5.inputs_length == 1809
    with pytest.raises(ConfigError, match="needs up to 101 sentinels but the vocabulary has 100 extra ids"):
        t5_config("t5.inputs_length=1810")

"""corpus/span_corruption.py against values the real TensorFlow code produced, and its invariants.

Golden data: ``shared/data/t5_golden/t5_span_golden.json``, made with TensorFlow 2.21.0, seqio 0.0.20
and T5's ``t5/data/preprocessors.py``. What each key holds, as the numbers show:

- ``rng``: per seed pair and seed dtype, ``tf.random.stateless_uniform([37], seed)`` (float32) and
  ``tf.random.experimental.stateless_split(seed, num=6)`` (seeds of the input's dtype);
- ``denoise``: ``single_example_denoise`` as ``span_corruption`` configures it (noise_density 0.15,
  mean_noise_span_length 3.0, unique sentinels, optionally ``random_roll``), the seed an int64 pair
  (split into 6; int32 seeds would give other masks), no EOS appended;
- ``chunk``: ``single_example_select_random_chunk`` (int64 seed, split into 2, the second used).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, SHARED
from corpus import span_corruption as sc
from corpus.errors import ConfigError

GOLDEN = SHARED / "data" / "t5_golden" / "t5_span_golden.json"
VOCAB_SIZE = 32100  # T5's SentencePiece vocabulary: 32000 pieces + 100 extra ids


@cache
def _golden() -> dict:
    return json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}


def _cases(key: str) -> list:
    # Collected at import time for parametrization; an absent file gives no cases, and the
    # `golden` fixture below skips the one placeholder case instead.
    return _golden().get(key) or [None]


@pytest.fixture
def golden(shared: Path) -> dict:
    if not GOLDEN.is_file():
        pytest.skip(f"{GOLDEN} is not present")
    return _golden()


def _case_id(case) -> str:
    if case is None:
        return "absent"
    size = case.get("n", len(case.get("tokens", ())))
    extra = f"-roll{int(case['random_roll'])}" if "random_roll" in case else ""
    return f"{case['seed'][0]}_{case['seed'][1]}-{case.get('dtype', size)}{extra}"


# --- Golden: bit-exact to TensorFlow --------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("rng"), ids=_case_id)
def test_golden_rng(golden, case):
    seed = np.array(case["seed"], dtype=case["dtype"])
    expected_uniform = np.array(case["uniform"], dtype=np.float32)  # JSON holds the exact float32 values
    assert sc.stateless_uniform(37, seed).tobytes() == expected_uniform.tobytes()
    split = sc.stateless_split(seed, 6)
    assert split.dtype == np.dtype(case["dtype"])
    assert split.tolist() == case["split"]


@pytest.mark.parametrize("case", _cases("denoise"), ids=_case_id)
def test_golden_denoise(golden, case):
    inputs, targets = sc.span_corruption_example(case["tokens"], case["vocab_size"], case["seed"],
                                                 random_roll=case["random_roll"])
    assert inputs.tolist() == case["inputs"]
    assert targets.tolist() == case["targets"]


@pytest.mark.parametrize("case", _cases("chunk"), ids=_case_id)
def test_golden_select_random_chunk(golden, case):
    start_end = sc.select_random_chunk(case["n"], case["seed"], case["max_length"])
    assert list(start_end) == case["start_end"]


def test_golden_counts(golden):
    assert (len(golden["rng"]), len(golden["denoise"]), len(golden["chunk"])) == (6, 84, 48)


# --- The RNG on its own ------------------------------------------------------------------------------


# Random123's known-answer vectors for Philox4x32-10 (counter, key -> output).
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", PHILOX_KAT)
def test_philox_known_answers(counter, key, expected):
    assert sc._philox_block(counter, key) == expected
    u64 = np.uint64
    lo = np.array([counter[0] | counter[1] << 32], dtype=u64)
    hi = np.array([counter[2] | counter[3] << 32], dtype=u64)
    assert tuple(sc._philox(lo, hi, u64(key[0]), u64(key[1]))[0].tolist()) == expected


def test_vectorised_and_scalar_philox_agree_across_the_64_bit_carry():
    key = (0x12345678, 0x9ABCDEF0)
    counter = (0xFFFFFFFD, 0xFFFFFFFF, 0xFFFFFFFF, 7)  # the low half overflows after 3 blocks
    u64 = np.uint64
    index = np.arange(6, dtype=u64)
    lo = u64(counter[0] | counter[1] << 32) + index
    hi = u64(counter[2] | counter[3] << 32) + (lo < u64(counter[0] | counter[1] << 32)).astype(u64)
    vectorised = sc._philox(lo, hi, u64(key[0]), u64(key[1])).tolist()
    scalar = [list(sc._philox_block(sc._counter_plus(counter, i), key)) for i in range(6)]
    assert vectorised == scalar


@pytest.mark.parametrize("n", [0, 1, 4, 31, 32, 33, 1000])
def test_small_and_large_draws_are_one_stream(n):
    # Below _SMALL_DRAW_BLOCKS the words come from Python ints, above from NumPy: same stream.
    seed = [987654321, -5]
    assert np.array_equal(sc.random_bits(seed, n), sc.random_bits(seed, 2000)[:n])
    assert np.array_equal(sc.stateless_uniform(n, seed), sc.stateless_uniform(2000, seed)[:n])


def test_several_seeds_in_one_pass_equal_separate_draws():
    seeds = [[1, 2], np.array([3, -4], dtype=np.int32), [2**62, -(2**63)]]
    sizes = [5, 600, 0]
    together = sc.stateless_uniform_many(seeds, sizes)
    for seed, size, draw in zip(seeds, sizes, together):
        assert np.array_equal(draw, sc.stateless_uniform(size, seed))


def test_seed_dtype_matters_for_split_only():
    # GenerateKey sign-extends int32 seeds: same key and counter as the int64 seed of equal value ...
    as_int32, as_int64 = np.array([-1, -7], dtype=np.int32), np.array([-1, -7], dtype=np.int64)
    assert sc.seed_to_key_counter(as_int32) == sc.seed_to_key_counter(as_int64)
    assert np.array_equal(sc.stateless_uniform(9, as_int32), sc.stateless_uniform(9, as_int64))
    # ... but stateless_split returns the input's dtype, built from 32 or 64 bits per seed.
    split32, split64 = sc.stateless_split(as_int32, 3), sc.stateless_split(as_int64, 3)
    assert split32.dtype == np.int32 and split64.dtype == np.int64
    assert split32.tolist() != split64.tolist()
    # A plain pair is int64, the dtype seqio's map_over_dataset passes.
    assert sc.stateless_split([-1, -7], 3).tolist() == split64.tolist()


def test_uniform_int_is_word_modulo_range():
    seed = [11, 12]
    words = sc.random_bits(seed, 50).astype(np.int64)
    assert sc.stateless_uniform_int(50, seed, maxval=7).tolist() == (words % 7).tolist()
    assert sc.stateless_uniform_int(50, seed, minval=-3, maxval=4).tolist() == (words % 7 - 3).tolist()
    with pytest.raises(ValueError):
        sc.stateless_uniform_int(1, seed, maxval=0)


def test_stateless_shuffle_is_a_stable_argsort_of_the_uniform_draw():
    seed = [5, 5]
    values = np.arange(700)
    shuffled = sc.stateless_shuffle(values, seed)
    assert sorted(shuffled.tolist()) == values.tolist()
    assert shuffled.tolist() == np.argsort(sc.stateless_uniform(700, seed), kind="stable").tolist()


def test_shuffle_ties_keep_index_order():
    # Seed (16, 77) draws the same float32 at indices 106 and 534 of 567. TensorFlow 2.21's
    # stateless_shuffle (argsort = top_k of the negated draw) puts 106 first; so must we.
    seed = [16, 77]
    draw = sc.stateless_uniform(567, seed)
    assert draw[106] == draw[534]
    shuffled = sc.stateless_shuffle(np.arange(567), seed).tolist()
    assert shuffled.index(106) + 1 == shuffled.index(534)


def test_no_tensorflow_no_beam():
    code = ("import sys, corpus.span_corruption; "
            "assert not {'tensorflow', 'apache_beam'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- Lengths -------------------------------------------------------------------------------------


def test_random_spans_helper():
    assert sc.random_spans_helper(512) == (568, 114)  # T5's pretraining lengths
    assert sc.random_spans_helper(1024) == (1137, 229)
    # noise_density 0.5: the reference trims one token so targets do not exceed inputs.
    assert sc.random_spans_helper(512, noise_density=0.5, mean_noise_span_length=3.0) == (766, 512)


def test_noise_counts_use_float32_like_the_reference():
    # 190 * 0.15 is 28.5 in float64 (half-to-even: 28) but 28.500002 in float32 (29).
    assert sc.noise_span_counts(190) == (29, 10)
    assert int(round(190 * 0.15)) == 28
    assert sc.noise_span_counts(10) == (2, 1)  # 10 * 0.15f rounds to exactly 1.5, half to even: 2
    assert sc.noise_span_counts(568) == (85, 28)
    assert sc.noise_span_counts(1) == sc.noise_span_counts(2) == (1, 1)  # length raised to 2


def test_sentinel_budget_runs_out_from_inputs_length_1810():
    assert sc.span_corruption_lengths(1809) == (2009, 402)
    assert sc.max_sentinels(2009) == 100
    with pytest.raises(sc.SentinelBudgetError, match="101 sentinels"):
        sc.span_corruption_lengths(1810)
    assert sc.random_spans_helper(1810) == (2010, 404)
    assert sc.noise_span_counts(2010) == (302, 101)
    # Every longer setting fails too, and examples of that many tokens are refused.
    assert all(_budget_error(n) for n in range(1810, 2200))
    assert not any(_budget_error(n) for n in range(2, 1810))
    with pytest.raises(sc.SentinelBudgetError):
        sc.span_corruption_example(np.arange(3, 2013), VOCAB_SIZE, [1, 2])
    sc.span_corruption_example(np.arange(3, 2012), VOCAB_SIZE, [1, 2])  # 2009 tokens: 100 spans


def _budget_error(inputs_length: int) -> bool:
    try:
        sc.span_corruption_lengths(inputs_length)
    except sc.SentinelBudgetError:
        return True
    return False


def test_random_roll_can_need_one_more_sentinel():
    assert sc.max_sentinels(2009, random_roll=True) == 101
    with pytest.raises(sc.SentinelBudgetError):
        sc.span_corruption_lengths(1809, random_roll=True)
    assert sc.span_corruption_lengths(1792, random_roll=True) == (1990, 398)  # 99 spans + 1


def test_sentinel_budget_error_is_a_config_error():
    assert issubclass(sc.SentinelBudgetError, ConfigError)


def test_targets_length_too_short():
    assert sc.span_corruption_lengths(512, targets_length=114) == (568, 114)
    with pytest.raises(ConfigError, match=r"\(114\) is greater than configured targets length \(113\)"):
        sc.span_corruption_lengths(512, targets_length=113)


# --- The noise mask and the example: invariants --------------------------------------------------

SEEDS = st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1))
LENGTHS = st.one_of(st.integers(1, 40), st.integers(1, 3000), st.sampled_from([568, 1137, 2009]))
EXAMPLE_LENGTHS = st.one_of(st.integers(1, 40), st.integers(1, 1990), st.sampled_from([568, 1137, 1990]))


def _spans(mask: np.ndarray) -> list[tuple[bool, int]]:
    """Runs of equal values: (is_noise, length)."""
    if mask.size == 0:
        return []
    edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [mask.size]]))
    return [(bool(mask[s]), int(n)) for s, n in zip(starts, lengths)]


@settings(max_examples=300, deadline=None)
@given(length=LENGTHS, seed=SEEDS)
def test_mask_without_roll(length, seed):
    seeds = sc.stateless_split(seed, 6)[:2]
    mask = sc.random_spans_noise_mask(length, 0.15, seeds)
    assert mask.dtype == bool and mask.shape == (length,)
    num_noise_tokens, num_noise_spans = sc.noise_span_counts(length)
    if length == 1:  # computed for length 2 (non-noise, noise) and cut to the first token
        assert mask.tolist() == [False]
        return
    assert num_noise_tokens == min(max(int(np.rint(np.float32(length) * np.float32(0.15))), 1), length - 1)
    assert int(mask.sum()) == num_noise_tokens
    spans = _spans(mask)
    # Alternating spans, non-noise first and noise last: k of each.
    assert [noise for noise, _ in spans] == [False, True] * num_noise_spans


@settings(max_examples=300, deadline=None)
@given(length=LENGTHS, seed=SEEDS)
def test_mask_with_roll_is_a_rotation(length, seed):
    seeds = sc.stateless_split(seed, 6)[:2]
    plain = sc.random_spans_noise_mask(length, 0.15, seeds)
    rolled = sc.random_spans_noise_mask(length, 0.15, seeds, random_roll=True)
    assert rolled.shape == (length,) and int(rolled.sum()) == int(plain.sum())
    assert (plain.tobytes() * 2).find(rolled.tobytes()) != -1  # some np.roll(plain, k)
    # A rotation can split one span across the ends: at most one more span of either kind.
    _, num_noise_spans = sc.noise_span_counts(length)
    spans = _spans(rolled)
    for kind in (False, True):
        assert sum(noise == kind for noise, _ in spans) <= sc.max_sentinels(length, random_roll=True)
    if length >= 2:
        assert sum(noise for noise, _ in spans) in (num_noise_spans, num_noise_spans + 1)


def _reconstruct(inputs: np.ndarray, targets: np.ndarray, vocab_size: int, num_extra_ids: int) -> list[int]:
    """Put the noise spans back: the i-th sentinel of the inputs stands for the i-th run of
    non-sentinel tokens in the targets. (Usually the run after the targets' i-th sentinel, but a
    rolled mask that starts with noise puts the first noise run before the targets' first sentinel:
    the reference's sentinels then do not pair up; see test_roll_can_misalign_sentinels.)"""
    is_sentinel = lambda token: token >= vocab_size - num_extra_ids  # noqa: E731
    runs, run = [], []
    for token in targets.tolist():
        if is_sentinel(token):
            runs.append(run)
            run = []
        else:
            run.append(token)
    noise_runs = iter([r for r in runs + [run] if r])
    out = []
    for token in inputs.tolist():
        out.extend(next(noise_runs) if is_sentinel(token) else [token])
    assert next(noise_runs, None) is None
    return out


def _sentinels(sequence: np.ndarray, vocab_size: int) -> list[int]:
    return [t for t in sequence.tolist() if t >= vocab_size - sc.NUM_EXTRA_IDS]


@settings(max_examples=300, deadline=None)
@given(length=EXAMPLE_LENGTHS, seed=SEEDS, random_roll=st.booleans(), token_seed=st.integers(0, 2**32))
def test_example_round_trip(length, seed, random_roll, token_seed):
    tokens = np.random.default_rng(token_seed).integers(
        2, VOCAB_SIZE - sc.NUM_EXTRA_IDS, size=length, dtype=np.int32)
    inputs, targets = sc.span_corruption_example(tokens, VOCAB_SIZE, seed, random_roll=random_roll)
    assert inputs.dtype == tokens.dtype and targets.dtype == tokens.dtype
    mask = sc.random_spans_noise_mask(length, 0.15, sc.stateless_split(seed, 6)[:2], random_roll=random_roll)
    spans = _spans(mask)
    noise_spans = sum(noise for noise, _ in spans)
    nonnoise_spans = len(spans) - noise_spans
    # Lengths: each run of noise becomes one sentinel in the inputs, each other run one in the targets.
    assert inputs.size == length - int(mask.sum()) + noise_spans
    assert targets.size == int(mask.sum()) + nonnoise_spans
    # Sentinels count down from <extra_id_0> = vocab_size - 1, in both sequences.
    assert _sentinels(inputs, VOCAB_SIZE) == [sc.sentinel_id(VOCAB_SIZE, i) for i in range(noise_spans)]
    assert _sentinels(targets, VOCAB_SIZE) == [sc.sentinel_id(VOCAB_SIZE, i) for i in range(nonnoise_spans)]
    if not random_roll and length >= 2:  # targets open with the sentinel of the first kept span
        assert targets[0] == VOCAB_SIZE - 1 and inputs[-1] == VOCAB_SIZE - noise_spans
    assert _reconstruct(inputs, targets, VOCAB_SIZE, sc.NUM_EXTRA_IDS) == tokens.tolist()


def test_roll_can_misalign_sentinels():
    """Reference behaviour kept: when a rolled mask starts with noise, the inputs open with
    <extra_id_0> for that first noise span, but the targets open with the noise tokens themselves
    and their <extra_id_0> marks the first non-noise span (golden case: 2 tokens, seed (0, 0))."""
    inputs, targets = sc.span_corruption_example([3, 7922], VOCAB_SIZE, [0, 0], random_roll=True)
    assert (inputs.tolist(), targets.tolist()) == ([32099, 7922], [3, 32099])
    seed = next(s for s in range(100) if sc.random_spans_noise_mask(
        568, 0.15, sc.stateless_split([s, 1], 6)[:2], random_roll=True)[0])
    inputs, targets = sc.span_corruption_example(np.arange(3, 571), VOCAB_SIZE, [seed, 1], random_roll=True)
    assert inputs[0] == VOCAB_SIZE - 1 and targets[0] == 3


def test_sentinel_functions():
    tokens = np.array([10, 11, 12, 13, 14, 15, 16])
    mask = np.array([0, 1, 1, 0, 1, 0, 0], dtype=bool)
    assert sc.noise_span_to_unique_sentinel(tokens, mask, 100).tolist() == [10, 99, 13, 98, 15, 16]
    assert sc.nonnoise_span_to_unique_sentinel(tokens, mask, 100).tolist() == [99, 11, 12, 98, 14, 97]
    assert sc.sentinel_id(32100) == 32099 and sc.sentinel_id(32100, 99) == 32000


def test_eos_is_appended_only_on_request():
    tokens = np.arange(3, 40)
    inputs, targets = sc.span_corruption_example(tokens, VOCAB_SIZE, [4, 2])
    with_eos = sc.span_corruption_example(tokens, VOCAB_SIZE, [4, 2], eos_id=1)
    assert with_eos[0].tolist() == inputs.tolist() + [1]
    assert with_eos[1].tolist() == targets.tolist() + [1]


def test_zero_noise_density_and_impossible_densities():
    assert not sc.random_spans_noise_mask(50, 0.0, [[1, 2], [3, 4]]).any()
    with pytest.raises(ValueError, match="noise spans do not fit"):
        sc.random_spans_noise_mask(50, 0.9, [[1, 2], [3, 4]], mean_noise_span_length=1.0)


def test_int32_seeds_give_other_masks_than_int64():
    seed32 = np.array([123, 456], dtype=np.int32)
    assert sc.span_corruption_example(np.arange(3, 571), VOCAB_SIZE, seed32)[0].tolist() != \
        sc.span_corruption_example(np.arange(3, 571), VOCAB_SIZE, [123, 456])[0].tolist()


def test_roll_seed_wraps_like_tensorflow_integers():
    seeds = np.array([[2**63 - 1, -(2**63)], [5, 1]], dtype=np.int64)
    # (max + 1, min - 5) wrap around to (min, max - 4).
    assert sc._roll_seed(seeds).tolist() == [-(2**63), 2**63 - 5]
    seeds32 = np.array([[2**31 - 1, 0], [1, 1]], dtype=np.int32)
    assert sc._roll_seed(seeds32).tolist() == [-(2**31), -1]


# --- Chunking ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(n_tokens=st.integers(1, 10**6), seed=SEEDS, max_length=st.sampled_from([1, 7, 512, 65536]))
def test_select_random_chunk_is_an_aligned_chunk(n_tokens, seed, max_length):
    start, end = sc.select_random_chunk(n_tokens, seed, max_length)
    assert start % max_length == 0 and 0 <= start < n_tokens
    assert end == min(start + max_length, n_tokens)
    if n_tokens <= max_length:
        assert (start, end) == (0, n_tokens)


def test_select_random_chunk_refuses_empty_documents():
    with pytest.raises(ValueError):
        sc.select_random_chunk(0, [1, 2])


def test_reduce_concat_and_split_tokens():
    tokens = sc.reduce_concat_tokens([[5, 6, 0], [], np.array([7, 0, 8])])
    assert tokens.tolist() == [5, 6, 7, 8]  # zeros are the reference's padding: dropped
    assert [s.tolist() for s in sc.split_tokens(np.arange(1, 11), 4)] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert [s.tolist() for s in sc.split_tokens(np.arange(1, 9), 4)] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert sc.split_tokens([], 4) == []
    assert sc.reduce_concat_tokens([]).tolist() == []

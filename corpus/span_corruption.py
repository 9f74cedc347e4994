"""T5's span-corruption objective as plain NumPy, exact to the TensorFlow code that defines it.

No TensorFlow and no Beam: this module is the pure math that the span-corruption stage runs per
example. It reproduces, bit for bit, what these reference functions compute:

- google-research/text-to-text-transfer-transformer, ``t5/data/preprocessors.py``:
  ``span_corruption`` (noise_density 0.15, mean_noise_span_length 3.0), ``random_spans_helper``,
  ``random_spans_noise_mask`` (with ``random_roll``) and its inner ``_random_segmentation``,
  ``noise_span_to_unique_sentinel``, ``nonnoise_span_to_unique_sentinel``,
  ``single_example_denoise`` (what ``denoise`` maps), ``single_example_select_random_chunk``
  (what ``select_random_chunk`` maps; ``max_length=65536`` in ``span_corruption``),
  ``reduce_concat_tokens`` and ``split_tokens``.
- google/seqio, ``seqio/utils.py``: ``stateless_shuffle`` (argsort of ``stateless_uniform``) and
  ``map_over_dataset(num_seeds=...)``, which hands each example int64 seed pairs drawn from
  ``tf.data.experimental.RandomDataset``; the T5 functions then split one pair with
  ``tf.random.experimental.stateless_split`` (6 seeds in denoise, 2 in select_random_chunk).
- TensorFlow's stateless RNG, which all of the above draw from:
  ``tensorflow/core/kernels/stateless_random_ops.cc`` (``GenerateKey``: seed -> Philox key and
  counter), ``tensorflow/core/lib/random/philox_random.h`` (Philox4x32-10),
  ``tensorflow/core/lib/random/random_distributions.h`` (``Uint32ToFloat``,
  ``UniformDistribution<int32>``, ``UniformFullIntDistribution``) and
  ``tensorflow/python/ops/sort_ops.py`` (``argsort`` = ``top_k`` of the negated values, which keeps
  equal values in index order, i.e. a stable sort).

``tests/test_span_corruption.py`` checks all of it against values the real TensorFlow code produced
(``shared/data/t5_golden/t5_span_golden.json``, TF 2.21.0 and seqio 0.0.20).

Seeds: a seed is a pair of integers. Its dtype matters exactly where TensorFlow's does: the key
derivation sign-extends either dtype to 64 bits (so int32 and int64 seeds of equal value draw the
same numbers), but ``stateless_split`` returns seeds of the input's dtype, built from 32 or 64 random
bits each. A NumPy int32/int64 array keeps its dtype; anything else is taken as int64, the dtype
seqio's ``map_over_dataset`` passes (and the one the golden data was made with).

What this module does not do: EOS. The reference's ``denoise`` returns inputs and targets without
EOS (seqio appends it afterwards from the output features); ``span_corruption_example`` appends one
only when given ``eos_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from corpus.errors import ConfigError

# T5's defaults (preprocessors.py ``span_corruption``) and its vocabulary's 100 sentinels
# (<extra_id_0> .. <extra_id_99> = vocab_size - 1 .. vocab_size - 100).
NOISE_DENSITY = 0.15
MEAN_NOISE_SPAN_LENGTH = 3.0
NUM_EXTRA_IDS = 100
CHUNK_MAX_LENGTH = 65536

# --- TensorFlow's stateless RNG: Philox4x32-10 -------------------------------------------------
# philox_random.h: multipliers, Weyl key increments, and the fixed key GenerateKey starts from.
_PHILOX_M0 = 0xD2511F53
_PHILOX_M1 = 0xCD9E8D57
_PHILOX_W0 = 0x9E3779B9
_PHILOX_W1 = 0xBB67AE85
_PHILOX_ROUNDS = 10
_SEED_SCRAMBLE_KEY = (0x3EC8F720, 0x02461E29)  # stateless_random_ops.cc GenerateKey
_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1
# Draws of at most this many Philox blocks run on Python ints: below this, NumPy's per-call
# overhead (about 100 array operations per Philox call) costs more than the arithmetic.
_SMALL_DRAW_BLOCKS = 8

Key = tuple[int, int]  # Philox key: two uint32 words
Counter = tuple[int, int, int, int]  # Philox counter: 128 bits as four uint32 words, low word first


def _philox_block(counter: Counter, key: Key) -> Counter:
    """One Philox4x32-10 output block (four uint32 words) for one counter, on Python ints."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(_PHILOX_ROUNDS):
        p0 = _PHILOX_M0 * c0
        p1 = _PHILOX_M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & _MASK32
        k0 = (k0 + _PHILOX_W0) & _MASK32
        k1 = (k1 + _PHILOX_W1) & _MASK32
    return c0, c1, c2, c3


def _philox(counter_lo: np.ndarray, counter_hi: np.ndarray, key0: np.ndarray, key1: np.ndarray) -> np.ndarray:
    """Philox4x32-10 of many blocks at once: (n, 4) uint32 words.

    Each block has its own 128-bit counter (two uint64 halves) and its own key (two uint32 words
    held in uint64), so blocks drawn with different seeds share one pass of array operations.
    """
    u64 = np.uint64
    mask, shift = u64(_MASK32), u64(32)
    rounds = np.arange(_PHILOX_ROUNDS, dtype=u64)[:, None]
    round_key0 = (key0 + rounds * u64(_PHILOX_W0)) & mask  # (rounds, n): the key raised each round
    round_key1 = (key1 + rounds * u64(_PHILOX_W1)) & mask
    c0, c1, c2, c3 = counter_lo & mask, counter_lo >> shift, counter_hi & mask, counter_hi >> shift
    m0, m1 = u64(_PHILOX_M0), u64(_PHILOX_M1)
    for r in range(_PHILOX_ROUNDS):
        p0 = m0 * c0  # 32 x 32 -> 64 bits: exact in uint64
        p1 = m1 * c2
        c0, c1, c2, c3 = ((p1 >> shift) ^ c1 ^ round_key0[r], p1 & mask,
                          (p0 >> shift) ^ c3 ^ round_key1[r], p0 & mask)
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def _counter_plus(counter: Counter, n: int) -> Counter:
    value = (counter[0] | counter[1] << 32 | counter[2] << 64 | counter[3] << 96) + n
    value &= (1 << 128) - 1
    return value & _MASK32, value >> 32 & _MASK32, value >> 64 & _MASK32, value >> 96 & _MASK32


def as_seed(seed) -> np.ndarray:
    """A seed pair as a length-2 int32 or int64 array (int64 unless it already is an int32 array)."""
    if isinstance(seed, np.ndarray) and seed.dtype in (np.int32, np.int64):
        array = seed
    else:
        array = np.asarray([int(s) for s in seed], dtype=np.int64)
    if array.shape != (2,):
        raise ValueError(f"a seed is a pair of integers, got shape {array.shape}")
    return array


def seed_to_key_counter(seed) -> tuple[Key, Counter]:
    """The Philox key and counter TensorFlow's stateless ops derive from a seed pair.

    stateless_random_ops.cc ``GenerateKey`` (also ``StatelessRandomGetKeyCounter``, what
    ``alg="auto_select"`` resolves to on CPU): each seed is widened to 64 bits (an int32 seed is
    sign-extended), the 128 bits form a counter, and one Philox block of it under the fixed key
    0x3ec8f720, 0x02461e29 gives the real key (words 0, 1) and the high half of the real counter
    (words 2, 3); the low half of the counter starts at zero.
    """
    s0, s1 = (int(s) & _MASK64 for s in as_seed(seed))
    mix = _philox_block((s0 & _MASK32, s0 >> 32, s1 & _MASK32, s1 >> 32), _SEED_SCRAMBLE_KEY)
    return (mix[0], mix[1]), (0, 0, mix[2], mix[3])


def random_bits_many(seeds: Sequence, num_words: Sequence[int]) -> list[np.ndarray]:
    """For each seed, the first ``num_words`` uint32 words a stateless op with it consumes.

    TensorFlow's ``FillPhiloxRandom`` gives output group g the generator skipped by g blocks, so
    a draw's words are block 0's four words, then block 1's, ... of its seed's key and counter,
    independent of threading. All the seeds' blocks are computed in one vectorised pass.
    """
    keys_counters = [seed_to_key_counter(seed) for seed in seeds]
    num_blocks = [-(-int(n) // 4) for n in num_words]
    if sum(num_blocks) <= _SMALL_DRAW_BLOCKS:
        blocks = [np.array([_philox_block(_counter_plus(counter, i), key) for i in range(n)],
                           dtype=np.uint32).reshape(n, 4)
                  for (key, counter), n in zip(keys_counters, num_blocks)]
    else:
        blocks = _philox_draws(keys_counters, num_blocks)
    return [b.reshape(-1)[:n] for b, n in zip(blocks, num_words)]


def _philox_draws(keys_counters: list[tuple[Key, Counter]], num_blocks: list[int]) -> list[np.ndarray]:
    """Blocks 0 .. n-1 of each (key, counter), all computed in one ``_philox`` pass."""
    u64 = np.uint64
    counts = np.array(num_blocks, dtype=np.int64)
    draw = np.repeat(np.arange(counts.size), counts)  # per block: the draw it belongs to ...
    index = (np.arange(counts.sum()) - (np.cumsum(counts) - counts)[draw]).astype(u64)  # ... its place in it
    table = np.array([(c[0] | c[1] << 32, c[2] | c[3] << 32, k[0], k[1]) for k, c in keys_counters],
                     dtype=u64).reshape(-1, 4)
    base_lo, base_hi, key0, key1 = table[draw].T
    counter_lo = base_lo + index  # block i of a draw: its counter plus i, wrapping mod 2**64 ...
    counter_hi = base_hi + (counter_lo < base_lo).astype(u64)  # ... with the carry into the high half
    return np.split(_philox(counter_lo, counter_hi, key0, key1), np.cumsum(counts)[:-1])


def random_bits(seed, num_words: int) -> np.ndarray:
    """The first ``num_words`` uint32 words a stateless op with this seed consumes, in order."""
    return random_bits_many([seed], [num_words])[0]


def _bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """random_distributions.h ``Uint32ToFloat``: the low 23 bits of a word become the mantissa of a
    float in [1, 2), minus 1.0f."""
    floats = ((bits & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32)
    return floats - np.float32(1.0)


def stateless_uniform_many(seeds: Sequence, sizes: Sequence[int]) -> list[np.ndarray]:
    """``[tf.random.stateless_uniform([n], seed) for seed, n in zip(seeds, sizes)]`` in one pass."""
    return [_bits_to_float32(bits) for bits in random_bits_many(seeds, sizes)]


def stateless_uniform(shape, seed) -> np.ndarray:
    """``tf.random.stateless_uniform(shape, seed)``: float32 in [0, 1).

    (With the default minval 0 and maxval 1, the Python wrapper's ``rnd * (maxval - minval) +
    minval`` leaves the kernel's values unchanged.)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _bits_to_float32(random_bits(seed, int(np.prod(shape, dtype=np.int64)))).reshape(shape)


def stateless_uniform_int(shape, seed, maxval: int, minval: int = 0) -> np.ndarray:
    """``tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=tf.int32)``.

    random_distributions.h ``UniformDistribution<int32>``: ``lo + word % (hi - lo)`` with the range
    as uint32, one word per value (slightly biased unless the range is a power of two, as in TF).
    """
    if not -(2**31) <= minval < maxval <= 2**31 - 1:
        raise ValueError(f"stateless_uniform_int needs int32 minval < maxval, got [{minval}, {maxval})")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    bits = random_bits(seed, int(np.prod(shape, dtype=np.int64)))
    values = bits % np.uint32(maxval - minval)
    return (values.astype(np.int64) + minval).astype(np.int32).reshape(shape)


def stateless_split(seed, num: int = 2) -> np.ndarray:
    """``tf.random.experimental.stateless_split(seed, num)``: ``num`` new seeds, shape (num, 2).

    It is ``stateless_random_uniform(shape=[num, 2], seed=seed, dtype=seed.dtype)`` with no bounds,
    i.e. ``UniformFullIntDistribution``: an int32 seed yields raw words, an int64 seed yields
    ``word[2i] | word[2i+1] << 32``; the result has the seed's dtype.
    """
    seed = as_seed(seed)
    if seed.dtype == np.int32:
        return random_bits(seed, 2 * num).view(np.int32).reshape(num, 2)
    words = random_bits(seed, 4 * num).astype(np.uint64).reshape(-1, 2)
    return (words[:, 0] | words[:, 1] << np.uint64(32)).view(np.int64).reshape(num, 2)


def stateless_shuffle(values: np.ndarray, seed) -> np.ndarray:
    """seqio ``stateless_shuffle``: ``gather(values, argsort(stateless_uniform(len(values))))``."""
    values = np.asarray(values)
    return _shuffle_by(values, stateless_uniform(values.size, seed))


def _shuffle_by(values: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """``values`` ordered by their float32 draws. TF's argsort is stable (sort_ops.py: ``top_k`` of
    the negated floats keeps equal values in index order), so ties between float32 draws, which
    do happen, resolve exactly as in NumPy's stable sort."""
    flat = values.reshape(-1)
    return flat[np.argsort(uniforms, kind="stable")].reshape(values.shape)


# --- Lengths ----------------------------------------------------------------------------------


class SentinelBudgetError(ConfigError):
    """The settings need more sentinel ids than the vocabulary has extra ids."""


def random_spans_helper(inputs_length: int, noise_density: float = NOISE_DENSITY,
                        mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
                        extra_tokens_per_span_inputs: int = 1,
                        extra_tokens_per_span_targets: int = 1) -> tuple[int, int]:
    """preprocessors.py ``random_spans_helper``: (raw tokens per example, encoded targets length).

    The largest token count whose encoded inputs (non-noise tokens, one sentinel per noise span and
    EOS) fit ``inputs_length``. Python floats and ``round`` here, as in the reference (unlike the
    float32 of the noise mask). ``random_spans_helper(512) == (568, 114)``.
    """

    def encoded_lengths(tokens_length: int) -> tuple[int, int]:
        num_noise_tokens = int(round(tokens_length * noise_density))
        num_nonnoise_tokens = tokens_length - num_noise_tokens
        num_noise_spans = int(round(num_noise_tokens / mean_noise_span_length))
        # inputs: non-noise tokens, a sentinel per noise span, EOS; targets: the converse.
        return (num_nonnoise_tokens + num_noise_spans * extra_tokens_per_span_inputs + 1,
                num_noise_tokens + num_noise_spans * extra_tokens_per_span_targets + 1)

    tokens_length = inputs_length - 1
    while encoded_lengths(tokens_length + 1)[0] <= inputs_length:
        tokens_length += 1
    inputs_length, targets_length = encoded_lengths(tokens_length)
    # The reference's "minor hack" so that targets are no longer than inputs at density 0.5.
    if noise_density == 0.5 and targets_length > inputs_length:
        tokens_length -= 1
        targets_length -= 1
    return tokens_length, targets_length


def _round_float32(x: np.float32) -> int:
    """``tf.cast(tf.round(x), tf.int32)``: round half to even, as np.rint."""
    return int(np.rint(x))


def noise_span_counts(length: int, noise_density: float = NOISE_DENSITY,
                      mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH) -> tuple[int, int]:
    """(num_noise_tokens, num_noise_spans) exactly as ``random_spans_noise_mask`` computes them.

    In float32, with the reference's clamps: the length is raised to at least 2; at least one noise
    and one non-noise token; at least one noise span. (A mask for length 1 is computed at length 2
    and cut to its first, non-noise, token.)
    """
    length = max(int(length), 2)
    num_noise_tokens = _round_float32(np.float32(length) * np.float32(noise_density))
    num_noise_tokens = min(max(num_noise_tokens, 1), length - 1)
    num_noise_spans = _round_float32(np.float32(num_noise_tokens) / np.float32(mean_noise_span_length))
    return num_noise_tokens, max(num_noise_spans, 1)


def max_sentinels(length: int, noise_density: float = NOISE_DENSITY,
                  mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
                  random_roll: bool = False) -> int:
    """The most sentinels the inputs or the targets of one example of ``length`` tokens can hold.

    Without roll the mask is k non-noise spans alternating with k noise spans, so inputs and targets
    hold k sentinels each. A roll can cut one span in two (wrapping around the end): k + 1.
    """
    _, num_noise_spans = noise_span_counts(length, noise_density, mean_noise_span_length)
    return num_noise_spans + (1 if random_roll else 0)


def check_sentinel_budget(length: int, noise_density: float = NOISE_DENSITY,
                          mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
                          random_roll: bool = False, num_extra_ids: int = NUM_EXTRA_IDS) -> None:
    """Raise ``SentinelBudgetError`` when an example of ``length`` tokens can need more sentinels
    than there are extra ids. The reference does not check: its sentinel ids would run on into
    ordinary vocabulary ids (``vocab_size - 101`` is a real SentencePiece piece in T5's vocabulary).
    """
    needed = max_sentinels(length, noise_density, mean_noise_span_length, random_roll)
    if needed > num_extra_ids:
        raise SentinelBudgetError(
            f"span corruption of {length} tokens (noise_density={noise_density}, "
            f"mean_noise_span_length={mean_noise_span_length}, random_roll={random_roll}) needs up "
            f"to {needed} sentinels but the vocabulary has {num_extra_ids} extra ids; use a shorter "
            f"inputs length, fewer/longer noise spans or a vocabulary with more extra ids")


def span_corruption_lengths(inputs_length: int, targets_length: int | None = None,
                            noise_density: float = NOISE_DENSITY,
                            mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
                            random_roll: bool = False,
                            num_extra_ids: int = NUM_EXTRA_IDS) -> tuple[int, int]:
    """Check span-corruption settings as ``span_corruption`` does and return
    (tokens per example, targets length), both EOS included as in ``random_spans_helper``.

    Raises ``ConfigError`` when ``targets_length`` is given and too short (the reference's check)
    and ``SentinelBudgetError`` when the examples need more sentinels than ``num_extra_ids``: with
    T5's 100 extra ids and default settings, from ``inputs_length`` 1810 on (2010 tokens, 101 spans).
    """
    tokens_length, needed_targets = random_spans_helper(
        inputs_length, noise_density, mean_noise_span_length)
    if targets_length is not None and targets_length < needed_targets:
        raise ConfigError(f"Expected targets length for span corruption ({needed_targets}) is greater "
                          f"than configured targets length ({targets_length})")
    check_sentinel_budget(tokens_length, noise_density, mean_noise_span_length, random_roll, num_extra_ids)
    return tokens_length, needed_targets


# --- The noise mask ---------------------------------------------------------------------------


def _random_segmentation(num_items: int, num_segments: int, uniforms: np.ndarray) -> np.ndarray:
    """``_random_segmentation``: split ``num_items`` into ``num_segments`` random positive lengths.

    Shuffle a vector of num_items - 1 flags whose first num_segments - 1 are set, prepend a zero;
    the set flags mark where a new segment starts. ``uniforms`` is the draw the reference's
    ``seqio.stateless_shuffle(flags, seed)`` makes: ``stateless_uniform(num_items - 1, seed)``.
    """
    flags = (np.arange(num_items - 1) < num_segments - 1).astype(np.int32)
    first_in_segment = np.concatenate([[0], _shuffle_by(flags, uniforms)])
    segment_id = np.cumsum(first_in_segment)
    return np.bincount(segment_id)  # segment_sum of ones: the length of each segment


def random_spans_noise_mask(length: int, noise_density: float, seeds,
                            mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
                            random_roll: bool = False) -> np.ndarray:
    """``random_spans_noise_mask``: a boolean mask of ``length`` with noise in random spans.

    ``seeds`` are two seed pairs (shape (2, 2)): the first segments the noise tokens, the second
    the non-noise tokens. Spans alternate non-noise, noise, ..., so without roll the mask starts
    with non-noise and ends with noise. ``random_roll`` (off in T5's ``span_corruption``) rotates
    it by a random offset drawn with the seed (seeds[0][0] + seeds[1][1], seeds[0][1] - seeds[1][0])
    (wrapping in the seeds' dtype) from [0, max(length, 2)). A rotated mask may start with noise;
    the reference's sentinels then no longer pair up (the inputs' <extra_id_0> replaces the first
    noise span, the targets open with that span's tokens and their <extra_id_0> stands for the
    first non-noise span), and a span cut by the wrap-around needs one more sentinel. Kept as is.
    """
    if noise_density == 0.0:
        return np.zeros(length, dtype=bool)
    seeds = np.stack([as_seed(seeds[0]), as_seed(seeds[1])])
    orig_length = int(length)
    length = max(orig_length, 2)
    num_noise_tokens, num_noise_spans = noise_span_counts(length, noise_density, mean_noise_span_length)
    num_nonnoise_tokens = length - num_noise_tokens
    if num_noise_spans > min(num_noise_tokens, num_nonnoise_tokens):
        # TensorFlow fails here too (the two span-length vectors cannot be stacked).
        raise ValueError(f"{num_noise_spans} noise spans do not fit {num_noise_tokens} noise and "
                         f"{num_nonnoise_tokens} non-noise tokens (noise_density={noise_density}, "
                         f"mean_noise_span_length={mean_noise_span_length})")
    # The two shuffles' draws (seeds[0] for noise, seeds[1] for non-noise), made in one pass.
    noise_uniforms, nonnoise_uniforms = stateless_uniform_many(
        seeds, [num_noise_tokens - 1, num_nonnoise_tokens - 1])
    noise_span_lengths = _random_segmentation(num_noise_tokens, num_noise_spans, noise_uniforms)
    nonnoise_span_lengths = _random_segmentation(num_nonnoise_tokens, num_noise_spans, nonnoise_uniforms)
    interleaved_span_lengths = np.stack([nonnoise_span_lengths, noise_span_lengths], axis=1).reshape(-1)
    # The reference marks span starts and takes the parity of their running count; repeating the
    # alternating pattern by the span lengths gives the same mask.
    is_noise = np.repeat(np.tile([False, True], num_noise_spans), interleaved_span_lengths)
    mask = is_noise[:orig_length]
    if random_roll:
        offset = stateless_uniform_int(1, _roll_seed(seeds), maxval=length)[0]
        mask = np.roll(mask, int(offset))
    return mask


def _roll_seed(seeds: np.ndarray) -> np.ndarray:
    """(seeds[0][0] + seeds[1][1], seeds[0][1] - seeds[1][0]), wrapping around like TF's integers
    (NumPy array arithmetic wraps silently; scalar arithmetic would warn)."""
    sums = seeds[0] + seeds[1][::-1]
    differences = seeds[0] - seeds[1][::-1]
    return np.array([sums[0], differences[1]], dtype=seeds.dtype)


# --- Sentinels --------------------------------------------------------------------------------


def sentinel_id(vocab_size: int, i: int = 0) -> int:
    """``<extra_id_i>``: T5 appropriates the last ids of the vocabulary, counting down."""
    return vocab_size - 1 - i


def noise_span_to_unique_sentinel(tokens: np.ndarray, noise_mask: np.ndarray, vocab_size: int) -> np.ndarray:
    """``noise_span_to_unique_sentinel``: each run of noise tokens becomes one sentinel, the first
    run ``<extra_id_0>`` (vocab_size - 1), the next ``<extra_id_1>``, ...; other tokens stay."""
    tokens = np.asarray(tokens)
    noise_mask = np.asarray(noise_mask, dtype=bool)
    prev_token_is_noise = np.concatenate([[False], noise_mask[:-1]])
    first_noise_tokens = noise_mask & ~prev_token_is_noise
    subsequent_noise_tokens = noise_mask & prev_token_is_noise
    sentinels = vocab_size - np.cumsum(first_noise_tokens, dtype=np.int64)
    out = np.where(first_noise_tokens, sentinels, tokens).astype(tokens.dtype, copy=False)
    return out[~subsequent_noise_tokens]


def nonnoise_span_to_unique_sentinel(tokens: np.ndarray, noise_mask: np.ndarray,
                                     vocab_size: int) -> np.ndarray:
    """``nonnoise_span_to_unique_sentinel``: the same with the mask inverted (the targets)."""
    return noise_span_to_unique_sentinel(tokens, ~np.asarray(noise_mask, dtype=bool), vocab_size)


# --- One example ------------------------------------------------------------------------------


def span_corruption_example(tokens: Sequence[int] | np.ndarray, vocab_size: int, seed, *,
                            noise_density: float = NOISE_DENSITY,
                            mean_noise_span_length: float = MEAN_NOISE_SPAN_LENGTH,
                            random_roll: bool = False, num_extra_ids: int = NUM_EXTRA_IDS,
                            eos_id: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of one example, as ``single_example_denoise`` in ``span_corruption``.

    ``seed`` is the example's seed pair (what seqio's ``map_over_dataset(num_seeds=1)`` passes):
    it is split into 6 seeds, the noise mask uses the first two (inputs_fn and targets_fn get
    seeds 2-5 and ignore them). Neither sequence gets EOS unless ``eos_id`` is given. Raises
    ``SentinelBudgetError`` if this length can need more than ``num_extra_ids`` sentinels.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"tokens must be 1-D, got shape {tokens.shape}")
    check_sentinel_budget(tokens.size, noise_density, mean_noise_span_length, random_roll, num_extra_ids)
    seeds = stateless_split(seed, 6)
    noise_mask = random_spans_noise_mask(tokens.size, noise_density, seeds[:2],
                                         mean_noise_span_length, random_roll)
    inputs = noise_span_to_unique_sentinel(tokens, noise_mask, vocab_size)
    targets = nonnoise_span_to_unique_sentinel(tokens, noise_mask, vocab_size)
    if eos_id is not None:
        inputs = np.append(inputs, np.asarray(eos_id, dtype=inputs.dtype))
        targets = np.append(targets, np.asarray(eos_id, dtype=targets.dtype))
    return inputs, targets


# --- Chunking: before the noise ---------------------------------------------------------------


def select_random_chunk(n_tokens: int, seed, max_length: int = CHUNK_MAX_LENGTH) -> tuple[int, int]:
    """(start, end) of ``single_example_select_random_chunk`` for a document of ``n_tokens``.

    Defaults as ``span_corruption`` calls it (no min_length, no uniform_random_start): the seed is
    split in two, the second picks one of the ceil(n / max_length) aligned chunks (float32 ceil,
    as the reference). The reference drops empty documents before this step.
    """
    if n_tokens <= 0:
        raise ValueError("select_random_chunk needs a non-empty document (the reference filters them)")
    seeds = stateless_split(seed, 2)
    num_segments = int(np.ceil(np.float32(n_tokens) / np.float32(max_length)))
    start = max_length * int(stateless_uniform_int(1, seeds[1], maxval=num_segments)[0])
    return start, min(start + max_length, n_tokens)


def reduce_concat_tokens(documents: Sequence[Sequence[int] | np.ndarray]) -> np.ndarray:
    """``reduce_concat_tokens`` for one batch (the reference batches 128 documents): concatenate,
    and drop every 0 token, which the reference takes for padding."""
    parts = [np.asarray(d, dtype=np.int64).reshape(-1) for d in documents]
    tokens = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return tokens[tokens != 0]


def split_tokens(tokens: Sequence[int] | np.ndarray, max_tokens_per_segment: int) -> list[np.ndarray]:
    """``split_tokens`` with ``min_tokens_per_segment=None``: consecutive segments of
    ``max_tokens_per_segment`` tokens, the last one possibly shorter; nothing for no tokens."""
    tokens = np.asarray(tokens)
    if tokens.size == 0:
        return []
    num_segments = int(np.ceil(np.float32(tokens.size) / np.float32(max_tokens_per_segment)))
    return [tokens[i * max_tokens_per_segment:(i + 1) * max_tokens_per_segment] for i in range(num_segments)]

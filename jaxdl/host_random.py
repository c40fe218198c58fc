"""``jax.random``'s permutation computed on the host with numpy, bit for bit.

A data order (``jax.random.permutation(jax.random.fold_in(key, epoch), N)``) is a few
thousand threefry hashes and a sort, under a millisecond of numpy for N = 4,000; as a JAX
program it first costs 0.1-0.35 s of tracing and compiling on a 2-core CPU (even at LLVM
level 0), which a cold sweep or a short ``fit`` pays before its first step. This module
evaluates the same function with numpy:

* Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random numbers: as easy as
  1, 2, 3", SC'11), the hash behind JAX's default PRNG;
* JAX's key derivation on top of it, in its "partitionable" form (``jax_threefry_partitionable``,
  the default in jax 0.10): a seed ``s`` is the key ``(s >> 32, s & 0xFFFFFFFF)``;
  ``fold_in(k, d)`` hashes the pair ``(0, d)``; ``split(k, n)`` and 32-bit ``random_bits(k,
  shape)`` hash the 64-bit counters ``0 .. n - 1`` split into high and low words (the bits
  are the XOR of the two output words);
* ``permutation``: ``ceil(3 ln N / ln(2^32 - 1))`` rounds of a stable sort by fresh 32-bit
  keys (JAX's ``_shuffle``).

``tests/test_host_random.py`` checks equality with ``jax.random`` over seeds, epochs and
sizes. ``available()`` is false, and callers use ``jax.random`` itself, where the
configuration differs (another PRNG implementation, ``jax_threefry_partitionable`` off) and
on jax releases those tests have not been run against (``CHECKED_JAX``), so that a release
that changed the algorithm could not silently give ``fit`` other batches than
``jax.random``'s.
"""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["CHECKED_JAX", "available", "seed_key", "fold_in", "split", "random_bits", "permutation", "epoch_orders"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


# (major, minor) jax releases whose jax.random the equality tests passed against; add one
# after running tests/test_host_random.py under it.
CHECKED_JAX = ((0, 10),)


def available(key: jax.Array | None = None) -> bool:
    """Whether the host functions equal ``jax.random``'s under this jax and configuration, for
    ``key``'s PRNG implementation (or, without a key, for ``jax.random.key(seed)``'s)."""
    if tuple(jax.__version_info__[:2]) not in CHECKED_JAX:
        return False
    impl = str(jax.random.key_impl(key)) if key is not None else jax.config.jax_default_prng_impl
    return impl == "threefry2x32" and bool(jax.config.jax_threefry_partitionable)


def _threefry2x32(key: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32, 20 rounds: the pair of ``uint32`` words ``(x1, x2)`` hashed under the
    ``[2] uint32`` key, elementwise (``x1``, ``x2`` of one shape). uint32 arithmetic wraps."""
    k1, k2 = np.uint32(key[0]), np.uint32(key[1])
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1 = x1.astype(np.uint32) + ks[0]
    x2 = x2.astype(np.uint32) + ks[1]
    tmp = np.empty_like(x2)
    for group in range(5):
        for r in _ROTATIONS[group % 2]:
            # In place: no temporary array per operation (x1, x2 are this function's copies).
            x1 += x2
            np.right_shift(x2, np.uint32(32 - r), out=tmp)
            x2 <<= np.uint32(r)
            x2 |= tmp
            x2 ^= x1
        x1 += ks[(group + 1) % 3]
        x2 += ks[(group + 2) % 3]
        x2 += np.uint32(group + 1)
    return x1, x2


def _counters(size: int) -> tuple[np.ndarray, np.ndarray]:
    # The 64-bit counters 0 .. size - 1 as (high, low) words.
    count = np.arange(size, dtype=np.uint64)
    return (count >> np.uint64(32)).astype(np.uint32), count.astype(np.uint32)


def seed_key(seed: int) -> np.ndarray:
    """``jax.random.key_data(jax.random.key(seed))`` for ``0 <= seed < 2**32``: ``[2] uint32``."""
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32) for the host PRNG, got {seed}.")
    return np.array([0, seed], np.uint32)


def fold_in(key: np.ndarray, data: int) -> np.ndarray:
    """``jax.random.fold_in`` on raw key data: ``[2] uint32``."""
    y1, y2 = _threefry2x32(key, np.zeros(1, np.uint32), np.array([int(data) % 2**32], np.uint32))
    return np.array([y1[0], y2[0]], np.uint32)


def split(key: np.ndarray, num: int = 2) -> np.ndarray:
    """``jax.random.split`` on raw key data: ``[num, 2] uint32``."""
    y1, y2 = _threefry2x32(key, *_counters(num))
    return np.stack([y1, y2], axis=1)


def random_bits(key: np.ndarray, size: int) -> np.ndarray:
    """``jax.random.bits(key, (size,), uint32)`` on raw key data: ``[size] uint32``."""
    y1, y2 = _threefry2x32(key, *_counters(size))
    return y1 ^ y2


def permutation(key: np.ndarray, n: int) -> np.ndarray:
    """``jax.random.permutation(key, n)`` on raw key data: ``[n] int32``."""
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    x = np.arange(n, dtype=np.int32)
    for _ in range(rounds):
        key, subkey = split(key)
        # Stable, as lax.sort_key_val: equal 32-bit keys keep their current order.
        x = x[np.argsort(random_bits(subkey, n), kind="stable")]
    return x


def epoch_orders(key: np.ndarray, epochs, num_examples: int, padded_size: int) -> np.ndarray:
    """``jaxdl.epoch_order`` for each epoch in ``epochs``, from raw key data: the permutation
    of ``fold_in(key, epoch)``, padded with index 0 or cut to ``padded_size``.

    Returns:
      ``[len(epochs), padded_size]`` int32.
    """
    out = np.zeros((len(epochs), padded_size), np.int32)
    keep = min(num_examples, padded_size)
    for i, epoch in enumerate(epochs):
        out[i, :keep] = permutation(fold_in(key, epoch), num_examples)[:keep]
    return out

"""Argument checks shared across jaxdl: each turns a bad value into an error that names it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["as_key", "positive_int", "int_seeds"]


def as_key(key) -> jax.Array:
    """``key`` as a typed JAX key (a legacy ``uint32[2]`` ``PRNGKey`` is wrapped), or a TypeError
    that says what was given instead (an int seed, a float array)."""
    if not isinstance(key, (jax.Array, np.ndarray)):
        raise TypeError(f"key must be a JAX random key (jax.random.key(seed)), got {type(key).__name__} {key!r}.")
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if key.dtype == jnp.uint32 and key.shape[-1:] == (2,):  # legacy jax.random.PRNGKey
        return jax.random.wrap_key_data(key)
    raise TypeError(f"expected a JAX random key (jax.random.key(seed)), got {key.dtype}{key.shape}.")


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


def int_seeds(where: str, seeds) -> np.ndarray:
    """``seeds`` as a ``[K]`` int32 array, ``K >= 1``, or a ValueError: float seeds would be
    truncated silently, and every seed is a member."""
    given = np.asarray(list(seeds))
    if given.ndim != 1 or len(given) == 0 or not np.issubdtype(given.dtype, np.integer):
        raise ValueError(f"{where} needs a non-empty list of int seeds, one per member; got {seeds!r}.")
    return given.astype(np.int32)

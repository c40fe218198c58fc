"""Shattered gradients (Balduzzi et al. 2017, "The Shattered Gradients Problem"; UDL §11.1.2):
the gradient of a deep network's output with respect to a 1D input, along a line of inputs,
decorrelates with depth (white noise) unless the network has skip connections."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["autocorrelation", "correlation_length", "input_gradients"]


def input_gradients(fn: Callable[[jax.Array], jax.Array], xs: jax.Array) -> jax.Array:
    """``d fn(x) / d x`` at each of ``N`` scalar inputs ``xs [N]``, for ``fn: [N, 1] -> [N]`` or
    ``[N, 1]`` (one output per input, e.g. ``lambda x: model.apply(v, x)[:, 0]``)."""
    return jax.grad(lambda v: jnp.sum(fn(v[:, None])))(jnp.asarray(xs, jnp.float32))


def autocorrelation(values, max_lag: int | None = None) -> np.ndarray:
    """``r(k) = sum_i (g_i - g_bar)(g_{i+k} - g_bar) / sum_i (g_i - g_bar)^2`` for ``k = 0 .. max_lag``
    (Balduzzi et al. 2017, Fig. 1's measure); ``r(0) = 1``. A constant sequence gives 1 at
    every lag (nothing varies, nothing decorrelates)."""
    g = np.asarray(values, np.float64)
    g = g - g.mean()
    max_lag = len(g) - 1 if max_lag is None else int(max_lag)
    total = float(np.sum(g * g))
    if total == 0.0:
        return np.ones(max_lag + 1)
    return np.array([np.sum(g[:len(g) - k] * g[k:]) / total for k in range(max_lag + 1)])


def correlation_length(r) -> int:
    """The first lag at which the autocorrelation ``r`` falls below ``1/e`` (``len(r)`` if never):
    about 1 for white noise, long for brown noise."""
    below = np.flatnonzero(np.asarray(r) < np.exp(-1.0))
    return int(below[0]) if below.size else len(r)

"""Universal approximation with shallow ReLU networks, built and trained.

A shallow ReLU net with one input is a continuous piecewise-linear function with at most
``D + 1`` pieces, and every such function with ``D`` interior breakpoints is one: so the
``D``-unit net can interpolate any continuous target at ``D + 1`` knots, with error
``<= h^2 max|f''| / 8`` between knots ``h`` apart (the universal approximation theorem,
Cybenko 1989 / Hornik 1991, made constructive in 1D). ``relu_interpolant`` builds that
network; ``fit_shallow`` trains one by gradient descent, which need not find it.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl._losses import mse
from jaxdl.models import ShallowNet
from jaxdl._state import TrainState
from jaxdl._step import make_train_step
from jaxdl._checks import positive_int

__all__ = ["relu_interpolant", "fit_shallow"]


def relu_interpolant(knots, values) -> list[tuple[np.ndarray, np.ndarray]]:
    """The shallow ReLU net (``D = len(knots) - 1`` units) equal to the piecewise-linear
    interpolation of ``(knots, values)`` on ``[knots[0], knots[-1]]``.

    ``f(x) = v_0 + sum_j c_j relu(x - k_j)`` with ``c_0 = s_0`` and ``c_j = s_j - s_{j-1}``,
    ``s_j`` the slope on ``[k_j, k_{j+1}]``: each unit switches on at a knot and changes the
    slope by exactly what the next piece needs.

    Args:
      knots: ``[D + 1]`` strictly increasing inputs; values: ``[D + 1]`` target values there.

    Returns:
      layers ``[(W_1 [1, D], b_1 [D]), (W_2 [D, 1], b_2 [1])]`` (see ``dense_layers``).
    """
    k, v = np.asarray(knots, np.float64), np.asarray(values, np.float64)
    if k.ndim != 1 or k.shape != v.shape or k.size < 2 or np.any(np.diff(k) <= 0):
        raise ValueError(f"relu_interpolant: need >= 2 strictly increasing knots and one value per knot, "
                         f"got knots {k.shape} and values {v.shape}.")
    slopes = np.diff(v) / np.diff(k)
    c = np.concatenate([slopes[:1], np.diff(slopes)])
    return [(np.ones((1, c.size)), -k[:-1]), (c[:, None], v[:1])]


def fit_shallow(width: int, x: np.ndarray, y: np.ndarray, *, steps: int, learning_rate: float | optax.Schedule = 1e-2,
                seed: int = 0) -> tuple[dict, Callable]:
    """Train ``ShallowNet(hidden=width)`` on ``(x [N, 1], y [N, 1])`` by full-batch Adam on the MSE.

    The first layer's biases start spread over the data's range (``b = -w x_j`` at random
    data points ``x_j``) so that the units' breakpoints begin where the data is, as
    ``relu_interpolant`` would put them; with Flax's zero biases all start at ``x = 0``.

    Returns:
      ``(params, predict)`` with ``predict(x [M, 1]) -> [M, 1]``.
    """
    width, steps = positive_int("fit_shallow: width", width), positive_int("fit_shallow: steps", steps)
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or x.shape[1] != 1 or y.shape != x.shape:
        raise ValueError(f"fit_shallow needs x [N, 1] and y [N, 1], got {x.shape} and {y.shape}.")
    model = ShallowNet(hidden=width)
    key, kb = jax.random.split(jax.random.key(seed))
    params = model.init(key, jnp.asarray(x[:1]))["params"]
    centres = jax.random.choice(kb, jnp.asarray(x[:, 0]), (width,))
    params["hidden"]["bias"] = -params["hidden"]["kernel"][0] * centres
    state = TrainState.create(apply_fn=model.apply, params=params, tx=optax.adam(learning_rate), input_shape=(1,))
    batch = {"x": jnp.asarray(x, jnp.float32), "y": jnp.asarray(y, jnp.float32)}
    train_step = make_train_step(mse)

    @jax.jit
    def train(state):
        state, _ = jax.lax.scan(lambda s, _: (train_step(s, batch, key)[0], None), state, None, length=steps)
        return state

    params = train(state).params
    return params, jax.jit(lambda xs: model.apply({"params": params}, xs))

"""Gradient descent against stochastic gradient descent on a loss with two minima.

Each example ``i`` has the loss ``l_i(theta) = g(theta - s_i)``, a tilted double well ``g``
shifted by a random offset ``s_i``. The full loss ``L = mean_i l_i`` keeps two minima: a poor
one on the right and a better one on the left, separated by a barrier. Full-batch gradient
descent started in the right basin stays there (it only goes downhill). A mini-batch
gradient is the full gradient plus noise whose variance grows as the batch shrinks; with a
large enough step that noise carries some runs over the barrier, and a decaying step then
lets them settle in the better minimum (Prince, §6.2; Kleinberg, Li & Yuan 2018).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import optax

from jaxdl.analysis._test_functions import iterates

__all__ = ["tilted_double_well", "double_well_offsets", "descend"]


def tilted_double_well(u: jax.Array, tilt: float = 0.3) -> jax.Array:
    """``g(u) = (u^2 - 1)^2 + tilt u``: minima near ``u = -1`` (lower) and ``u = +1`` (higher)."""
    return jnp.square(jnp.square(u) - 1.0) + tilt * u


def double_well_offsets(*, key: jax.Array, num_examples: int = 200, spread: float = 0.4) -> jax.Array:
    """The examples ``s_i ~ N(0, spread^2)``, ``[num_examples]``."""
    return spread * jax.random.normal(key, (num_examples,))


def descend(per_example_loss: Callable, theta0: jax.Array, data: jax.Array, tx: optax.GradientTransformation, *,
            key: jax.Array, batch_size: int, num_steps: int) -> jax.Array:
    """Minimise ``mean_i per_example_loss(theta, data[i])`` with ``tx`` from ``theta0``.

    Each step draws ``batch_size`` examples uniformly with replacement (key
    ``fold_in(key, step)``); ``batch_size = len(data)`` without replacement is full-batch
    gradient descent. Pure and jittable: ``vmap`` it over keys for many runs at once.

    Returns:
      ``[num_steps + 1, *theta0.shape]`` the trajectory, ``theta0`` first.
    """
    n = data.shape[0]
    full_batch = batch_size >= n

    def objective(theta, batch):
        return jnp.mean(jax.vmap(lambda d: per_example_loss(theta, d))(batch))

    def gradient(theta, step):
        if full_batch:
            batch = data
        else:
            batch = data[jax.random.randint(jax.random.fold_in(key, step), (batch_size,), 0, n)]
        return jax.grad(objective)(theta, batch)

    return iterates(tx, gradient, jnp.asarray(theta0, jnp.float32), num_steps)

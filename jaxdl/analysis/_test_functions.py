"""Two-dimensional optimisation test functions and optimizer trajectories over them."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["TestFunction", "rosenbrock", "beale", "rastrigin", "TEST_FUNCTIONS", "trajectory", "iterates"]


def rosenbrock(x: jax.Array) -> jax.Array:
    """``f(x, y) = (1 - x)^2 + 100 (y - x^2)^2`` (Rosenbrock 1960): a curved, narrow valley;
    global minimum 0 at ``(1, 1)``. ``x: [2] -> []``."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def beale(x: jax.Array) -> jax.Array:
    """``f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`` (Beale 1958): flat
    plateaus and steep ridges; global minimum 0 at ``(3, 0.5)``. ``x: [2] -> []``."""
    a, b = x[0], x[1]
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b**2) ** 2 + (2.625 - a + a * b**3) ** 2


def rastrigin(x: jax.Array) -> jax.Array:
    """``f = 20 + sum_i (x_i^2 - 10 cos(2 pi x_i))`` (Rastrigin 1974): a bowl covered in a grid of
    local minima, the lectures' "hilly landscape"; global minimum 0 at the origin. ``x: [2] -> []``."""
    return 10 * x.shape[0] + jnp.sum(x**2 - 10 * jnp.cos(2 * jnp.pi * x))


class TestFunction(NamedTuple):
    """A test function with its global minimiser, a standard start and a plotting box."""

    fn: Callable[[jax.Array], jax.Array]
    minimum: tuple[float, float]
    start: tuple[float, float]
    box: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max


TEST_FUNCTIONS: dict[str, TestFunction] = {
    "rosenbrock": TestFunction(rosenbrock, (1.0, 1.0), (-1.2, 1.0), (-2.0, 2.0, -1.0, 3.0)),
    "beale": TestFunction(beale, (3.0, 0.5), (1.0, 1.5), (-1.0, 4.5, -1.5, 2.0)),
    "rastrigin": TestFunction(rastrigin, (0.0, 0.0), (2.3, 1.8), (-3.0, 3.0, -3.0, 3.0)),
}


def trajectory(tx: optax.GradientTransformation, fn: Callable, x0: jax.Array, num_steps: int) -> jax.Array:
    """The iterates of ``tx`` minimising ``fn`` from ``x0``, one ``lax.scan``.

    Returns:
      ``[num_steps + 1, 2]`` points, ``x0`` first. Pure: ``jax.vmap`` it over learning rates.
    """

    return iterates(tx, lambda x, step: jax.grad(fn)(x), x0, num_steps)


def iterates(tx: optax.GradientTransformation, gradient: Callable, x0: jax.Array, num_steps: int) -> jax.Array:
    """``x_{t+1} = x_t + tx.update(gradient(x_t, t))``, one ``lax.scan`` over ``t = 0 .. num_steps - 1``.

    ``gradient(x, step)`` may depend on the step (a mini-batch gradient); ``trajectory`` is
    the case where it does not.

    Returns:
      ``[num_steps + 1, *x0.shape]``, ``x0`` first.
    """

    def body(carry, step):
        x, state = carry
        updates, state = tx.update(gradient(x, step), state, x)
        x = optax.apply_updates(x, updates)
        return (x, state), x

    _, xs = jax.lax.scan(body, (x0, tx.init(x0)), jnp.arange(num_steps))
    return jnp.concatenate([x0[None], xs])

"""Line search and gradient descent with line search (jaxdl/analysis/_line_search.py): the exact
minimiser of a quadratic along a direction, and steepest descent's orthogonal zig-zag."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl.analysis import gradient_descent_line_search, line_search

A = jnp.array([[3.0, 0.5], [0.5, 1.0]])
C = jnp.array([1.0, -1.0])


def quadratic(p):
    """``1/2 (p - c)^T A (p - c)`` on a dict of parameters."""
    v = p["w"] - C
    return 0.5 * v @ A @ v


@pytest.mark.parametrize("start,direction", [([2.0, 3.0], [-1.0, -2.0]), ([0.0, 0.0], [0.3, 0.1]),
                                             ([5.0, 5.0], [-40.0, -40.0])])
def test_line_search_finds_the_exact_minimiser_of_a_quadratic_along_a_direction(start, direction):
    """``a* = -d^T A (p - c) / d^T A d`` (doubling finds brackets beyond max_step when needed)."""
    p, d = jnp.array(start), jnp.array(direction)
    exact = float(-(d @ A @ (p - C)) / (d @ A @ d))
    found = jax.jit(lambda p, d: line_search(quadratic, {"w": p}, {"w": d}, max_step=0.01))(p, d)
    assert exact > 0
    # Comparing float32 losses near a minimum resolves a step to about sqrt(eps) ~ 3e-4 of itself.
    np.testing.assert_allclose(found.step, exact, rtol=1e-3)
    np.testing.assert_allclose(found.value, quadratic({"w": p + exact * d}), rtol=1e-4, atol=1e-6)


def test_line_search_does_not_move_uphill():
    p = {"w": jnp.array([2.0, 3.0])}
    found = line_search(quadratic, p, {"w": jnp.array([1.0, 2.0])})  # an ascent direction
    assert float(found.step) == 0.0 and float(found.value) == float(quadratic(p))


def test_steepest_descent_with_line_search_zigzags_orthogonally_and_converges():
    params, losses, sizes = gradient_descent_line_search(quadratic, {"w": jnp.array([3.0, 2.0])}, steps=12)
    assert losses.shape == (13,) and sizes.shape == (12,)
    assert bool(jnp.all(jnp.diff(losses) <= 1e-7)) and float(losses[-1]) < 1e-8
    np.testing.assert_allclose(params["w"], C, atol=1e-4)
    # consecutive gradients are orthogonal under exact line search
    path = [jnp.array([3.0, 2.0])]
    for s in sizes[:4]:
        g = A @ (path[-1] - C)
        path.append(path[-1] - s * g)
    grads = [A @ (q - C) for q in path]
    for g0, g1 in zip(grads[:3], grads[1:4]):
        assert abs(float(g0 @ g1)) <= 2e-3 * float(jnp.linalg.norm(g0) * jnp.linalg.norm(g1))  # cos < 0.002

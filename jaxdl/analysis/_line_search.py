"""Line search along a direction (Prince, *Understanding Deep Learning*, §6.1 and notebook 6.1):
bracket the minimum, then golden-section search; and gradient descent that takes the best
step along the negative gradient every iteration. Pure functions of ``loss_fn(params)``."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxdl._checks import positive_int

__all__ = ["LineSearch", "gradient_descent_line_search", "line_search"]

_INV_PHI = (5 ** 0.5 - 1) / 2  # 1 / golden ratio


class LineSearch(NamedTuple):
    """``step``: the (approximate) minimiser ``a`` of ``loss(params + a d)``; ``value``: the loss there."""
    step: jax.Array
    value: jax.Array


def _moved(params, direction, a):
    return jax.tree.map(lambda p, d: p + (a * d).astype(p.dtype), params, direction)


def line_search(loss_fn: Callable, params, direction, *, max_step: float = 1.0, tol: float = 1e-6,
                max_doublings: int = 40, max_iter: int = 200) -> LineSearch:
    """Minimise ``g(a) = loss_fn(params + a direction)`` over ``a >= 0``.

    Bracketing: start with ``[0, max_step]`` and double the right end while the loss there
    is still falling (``g(b) < g(b / 2)``), at most ``max_doublings`` times. Then golden-section
    search (Kiefer 1953): keep two interior points at the golden ratios of the bracket and drop
    the outer part beyond the worse one, shrinking the bracket by 0.618 per iteration, until
    it is shorter than ``tol * max(1, b)``. Exact for any function unimodal on the bracket (a
    convex loss along a line) up to the resolution of comparing losses: near a minimum
    ``g(a* + h) - g(a*) ~ h^2``, so float32 losses locate ``a*`` to about ``sqrt(eps) ~ 3e-4``
    of its size. One compiled loop (``lax.while_loop``).

    Returns:
      ``LineSearch(step, value)``; ``step`` is 0 when the loss rises in ``direction``.
    """
    positive_int("line_search: max_iter", max_iter)
    g = lambda a: jnp.asarray(loss_fn(_moved(params, direction, a)), jnp.float32)

    def grow(carry):
        b, k = carry
        return b * 2.0, k + 1

    b, _ = jax.lax.while_loop(lambda c: (c[1] < max_doublings) & (g(c[0]) < g(c[0] / 2)), grow,
                              (jnp.float32(max_step), 0))
    lo, hi = jnp.float32(0.0), b
    width = tol * jnp.maximum(1.0, b)

    def shrink(carry):
        lo, hi, k = carry
        c, d = hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo)
        left = g(c) <= g(d)  # the minimum lies in [lo, d]; else in [c, hi]
        return jnp.where(left, lo, c), jnp.where(left, d, hi), k + 1

    lo, hi, _ = jax.lax.while_loop(lambda c: (c[1] - c[0] > width) & (c[2] < max_iter), shrink, (lo, hi, 0))
    step = (lo + hi) / 2
    # Never return a step that is worse than not moving.
    step = jnp.where(g(step) <= g(jnp.float32(0.0)), step, 0.0)
    return LineSearch(step, g(step))


def gradient_descent_line_search(loss_fn: Callable, params, *, steps: int, **search_kwargs):
    """Steepest descent with an exact line search (UDL §6.1): ``d_t = -grad L(theta_t)``,
    ``theta_{t+1} = theta_t + a_t d_t``, ``a_t = argmin_a L(theta_t + a d_t)``. On a quadratic each
    new gradient is orthogonal to the last direction, the zig-zag of the book's Figure 6.3.

    Returns:
      ``(params, losses [steps + 1], step_sizes [steps])`` from one ``lax.scan``.
    """
    steps = positive_int("gradient_descent_line_search: steps", steps)

    def one(theta, _):
        value, grads = jax.value_and_grad(loss_fn)(theta)
        direction = jax.tree.map(jnp.negative, grads)
        found = line_search(loss_fn, theta, direction, **search_kwargs)
        return _moved(theta, direction, found.step), (jnp.asarray(value, jnp.float32), found.step)

    params, (losses, sizes) = jax.lax.scan(one, params, None, length=steps)
    final = jnp.asarray(loss_fn(params), jnp.float32)
    return params, jnp.concatenate([losses, final[None]]), sizes

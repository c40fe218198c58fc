"""Optimisation test functions: their minima, and trajectories."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl import optim
from jaxdl.analysis import TEST_FUNCTIONS, trajectory


@pytest.mark.parametrize("name", sorted(TEST_FUNCTIONS))
def test_global_minimum_is_where_stated(name):
    tf = TEST_FUNCTIONS[name]
    x = jnp.asarray(tf.minimum)
    assert float(tf.fn(x)) == pytest.approx(0.0, abs=1e-5)
    np.testing.assert_allclose(jax.grad(tf.fn)(x), 0.0, atol=1e-3)
    nearby = x[None] + 0.05 * jax.random.normal(jax.random.key(0), (64, 2))
    assert float(jnp.min(jax.vmap(tf.fn)(nearby))) > float(tf.fn(x))


def test_trajectory_starts_at_x0_and_descends():
    tf = TEST_FUNCTIONS["rosenbrock"]
    x0 = jnp.asarray(tf.start)
    path = jax.jit(lambda x: trajectory(optim.adam(0.03), tf.fn, x, 3000))(x0)
    assert path.shape == (3001, 2)
    np.testing.assert_array_equal(path[0], x0)
    assert float(tf.fn(path[-1])) < 1e-2 * float(tf.fn(x0))

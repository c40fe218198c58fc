"""Hessian curvature (jaxdl/analysis/_hessian.py) against closed forms and jax.hessian: quadratics
with known spectra, exact traces of diagonal Hessians, small models' dense Hessians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import jaxdl
from jaxdl.analysis import hessian_density, hessian_eigenvalues, hessian_trace, hvp


def _quadratic(eigenvalues, seed=0):
    """``L(w) = 1/2 w^T A w`` with ``A = Q diag(eigenvalues) Q^T`` (a random rotation), on a
    parameter tree of two leaves."""
    n = len(eigenvalues)
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    a = jnp.asarray(q @ np.diag(eigenvalues) @ q.T, jnp.float32)
    params = {"u": jnp.ones((2, 2)), "v": jnp.linspace(-1.0, 1.0, n - 4)}
    flat, _ = ravel_pytree(params)

    def loss(p):
        w = ravel_pytree(p)[0]
        return 0.5 * w @ a @ w

    return loss, params, a


def test_hvp_is_the_hessian_times_the_vector(key):
    loss, params, a = _quadratic(np.arange(1.0, 11.0))
    v = jax.tree.map(lambda p: jax.random.normal(key, p.shape), params)
    np.testing.assert_allclose(ravel_pytree(hvp(loss, params, v))[0], a @ ravel_pytree(v)[0], rtol=1e-4, atol=1e-5)


def test_top_eigenvalues_of_a_quadratic_are_its_spectrum(key):
    spectrum = np.array([-2.0, -0.5, 0.1, 0.3, 1.0, 1.7, 2.5, 4.0, 6.0, 9.0, 13.0, 20.0])
    loss, params, _ = _quadratic(spectrum)
    top = hessian_eigenvalues(loss, params, k=4, key=key)  # num_iters capped at the 12 parameters: exact
    np.testing.assert_allclose(top, spectrum[::-1][:4], rtol=1e-4)
    few = hessian_eigenvalues(loss, params, k=1, key=key, num_iters=8)  # fewer steps: the extreme one first
    np.testing.assert_allclose(few, [20.0], rtol=1e-3)


def test_repeated_and_negative_eigenvalues_survive_a_lanczos_breakdown(key):
    """Three distinct eigenvalues: the Krylov space is exhausted after three steps, and the
    restart must still find the repeated ones (k = 5 of them)."""
    spectrum = np.array([-3.0] * 4 + [-1.0] * 4 + [2.0] * 2)
    loss, params, _ = _quadratic(spectrum, seed=1)
    top = hessian_eigenvalues(loss, params, k=5, key=key)
    np.testing.assert_allclose(top, [2.0, 2.0, -1.0, -1.0, -1.0], rtol=1e-4, atol=1e-4)


def test_eigenvalues_and_trace_of_a_small_model_equal_the_dense_hessian(key):
    model = jaxdl.MLP(features=(4, 3), activation="tanh")
    kx, ky = jax.random.split(key)
    x, y = jax.random.normal(kx, (16, 3)), jax.random.randint(ky, (16,), 0, 3)
    params = model.init(key, x)["params"]
    loss = jaxdl.dataset_loss(model, jaxdl.softmax_cross_entropy, x, y, batch_size=5)
    flat, unravel = ravel_pytree(params)
    dense = jax.hessian(lambda w: loss(unravel(w)))(flat)
    exact = np.linalg.eigvalsh(np.asarray(dense, np.float64))[::-1]
    top = hessian_eigenvalues(loss, params, k=3, key=key, num_iters=flat.size)
    np.testing.assert_allclose(top, exact[:3], rtol=1e-3, atol=1e-5)
    estimate = hessian_trace(loss, params, key=key, num_probes=400)
    trace = float(np.trace(dense))
    assert abs(float(estimate.trace) - trace) <= 4 * float(estimate.std_error) + 1e-6
    assert estimate.samples.shape == (400,)


def test_trace_of_a_diagonal_hessian_is_exact_in_every_sample(key):
    """``L = sum_i c_i w_i^2 / 2 + w_i^4 / 12``: ``H = diag(c_i + w_i^2)``, and ``z^T H z = tr H``
    for every Rademacher ``z``."""
    c = jnp.linspace(-1.0, 3.0, 7)
    params = {"w": jnp.linspace(0.5, 2.0, 7)}
    loss = lambda p: jnp.sum(0.5 * c * p["w"] ** 2 + p["w"] ** 4 / 12)  # noqa: E731
    estimate = hessian_trace(loss, params, key=key, num_probes=5, chunk_size=2)
    expected = float(jnp.sum(c + params["w"] ** 2))
    np.testing.assert_allclose(estimate.samples, expected, rtol=1e-5)
    np.testing.assert_allclose(estimate.trace, expected, rtol=1e-5)
    assert float(estimate.std_error) < 1e-5


def test_density_nodes_weights_and_mass(key):
    """With as many Lanczos steps as parameters, every probe's nodes are the spectrum; each
    probe's weights sum to 1, and the density integrates to 1 and peaks at the eigenvalues."""
    spectrum = np.array([0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0])
    loss, params, _ = _quadratic(spectrum)
    density = hessian_density(loss, params, key=key, num_probes=3, num_points=4000, sigma=0.2)
    assert density.nodes.shape == density.weights.shape == (3, 10)
    np.testing.assert_allclose(np.sort(density.nodes, axis=1), np.tile(spectrum, (3, 1)), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(density.weights.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.trapezoid(density.density, density.grid), 1.0, rtol=1e-3)
    peak = density.grid[np.argmax(density.density)]
    assert np.min(np.abs(spectrum - peak)) < 0.05


@pytest.mark.parametrize("call,message", [
    (lambda loss, p, key: hessian_eigenvalues(loss, p, k=0, key=key), "k must be >= 1"),
    (lambda loss, p, key: hessian_eigenvalues(loss, p, k=99, key=key), "k=99 exceeds the number of parameters, 10"),
    (lambda loss, p, key: hessian_eigenvalues(loss, p, k=3, key=key, num_iters=2), "num_iters=2 Lanczos steps cannot give k=3"),
    (lambda loss, p, key: hessian_eigenvalues(loss, p, k=1, key=3), "key must be a JAX random key"),
    (lambda loss, p, key: hessian_trace(loss, p, key=key, num_probes=0), "num_probes must be >= 1"),
    (lambda loss, p, key: hessian_density(loss, p, key=key, sigma=-1.0), "sigma must be > 0"),
])
def test_bad_arguments_are_named(call, message, key):
    loss, params, _ = _quadratic(np.arange(1.0, 11.0))
    with pytest.raises((ValueError, TypeError), match=message):
        call(loss, params, key)

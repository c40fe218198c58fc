"""Measuring performance and residual networks (UDL ch. 8 and 11): bias-variance terms add up,
label noise, the curse of dimensionality, and the shattered-gradient measure."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl
from jaxdl.analysis import (autocorrelation, bias_variance, correlation_length, distance_spread, hinge_regression,
                            input_gradients, unit_ball_volume)


def _training_sets(key, sets=200, n=15, noise=0.3):
    kx, ke = jax.random.split(key)
    x = jax.random.uniform(kx, (sets, n))
    return x, jnp.sin(2 * jnp.pi * x) + noise * jax.random.normal(ke, (sets, n))


def test_bias_variance_terms_add_up_to_the_expected_test_error():
    """Fitted to 200 training sets drawn from one generator: the three terms sum to the test
    error measured directly, both analytically in the noise and against 200 noisy draws."""
    x, y = _training_sets(jax.random.key(0))
    x_test = jnp.linspace(0.0, 1.0, 101)
    truth = jnp.sin(2 * jnp.pi * x_test)
    for hinges in (1, 3, 12):
        predictions = jax.vmap(lambda a, b: hinge_regression(a, b, x_test, hinges))(x, y)
        terms = bias_variance(predictions, truth, 0.3)
        np.testing.assert_allclose(terms.bias2 + terms.variance + terms.noise, terms.expected_error, rtol=1e-5)
        targets = truth[None] + 0.3 * jax.random.normal(jax.random.key(hinges), (200, 101))
        measured = jnp.mean((predictions - targets) ** 2)  # one noisy target per set and input
        np.testing.assert_allclose(measured, terms.expected_error, rtol=0.05)
    one = bias_variance(predictions[:1], truth, 0.3)
    assert float(one.variance) == 0.0  # a single training set has no variance


def test_capacity_trades_bias_for_variance():
    x, y = _training_sets(jax.random.key(1))
    x_test = jnp.linspace(0.0, 1.0, 101)
    terms = [bias_variance(jax.vmap(lambda a, b: hinge_regression(a, b, x_test, k))(x, y), jnp.sin(2 * jnp.pi * x_test),
                           0.3) for k in (1, 3, 12)]
    assert float(terms[0].bias2) > float(terms[1].bias2) and float(terms[2].variance) > float(terms[1].variance)


def test_hinge_regression_interpolates_a_piecewise_linear_truth():
    x = jnp.linspace(0.0, 1.0, 30)
    truth = 1.0 + 2.0 * x - 3.0 * jax.nn.relu(x - 0.5)  # joints at 0 and 0.5 are among 4 hinges: 0, .25, .5, .75
    np.testing.assert_allclose(hinge_regression(x, truth, x, 4), truth, atol=1e-4)


def test_label_noise_corrupts_exactly_the_stated_fraction():
    data = jaxdl.data.mnist1d(num_samples=1000)
    noisy = jaxdl.data.with_label_noise(data, 0.15, key=jax.random.key(0))
    changed = np.flatnonzero(noisy.y_train != data.y_train)
    assert len(changed) == round(0.15 * data.num_train)
    assert changed.tolist() == noisy.info["label_noise"]["indices"]
    np.testing.assert_array_equal(noisy.y_test, data.y_test)
    assert noisy.y_train.min() >= 0 and noisy.y_train.max() < data.num_classes
    again = jaxdl.data.with_label_noise(data, 0.15, key=jax.random.key(0))
    np.testing.assert_array_equal(again.y_train, noisy.y_train)
    with pytest.raises(ValueError, match=r"fraction must be in \[0, 1\], got 1.5"):
        jaxdl.data.with_label_noise(data, 1.5, key=jax.random.key(0))


def test_the_unit_ball_and_the_distances_of_high_dimensions():
    assert unit_ball_volume(1) == pytest.approx(2.0) and unit_ball_volume(2) == pytest.approx(math.pi)
    assert unit_ball_volume(3) == pytest.approx(4 / 3 * math.pi)
    volumes = [unit_ball_volume(d) for d in range(1, 21)]
    assert int(np.argmax(volumes)) + 1 == 5 and volumes[-1] / 2 ** 20 < 1e-7
    spreads = [distance_spread(jax.random.key(d), d)[1] for d in (2, 20, 200)]
    assert spreads[0] > spreads[1] > spreads[2]
    mean_200 = distance_spread(jax.random.key(0), 200)[0]
    assert mean_200 == pytest.approx(math.sqrt(200 / 6), rel=0.02)  # E|x - y|^2 = d/6 for uniform [0, 1]^d


def test_autocorrelation_closed_forms():
    n = 64
    alternating = np.array([(-1.0) ** i for i in range(n)])
    r = autocorrelation(alternating, 3)
    np.testing.assert_allclose(r, [1.0, -(n - 1) / n, (n - 2) / n, -(n - 3) / n])
    assert correlation_length(r) == 1
    np.testing.assert_allclose(autocorrelation(np.ones(10), 2), [1.0, 1.0, 1.0])
    smooth = np.sin(np.linspace(0, np.pi, 200))
    assert correlation_length(autocorrelation(smooth, 100)) > 20


def test_input_gradients_of_a_known_function():
    xs = jnp.linspace(-2.0, 2.0, 9)
    np.testing.assert_allclose(input_gradients(lambda v: jnp.sum(v ** 3, axis=1), xs), 3 * xs ** 2, rtol=1e-6)

"""Measuring performance (Prince, *Understanding Deep Learning*, ch. 8): the bias-variance
decomposition of the test error over many training sets, and the curse of dimensionality."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["BiasVariance", "bias_variance", "distance_spread", "hinge_features", "hinge_regression",
           "unit_ball_volume"]


class BiasVariance(NamedTuple):
    """Terms of the expected squared test error, each averaged over the test inputs:
    ``bias2 = E_x (f_bar(x) - f(x))^2``, ``variance = E_x E_D (f_D(x) - f_bar(x))^2``, ``noise =
    sigma^2``, and ``expected_error = E_x E_D E_y (f_D(x) - y)^2 = bias2 + variance + noise``
    (UDL eq. 8.7), ``f_bar = E_D f_D`` the mean model over the training sets ``D``."""
    bias2: jax.Array
    variance: jax.Array
    noise: jax.Array
    expected_error: jax.Array


def bias_variance(predictions: jax.Array, truth: jax.Array, noise_std: float) -> BiasVariance:
    """The decomposition for ``predictions [S, M]`` of ``S`` models (each fitted to its own
    training set drawn from one generator) at ``M`` test inputs where the noise-free target
    is ``truth [M]`` and targets carry Gaussian noise of standard deviation ``noise_std``.

    ``expected_error`` is computed directly, ``mean_{s, m} (p_sm - t_m)^2 + sigma^2`` (the
    noise averaged analytically), so the identity ``bias2 + variance + noise`` is a check,
    not a definition."""
    predictions, truth = jnp.asarray(predictions), jnp.asarray(truth)
    if predictions.ndim != 2 or truth.shape != predictions.shape[1:]:
        raise ValueError(f"bias_variance: predictions must be [S, M] and truth [M], got {predictions.shape} and "
                         f"{truth.shape}.")
    mean_model = predictions.mean(axis=0)
    noise = jnp.float32(noise_std) ** 2
    return BiasVariance(bias2=jnp.mean((mean_model - truth) ** 2),
                        variance=jnp.mean((predictions - mean_model[None]) ** 2),
                        noise=noise,
                        expected_error=jnp.mean((predictions - truth[None]) ** 2) + noise)


def hinge_features(x: jax.Array, num_hinges: int, low: float = 0.0, high: float = 1.0) -> jax.Array:
    """``[N] -> [N, 1 + K]``: a constant and ``K`` ReLU hinges ``relu(x - c_k)`` at equally
    spaced joints ``c_k`` in ``[low, high)``, a shallow ReLU network whose first layer is fixed
    (UDL notebook 8.3's model, capacity = ``K``)."""
    joints = low + (high - low) * jnp.arange(num_hinges) / max(num_hinges, 1)
    return jnp.concatenate([jnp.ones((x.shape[0], 1)), jax.nn.relu(x[:, None] - joints[None])], axis=1)


def hinge_regression(x: jax.Array, y: jax.Array, x_test: jax.Array, num_hinges: int, ridge: float = 1e-6) -> jax.Array:
    """Least squares on ``hinge_features`` (closed form, a tiny ridge for the rank-deficient
    case of more hinges than points), evaluated at ``x_test``; vmappable over training sets."""
    phi = hinge_features(x, num_hinges)
    gram = phi.T @ phi + ridge * jnp.eye(phi.shape[1])
    weights = jnp.linalg.solve(gram, phi.T @ y)
    return hinge_features(x_test, num_hinges) @ weights


def unit_ball_volume(d: int) -> float:
    """``pi^(d/2) / Gamma(d/2 + 1)``: the volume of the unit ball in ``d`` dimensions, which
    peaks at ``d = 5`` and falls to 0, while the enclosing cube ``[-1, 1]^d`` has volume ``2^d``
    (UDL §8.4.1, notebook 8.4)."""
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1)


def distance_spread(key: jax.Array, d: int, n: int = 200) -> tuple[float, float]:
    """``(mean, std / mean)`` of the distances between ``n`` uniform points of ``[0, 1]^d``: as
    ``d`` grows every pair is about equally far apart (the relative spread shrinks like
    ``1 / sqrt(d)``), so "nearest" loses its meaning."""
    x = np.asarray(jax.random.uniform(key, (n, d)))
    sq = np.sum(x ** 2, axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0.0))[np.triu_indices(n, 1)]
    return float(dist.mean()), float(dist.std() / dist.mean())

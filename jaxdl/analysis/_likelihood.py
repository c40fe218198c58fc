"""The maximum-likelihood recipe: choose an output distribution, get the loss.

Prince, *Understanding Deep Learning*, ch. 5: the network predicts the parameters of a
distribution over the target; training minimises the negative log-likelihood
``-sum_i log p(y_i | f(x_i))``. Each row of ``RECIPES`` names the distribution, how the
network's outputs parameterise it, the jaxdl loss, the exact ``-log p`` computed with
``jax.scipy.stats`` (an independent implementation), and the affine relation between the two
(constants that do not depend on the network are dropped, per-output means divide by ``d``).
The tests check every row: ``loss == loss_from_nll(neg_log_likelihood)``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy import special, stats

from jaxdl._losses import binary_cross_entropy, gaussian_nll, mae, mse, poisson_nll, softmax_cross_entropy

__all__ = ["Recipe", "RECIPES"]


class Recipe(NamedTuple):
    """One row of the maximum-likelihood table.

    Attributes:
      distribution: the output distribution ``p(y | theta)``.
      parameters: how the network's outputs ``f`` give ``theta``.
      loss: the jaxdl loss, ``(outputs, targets) -> [B]``.
      neg_log_likelihood: ``(outputs, targets) -> [B]``, ``-log p(y | theta(f))`` summed over
        outputs, from ``jax.scipy.stats``.
      loss_from_nll: ``(nll [B], targets) -> [B]``, the stated relation ``loss = (nll - c) / s``.
      relation: that relation in words.
    """

    distribution: str
    parameters: str
    loss: Callable
    neg_log_likelihood: Callable
    loss_from_nll: Callable
    relation: str


def _units(targets) -> int:
    """``d``: outputs per example."""
    return int(jnp.size(targets[0]))


def _sum_units(values):
    return values.reshape(values.shape[0], -1).sum(axis=1)


def _gaussian_heads(outputs):
    d = outputs.shape[-1] // 2
    return outputs[..., :d], outputs[..., d:]


RECIPES: dict[str, Recipe] = {
    "normal": Recipe(
        "Normal(mu, sigma^2 = 1/2)", "mu = f",
        mse,
        lambda f, y: -_sum_units(stats.norm.logpdf(y, f, jnp.sqrt(0.5))),
        lambda nll, y: (nll - 0.5 * _units(y) * jnp.log(jnp.pi)) / _units(y),
        "mse = (-log p - (d/2) log pi) / d",
    ),
    "normal_predicted_variance": Recipe(
        "Normal(mu, sigma^2)", "[mu, log sigma^2] = f (2d outputs)",
        gaussian_nll,
        lambda f, y: -_sum_units(stats.norm.logpdf(y, _gaussian_heads(f)[0], jnp.exp(0.5 * _gaussian_heads(f)[1]))),
        lambda nll, y: nll,
        "gaussian_nll = -log p (nothing dropped)",
    ),
    "laplace": Recipe(
        "Laplace(mu, b = 1)", "mu = f",
        mae,
        lambda f, y: -_sum_units(stats.laplace.logpdf(y, f, 1.0)),
        lambda nll, y: (nll - _units(y) * jnp.log(2.0)) / _units(y),
        "mae = (-log p - d log 2) / d",
    ),
    "bernoulli": Recipe(
        "Bernoulli(p)", "p = sigmoid(f)",
        binary_cross_entropy,
        lambda f, y: -_sum_units(stats.bernoulli.logpmf(y, jax.nn.sigmoid(f.reshape(y.shape)))),
        lambda nll, y: nll,
        "binary_cross_entropy = -log p (nothing dropped)",
    ),
    "categorical": Recipe(
        "Categorical(p)", "p = softmax(f)",
        softmax_cross_entropy,
        # A Categorical is a Multinomial with one trial; logpmf takes one example at a time.
        lambda f, y: -jax.vmap(stats.multinomial.logpmf, in_axes=(0, None, 0))(
            jax.nn.one_hot(y, f.shape[-1], dtype=jnp.int32), 1, jax.nn.softmax(f)),
        lambda nll, y: nll,
        "softmax_cross_entropy = -log p (nothing dropped)",
    ),
    "poisson": Recipe(
        "Poisson(lambda)", "lambda = exp(f)",
        poisson_nll,
        lambda f, y: -_sum_units(stats.poisson.logpmf(y, jnp.exp(f))),
        lambda nll, y: nll - _sum_units(special.gammaln(y.astype(jnp.float32) + 1)),
        "poisson_nll = -log p - sum log(y!)",
    ),
}

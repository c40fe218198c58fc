"""Linear models: linear and logistic regression, and the perceptron.

All models in jaxdl map a batch ``x: [B, D_in]`` to ``[B, D_out]`` and take a keyword-only
``train`` flag (ignored by models without dropout or batch norm), so one train step serves
them all.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["LinearRegression", "LogisticRegression", "Perceptron", "least_squares"]


class LinearRegression(nn.Module):
    """``f(x) = x W + b``, trained with ``mse`` (a Normal likelihood).

    Attributes:
      num_outputs: ``D_out``. Parameters: ``D_out (D_in + 1)``.

    Shapes: ``[B, D_in] -> [B, D_out]``.
    """

    num_outputs: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        return nn.Dense(self.num_outputs, name="linear")(x)


class LogisticRegression(nn.Module):
    """Multinomial logistic regression: logits ``x W + b`` for a softmax over ``C`` classes.

    With ``num_classes=1`` it is binary logistic regression (one logit, ``binary_cross_entropy``).
    Parameters: ``C (D_in + 1)`` (410 for MNIST-1D's 40 inputs and 10 classes).

    Shapes: ``[B, D_in] -> [B, C]`` logits.
    """

    num_classes: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        return nn.Dense(self.num_classes, name="linear")(x)


class Perceptron(nn.Module):
    """Rosenblatt's perceptron: ``y_hat = H(w.x + b)`` with the Heaviside step ``H``.

    ``__call__`` returns the score ``s = w.x + b`` (shape ``[B, 1]``), because ``H`` has no
    useful gradient; the Heaviside output is ``jaxdl.heaviside(s)`` (``accuracy`` thresholds at
    0 the same way). Train it with ``jaxdl.perceptron_loss``, whose SGD step with learning
    rate ``eta`` on the summed loss is exactly the perceptron rule
    ``w <- w + eta (y - y_hat) x``. Starts from zero weights, as the rule does.

    Shapes: ``[B, D_in] -> [B, 1]``. Parameters: ``D_in + 1``.
    """

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        return nn.Dense(1, kernel_init=nn.initializers.zeros_init(), name="linear")(x)


def least_squares(x, y) -> dict:
    """Closed-form least squares, ``[W; b] = argmin ||[X 1] [W; b] - Y||^2 = (A^T A)^+ A^T Y``.

    The maximum-likelihood solution of linear regression under Gaussian noise; gradient
    descent on ``mse`` must converge to it. Solved with ``numpy.linalg.lstsq`` in float64
    (SVD, so a rank-deficient ``X`` gives the minimum-norm solution rather than an error).

    Args:
      x: ``[N, D_in]`` inputs.
      y: ``[N, D_out]`` targets.

    Returns:
      ``{"params": {"linear": {"kernel": [D_in, D_out], "bias": [D_out]}}}`` in float32, the
      variables of ``LinearRegression(num_outputs=D_out)``: ``model.apply(result, x)`` works.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"least_squares needs x [N, D_in] and y [N, D_out]; got {x.shape}, {y.shape}.")
    for name, a in (("x", x), ("y", y)):
        if not np.isfinite(a).all():  # else LAPACK's SVD reports only that it did not converge
            raise ValueError(f"least_squares: {name} has {int((~np.isfinite(a)).sum())} NaN/inf values "
                             f"(first in row {int(np.argwhere(~np.isfinite(a))[0, 0])}).")
    design = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return {
        "params": {
            "linear": {
                "kernel": jnp.asarray(solution[:-1], jnp.float32),
                "bias": jnp.asarray(solution[-1], jnp.float32),
            }
        }
    }

"""Losses derived by maximum likelihood, and weight penalties.

Every loss here is the negative log-likelihood ``-log p(y | f(x))`` of one output
distribution, per example, up to a constant that each docstring states. Minimising the
mean of it over a data set is maximum-likelihood estimation (Prince, *Understanding Deep
Learning*, ch. 5).

Conventions (all losses):
  * They return one value per example, shape ``[B]`` (or the leading batch shape of
    ``targets``), like optax; the train step takes the (masked) mean.
  * Shapes are checked, not broadcast: ``[B, 1]`` predictions against ``[B]`` targets would
    silently broadcast to ``[B, B]``, the most common regression bug there is.
  * Targets outside the distribution's support (a class label outside ``[0, C)``, a
    Bernoulli target outside ``[0, 1]``, a negative count) raise a ``ValueError`` naming the
    first one when the targets are concrete arrays; inside ``jit``/``vmap``/``grad`` the
    values are not visible, so those examples' losses are NaN instead: the likelihood is
    undefined there, and a NaN stops ``fit`` where a finite number would train on nonsense.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._pytrees import kernel_leaves

__all__ = [
    "mse",
    "mae",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "gaussian_nll",
    "poisson_nll",
    "perceptron_loss",
    "heaviside",
    "l1_penalty",
    "l2_penalty",
]


def _check_same_shape(name: str, predictions: jax.Array, targets: jax.Array) -> None:
    if predictions.shape != targets.shape:
        raise ValueError(
            f"{name}: predictions have shape {predictions.shape} but targets have shape "
            f"{targets.shape}; they must match exactly (reshape targets to "
            f"{predictions.shape} rather than relying on broadcasting)."
        )
    if predictions.ndim == 0:
        raise ValueError(f"{name}: expected a batch of predictions, got a scalar.")


def _in_support(name: str, targets: jax.Array, inside: jax.Array, support: str) -> jax.Array:
    """``inside`` (bool, the shape of ``targets``), after raising a ``ValueError`` that names
    the first target outside ``support`` when ``targets`` is a concrete array (not a tracer)."""
    if not isinstance(targets, jax.core.Tracer) and not isinstance(inside, jax.core.Tracer):
        bad = ~np.asarray(inside)
        if bad.any():
            count, index = int(bad.sum()), tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name}: targets must be {support}, but {count} {'is' if count == 1 else 'are'} "
                             f"not (the first, {np.asarray(targets)[index].item()!r}, at index "
                             f"{index if len(index) > 1 else index[0]}).")
    return inside


def _sum_over_outputs(values: jax.Array) -> jax.Array:
    """Sum over every axis but the first (the batch axis): ``[B, ...] -> [B]``."""
    return values.reshape(values.shape[0], -1).sum(axis=1)


def _mean_over_outputs(values: jax.Array) -> jax.Array:
    """Mean over every axis but the first (the batch axis): ``[B, ...] -> [B]``."""
    return values.reshape(values.shape[0], -1).mean(axis=1)


def mse(predictions: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean squared error per example, the NLL of a Normal with fixed variance.

    For ``y ~ N(f(x), sigma^2 I)`` with ``d`` outputs,
    ``-log p(y|x) = ||y - f(x)||^2 / (2 sigma^2) + (d/2) log(2 pi sigma^2)``,
    so with ``sigma^2 = 1/2`` this loss is exactly ``-log p - (d/2) log(pi)`` divided by ``d``:
    ``mse = (1/d) sum_k (y_k - f_k)^2``.

    Args:
      predictions: ``[B, ...]`` model outputs.
      targets: same shape as ``predictions``.

    Returns:
      ``[B]`` per-example loss.
    """
    _check_same_shape("mse", predictions, targets)
    return _mean_over_outputs(jnp.square(predictions - targets))


def mae(predictions: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean absolute error per example, the NLL of a Laplace with unit scale.

    For ``y_k ~ Laplace(f_k(x), b)``: ``-log p = sum_k |y_k - f_k| / b + d log(2b)``, so with
    ``b = 1``: ``mae = (1/d) sum_k |y_k - f_k| = (-log p - d log 2) / d``. Its minimiser is the
    conditional median, which is why MAE is robust to outliers.

    Args:
      predictions: ``[B, ...]``.
      targets: same shape as ``predictions``.

    Returns:
      ``[B]`` per-example loss.
    """
    _check_same_shape("mae", predictions, targets)
    return _mean_over_outputs(jnp.abs(predictions - targets))


def _squeeze_binary_logits(name: str, logits: jax.Array, labels: jax.Array) -> jax.Array:
    # A one-unit output layer gives [B, 1] logits for [B] labels: accept exactly that case.
    if logits.ndim == labels.ndim + 1 and logits.shape[-1] == 1:
        logits = logits[..., 0]
    _check_same_shape(name, logits, labels)
    return logits


def binary_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Binary cross-entropy from logits, the NLL of a Bernoulli.

    With ``p = sigmoid(s)`` and ``y in {0, 1}``:
    ``-log Bernoulli(y | p) = -y log p - (1 - y) log(1 - p) = softplus(s) - y s``,
    computed as ``max(s, 0) - y s + log1p(exp(-|s|))`` so that ``|s| = 1e4`` stays finite.
    No constant is dropped.

    Args:
      logits: ``[B]`` or ``[B, 1]`` (a one-unit output layer) real scores ``s``.
      labels: ``[B]`` targets in ``[0, 1]`` (hard labels or probabilities).

    Returns:
      ``[B]`` per-example loss; NaN where a label lies outside ``[0, 1]`` (under a
      transformation; concrete labels raise, see the module docstring). Outside it the
      loss is unbounded below (``y = 2``: ``-> -inf`` as ``s -> inf``).
    """
    logits = _squeeze_binary_logits("binary_cross_entropy", logits, labels)
    labels = labels.astype(logits.dtype)
    inside = _in_support("binary_cross_entropy", labels, (labels >= 0) & (labels <= 1), "in [0, 1]")
    per_unit = jnp.maximum(logits, 0) - logits * labels + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    return _sum_over_outputs(jnp.where(inside, per_unit, jnp.nan))


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Softmax cross-entropy with integer labels, the NLL of a Categorical.

    With ``p = softmax(s)``: ``-log Cat(y | p) = -s_y + logsumexp(s)``; ``logsumexp``
    subtracts the max first, so logits of ``+-1e4`` give a finite loss and gradient.
    No constant is dropped.

    Args:
      logits: ``[B, C]`` unnormalised scores.
      labels: ``[B]`` integer classes in ``[0, C)``.

    Returns:
      ``[B]`` per-example loss; NaN where a label lies outside ``[0, C)`` (under a
      transformation; concrete labels raise, see the module docstring): the gather alone
      would silently pick another class (label -1 wraps around to class ``C - 1``).
    """
    if logits.ndim != labels.ndim + 1 or logits.shape[:-1] != labels.shape:
        raise ValueError(
            f"softmax_cross_entropy: logits of shape {logits.shape} need integer labels of "
            f"shape {logits.shape[:-1]}, got {labels.shape}."
        )
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(
            f"softmax_cross_entropy: labels must be integer class indices, got dtype "
            f"{labels.dtype}."
        )
    log_normaliser = jax.nn.logsumexp(logits, axis=-1)
    num_classes = logits.shape[-1]
    label_logits = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    inside = _in_support("softmax_cross_entropy", labels, (labels >= 0) & (labels < num_classes),
                         f"class labels in [0, {num_classes}) for {num_classes} logits")
    return jnp.where(inside, log_normaliser - label_logits, jnp.nan)


def gaussian_nll(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """NLL of a Normal whose mean *and* variance the model predicts (heteroscedastic).

    The model has ``2d`` outputs: the first ``d`` are the mean head ``mu``, the last ``d``
    the log-variance head ``v = log sigma^2`` (a log, so any real output is a valid
    variance). Per example,
    ``-log p(y|x) = (1/2) sum_k [ v_k + (y_k - mu_k)^2 exp(-v_k) + log(2 pi) ]``,
    the full negative log-density: no constant is dropped.

    Args:
      outputs: ``[B, 2d]`` model outputs, ``[mu, log_variance]`` along the last axis.
      targets: ``[B, d]``.

    Returns:
      ``[B]`` per-example loss.
    """
    if outputs.ndim != targets.ndim or outputs.shape[:-1] != targets.shape[:-1] or (
        outputs.shape[-1] != 2 * targets.shape[-1]
    ):
        raise ValueError(
            f"gaussian_nll: outputs must be [..., 2d] (mean and log-variance heads) for "
            f"targets [..., d]; got outputs {outputs.shape} and targets {targets.shape}."
        )
    d = targets.shape[-1]
    mean, log_var = outputs[..., :d], outputs[..., d:]
    per_unit = 0.5 * (log_var + jnp.square(targets - mean) * jnp.exp(-log_var) + jnp.log(2 * jnp.pi))
    return _sum_over_outputs(per_unit)


def poisson_nll(log_rates: jax.Array, counts: jax.Array) -> jax.Array:
    """NLL of a Poisson whose log-rate the model predicts, for count targets.

    With ``lambda = exp(s)`` (a log, so any real output is a valid rate):
    ``-log Poisson(y | lambda) = lambda - y log lambda + log(y!)``. The last term does not
    depend on the model and is dropped: ``poisson_nll = sum_k exp(s_k) - y_k s_k``
    ``= -log p - sum_k log Gamma(y_k + 1)``.

    Args:
      log_rates: ``[B, ...]`` model outputs ``s = log lambda``.
      counts: same shape, non-negative counts (any real dtype or integers).

    Returns:
      ``[B]`` per-example loss; NaN for an example with a negative count (under a
      transformation; concrete counts raise), where the loss is unbounded below.
    """
    _check_same_shape("poisson_nll", log_rates, counts)
    counts = counts.astype(log_rates.dtype)
    inside = _in_support("poisson_nll", counts, counts >= 0, "non-negative counts")
    per_unit = jnp.exp(log_rates) - counts * log_rates
    return _sum_over_outputs(jnp.where(inside, per_unit, jnp.nan))


def heaviside(scores: jax.Array, at_zero: float = 1.0) -> jax.Array:
    """The perceptron's output, the Heaviside step ``H(s) = 1 if s > 0, 0 if s < 0``, in the
    dtype of ``scores``.

    ``H(0) = at_zero``: 1 by default, the convention of Prince's *Understanding Deep
    Learning* (``heaviside[z] = 1`` for ``z >= 0``, §3 and the notebooks); pass 0 for the
    strict step ``1[s > 0]`` (or 0.5 for the symmetric one)."""
    return jnp.where(scores > 0, 1.0, jnp.where(scores == 0, at_zero, 0.0)).astype(scores.dtype)


def perceptron_loss(scores: jax.Array, labels: jax.Array, at_zero: float = 1.0) -> jax.Array:
    """Surrogate loss whose gradient step *is* Rosenblatt's perceptron rule.

    The Heaviside output ``y_hat = H(s)`` has zero gradient almost everywhere, so it cannot be
    trained by autodiff directly. With the prediction held constant,
    ``L(s) = stop_gradient(H(s) - y) * s`` is ``|s|`` on a mistake and ``0`` otherwise, and
    ``dL/dw = (y_hat - y) x``: one SGD step with learning rate ``eta`` on the *summed* loss is
    ``w <- w + eta (y - y_hat) x``, the perceptron rule (Rosenblatt 1958).

    Args:
      scores: ``[B]`` or ``[B, 1]`` pre-activations ``s = w.x + b``.
      labels: ``[B]`` targets in ``{0, 1}``.
      at_zero: ``H(0)``, as in ``heaviside`` (1, the UDL book's; 0 for the strict ``1[s > 0]``
        of a ``sign`` unit, under which a point on the boundary counts as class 0).

    Returns:
      ``[B]`` per-example loss, ``>= 0``, zero exactly on correctly classified examples;
      NaN where a label is not 0 or 1 (under a transformation; concrete labels raise): with
      the +-1 labels of other texts a -1 example would never count as classified right.
    """
    scores = _squeeze_binary_logits("perceptron_loss", scores, labels)
    labels = labels.astype(scores.dtype)
    inside = _in_support("perceptron_loss", labels, (labels == 0) | (labels == 1), "0 or 1")
    error = jax.lax.stop_gradient(heaviside(scores, at_zero) - labels)
    return jnp.where(inside, error * scores, jnp.nan)


def l2_penalty(params) -> jax.Array:
    """``sum_w w^2`` over every ``kernel`` leaf; biases (and norm scales) are not penalised.

    Adding ``lambda * l2_penalty`` to the loss is the MAP estimate under a Gaussian prior
    ``w ~ N(0, 1/(2 lambda))`` on the weights; for plain SGD it is weight decay with rate
    ``2 lambda``. Biases only shift units, so shrinking them buys no smoothness.

    Args:
      params: a Flax parameter pytree.

    Returns:
      scalar.
    """
    return sum((jnp.sum(jnp.square(k)) for k in kernel_leaves(params)), start=jnp.zeros(()))


def l1_penalty(params) -> jax.Array:
    """``sum_w |w|`` over every ``kernel`` leaf; biases are not penalised.

    Adding ``lambda * l1_penalty`` is the MAP estimate under a Laplace prior on the weights,
    which drives many weights to exactly zero (sparsity).

    Args:
      params: a Flax parameter pytree.

    Returns:
      scalar.
    """
    return sum((jnp.sum(jnp.abs(k)) for k in kernel_leaves(params)), start=jnp.zeros(()))

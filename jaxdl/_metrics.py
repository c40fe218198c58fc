"""Per-example evaluation metrics (the train and eval steps average them, with a mask)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checks import positive_int

__all__ = ["accuracy", "confusion_matrix"]


def accuracy(outputs: jax.Array, labels: jax.Array) -> jax.Array:
    """1.0 where the prediction is right, else 0.0.

    Args:
      outputs: ``[B, C]`` logits (prediction ``argmax``), or ``[B]`` / ``[B, 1]`` binary
        scores (prediction ``s > 0``, i.e. ``sigmoid(s) > 1/2`` or the perceptron's Heaviside).
      labels: ``[B]`` integer labels.

    Returns:
      ``[B]`` float32 in ``{0, 1}``.
    """
    if outputs.ndim == labels.ndim + 1 and outputs.shape[-1] > 1:
        predictions = jnp.argmax(outputs, axis=-1)
    else:
        if outputs.ndim == labels.ndim + 1:
            outputs = outputs[..., 0]
        predictions = (outputs > 0).astype(labels.dtype)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"accuracy: outputs of shape {outputs.shape} do not match labels of shape "
            f"{labels.shape}."
        )
    return (predictions == labels).astype(jnp.float32)


def confusion_matrix(labels: jax.Array, predictions: jax.Array, num_classes: int) -> jax.Array:
    """``[C, C]`` counts: entry ``(i, j)`` is the number of examples of class ``i`` predicted
    as class ``j`` (rows: truth, columns: prediction; the diagonal holds the correct ones).

    Args:
      labels, predictions: ``[N]`` integers in ``[0, C)``. Concrete arrays outside it raise a
        ``ValueError``; under ``jit`` such pairs are left out (the counts then sum to less
        than ``N``) rather than counted in another cell.
      num_classes: ``C``.
    """
    num_classes = positive_int("confusion_matrix: num_classes", num_classes)
    labels, predictions = jnp.asarray(labels), jnp.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"confusion_matrix needs [N] labels and [N] predictions, got {labels.shape} and "
                         f"{predictions.shape}.")
    inside = jnp.ones(labels.shape, bool)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if not jnp.issubdtype(values.dtype, jnp.integer):
            raise TypeError(f"confusion_matrix: {name} must be integer classes, got dtype {values.dtype}.")
        ok = (values >= 0) & (values < num_classes)
        if not isinstance(ok, jax.core.Tracer) and not bool(ok.all()):
            first = int(np.argmax(~np.asarray(ok)))
            raise ValueError(f"confusion_matrix: {name} must lie in [0, {num_classes}), got "
                             f"{int(values[first])} at index {first}.")
        inside = inside & ok
    # Out-of-range pairs (only possible under a transformation) go to an extra bin, dropped.
    flat = jnp.where(inside, labels.astype(jnp.int32) * num_classes + predictions.astype(jnp.int32),
                     num_classes * num_classes)
    counts = jnp.bincount(flat, length=num_classes * num_classes + 1)
    return counts[:-1].reshape(num_classes, num_classes)

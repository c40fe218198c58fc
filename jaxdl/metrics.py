"""Per-example evaluation metrics (the train and eval steps average them, with a mask)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["accuracy"]


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

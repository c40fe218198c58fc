"""One-dimensional convolutional network for MNIST-1D (Greydanus 2020)."""

from __future__ import annotations

import flax.linen as nn
import jax

__all__ = ["CNN1D"]


class CNN1D(nn.Module):
    """Three strided 1D convolutions and a linear read-out, the MNIST-1D paper's CNN.

    ``conv(1->C, k5, s2, p1) -> relu -> conv(C->C, k3, s2, p1) -> relu -> conv(C->C, k3, s2, p1)
    -> relu -> flatten -> linear(-> num_classes)``. Lengths follow
    ``M = floor((N - F + 2P) / S) + 1``: 40 -> 19 -> 10 -> 5.

    Attributes:
      channels: ``C`` (25 in the paper: 5,210 parameters for 40 inputs and 10 classes).
      num_classes: output logits.

    Shapes: ``[B, L] -> [B, num_classes]`` (a signal of length ``L``, one channel).
    """

    channels: int = 25
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        if x.ndim != 2:
            raise ValueError(f"CNN1D expects [B, L] signals, got shape {x.shape}.")
        h = x[..., None]  # [B, L, 1]: Flax convolutions are channels-last
        h = nn.relu(nn.Conv(self.channels, (5,), strides=2, padding=[(1, 1)], name="conv_0")(h))
        h = nn.relu(nn.Conv(self.channels, (3,), strides=2, padding=[(1, 1)], name="conv_1")(h))
        h = nn.relu(nn.Conv(self.channels, (3,), strides=2, padding=[(1, 1)], name="conv_2")(h))
        return nn.Dense(self.num_classes, name="linear")(h.reshape(h.shape[0], -1))

"""A small 2D convolutional network (the kind the Adam paper compares optimizers on)."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

__all__ = ["SmallCNN"]


class SmallCNN(nn.Module):
    """``[conv 3x3 (same) -> relu -> max-pool 2x2] x len(channels) -> dense -> relu -> [dropout]
    -> dense``, a scaled-down version of Kingma & Ba (2015) §6.3's c64-c64-c128-1000 network.

    Attributes:
      channels: output channels of each convolution, e.g. ``(32, 64)``.
      hidden: width of the fully connected layer.
      num_classes: output logits.
      dropout_rate: dropout before the output layer (and on the input of the dense layer).

    Shapes: ``[B, H, W, C] -> [B, num_classes]`` (NHWC; ``H`` and ``W`` halve at every pool).
    Parameters: ``sum_l (9 C_{l-1} + 1) C_l + (H' W' C_L + 1) hidden + (hidden + 1) num_classes``.
    """

    channels: Sequence[int] = (32, 64)
    hidden: int = 256
    num_classes: int = 10
    dropout_rate: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"SmallCNN expects [B, H, W, C] images, got shape {x.shape}.")
        for i, c in enumerate(self.channels):
            x = nn.relu(nn.Conv(c, (3, 3), padding="SAME", name=f"conv_{i}")(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)
        if self.dropout_rate:
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        x = nn.relu(nn.Dense(self.hidden, name="hidden")(x))
        if self.dropout_rate:
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, name="output")(x)

"""One-dimensional convolutional network for MNIST-1D (Greydanus 2020)."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

from jaxdl._arithmetic import conv_output_size

__all__ = ["CNN1D"]


class CNN1D(nn.Module):
    """Strided (optionally dilated) 1D convolutions and a linear read-out; by default the
    MNIST-1D paper's CNN (Greydanus 2020).

    Layer ``l``: ``conv(C_{l-1} -> C_l, kernel k_l, stride s_l, padding p_l, dilation d_l) -> relu``,
    then ``flatten -> linear(-> num_classes)``. The defaults,
    ``conv(1->25, k5, s2, p1) -> conv(25->25, k3, s2, p1) -> conv(25->25, k3, s2, p1)``, give
    lengths ``M = floor((N - d (k - 1) - 1 + 2p) / s) + 1``: 40 -> 19 -> 10 -> 5 (the UDL book's
    notebook 10.2 varies exactly these: kernel sizes, strides, channels, dilation).

    Attributes:
      channels: ``C`` for every layer (25 in the paper: 5,210 parameters for 40 inputs and 10
        classes), or one value per layer.
      kernel_sizes, strides, paddings, dilations: one value per layer (all the same length).
      num_classes: output logits.

    Shapes: ``[B, L] -> [B, num_classes]`` (a signal of length ``L``, one channel).
    """

    channels: int | Sequence[int] = 25
    num_classes: int = 10
    kernel_sizes: Sequence[int] = (5, 3, 3)
    strides: Sequence[int] = (2, 2, 2)
    paddings: Sequence[int] = (1, 1, 1)
    dilations: Sequence[int] = (1, 1, 1)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        if x.ndim != 2:
            raise ValueError(f"CNN1D expects [B, L] signals, got shape {x.shape}.")
        layers = len(self.kernel_sizes)
        channels = (self.channels,) * layers if isinstance(self.channels, int) else tuple(self.channels)
        if {len(channels), len(self.strides), len(self.paddings), len(self.dilations)} != {layers}:
            raise ValueError(f"CNN1D needs one channel count, stride, padding and dilation per layer: got "
                             f"{len(self.kernel_sizes)} kernel sizes, {len(channels)} channels, {len(self.strides)} "
                             f"strides, {len(self.paddings)} paddings, {len(self.dilations)} dilations.")
        h, length = x[..., None], x.shape[1]  # [B, L, 1]: Flax convolutions are channels-last
        for i, (c, k, s, p, d) in enumerate(zip(channels, self.kernel_sizes, self.strides, self.paddings,
                                                self.dilations)):
            length = conv_output_size(length, k, padding=p, stride=s, dilation=d, exact=False)  # names a bad layer
            h = nn.relu(nn.Conv(c, (k,), strides=s, padding=[(p, p)], kernel_dilation=d, name=f"conv_{i}")(h))
        return nn.Dense(self.num_classes, name="linear")(h.reshape(h.shape[0], -1))

"""The Inception module of GoogLeNet (Szegedy et al. 2015, "Going deeper with convolutions",
Fig. 2b and Table 1) and a small network of them."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.models._cnn import conv, check_images, pool2d

__all__ = ["InceptionModule", "InceptionNet"]


class InceptionModule(nn.Module):
    """Four parallel branches on the same input, concatenated along the channels:

    1. 1x1 conv -> ``c1``;
    2. 1x1 conv -> ``c3_reduce`` -> 3x3 conv -> ``c3``;
    3. 1x1 conv -> ``c5_reduce`` -> 5x5 conv -> ``c5``;
    4. 3x3 max-pool (stride 1, 'same') -> 1x1 conv -> ``pool_proj``;

    every conv followed by ReLU. The 1x1 "reductions" are the point of the design: they cut
    the channels before the expensive 3x3 and 5x5 filters. ``features`` is a row of the
    paper's Table 1: ``(#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)``; module 3a is
    ``(64, 96, 128, 16, 32, 32)``.

    Shapes: ``[B, H, W, C] -> [B, H, W, c1 + c3 + c5 + pool_proj]``.
    Parameters: ``(C + 1) c1 + (C + 1) c3r + (9 c3r + 1) c3 + (C + 1) c5r + (25 c5r + 1) c5
    + (C + 1) pool_proj`` (163,696 for 3a on 192 channels).
    """

    features: Sequence[int] = (64, 96, 128, 16, 32, 32)
    conv_impl: str = "auto"  # Conv2D's impl

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if len(self.features) != 6:
            raise ValueError("InceptionModule needs six widths (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, "
                             f"pool proj), got {tuple(self.features)}.")
        c1, c3r, c3, c5r, c5, cp = self.features
        impl = self.conv_impl
        b1 = nn.relu(conv(c1, 1, 0, "b1_1x1", x, impl=impl))
        b2 = nn.relu(conv(c3, 3, 1, "b2_3x3", nn.relu(conv(c3r, 1, 0, "b2_reduce", x, impl=impl)), impl=impl))
        b3 = nn.relu(conv(c5, 5, 2, "b3_5x5", nn.relu(conv(c5r, 1, 0, "b3_reduce", x, impl=impl)), impl=impl))
        b4 = nn.relu(conv(cp, 1, 0, "b4_proj", pool2d(x, "max", 3, stride=1, padding=1), impl=impl))
        return jnp.concatenate([b1, b2, b3, b4], axis=-1)


class InceptionNet(nn.Module):
    """A small GoogLeNet for 32x32 images: a 3x3 stem conv (ReLU), stages of Inception modules
    with a 2x2 max-pool between stages, global average pooling, dropout and the classifier
    (the paper's Fig. 3 without the 224x224 stem and the auxiliary heads).

    Attributes:
      stem: channels of the stem convolution.
      stages: per stage, the Table-1 rows of its modules. The default is GoogLeNet's 3a, 3b
        (stage 1) and 4a (stage 2).

    Shapes: ``[B, H, W, C] -> [B, num_classes]`` (``H``, ``W`` divisible by ``2^(stages - 1)``).
    Parameters: ``(9 C + 1) stem`` + each module's count + ``(C_last + 1) K``.
    """

    stem: int = 64
    stages: Sequence[Sequence[Sequence[int]]] = (((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
                                                 ((192, 96, 208, 16, 48, 64),))
    num_classes: int = 10
    dropout_rate: float = 0.4
    conv_impl: str = "auto"  # Conv2D's impl

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("InceptionNet", x)
        x = nn.relu(conv(self.stem, 3, 1, "stem", x, impl=self.conv_impl))
        for s, stage in enumerate(self.stages):
            if s:
                x = pool2d(x, "max", 2)
            for m, features in enumerate(stage):
                x = InceptionModule(tuple(features), self.conv_impl, name=f"inception_{s}_{m}")(x)
        x = jnp.mean(x, axis=(1, 2))
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, name="output")(x)

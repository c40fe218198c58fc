"""Residual networks for 32x32 images (He, Zhang, Ren & Sun 2016, "Deep residual learning",
§4.2), with a switch that removes the skip connections (Li et al. 2018, "Visualizing the loss
landscape of neural nets", compare ResNet-56 with and without them)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.models._cnn import conv, batch_norm, check_images

__all__ = ["BasicBlock", "ResNet", "resnet20", "resnet56"]


class BasicBlock(nn.Module):
    """``relu(F(x) + shortcut(x))`` with ``F = conv3x3 -> BN -> relu -> conv3x3 -> BN``.

    When the block halves the resolution and widens the channels, the shortcut is the paper's
    option A (parameter-free): take every second pixel and zero-pad the new channels. With
    ``skip=False`` the block is the plain ``relu(F(x))``.

    Shapes: ``[B, H, W, C] -> [B, H / stride, W / stride, features]``.
    Parameters: ``9 C f + 9 f f + 4 f`` (no conv biases; BN scale and offset).
    """

    features: int
    stride: int = 1
    skip: bool = True
    bn_axis_name: str | None = None
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        # Stride 2 with padding 1 floors (31 / 2 + 1 = 16), as in the paper's implementation.
        y = conv(self.features, 3, 1, "conv_0", x, stride=self.stride, use_bias=False, exact=False,
                 impl=self.conv_impl)
        y = nn.relu(batch_norm(train, self.bn_axis_name, "bn_0")(y))
        y = conv(self.features, 3, 1, "conv_1", y, use_bias=False, impl=self.conv_impl)
        y = batch_norm(train, self.bn_axis_name, "bn_1")(y)
        if not self.skip:
            return nn.relu(y)
        shortcut = x
        if self.stride != 1 or x.shape[-1] != self.features:
            shortcut = x[:, ::self.stride, ::self.stride, :]
            extra = self.features - x.shape[-1]
            shortcut = jnp.pad(shortcut, ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2)))
        return nn.relu(y + shortcut)


class ResNet(nn.Module):
    """The CIFAR ResNet of He et al. (2016) §4.2: a 3x3 conv to ``width`` channels, then three
    stages of ``n = (depth - 2) / 6`` basic blocks with ``width``, ``2 width``, ``4 width``
    channels (the first block of stages 2 and 3 has stride 2: 32 -> 16 -> 8), global average
    pooling and the classifier. Depth 20 and 56 are ResNet-20 (0.27M parameters) and ResNet-56
    (0.85M).

    Attributes:
      depth: ``6 n + 2`` layers with weights.
      skip: ``False`` removes every skip connection (the "plain" network of the paper's
        Fig. 6 and of Li et al. 2018's loss-landscape study).
      bn_axis_name: compute batch statistics over all devices of this mapped axis.
      conv_impl: the convolutions' formulation (``Conv2D``'s ``impl``; ``"auto"``: one per backend).

    Batch norm keeps its running statistics in the ``batch_stats`` collection, which the
    train state carries as ``model_state``; ``train=False`` uses them.

    Shapes: ``[B, 32, 32, C] -> [B, num_classes]``.
    Parameters (``w`` = width, ``C`` input channels):
    ``9 C w + 2 w + sum over blocks (9 c_in c + 9 c c + 4 c) + (4 w + 1) K`` =
    269,722 for ResNet-20 and 853,018 for ResNet-56 on RGB images.
    """

    depth: int = 20
    num_classes: int = 10
    width: int = 16
    skip: bool = True
    bn_axis_name: str | None = None
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("ResNet", x)
        if self.depth < 8 or (self.depth - 2) % 6:
            raise ValueError(f"ResNet depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {self.depth}.")
        n = (self.depth - 2) // 6
        x = conv(self.width, 3, 1, "stem", x, use_bias=False, impl=self.conv_impl)
        x = nn.relu(batch_norm(train, self.bn_axis_name, "stem_bn")(x))
        for stage in range(3):
            for block in range(n):
                stride = 2 if stage > 0 and block == 0 else 1
                x = BasicBlock(self.width * 2**stage, stride=stride, skip=self.skip, bn_axis_name=self.bn_axis_name,
                               conv_impl=self.conv_impl, name=f"stage{stage}_block{block}")(x, train=train)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, name="output")(x)


def resnet20(num_classes: int = 10, *, skip: bool = True, **kwargs) -> ResNet:
    """ResNet-20 (He et al. 2016, Table 6): 269,722 parameters on RGB."""
    return ResNet(depth=20, num_classes=num_classes, skip=skip, **kwargs)


def resnet56(num_classes: int = 10, *, skip: bool = True, **kwargs) -> ResNet:
    """ResNet-56 (He et al. 2016, Table 6): 853,018 parameters on RGB."""
    return ResNet(depth=56, num_classes=num_classes, skip=skip, **kwargs)

"""2D convolutional networks for images ``[B, H, W, C]`` (NHWC): a small CNN, LeNet-5,
an AlexNet-style net and a VGG-style stack.

Every network checks its input with the lecture's arithmetic (``conv_output_size``), so an
image size that a stride or pooling window does not tile is rejected with the arithmetic
spelled out, instead of silently losing its border.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.models._components import get_activation
from jaxdl._arithmetic import conv_output_size, same_padding
from jaxdl.cpu import (blocked_conv2d, s2d_conv2d_maxpool, s2d_conv2d_windows, space_to_depth, toeplitz_conv2d,
                       toeplitz_conv2d_maxpool)

__all__ = ["SmallCNN", "LeNet5", "AlexNet", "VGG", "Conv2D", "CONV_IMPLS", "LENET5_CONV_IMPLS", "check_images", "pool2d", "conv"]


def check_images(model: str, x: jax.Array) -> None:
    """Raise a ``ValueError`` unless ``x`` is a ``[B, H, W, C]`` batch."""
    if x.ndim != 4:
        raise ValueError(f"{model} expects images [B, H, W, C], got shape {x.shape}.")


def pool2d(x: jax.Array, kind: str, window: int, stride: int | None = None, padding: int = 0) -> jax.Array:
    """Max or average pooling over ``window x window`` patches, after checking the arithmetic.

    Non-overlapping windows (``stride == window``, no padding; LeNet, VGG, ResNet) are taken
    as the max / mean of ``window^2`` strided slices: the same values as a reduce-window, and
    a backward pass of strided adds instead of XLA's select-and-scatter, which is slower on
    a CPU (``benchmarks/REPORT.md``). At ties the gradient is
    shared between the maxima instead of going to the first one.

    Shapes: ``[B, H, W, C] -> [B, M_h, M_w, C]`` with ``M = (N - F + 2P) / S + 1``.
    """
    stride = window if stride is None else stride
    for n in x.shape[1:3]:
        conv_output_size(n, window, padding=padding, stride=stride)
    if kind not in ("max", "avg"):
        raise ValueError(f"unknown pooling {kind!r}; use 'max' or 'avg'.")
    if stride == window and padding == 0:
        parts = [x[:, i::window, j::window, :] for i in range(window) for j in range(window)]
        if kind == "avg":
            return sum(parts) / len(parts)
        out = parts[0]
        for part in parts[1:]:
            out = jnp.maximum(out, part)
        return out
    pad = ((padding, padding), (padding, padding))
    if kind == "max":
        return nn.max_pool(x, (window, window), strides=(stride, stride), padding=pad)
    return nn.avg_pool(x, (window, window), strides=(stride, stride), padding=pad, count_include_pad=True)


class Conv2D(nn.Module):
    """``flax.linen.Conv`` with square filters and symmetric integer padding (the same
    ``kernel`` [F, F, C, O] and ``bias`` parameters, initialised the same way), computed by
    XLA's convolution (``impl="xla"``) or as one banded matmul (``impl="toeplitz"``,
    stride 1 only; see ``toeplitz_conv2d`` for when that is faster).

    ``max_pool=True`` follows the convolution (and bias) with a 2x2 max pool of stride 2,
    fused into the banded matmul for ``impl="toeplitz"`` (``toeplitz_conv2d_maxpool``).
    ``tile`` (``impl="toeplitz"`` only) cuts the output width into tiles of that many
    columns that share one smaller band (see ``toeplitz_conv2d``); ``None``: the whole width.
    ``dilation`` ``D`` spaces the filter's taps ``D`` apart (Yu & Koltun 2016; ``impl="xla"``):
    the same as a ``D (F - 1) + 1`` filter with zeros between the taps, with ``F^2`` parameters.
    ``impl="blocked"`` computes any of them (stride, padding, dilation) as one pixel-block
    matmul (``jaxdl.cpu.blocked_conv2d``, blocks of ``2 x stride``): faster than XLA:CPU's
    convolutions for few input channels (``benchmarks/conv_layers.py``), and vmapped it stays
    a matmul where XLA's convolution becomes a grouped one.
    """

    features: int
    size: int
    padding: int = 0
    stride: int = 1
    use_bias: bool = True
    impl: str = "xla"
    exact: bool = True
    max_pool: bool = False
    tile: int | None = None
    dilation: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.tile is not None and self.impl != "toeplitz":
            raise ValueError(f"tile={self.tile} applies to impl='toeplitz' only, got impl={self.impl!r}.")
        for n in x.shape[1:3]:
            conv_output_size(n, self.size, padding=self.padding, stride=self.stride, dilation=self.dilation,
                             exact=self.exact)
        if self.impl not in CONV_IMPLS:
            raise ValueError(f"unknown convolution impl {self.impl!r}; use one of {CONV_IMPLS}.")
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (self.size, self.size, x.shape[-1], self.features))
        if self.impl == "toeplitz":
            if self.stride != 1 or self.dilation != 1:
                raise ValueError(f"impl='toeplitz' computes stride-1, undilated convolutions only, got stride "
                                 f"{self.stride}, dilation {self.dilation}.")
            if self.max_pool:
                # The bias is the same for the four members of a window, so it is added after the max.
                y = toeplitz_conv2d_maxpool(x, kernel, self.padding, tile=self.tile)
                return y + self._bias() if self.use_bias else y
            y = toeplitz_conv2d(x, kernel, self.padding, tile=self.tile)
        elif self.impl == "blocked":
            y = blocked_conv2d(x, kernel, stride=self.stride, padding=self.padding, dilation=self.dilation,
                               block=2 * self.stride)
        else:
            y = jax.lax.conv_general_dilated(x, kernel, (self.stride, self.stride), ((self.padding, self.padding),) * 2,
                                             rhs_dilation=(self.dilation, self.dilation),
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if self.use_bias:
            y = y + self._bias()
        return pool2d(y, "max", 2) if self.max_pool else y

    def _bias(self) -> jax.Array:
        return self.param("bias", nn.initializers.zeros, (self.features,)).reshape(1, 1, 1, -1)


CONV_IMPLS = ("xla", "toeplitz", "blocked")


def conv(features: int, size: int, padding: int, name: str, x: jax.Array, *, stride: int = 1,
          use_bias: bool = True, exact: bool = True, impl: str = "xla", max_pool: bool = False,
          tile: int | None = None) -> jax.Array:
    """``Conv2D(...)(x)`` in one call, as the networks of this package write their layers."""
    return Conv2D(features, size, padding, stride, use_bias, impl, exact, max_pool, tile, name=name)(x)


# Activations with a(max(y)) == max(a(y)), which may therefore follow a max pool instead of precede it.
_NON_DECREASING = ("linear", "relu", "leaky_relu", "sigmoid", "tanh")


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
        check_images("SmallCNN", x)
        for i, c in enumerate(self.channels):
            x = nn.relu(conv(c, 3, 1, f"conv_{i}", x))
            x = pool2d(x, "max", 2)
        x = x.reshape(x.shape[0], -1)
        if self.dropout_rate:
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        x = nn.relu(nn.Dense(self.hidden, name="hidden")(x))
        if self.dropout_rate:
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, name="output")(x)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, Fig. 2), as the lectures draw it:

    ``C1 conv 5x5 -> 6 -> pool 2 -> C3 conv 5x5 -> 16 -> pool 2 -> F5 120 -> F6 84 -> 10``.

    The paper feeds 32x32 images with no padding; MNIST's 28x28 digits with ``padding=2`` on
    C1 give the same 28x28x6 -> 14x14x6 -> 10x10x16 -> 5x5x16 shapes. As in modern versions,
    C3 connects to all six maps (the paper's sparse connection table had 1,516 weights, not
    2,416), the activation defaults to ReLU and pooling to max (the paper: scaled tanh and
    trainable average subsampling; ``activation="tanh", pooling="avg"`` is the closer match).

    ``conv_impl="toeplitz"`` computes both convolutions as banded matmuls, each fused with
    its max pool (``toeplitz_conv2d_maxpool``; same parameters, same function), the output
    width cut into ``conv_tiles`` columns per tile for C1 and C3 (4 and 2: each band is
    smaller, 1.6x and 1.2x the convolution's multiply-adds instead of 6.4x and 2.8x; a tile
    that does not divide the width, or is odd where the pool is fused, means the whole
    width): faster training steps than XLA's convolutions on a CPU
    (``benchmarks/conv_step.py``). ``conv_impl="s2d"`` computes them on the image cut into
    blocks (``space_to_depth``, 4x4 pixels for C1, 2x2 for C3; ``s2d_conv2d_windows``), each
    one matmul of a few shifted views, the pool a maximum of contiguous blocks; C1's pooled
    output is C3's blocked input, so nothing is transposed in between: faster again on a CPU
    (``benchmarks/REPORT.md`` section 6). It needs the padded image size a multiple of 4
    (28 + 2 * 2 = 32). ``conv_impl="blocked"`` uses the general pixel-block convolution of
    ``Conv2D(impl="blocked")`` for C1 and C3, pooling apart. Keep ``"xla"`` on GPU/TPU. All four
    have the same parameters and compute the same function.

    Shapes: ``[B, 28, 28, 1] -> [B, num_classes]`` (or 32x32 with ``padding=0``).
    Parameters: ``(25 C + 1) 6 + (150 + 1) 16 + (400 + 1) 120 + (120 + 1) 84 + (84 + 1) K``
    = 61,706 for one channel and ``K = 10``.
    """

    num_classes: int = 10
    padding: int = 2
    activation: str = "relu"
    pooling: str = "max"
    conv_impl: str = "xla"
    conv_tiles: tuple[int | None, int | None] = (4, 2)

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("LeNet5", x)
        if self.conv_impl not in LENET5_CONV_IMPLS:
            raise ValueError(f"unknown convolution impl {self.conv_impl!r}; use one of {LENET5_CONV_IMPLS}.")
        if self.conv_impl == "s2d":
            p, (h, w) = self.padding, x.shape[1:3]
            if (h + 2 * p) % 4 or (w + 2 * p) % 4 or min(h, w) + 2 * p < 16:
                raise ValueError(f"LeNet5(conv_impl='s2d') cuts the padded image into 4x4 blocks: its size "
                                 f"{h + 2 * p}x{w + 2 * p} (input {h}x{w} + 2 * padding {p}) must be multiples of 4 "
                                 f"and at least 16; use conv_impl='toeplitz' or 'xla'.")
            x = space_to_depth(jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0))), 4)
            # C1 on 4x4 blocks leaves its pooled maps in 2x2 blocks, C3's input; C3's leaves plain pixels.
            x = _S2DConvPool(6, 4, self.activation, self.pooling, name="c1")(x)
            x = _S2DConvPool(16, 2, self.activation, self.pooling, name="c3")(x)
            return self._head(x, get_activation(self.activation))
        act = get_activation(self.activation)
        banded = self.conv_impl == "toeplitz"
        # Banded convolutions pool inside the matmul, then activate a quarter of the numbers.
        fused = banded and self.pooling == "max" and self.activation in _NON_DECREASING
        for features, padding, name, tile in zip((6, 16), (self.padding, 0), ("c1", "c3"), self.conv_tiles):
            w_out = conv_output_size(x.shape[2], 5, padding=padding)
            # A tile must divide the output width (and be even to hold whole pooling windows).
            tile = tile if banded and tile and w_out % tile == 0 and (tile % 2 == 0 or not fused) else None
            if fused:
                x = act(conv(features, 5, padding, name, x, impl="toeplitz", max_pool=True, tile=tile))
            else:
                x = pool2d(act(conv(features, 5, padding, name, x, impl=self.conv_impl, tile=tile)), self.pooling, 2)
        return self._head(x, act)

    def _head(self, x: jax.Array, act) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        x = act(nn.Dense(120, name="f5")(x))
        x = act(nn.Dense(84, name="f6")(x))
        return nn.Dense(self.num_classes, name="output")(x)


LENET5_CONV_IMPLS = ("xla", "toeplitz", "s2d", "blocked")


class _S2DConvPool(nn.Module):
    """A 5x5 convolution with bias, activation and 2x2 pooling of stride 2 on an image held
    as ``space_to_depth(x, block)``, returning the pooled maps as ``space_to_depth(., block / 2)``.
    Its parameters are a ``Conv2D``'s (``kernel [5, 5, C, O]``, LeCun normal; ``bias [O]``, zeros).

    Shapes: ``[B, H / s, W / s, s^2 C] -> [B, (H - 4) / s, (W - 4) / s, (s / 2)^2 O]``.
    """

    features: int
    block: int
    activation: str
    pooling: str

    @nn.compact
    def __call__(self, xb: jax.Array) -> jax.Array:
        if self.pooling not in ("max", "avg"):
            raise ValueError(f"unknown pooling {self.pooling!r}; use 'max' or 'avg'.")
        act = get_activation(self.activation)
        c = xb.shape[-1] // (self.block * self.block)
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (5, 5, c, self.features))
        # The output channels are (row, column, channel) of each (block / 2)^2 block of pooled pixels.
        bias = jnp.tile(self.param("bias", nn.initializers.zeros, (self.features,)), (self.block // 2) ** 2)
        if self.pooling == "max" and self.activation in _NON_DECREASING:
            return act(s2d_conv2d_maxpool(xb, kernel, self.block) + bias.reshape(1, 1, 1, -1))
        y = act(s2d_conv2d_windows(xb, kernel, self.block) + bias.reshape(1, 1, 1, 1, 1, -1))
        return jnp.max(y, axis=(3, 4)) if self.pooling == "max" else jnp.mean(y, axis=(3, 4))


class AlexNet(nn.Module):
    """An AlexNet-style network (Krizhevsky, Sutskever & Hinton 2012) for small images:
    five convolutions (5x5, 5x5, 3x3, 3x3, 3x3, all 'same'), ReLU, 2x2 max-pooling after the
    first, second and fifth, then two dropout + dense + ReLU layers and the classifier. The
    paper's 11x11 stride-4 first layer and local response normalisation are for 224x224
    inputs and are left out.

    Shapes: ``[B, H, W, C] -> [B, num_classes]`` (``H``, ``W`` divisible by 8).
    Parameters: ``(25 C + 1) c_0 + (25 c_0 + 1) c_1 + (9 c_1 + 1) c_2 + (9 c_2 + 1) c_3
    + (9 c_3 + 1) c_4 + (H W c_4 / 64 + 1) h_0 + (h_0 + 1) h_1 + (h_1 + 1) K``.
    """

    channels: Sequence[int] = (64, 192, 384, 256, 256)
    hidden: Sequence[int] = (1024, 1024)
    num_classes: int = 10
    dropout_rate: float = 0.5

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("AlexNet", x)
        if len(self.channels) != 5:
            raise ValueError(f"AlexNet has five convolutions; got channels={tuple(self.channels)}.")
        for i, (c, f) in enumerate(zip(self.channels, (5, 5, 3, 3, 3))):
            x = nn.relu(conv(c, f, same_padding(f), f"conv_{i}", x))
            if i in (0, 1, 4):
                x = pool2d(x, "max", 2)
        x = x.reshape(x.shape[0], -1)
        for i, h in enumerate(self.hidden):
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
            x = nn.relu(nn.Dense(h, name=f"fc_{i}")(x))
        return nn.Dense(self.num_classes, name="output")(x)


class VGG(nn.Module):
    """A VGG-style stack (Simonyan & Zisserman 2015): stages of 3x3 'same' convolutions with
    ReLU (optionally batch norm before the ReLU), each stage ended by 2x2 max-pooling, then
    dense layers with dropout. ``stages=((64, 64), (128, 128), (256, 256, 256))`` is the
    first three stages of VGG-16.

    Shapes: ``[B, H, W, C] -> [B, num_classes]`` (``H``, ``W`` divisible by ``2^len(stages)``).
    Parameters: ``sum over convs (9 C_in + 1) C_out`` (no bias and ``+ 2 C_out`` scale and
    offset with batch norm) ``+ (H W c_last / 4^len(stages) + 1) h_0 + ... + (h_last + 1) K``.
    """

    stages: Sequence[Sequence[int]] = ((64, 64), (128, 128), (256, 256, 256))
    hidden: Sequence[int] = (512,)
    num_classes: int = 10
    dropout_rate: float = 0.5
    batch_norm: bool = False
    bn_axis_name: str | None = None  # average batch statistics over this device axis

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("VGG", x)
        for s, stage in enumerate(self.stages):
            for j, c in enumerate(stage):
                x = conv(c, 3, 1, f"conv_{s}_{j}", x, use_bias=not self.batch_norm)
                if self.batch_norm:
                    x = batch_norm(train, self.bn_axis_name, f"bn_{s}_{j}")(x)
                x = nn.relu(x)
            x = pool2d(x, "max", 2)
        x = x.reshape(x.shape[0], -1)
        for i, h in enumerate(self.hidden):
            x = nn.relu(nn.Dense(h, name=f"fc_{i}")(x))
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return nn.Dense(self.num_classes, name="output")(x)


def batch_norm(train: bool, axis_name: str | None, name: str, *, zero_init: bool = False) -> nn.BatchNorm:
    """Batch normalisation (Ioffe & Szegedy 2015) with PyTorch's defaults: running averages
    updated as ``0.9 * running + 0.1 * batch`` (Flax ``momentum=0.9``), ``eps = 1e-5``.

    Training normalises with the batch's statistics (across devices when ``axis_name`` names
    a mapped axis) and updates the ``batch_stats`` collection; evaluation uses the running
    averages. ``zero_init`` starts the scale at 0 (Goyal et al. 2017, for a residual branch).
    """
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, axis_name=axis_name,
                        scale_init=nn.initializers.zeros if zero_init else nn.initializers.ones, name=name)

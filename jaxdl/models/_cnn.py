"""2D convolutional networks for images ``[B, H, W, C]`` (NHWC): a small CNN, LeNet-5,
an AlexNet-style net and a VGG-style stack.

Every network checks its input with the lecture's arithmetic (``conv_output_size``), so an
image size that a stride or pooling window does not tile is rejected with the arithmetic
spelled out, instead of silently losing its border.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl.models._components import get_activation
from jaxdl._arithmetic import conv_output_size, same_padding
from jaxdl.cpu import blocked_conv2d, cpu_conv2d, s2d_conv2d_maxpool, s2d_conv2d_windows, space_to_depth, xla_conv2d

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
    """A drop-in for ``flax.linen.Conv`` with square filters and symmetric integer padding:
    the same ``kernel [F, F, C / groups, O]`` and ``bias [O]`` parameters with the same
    initialisers (LeCun normal, zeros), so checkpoints are interchangeable; one convolution
    path chosen per backend.

    ``impl="auto"`` (the default, and every jaxdl CNN's): on GPU and TPU XLA's convolution
    (cuDNN on NVIDIA); on the CPU the formulation ``jaxdl.cpu.cpu_conv2d`` picks from the
    layer's shape: a matmul for 1x1 filters, the pixel-block matmul
    (``jaxdl.cpu.blocked_conv2d``) for few input channels or small images at stride 1, XLA's
    convolution otherwise (per-layer and whole-step figures: ``benchmarks/REPORT.md``
    section 3). The choice is made when the program is lowered for its device
    (``jax.lax.platform_dependent``), so one model serves every backend. ``impl="xla"`` and
    ``impl="blocked"`` force one formulation. All compute the same function to float
    rounding, with the same gradients; vmapped (a ``Sweep`` of CNNs), the matmul forms stay
    matmuls where XLA:CPU's convolution becomes a grouped one.

    ``stride``, ``padding``, ``dilation`` (``D`` spaces the filter's taps ``D`` apart; Yu &
    Koltun 2016) and ``groups`` (feature groups: ``C`` and ``O`` split into ``groups`` parts,
    part ``g`` of the output seeing part ``g`` of the input) are ``lax.conv_general_dilated``'s.
    ``exact=False`` allows a stride that does not tile the padded image (the output floors).

    Shapes: ``[B, H, W, C] -> [B, M_h, M_w, O]``, ``M = (N + 2 P - D (F - 1) - 1) / S + 1``.
    Parameters: ``F^2 C O / groups + O`` (no ``O`` without bias).
    """

    features: int
    size: int
    padding: int = 0
    stride: int = 1
    use_bias: bool = True
    impl: str = "auto"
    exact: bool = True
    dilation: int = 1
    groups: int = 1
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if self.impl not in CONV_IMPLS:
            raise ValueError(f"unknown convolution impl {self.impl!r}; use one of {CONV_IMPLS}.")
        c = x.shape[-1]
        if self.groups < 1 or c % self.groups or self.features % self.groups:
            raise ValueError(f"groups={self.groups} must divide the input channels ({c}) and the features "
                             f"({self.features}).")
        if self.impl == "blocked" and self.groups != 1:
            raise ValueError(f"impl='blocked' computes ungrouped convolutions only, got groups={self.groups}.")
        for n in x.shape[1:3]:
            conv_output_size(n, self.size, padding=self.padding, stride=self.stride, dilation=self.dilation,
                             exact=self.exact)
        kernel = self.param("kernel", self.kernel_init, (self.size, self.size, c // self.groups, self.features))
        how = dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)
        if self.impl == "auto":
            y = jax.lax.platform_dependent(x, kernel, cpu=functools.partial(cpu_conv2d, **how),
                                           default=functools.partial(xla_conv2d, **how))
        elif self.impl == "blocked":
            y = blocked_conv2d(x, kernel, stride=self.stride, padding=self.padding, dilation=self.dilation)
        else:
            y = xla_conv2d(x, kernel, **how)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,)).reshape(1, 1, 1, -1)
        return y


CONV_IMPLS = ("auto", "xla", "blocked")


def conv(features: int, size: int, padding: int, name: str, x: jax.Array, *, stride: int = 1,
         use_bias: bool = True, exact: bool = True, impl: str = "auto") -> jax.Array:
    """``Conv2D(...)(x)`` in one call, as the networks of this package write their layers."""
    return Conv2D(features, size, padding, stride, use_bias, impl, exact, name=name)(x)


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
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("SmallCNN", x)
        for i, c in enumerate(self.channels):
            x = nn.relu(conv(c, 3, 1, f"conv_{i}", x, impl=self.conv_impl))
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

    ``conv_impl`` picks the convolutions' formulation; every choice has the same parameters
    and computes the same function. ``"auto"`` (default) is ``Conv2D``'s one path per backend
    (on a CPU both layers become pixel-block matmuls: their few input channels are where
    XLA:CPU's convolutions are slowest); ``"xla"`` and ``"blocked"`` force one formulation.
    ``"s2d"`` is LeNet-5's own faster CPU layout, the one network-specific path kept: the
    image is cut into blocks once (``space_to_depth``, 4x4 pixels for C1, 2x2 for C3;
    ``s2d_conv2d_windows``), each layer is one matmul of a few shifted views with the 2x2 pool
    a maximum of contiguous blocks, and C1's pooled output is C3's blocked input, so nothing is
    re-laid-out in between (``benchmarks/REPORT.md`` section 3 has both paths' speeds). It
    needs the padded image size a multiple of 4 (28 + 2 * 2 = 32).

    Shapes: ``[B, 28, 28, 1] -> [B, num_classes]`` (or 32x32 with ``padding=0``).
    Parameters: ``(25 C + 1) 6 + (150 + 1) 16 + (400 + 1) 120 + (120 + 1) 84 + (84 + 1) K``
    = 61,706 for one channel and ``K = 10``.
    """

    num_classes: int = 10
    padding: int = 2
    activation: str = "relu"
    pooling: str = "max"
    conv_impl: str = "auto"

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
                                 f"and at least 16; use conv_impl='auto'.")
            x = space_to_depth(jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0))), 4)
            # C1 on 4x4 blocks leaves its pooled maps in 2x2 blocks, C3's input; C3's leaves plain pixels.
            x = _S2DConvPool(6, 4, self.activation, self.pooling, name="c1")(x)
            x = _S2DConvPool(16, 2, self.activation, self.pooling, name="c3")(x)
            return self._head(x, get_activation(self.activation))
        act = get_activation(self.activation)
        for features, padding, name in zip((6, 16), (self.padding, 0), ("c1", "c3")):
            x = pool2d(act(conv(features, 5, padding, name, x, impl=self.conv_impl)), self.pooling, 2)
        return self._head(x, act)

    def _head(self, x: jax.Array, act) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        x = act(nn.Dense(120, name="f5")(x))
        x = act(nn.Dense(84, name="f6")(x))
        return nn.Dense(self.num_classes, name="output")(x)


LENET5_CONV_IMPLS = (*CONV_IMPLS, "s2d")


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
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("AlexNet", x)
        if len(self.channels) != 5:
            raise ValueError(f"AlexNet has five convolutions; got channels={tuple(self.channels)}.")
        for i, (c, f) in enumerate(zip(self.channels, (5, 5, 3, 3, 3))):
            x = nn.relu(conv(c, f, same_padding(f), f"conv_{i}", x, impl=self.conv_impl))
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
    conv_impl: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        check_images("VGG", x)
        for s, stage in enumerate(self.stages):
            for j, c in enumerate(stage):
                x = conv(c, 3, 1, f"conv_{s}_{j}", x, use_bias=not self.batch_norm, impl=self.conv_impl)
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

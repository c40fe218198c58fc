"""Which formulation of a 2D convolution XLA:CPU runs fastest, chosen from the layer's shape.

XLA:CPU's convolutions are slow for few channels and small images, and their kernel
gradients are the slowest part (``benchmarks/REPORT.md`` section 3, per layer). A
convolution with few input channels, or on a small image at stride 1, is faster as the
pixel-block matmul (``blocked_conv2d``); a 1x1 convolution is a plain matmul; the rest
(wide 32x32 layers, strided layers, grouped convolutions) stay XLA's. The rule below is
the per-layer table of ``benchmarks/conv_layers.py`` written as a function of the shape;
it applies to every network alike, and ``Conv2D(impl="auto")`` (every jaxdl CNN's default)
uses it on the CPU only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxdl.cpu._conv import blocked_conv2d

__all__ = ["cpu_conv2d", "cpu_conv_formulation", "xla_conv2d", "CPU_CONV_FORMULATIONS"]

CPU_CONV_FORMULATIONS = ("dot", "blocked", "xla")
# Input channels up to which the pixel-block matmul wins at any image size (ResNet's and
# LeNet's first layers), and the image side and channels up to which it wins for wider layers
# at stride 1 (16x16 with 32-64 channels, 8x8x64). It loses on 32x32x16, at stride 2 and on
# 8x8x128. The measured ratios are the per-layer table of benchmarks/REPORT.md section 3.
_FEW_CHANNELS = 8
_SMALL_IMAGE = 16
_SMALL_IMAGE_CHANNELS = 64


def cpu_conv_formulation(image: tuple[int, int], in_channels: int, size: int, *, stride: int = 1,
                         padding: int = 0, groups: int = 1) -> str:
    """``"dot"``, ``"blocked"`` or ``"xla"``: the formulation ``cpu_conv2d`` uses for a
    ``size x size`` convolution of an ``image = (H, W)`` with ``in_channels`` channels."""
    if groups != 1:
        return "xla"
    if size == 1 and stride == 1 and padding == 0:
        return "dot"
    small = max(image) <= _SMALL_IMAGE and in_channels <= _SMALL_IMAGE_CHANNELS
    if stride == 1 and (in_channels <= _FEW_CHANNELS or small):
        return "blocked"
    return "xla"


def xla_conv2d(x, kernel, *, stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1):
    """XLA's convolution (``lax.conv_general_dilated``) in NHWC / HWIO with square stride,
    symmetric padding and dilation, and ``groups`` feature groups: ``kernel [F, F, C / groups, O]``."""
    return jax.lax.conv_general_dilated(x, kernel, (stride, stride), ((padding, padding),) * 2,
                                        rhs_dilation=(dilation, dilation), feature_group_count=groups,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))


def cpu_conv2d(x, kernel, *, stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1):
    """The convolution ``xla_conv2d`` computes, in the formulation ``cpu_conv_formulation``
    picks for its shape: a 1x1 convolution as ``x @ kernel[0, 0]``, one with at most 8 input
    channels, or at stride 1 on an image of at most 16x16 pixels with at most 64 channels,
    as ``blocked_conv2d`` (2x2 pixel blocks), the rest as XLA's.

    Shapes: ``x [B, H, W, C]``, ``kernel [F, F, C / groups, O]`` -> ``[B, M_h, M_w, O]``.
    """
    how = cpu_conv_formulation(x.shape[1:3], x.shape[-1], kernel.shape[0], stride=stride, padding=padding,
                               groups=groups)
    if how == "dot":
        return jnp.einsum("bhwc,co->bhwo", x, kernel[0, 0])
    if how == "blocked":
        return blocked_conv2d(x, kernel, stride=stride, padding=padding, dilation=dilation)
    return xla_conv2d(x, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups)

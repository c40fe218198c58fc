"""Convolutions as matmuls over pixel blocks, for XLA:CPU.

XLA:CPU's own convolutions, and above all their kernel gradients, are slow for few channels
and small images; these formulations write a convolution as one matrix product over shifted
views of the image cut into pixel blocks: ``blocked_conv2d`` for any convolution (behind
``Conv2D(impl="auto")`` on a CPU, see ``_policy``), and ``s2d_conv2d_*`` for LeNet-5's own
layout (``jaxdl.LeNet5(conv_impl="s2d")``), fused with its 2x2 max pool. All are tested equal
(values and gradients) to ``jax.lax.conv_general_dilated``; measured speeds are in
``benchmarks/REPORT.md`` section 3.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._arithmetic import conv_output_size

__all__ = ["space_to_depth", "depth_to_space", "s2d_conv2d_windows", "s2d_conv2d_maxpool", "blocked_conv2d"]


def _check(name: str, x, kernel):
    f, f2, c, _ = kernel.shape
    if f != f2 or x.ndim != 4 or x.shape[-1] != c:
        raise ValueError(f"{name} needs x [B, H, W, C] and a square kernel [F, F, C, O]; got {x.shape} "
                         f"and {kernel.shape}.")


@jax.custom_jvp
def _window_max(y):
    """``max`` over the axes ``(-3, -2)`` of ``y [..., 2, 2, D]``: a 2x2 window's four blocks."""
    return jnp.max(y, axis=(-3, -2))


@_window_max.defjvp
def _window_max_jvp(primals, tangents):
    # The tangent at ties is shared equally between the maxima, as jnp.max's own rule does;
    # written out over the four blocks so XLA fuses mask, count and the gradient's select into
    # one pass instead of materialising the mask and reducing it separately.
    (y,), (dy,) = primals, tangents
    m = _window_max(y)
    hits = y == m[..., None, None, :]
    count = sum(hits[..., i, j, :].astype(y.dtype) for i in (0, 1) for j in (0, 1))
    return m, jnp.sum(jnp.where(hits, dy, 0), axis=(-3, -2)) / count


def space_to_depth(x, block: int):
    """``[B, H, W, C] -> [B, H / s, W / s, s s C]``: each ``s x s`` block of pixels becomes one
    pixel whose ``s s C`` channels are the block's numbers in (row, column, channel) order, as
    ``tf.nn.space_to_depth`` (the inverse of the "pixel shuffle" of Shi et al. 2016, "Real-Time
    Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural
    Network"). ``H`` and ``W`` must be multiples of ``s``."""
    b, h, w, c = _check_blocks("space_to_depth", x, block)
    if h % block or w % block:
        raise ValueError(f"space_to_depth: block {block} must divide the image size {h}x{w}.")
    x = x.reshape(b, h // block, block, w // block, block, c)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h // block, w // block, block * block * c)


def depth_to_space(x, block: int):
    """The inverse of ``space_to_depth``: ``[B, H, W, s s C] -> [B, H s, W s, C]``."""
    b, h, w, c = _check_blocks("depth_to_space", x, block)
    if c % (block * block):
        raise ValueError(f"depth_to_space: {c} channels are not a multiple of block^2 = {block * block}.")
    x = x.reshape(b, h, w, block, block, c // (block * block))
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h * block, w * block, c // (block * block))


def _check_blocks(name: str, x, block: int):
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise ValueError(f"{name}: block must be an int >= 1, got {block!r}.")
    if x.ndim != 4:
        raise ValueError(f"{name} needs x [B, H, W, C], got shape {x.shape}.")
    return x.shape


def _s2d_kernel(kernel, block: int):
    """The kernel of the same convolution on ``space_to_depth(x, s)``:
    ``K [k k s s C, s s O]`` with ``k = 1 + (F - 1) / s`` kernel blocks per axis and
    ``K[(a, b, u, v, c), (p, q, o)] = kernel[a s + u - p, b s + v - q, c, o]`` (0 outside the
    filter): output pixel ``(p, q)`` of a block at block offset ``(a, b)`` sees input pixel
    ``(u, v)`` of that block through tap ``(a s + u - p, b s + v - q)``. The output columns
    are ordered ``(p % 2, q % 2, p // 2, q // 2, o)``, so the four members of every 2x2
    pooling window are four contiguous runs of ``(s / 2)^2 O`` numbers. Built as one product
    with a constant 0/1 selector, so its gradient is a matmul, not a scatter."""
    f, _, c, o = kernel.shape
    k, half = 1 + (f - 1) // block, block // 2
    p = np.concatenate([np.arange(0, block, 2), np.arange(1, block, 2)])  # (p % 2, p // 2) order
    # one[a, u, p', i] = [a s + u - p == i] for the p' in that order.
    one = (np.arange(k)[:, None, None, None] * block + np.arange(block)[None, :, None, None]
           - p[None, None, :, None] == np.arange(f)[None, None, None, :])
    one = one.astype(np.float32)
    select = np.einsum("aupi,bvqj->abuvpqij", one, one).reshape(-1, f * f).astype(kernel.dtype)
    big = (select @ kernel.reshape(f * f, c * o)).reshape(k, k, block, block, 2, half, 2, half, c, o)
    return big.transpose(0, 1, 2, 3, 8, 4, 6, 5, 7, 9).reshape(k * k * block * block * c, 4 * half * half * o)


def s2d_conv2d_windows(xb, kernel, block: int):
    """A VALID stride-1 convolution of an image held as ``xb = space_to_depth(x, s)``, with the
    output grouped by 2x2 pooling windows: ``[B, M_h / s, M_w / s, 2, 2, (s / 2)^2 O]``,
    where ``[..., i, j, :]`` is window member ``(i, j)`` of every window in the block, laid out
    as ``space_to_depth(., s / 2)``. ``s2d_conv2d_maxpool`` is its maximum over the two
    window axes; ``mean`` over them is the average pool.

    On the blocked image the convolution has ``k = 1 + (F - 1) / s`` taps per axis over
    ``s s C`` channels into ``s s O`` (``_s2d_kernel``), computed as one matmul of the
    ``k^2`` shifted views laid side by side, ``[B M_h M_w / s^2, k^2 s^2 C] x [k^2 s^2 C,
    s^2 O]``: ``(k s / F)^2`` times the convolution's multiply-adds (LeNet-5: 2.56x for
    C1 with ``s = 4``, 1.44x for C3 with ``s = 2``), but each view is ``s^2 C`` contiguous
    numbers per pixel instead of the ``C`` of an im2col (1 for LeNet-5's first layer), and a
    pool with stride 2 leaves the output blocked with ``s / 2``, ready for the next layer.

    Args:
      xb: ``[B, H / s, W / s, s^2 C]``, ``space_to_depth`` of the (already padded) image.
      kernel: ``[F, F, C, O]``.
      block: ``s``, even and a divisor of ``F - 1`` (so that ``M = H - F + 1`` is a multiple of
        ``s``): 2 or 4 for ``F = 5``, 2 for ``F = 3``.
    """
    f, f2, c, _ = kernel.shape
    _check_blocks("s2d_conv2d", xb, block)
    if f != f2:
        raise ValueError(f"s2d_conv2d needs a square kernel [F, F, C, O], got {kernel.shape}.")
    if block % 2 or (f - 1) % block:
        raise ValueError(f"s2d_conv2d: block {block} must be even (whole 2x2 pooling windows per block) and "
                         f"divide F - 1 = {f - 1} (so the output tiles into blocks); for F = {f} use one of "
                         f"{[s for s in range(2, f, 2) if (f - 1) % s == 0] or 'none: use blocked_conv2d'}.")
    if xb.shape[-1] != block * block * c:
        raise ValueError(f"s2d_conv2d: xb has {xb.shape[-1]} channels; space_to_depth with block {block} of "
                         f"{c} input channels (kernel {kernel.shape}) has {block * block * c}.")
    b, hb, wb, _ = xb.shape
    k = 1 + (f - 1) // block
    if min(hb, wb) < k:
        raise ValueError(f"s2d_conv2d: the image, {hb * block}x{wb * block}, is smaller than the filter {f}x{f}.")
    mh, mw = hb - k + 1, wb - k + 1
    views = jnp.concatenate([xb[:, i:i + mh, j:j + mw] for i in range(k) for j in range(k)], axis=-1)
    y = views.reshape(b * mh * mw, -1) @ _s2d_kernel(kernel, block)
    return y.reshape(b, mh, mw, 2, 2, -1)


def s2d_conv2d_maxpool(xb, kernel, block: int):
    """``space_to_depth(max_pool_2x2(conv_valid(x, kernel)), s / 2)`` from
    ``xb = space_to_depth(x, s)``: ``[B, H / s, W / s, s^2 C] -> [B, M_h / s, M_w / s,
    (s / 2)^2 O]`` with ``M = H - F + 1``. The pool is a maximum of four contiguous blocks
    (``s2d_conv2d_windows``); gradients at ties are shared, as in ``pool2d``. With ``s = 4``
    for a 5x5 layer the result is the next 5x5 layer's input blocked with 2, so LeNet-5
    (``LeNet5(conv_impl="s2d")``) runs both layers without a transpose in between.

    A bias and a non-decreasing activation commute with the maximum, so
    ``act(s2d_conv2d_maxpool(xb, k, s) + tile(b, (s / 2)^2))`` is the usual
    conv -> bias -> act -> pool on a quarter of the numbers.
    """
    return _window_max(s2d_conv2d_windows(xb, kernel, block))


def blocked_conv2d(x, kernel, *, stride: int = 1, padding: int = 0, dilation: int = 1, block: int | None = None):
    """Any 2D convolution (filter size, stride, padding, dilation) as one matmul over pixel
    blocks: the general form of the ``s2d`` path, and ``Conv2D(impl="auto")``'s formulation on a
    CPU for few channels and small images (``cpu_conv2d``).

    The padded image is cut into ``P x P`` blocks (``P = block``, a multiple of ``stride``):
    ``xb = space_to_depth(x, P)``. One block of ``Q x Q`` outputs (``Q = P / stride``) reads
    ``nb x nb`` neighbouring blocks, ``nb = ceil((stride (Q - 1) + D (F - 1) + 1) / P)``, so
    with ``patches [B, H_b, W_b, nb^2 P^2 C]`` (the ``nb^2`` shifted block views side by side)

        ``y_blocks = patches @ W',  W'[(a, b, u, v, c), (s, t, o)] = kernel[i, j, c, o]``
        where ``a P + u = stride s + D i`` and ``b P + v = stride t + D j`` (else 0),

    and ``y = depth_to_space(y_blocks, Q)`` cropped to ``(N + 2 pad - D (F - 1) - 1) / stride + 1``.
    ``W'`` is a product of ``kernel`` with constant 0/1 selectors, so its gradient is a matmul
    too. The matmul is ``nb^2 P^2 / F^2`` times the convolution's multiply-adds (16/9 for a
    3x3 filter in 2x2 blocks) but ``P^2`` times wider, which is what XLA:CPU's convolutions
    lack for few channels (per-layer figures: ``benchmarks/conv_layers.py``).

    Args:
      x: ``[B, H, W, C]`` (NHWC); kernel: ``[F, F, C, O]`` (HWIO).
      stride, padding, dilation: as ``lax.conv_general_dilated``'s (square, symmetric).
      block: ``P``, a multiple of ``stride``; default ``2 stride`` (2x2 output pixels per block).

    Returns:
      ``[B, M_h, M_w, O]``, equal to ``lax.conv_general_dilated(x, kernel, (s, s), ((p, p),) * 2,
      rhs_dilation=(d, d), dimension_numbers=("NHWC", "HWIO", "NHWC"))`` to float rounding.
    """
    _check("blocked_conv2d", x, kernel)
    block = 2 * stride if block is None else block
    if block < 1 or stride < 1 or dilation < 1 or padding < 0 or block % stride:
        raise ValueError(f"blocked_conv2d: block ({block}) must be a positive multiple of stride ({stride}); "
                         f"dilation >= 1 and padding >= 0 (got {dilation}, {padding}).")
    b, h, w, c = x.shape
    f, o, p, q = kernel.shape[0], kernel.shape[-1], block, block // stride
    h_out = conv_output_size(h, f, padding=padding, stride=stride, dilation=dilation, exact=False)
    w_out = conv_output_size(w, f, padding=padding, stride=stride, dilation=dilation, exact=False)
    hb, wb = -(-h_out // q), -(-w_out // q)  # output blocks
    nb = -(-(stride * (q - 1) + dilation * (f - 1) + 1) // p)  # input blocks each one reads, per axis
    need_h, need_w = (hb + nb - 1) * p, (wb + nb - 1) * p  # whole blocks; rows past them are never read
    x = jnp.pad(x, ((0, 0), (padding, max(0, need_h - h - padding)), (padding, max(0, need_w - w - padding)), (0, 0)))
    xb = space_to_depth(x[:, :need_h, :need_w], p)
    patches = jnp.concatenate([xb[:, i:i + hb, j:j + wb] for i in range(nb) for j in range(nb)], axis=-1)
    # selector[a, u, s, i] = [a P + u == stride s + dilation i]
    selector = (np.arange(nb)[:, None, None, None] * p + np.arange(p)[None, :, None, None]
                == stride * np.arange(q)[None, None, :, None] + dilation * np.arange(f)[None, None, None, :])
    selector = selector.astype(kernel.dtype)
    weights = jnp.einsum("auxi,bvyj,ijco->abuvcxyo", selector, selector, kernel).reshape(nb * nb * p * p * c,
                                                                                          q * q * o)
    y = (patches.reshape(-1, nb * nb * p * p * c) @ weights).reshape(b, hb, wb, q * q * o)
    return depth_to_space(y, q)[:, :h_out, :w_out] if q > 1 else y[:, :h_out, :w_out]

"""Convolutions as matmuls, for XLA:CPU: banded (Toeplitz) rows and pixel blocks.

XLA:CPU's own convolutions, and above all their weight gradients, are slow for small networks;
these formulations write a VALID convolution as one matrix product over shifted views of the
input, fused with a 2x2 max pool where LeNet-5 needs one. They are used by
``jaxdl.LeNet5(conv_impl="toeplitz" | "s2d")`` and tested equal (values and gradients) to
``jax.lax.conv_general_dilated``; measured speeds are in ``benchmarks/REPORT.md``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._arithmetic import conv_output_size

__all__ = ["toeplitz_conv2d", "toeplitz_conv2d_maxpool", "space_to_depth", "depth_to_space",
           "s2d_conv2d_windows", "s2d_conv2d_maxpool", "blocked_conv2d"]


def _band(kernel, w_in: int, columns: np.ndarray):
    """The banded matrix ``T [F W_in C, len(columns) O]`` with
    ``T[(i, w', c), (w, o)] = kernel[i, w' - w, c, o]`` for ``0 <= w' - w < F``, output
    columns in the order ``columns``. Built as a product with a constant 0/1 selector
    (``S[j, w', w] = [w' - w == j]``), so its gradient is a matmul, not a scatter."""
    f, _, c, o = kernel.shape
    selector = (np.arange(w_in)[None, :, None] - columns[None, None, :] == np.arange(f)[:, None, None])
    band = jnp.einsum("jvw,ijco->ivcwo", selector.astype(kernel.dtype), kernel)  # [F, W_in, C, W_out, O]
    return band.reshape(f * w_in * c, len(columns) * o)


def _check(name: str, x, kernel):
    f, f2, c, _ = kernel.shape
    if f != f2 or x.ndim != 4 or x.shape[-1] != c:
        raise ValueError(f"{name} needs x [B, H, W, C] and a square kernel [F, F, C, O]; got {x.shape} "
                         f"and {kernel.shape}.")


def _banded_product(x, kernel, padding: int, columns_of, tile: int | None = None, pool_rows: bool = False):
    """``rows @ T``: ``[B H_out n, F S C] x [F S C, tile O]``, with the ``F`` input rows that
    each output row sees laid side by side. The output width is cut into ``n = W_out / tile``
    tiles of ``tile`` columns, each seeing ``S = tile + F - 1`` input columns; every tile
    shares one band (the convolution is translation invariant). ``tile=None`` is one tile of
    the whole width (``S = W_in``). ``pool_rows`` orders the rows ``(B, H_out / 2, n, 2)``
    instead of ``(B, H_out, n)``. Returns ``(out [B H_out n, tile O], H_out, W_out, n)``."""
    f, _, c, _ = kernel.shape
    x = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    b, h_in, w_in, _ = x.shape
    h_out, w_out = conv_output_size(h_in, f), conv_output_size(w_in, f)
    tile = w_out if tile is None else tile
    if tile < 1 or w_out % tile:
        raise ValueError(f"tile={tile} must divide the convolution's output width {w_out}.")
    n, span = w_out // tile, tile + f - 1
    if n == 1:
        lines = x.reshape(b, h_in, 1, w_in * c)  # NHWC: one image row is W_in C contiguous numbers
    else:
        # Overlapping windows of `span` columns, one every `tile` columns: [B, H_in, n, span, C].
        windows = jnp.stack([x[:, :, j:j + tile * (n - 1) + 1:tile] for j in range(span)], axis=3)
        lines = windows.reshape(b, h_in, n, span * c)
    rows = jnp.concatenate([lines[:, i:i + h_out] for i in range(f)], axis=3)
    if pool_rows:  # rows in the order (B, H_out / 2, n, row parity): a 2x2 window's rows are adjacent
        rows = rows.reshape(b, h_out // 2, 2, n, -1).transpose(0, 1, 3, 2, 4)
    return rows.reshape(b * h_out * n, f * span * c) @ _band(kernel, span, columns_of(tile)), h_out, w_out, n


def toeplitz_conv2d(x, kernel, padding: int = 0, *, tile: int | None = None):
    """A stride-1 2D convolution computed as one matrix product with a banded (block-Toeplitz)
    matrix built from the kernel.

    Row ``h`` of the output is ``sum_i x[:, h + i, :, :] @ T_i`` with
    ``T_i[(w', c), (w, o)] = kernel[i, w' - w, c, o]`` when ``0 <= w' - w < F`` (else 0); the
    ``F`` products are one matmul of ``[B H_out, F W_in C] x [F W_in C, W_out O]``.

    Why: XLA:CPU's convolutions are slow for the few channels of small networks (LeNet-5's
    first layer has 1 -> 6 channels), while its matmuls run near peak. The band costs ``W_in / F`` times the
    convolution's multiply-adds (6.4x for LeNet-5's first layer, 2.8x for its second), so this
    pays only while ``W_in * C`` is small (tens to a few hundred); use XLA's convolution
    for wide images, many channels, and on GPU/TPU.

    ``tile`` cuts the output width into tiles of that many columns, each computed from its
    ``tile + F - 1`` input columns with one shared, smaller band: the multiply-adds fall
    from ``W_in / F`` to ``(tile + F - 1) / F`` times the convolution's (LeNet-5's first layer
    with tiles of 4: 1.6x instead of 6.4x) for the
    price of copying the overlapping windows.

    Args:
      x: ``[B, H, W, C]`` images (NHWC).
      kernel: ``[F, F, C, O]`` (HWIO, as ``flax.linen.Conv`` stores it).
      padding: zeros added on every side.
      tile: output columns per tile, a divisor of the output width; ``None``: the whole width.

    Returns:
      ``[B, H + 2P - F + 1, W + 2P - F + 1, O]``, equal to
      ``lax.conv_general_dilated(x, kernel, (1, 1), ((P, P), (P, P)), ("NHWC", "HWIO", "NHWC"))``.
    """
    _check("toeplitz_conv2d", x, kernel)
    out, h_out, w_out, _ = _banded_product(x, kernel, padding, np.arange, tile)
    return out.reshape(x.shape[0], h_out, w_out, kernel.shape[-1])


def toeplitz_conv2d_maxpool(x, kernel, padding: int = 0, *, tile: int | None = None):
    """``toeplitz_conv2d`` followed by a 2x2 max pool with stride 2, fused.

    The band's output columns (of a tile) are put in the order (column parity, column // 2,
    channel), and the matmul rows of a window's two image rows next to each other, so the
    four members of every pooling window lie in four adjacent blocks of ``tile / 2 * O``
    numbers (two image rows x two halves of a tile): the pool is a maximum
    of whole blocks, which vectorises, instead of strided slices with ``O`` contiguous
    numbers each (the gain is measured by ``benchmarks/conv_step.py``).

    A bias and a non-decreasing activation commute with the maximum
    (``max_k a(y_k + b) = a(max_k y_k + b)``), so ``act(toeplitz_conv2d_maxpool(x, k) + b)``
    is ``pool2d(act(conv(x, k) + b), "max", 2)`` on a quarter of the numbers. Gradients at
    ties are shared between the maxima, as in ``pool2d``.

    Args:
      x: ``[B, H, W, C]``; kernel: ``[F, F, C, O]``; padding: zeros on every side.
      tile: as in ``toeplitz_conv2d``, and even, so that no pooling window straddles two tiles.

    Returns:
      ``[B, M_h / 2, M_w / 2, O]`` with ``M = N + 2P - F + 1``, which must be even.
    """
    _check("toeplitz_conv2d_maxpool", x, kernel)
    for n in x.shape[1:3]:
        m = conv_output_size(n, kernel.shape[0], padding=padding)
        if m % 2:
            raise ValueError(f"toeplitz_conv2d_maxpool: the convolution's output size {m} (from input {n}, filter "
                             f"{kernel.shape[0]}, padding {padding}) is odd; a 2x2 pool with stride 2 needs it even.")

    def by_parity(width):
        w = np.arange(width)
        return np.concatenate([w[0::2], w[1::2]])

    if tile is not None and tile % 2:
        raise ValueError(f"toeplitz_conv2d_maxpool: tile={tile} must be even, so no pooling window straddles two tiles.")
    out, h_out, w_out, n = _banded_product(x, kernel, padding, by_parity, tile, pool_rows=True)
    b, o = x.shape[0], kernel.shape[-1]
    # [B, H_out / 2, n tiles, row parity, column parity, tile / 2 * O]: each window's 4 members
    # are 4 blocks of tile / 2 * O numbers side by side.
    out = _window_max(out.reshape(b, h_out // 2, n, 2, 2, -1))
    return out.reshape(b, h_out // 2, w_out // 2, o)


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
                         f"{[s for s in range(2, f, 2) if (f - 1) % s == 0] or 'none: use toeplitz_conv2d'}.")
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


def blocked_conv2d(x, kernel, *, stride: int = 1, padding: int = 0, dilation: int = 1, block: int = 2):
    """Any 2D convolution (filter size, stride, padding, dilation) as one matmul over pixel
    blocks: the general form of the ``s2d`` path (issue 33's first step; not yet any model's
    default).

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
      block: ``P``, a multiple of ``stride``.

    Returns:
      ``[B, M_h, M_w, O]``, equal to ``lax.conv_general_dilated(x, kernel, (s, s), ((p, p),) * 2,
      rhs_dilation=(d, d), dimension_numbers=("NHWC", "HWIO", "NHWC"))`` to float rounding.
    """
    _check("blocked_conv2d", x, kernel)
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

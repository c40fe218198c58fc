"""Feature visualisation: optimise the input to excite a unit, a channel or a class
(Erhan et al. 2009; Olah et al. 2017, "Feature Visualization", Distill), every row of a batch
chasing its own objective in one compiled program.

Anchors: Lucid (TF1) and Lucent (its PyTorch port): Adam at 0.05 for 512 steps, random
jitter / scale / rotation each step, an L2 / total-variation / blur penalty, and a Fourier
parameterisation with decorrelated colour.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxdl._checks import as_key, positive_int

__all__ = ["PARAMETERIZATIONS", "channel_score", "class_score", "deepdream_score", "maximize_activation"]

PARAMETERIZATIONS = ("pixel", "fourier")
# Lucid's ImageNet colour correlation (square root of the RGB covariance, by SVD), normalised
# so that its largest column has norm 1: lucid/optvis/param/color.py.
_COLOR_CORRELATION = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
_COLOR_CORRELATION /= np.max(np.linalg.norm(_COLOR_CORRELATION, axis=0))


def class_score(logits_fn: Callable, classes) -> Callable:
    """``x -> logits_fn(x)[b, classes[b]]``: row ``b`` maximises the logit of its own class."""
    classes = jnp.asarray(classes)
    return lambda x: jnp.take_along_axis(logits_fn(x), classes[:, None], axis=-1)[:, 0]


def channel_score(activation_fn: Callable, channels) -> Callable:
    """``x -> mean over positions of activation_fn(x)[b, ..., channels[b]]`` (Olah et al.'s
    channel objective; a feature map ``[B, h, w, K]`` or a dense layer ``[B, K]``)."""
    channels = jnp.asarray(channels)

    def score(x):
        a = activation_fn(x)
        picked = jnp.take_along_axis(a, channels.reshape((-1,) + (1,) * (a.ndim - 1)), axis=-1)[..., 0]
        return picked.reshape(a.shape[0], -1).mean(axis=1)
    return score


def deepdream_score(activation_fn: Callable) -> Callable:
    """DeepDream's objective (Mordvintsev et al. 2015): the mean squared activation of a layer,
    ``x -> mean(activation_fn(x)_b^2)``."""
    def score(x):
        a = activation_fn(x)
        return jnp.mean(jnp.square(a.reshape(a.shape[0], -1)), axis=1)
    return score


def _affine(images: jax.Array, scale, angle) -> jax.Array:
    """Images ``[B, H, W, C]`` scaled by ``scale`` and rotated by ``angle`` (radians) about their
    centre, bilinear, edges repeated."""
    b, h, w, c = images.shape
    yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32) - (h - 1) / 2,
                          jnp.arange(w, dtype=jnp.float32) - (w - 1) / 2, indexing="ij")
    cos, sin = jnp.cos(angle) / scale, jnp.sin(angle) / scale
    src_y, src_x = cos * yy - sin * xx + (h - 1) / 2, sin * yy + cos * xx + (w - 1) / 2

    def one(channel):  # [H, W]
        return jax.scipy.ndimage.map_coordinates(channel, [src_y, src_x], order=1, mode="nearest")
    moved = jax.vmap(jax.vmap(one, in_axes=2, out_axes=2))(images)
    return moved.astype(images.dtype)


def _random_transform(key, images, jitter: int, scale, rotate: float):
    """Lucent's robustness transforms, one draw for the batch: a shift by up to ``jitter``
    pixels (wrapping), a scale in ``scale`` and a rotation in ``+-rotate`` degrees."""
    k_shift, k_scale, k_angle = jax.random.split(key, 3)
    if jitter:
        shift = jax.random.randint(k_shift, (2,), -jitter, jitter + 1)
        images = jnp.roll(images, (shift[0], shift[1]), axis=(1, 2))
    if scale is not None or rotate:
        s = jax.random.uniform(k_scale, (), minval=scale[0], maxval=scale[1]) if scale is not None else 1.0
        a = jax.random.uniform(k_angle, (), minval=-rotate, maxval=rotate) * math.pi / 180 if rotate else 0.0
        images = _affine(images, s, a)
    return images


def _total_variation(x: jax.Array) -> jax.Array:
    """``sum |x_{i+1,j} - x_ij| + |x_{i,j+1} - x_ij|`` per example of ``[B, H, W, C]``."""
    dy = jnp.abs(jnp.diff(x, axis=1)).reshape(x.shape[0], -1).sum(axis=1)
    dx = jnp.abs(jnp.diff(x, axis=2)).reshape(x.shape[0], -1).sum(axis=1)
    return dx + dy


def _high_frequencies(x: jax.Array) -> jax.Array:
    """``sum (x - box3x3(x))^2`` per example: what a blur would remove."""
    pad = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    blurred = sum(pad[:, i:i + x.shape[1], j:j + x.shape[2]] for i in range(3) for j in range(3)) / 9.0
    return jnp.square(x - blurred).reshape(x.shape[0], -1).sum(axis=1)


def _fourier_scale(h: int, w: int, decay: float = 1.0) -> jax.Array:
    """Lucid's spectrum weights ``1 / max(f, 1 / max(h, w))^decay``: every frequency starts at
    the same energy as in natural images (power ~ 1/f^2)."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    return jnp.asarray(1.0 / np.maximum(np.sqrt(fy ** 2 + fx ** 2), 1.0 / max(h, w)) ** decay, jnp.float32)


def _parameterization(kind: str, x0: jax.Array, clip, decorrelate: bool):
    """``(initial params, params -> image)``; the initial params give back ``x0`` (clipped)."""
    if kind == "pixel":
        return x0, (lambda p: p)
    lo, hi = clip
    h, w, c = x0.shape[1:]
    scale = _fourier_scale(h, w)[None, :, :, None]
    mix = jnp.asarray(_COLOR_CORRELATION) if decorrelate else jnp.eye(c)
    unit = jnp.clip((x0 - lo) / (hi - lo), 1e-3, 1 - 1e-3)
    logits = jnp.log(unit) - jnp.log1p(-unit)
    spectrum = jnp.fft.rfft2(logits @ jnp.linalg.inv(mix).T, axes=(1, 2)) / scale

    def image(p):
        signal = jnp.fft.irfft2((p[0] + 1j * p[1]) * scale, s=(h, w), axes=(1, 2)).astype(x0.dtype)
        return lo + (hi - lo) * jax.nn.sigmoid(signal @ mix.T)
    return (spectrum.real, spectrum.imag), image


def _check_visualisation_args(x0, *, clip, parameterization, decorrelate, transformed: bool) -> None:
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(f"maximize_activation: unknown parameterization {parameterization!r}; choose one of "
                         f"{PARAMETERIZATIONS}.")
    if not jnp.issubdtype(jnp.result_type(x0), jnp.floating):
        raise ValueError(f"maximize_activation: x0 must be floating point, got dtype {jnp.result_type(x0)}.")
    if (transformed or parameterization == "fourier" or decorrelate) and jnp.ndim(x0) != 4:
        raise ValueError(f"maximize_activation: transforms, the Fourier parameterisation and colour decorrelation "
                         f"need images [B, H, W, C], got x0 of shape {jnp.shape(x0)}.")
    if parameterization == "fourier" and clip is None:
        raise ValueError("maximize_activation: the Fourier parameterisation maps into the box clip=(low, high); "
                         "clip=None is not possible with it.")
    if decorrelate and (parameterization != "fourier" or jnp.shape(x0)[-1] != 3):
        raise ValueError("maximize_activation: decorrelate=True needs parameterization='fourier' and 3 colour "
                         f"channels, got {parameterization!r} and {jnp.shape(x0)[-1]} channels.")
    if clip is not None and not float(clip[0]) < float(clip[1]):
        raise ValueError(f"maximize_activation: clip must be None or (low, high) with low < high, got {clip!r}.")


def maximize_activation(score_fn: Callable, x0: jax.Array, *, steps: int = 512, learning_rate: float = 0.05,
                        l2: float = 0.0, tv: float = 0.0, blur: float = 0.0, jitter: int = 0,
                        scale: tuple[float, float] | None = None, rotate: float = 0.0, key: jax.Array | None = None,
                        clip=(0.0, 1.0), parameterization: str = "pixel", decorrelate: bool = False) -> jax.Array:
    """Gradient ascent on the input: ``argmax_x score_b(T(x_b)) - l2 ||x_b - m||^2 - tv TV(x_b)
    - blur ||x_b - box(x_b)||^2`` for every row ``b`` of ``x0`` at once, by Adam (Lucent's
    defaults: learning rate 0.05, 512 steps) in one ``lax.scan``.

    Adam is elementwise and the objective a sum over rows, so each row follows exactly the
    path it would follow alone (given the same transforms): a batch renders many objectives
    (``class_score(logits_fn, range(10))``, ``channel_score(act, range(K))``) in the time of
    about one on a wide machine.

    Args:
      score_fn: ``x [B, ...] -> [B]``, one objective per row.
      x0: ``[B, ...]`` starting inputs (e.g. grey plus a little noise).
      l2, tv, blur: penalty weights; ``m`` is the box's centre (0 without ``clip``).
      jitter, scale, rotate: random transforms ``T`` drawn each step (images only): a shift
        of up to ``jitter`` pixels, a zoom in ``scale = (low, high)``, a rotation within
        ``+-rotate`` degrees (Lucent: jitter 8, scale 0.9-1.1, rotate 10).
      key: random key for the transforms (required with any).
      clip: the input box; the pixel parameterisation is projected onto it after each step.
      parameterization: ``"pixel"`` or ``"fourier"`` (Lucid's spectrum scaled by ``1/f``, then a
        sigmoid into ``clip``): high frequencies, where adversarial-looking noise lives, start
        small.
      decorrelate: with ``"fourier"`` and RGB, optimise in Lucid's decorrelated colour space.

    Returns:
      ``[B, ...]`` the optimised inputs.
    """
    transformed = bool(jitter) or scale is not None or bool(rotate)
    _check_visualisation_args(x0, clip=clip, parameterization=parameterization, decorrelate=decorrelate,
                              transformed=transformed)
    steps = positive_int("maximize_activation: steps", steps)
    if transformed and key is None:
        raise ValueError("maximize_activation: random transforms (jitter, scale, rotate) need key=jax.random.key(seed).")
    key = as_key(key) if key is not None else jax.random.key(0)
    clip = None if clip is None else (float(clip[0]), float(clip[1]))
    scale = None if scale is None else (float(scale[0]), float(scale[1]))
    program = _ascent_program(score_fn, steps, float(learning_rate), float(l2), float(tv), float(blur), int(jitter),
                              scale, float(rotate), clip, parameterization, bool(decorrelate))
    return program(jnp.asarray(x0), key)


@functools.lru_cache(maxsize=8)  # holds score_fn (and the variables it closes over): a few only
def _ascent_program(score_fn, steps, learning_rate, l2, tv, blur, jitter, scale, rotate, clip, parameterization,
                    decorrelate):
    """The compiled ``(x0, key) -> images`` of ``maximize_activation``: a second call with the
    same objective and settings (another start, another key, the same shapes) reuses it."""
    transformed = bool(jitter) or scale is not None or bool(rotate)
    middle = 0.0 if clip is None else (clip[0] + clip[1]) / 2
    tx = optax.adam(learning_rate)

    @jax.jit
    def ascend(x0, key):
        params, to_image = _parameterization(parameterization, x0, clip, decorrelate)

        def objective(p, k):
            x = to_image(p)
            seen = _random_transform(k, x, jitter, scale, rotate) if transformed else x
            value = score_fn(seen) - l2 * jnp.square(x - middle).reshape(x.shape[0], -1).sum(axis=1)
            if tv:
                value = value - tv * _total_variation(x)
            if blur:
                value = value - blur * _high_frequencies(x)
            return -jnp.sum(value)

        def step(carry, i):
            p, opt_state = carry
            grads = jax.grad(objective)(p, jax.random.fold_in(key, i))
            updates, opt_state = tx.update(grads, opt_state, p)
            p = optax.apply_updates(p, updates)
            if parameterization == "pixel" and clip is not None:
                p = jnp.clip(p, clip[0], clip[1])
            return (p, opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
        return to_image(params)

    return ascend

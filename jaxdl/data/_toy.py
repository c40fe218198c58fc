"""Toy data sets generated from a JAX key: 1D regression and 2D classification.

Each generator draws ``num_train + num_test`` points in one go and splits them, so the
two splits come from the same distribution, and the same key always gives the same data.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checks import as_key
from jaxdl.data._container import Dataset

__all__ = ["sine_1d", "linear_1d", "binary_1d", "binary_1d_probability", "moons", "circles", "xor", "spirals", "blobs"]


def _checked_key(name: str, key, num_train: int, num_test: int, **scales: float) -> jax.Array:
    """``key`` as a typed key, after checking the sizes and that every noise scale (a
    standard deviation: its sign would be silently irrelevant) is finite and ``>= 0``."""
    for label, value in (("num_train", num_train), ("num_test", num_test)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: {label} must be a positive int, got {value!r}.")
    for label, value in scales.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value) \
                or value < 0:
            raise ValueError(f"{name}: {label} must be a finite number >= 0, got {value!r}.")
    return as_key(key)


def _regression(name, x, y, num_train, info) -> Dataset:
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    return Dataset(x[:num_train], y[:num_train], x[num_train:], y[num_train:], None, name, info)


def _classification(name, x, y, num_train, num_classes, info, *, key) -> Dataset:
    # Generators emit points class by class; shuffle so both splits hold every class.
    order = np.asarray(jax.random.permutation(key, x.shape[0]))
    x, y = np.asarray(x, np.float32)[order], np.asarray(y, np.int32)[order]
    return Dataset(x[:num_train], y[:num_train], x[num_train:], y[num_train:], num_classes, name, info)


def sine_1d(*, key: jax.Array, num_train: int = 64, num_test: int = 256, noise: float = 0.1) -> Dataset:
    """``y = sin(2 pi x) + eps``, ``x ~ U[0, 1]``, ``eps ~ N(0, noise^2)``.

    Returns a regression ``Dataset`` with ``x: [N, 1]`` and ``y: [N, 1]``.
    """
    key = _checked_key("sine_1d", key, num_train, num_test, noise=noise)
    kx, ke = jax.random.split(key)
    n = num_train + num_test
    x = jax.random.uniform(kx, (n, 1))
    y = jnp.sin(2 * jnp.pi * x) + noise * jax.random.normal(ke, (n, 1))
    return _regression("sine_1d", x, y, num_train, {"noise": noise})


def linear_1d(
    *, key: jax.Array, num_train: int = 64, num_test: int = 256, slope: float = 2.0,
    intercept: float = -0.5, noise: float = 0.1,
) -> Dataset:
    """``y = slope x + intercept + eps``, ``x ~ U[-1, 1]``, ``eps ~ N(0, noise^2)``.

    The setting where least squares is the maximum-likelihood fit. ``x, y: [N, 1]``.
    """
    key = _checked_key("linear_1d", key, num_train, num_test, noise=noise)
    kx, ke = jax.random.split(key)
    n = num_train + num_test
    x = jax.random.uniform(kx, (n, 1), minval=-1.0, maxval=1.0)
    y = slope * x + intercept + noise * jax.random.normal(ke, (n, 1))
    return _regression("linear_1d", x, y, num_train, {"slope": slope, "intercept": intercept, "noise": noise})


def binary_1d_probability(x):
    """``p(y = 1 | x) = 0.5 + 0.45 sin(2 pi x)`` of ``binary_1d``: up, then down, never 0 or 1."""
    return 0.5 + 0.45 * np.sin(2 * np.pi * np.asarray(x))


def binary_1d(*, key: jax.Array, num_train: int = 200, num_test: int = 1000) -> Dataset:
    """``x ~ U[0, 1]``, ``y ~ Bernoulli(binary_1d_probability(x))``: a 1D classification set
    whose class probability is not monotone in ``x``, so a logistic regression cannot fit it
    and a shallow net can. ``x: [N, 1]``, ``y: [N]`` in ``{0, 1}``.
    """
    key = _checked_key("binary_1d", key, num_train, num_test)
    kx, ky, kp = jax.random.split(key, 3)
    n = num_train + num_test
    x = np.asarray(jax.random.uniform(kx, (n, 1)))
    y = np.asarray(jax.random.uniform(ky, (n,))) < binary_1d_probability(x[:, 0])
    return _classification("binary_1d", x, y, num_train, 2, {}, key=kp)


def moons(*, key: jax.Array, num_train: int = 200, num_test: int = 200, noise: float = 0.1) -> Dataset:
    """Two interleaving half circles (as scikit-learn's ``make_moons``), plus ``N(0, noise^2)``.

    ``x: [N, 2]``, ``y: [N]`` in ``{0, 1}``.
    """
    key = _checked_key("moons", key, num_train, num_test, noise=noise)
    kt, ke, kp = jax.random.split(key, 3)
    n = num_train + num_test
    y = jnp.arange(n) % 2
    t = jax.random.uniform(kt, (n,), maxval=jnp.pi)
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    x = jnp.where(y[:, None] == 0, upper, lower) + noise * jax.random.normal(ke, (n, 2))
    return _classification("moons", x, y, num_train, 2, {"noise": noise}, key=kp)


def circles(
    *, key: jax.Array, num_train: int = 200, num_test: int = 200, noise: float = 0.05, factor: float = 0.5
) -> Dataset:
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0), plus noise.

    Not linearly separable in ``x``, separable in ``||x||``. ``x: [N, 2]``, ``y: [N]``.
    """
    key = _checked_key("circles", key, num_train, num_test, noise=noise)
    if not 0 < factor < 1:  # as scikit-learn's make_circles: the inner circle must be inside
        raise ValueError(f"circles: factor (the inner circle's radius) must be in (0, 1), got {factor!r}.")
    kt, ke, kp = jax.random.split(key, 3)
    n = num_train + num_test
    y = jnp.arange(n) % 2
    t = jax.random.uniform(kt, (n,), maxval=2 * jnp.pi)
    radius = jnp.where(y == 1, factor, 1.0)
    x = radius[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    x = x + noise * jax.random.normal(ke, (n, 2))
    return _classification("circles", x, y, num_train, 2, {"noise": noise, "factor": factor}, key=kp)


def xor(*, key: jax.Array, num_train: int = 200, num_test: int = 200, noise: float = 0.0) -> Dataset:
    """``x ~ U[-1, 1]^2``, class ``1`` where ``x_1 x_2 > 0`` (the quadrants' XOR).

    The classic problem a single linear unit cannot solve (Minsky & Papert 1969).
    ``noise`` jitters the inputs after labelling. ``x: [N, 2]``, ``y: [N]``.
    """
    key = _checked_key("xor", key, num_train, num_test, noise=noise)
    kx, ke, kp = jax.random.split(key, 3)
    n = num_train + num_test
    x = jax.random.uniform(kx, (n, 2), minval=-1.0, maxval=1.0)
    y = (x[:, 0] * x[:, 1] > 0).astype(jnp.int32)
    x = x + noise * jax.random.normal(ke, (n, 2))
    return _classification("xor", x, y, num_train, 2, {"noise": noise}, key=kp)


def spirals(
    *, key: jax.Array, num_train: int = 300, num_test: int = 300, num_classes: int = 2,
    noise: float = 0.2, turns: float = 1.5,
) -> Dataset:
    """``num_classes`` interleaved spiral arms (the TensorFlow Playground / CS231n set).

    Arm ``k``: radius ``r ~ U[0, 1]``, angle ``2 pi (turns r + k / C) + noise * N(0, 1)``.
    ``x: [N, 2]``, ``y: [N]`` in ``[0, C)``.
    """
    key = _checked_key("spirals", key, num_train, num_test, noise=noise)
    if num_classes < 2:
        raise ValueError(f"spirals: num_classes must be >= 2, got {num_classes}.")
    kr, ke, kp = jax.random.split(key, 3)
    n = num_train + num_test
    y = jnp.arange(n) % num_classes
    r = jax.random.uniform(kr, (n,))
    angle = 2 * jnp.pi * (turns * r + y / num_classes) + noise * jax.random.normal(ke, (n,))
    x = r[:, None] * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    return _classification(
        "spirals", x, y, num_train, num_classes, {"noise": noise, "turns": turns}, key=kp
    )


def blobs(
    *, key: jax.Array, num_train: int = 200, num_test: int = 200, num_classes: int = 3,
    std: float = 0.3, radius: float = 1.0,
) -> Dataset:
    """Isotropic Gaussian blobs, ``N(c_k, std^2 I)``, centres evenly spaced on a circle.

    ``x: [N, 2]``, ``y: [N]`` in ``[0, C)``.
    """
    key = _checked_key("blobs", key, num_train, num_test, std=std)
    if num_classes < 2:
        raise ValueError(f"blobs: num_classes must be >= 2, got {num_classes}.")
    ke, kp = jax.random.split(key)
    n = num_train + num_test
    y = jnp.arange(n) % num_classes
    angle = 2 * jnp.pi * jnp.arange(num_classes) / num_classes
    centres = radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    x = centres[y] + std * jax.random.normal(ke, (n, 2))
    return _classification("blobs", x, y, num_train, num_classes, {"std": std}, key=kp)

"""Image augmentation as pure functions of a key (jit- and vmap-friendly), and a wrapper that
applies one inside a train step.

Every function maps ``images [B, H, W, C] -> [B, H, W, C]``; each image draws its own random
choice from ``key``, so the same key gives the same batch.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

__all__ = ["random_crop", "random_flip", "compose", "with_augmentation"]


def _check(images: jax.Array, what: str) -> None:
    if images.ndim != 4:
        raise ValueError(f"{what} expects images [B, H, W, C], got shape {images.shape}.")


def random_crop(key: jax.Array, images: jax.Array, *, padding: int = 4) -> jax.Array:
    """Zero-pad every side by ``padding`` and cut a random ``H x W`` window per image (the
    CIFAR augmentation of He et al. 2016 §4.2: pad 4, crop 32x32)."""
    _check(images, "random_crop")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}.")
    b, h, w, c = images.shape
    padded = jnp.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    offsets = jax.random.randint(key, (b, 2), 0, 2 * padding + 1)
    crop = lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, c))  # noqa: E731
    return jax.vmap(crop)(padded, offsets)


def random_flip(key: jax.Array, images: jax.Array, *, probability: float = 0.5) -> jax.Array:
    """Mirror each image left-right with the given probability."""
    _check(images, "random_flip")
    if not isinstance(probability, jax.core.Tracer) and not 0 <= float(probability) <= 1:
        raise ValueError(f"random_flip: probability must lie in [0, 1], got {probability!r}.")
    flip = jax.random.bernoulli(key, probability, (images.shape[0], 1, 1, 1))
    return jnp.where(flip, images[:, :, ::-1, :], images)


def compose(*augmentations: Callable[[jax.Array, jax.Array], jax.Array]) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``compose(random_crop, random_flip)(key, images)``: each step gets its own sub-key."""
    for i, fn in enumerate(augmentations):
        if not callable(fn):
            raise TypeError(f"compose: augmentation {i} must be a function (key, images) -> images, got "
                            f"{type(fn).__name__} {fn!r}.")

    def augment(key: jax.Array, images: jax.Array) -> jax.Array:
        for i, fn in enumerate(augmentations):
            images = fn(jax.random.fold_in(key, i), images)
        return images

    return augment


def with_augmentation(train_step: Callable, augment: Callable[[jax.Array, jax.Array], jax.Array]) -> Callable:
    """``train_step`` that first replaces ``batch["x"]`` by ``augment(key, batch["x"])``.

    The key is ``fold_in(fold_in(rng, state.step), 1)``: a function of the step, like the
    dropout key, so a resumed run draws the same crops and flips as an uninterrupted one.
    """

    def step(state, batch: dict, rng: jax.Array):
        key = jax.random.fold_in(jax.random.fold_in(rng, state.step), 1)
        return train_step(state, {**batch, "x": augment(key, batch["x"])}, rng)

    return step

"""Loss landscapes: filter-normalised random directions, surfaces and interpolation as one
compiled program, and the principal directions of a training trajectory.

The picture is Li, Xu, Taylor, Studer & Goldstein, *Visualizing the Loss Landscape of Neural
Nets* (NeurIPS 2018; code: tomgoldstein/loss-landscape): plot
``L(theta + a d1 + b d2)`` over a grid of ``(a, b)``, with random Gaussian directions whose
every filter is rescaled to the norm of the same filter of ``theta``, so that the plot does
not depend on the scale invariance of ReLU networks (a layer's weights can be scaled by
``c`` and the next by ``1/c`` without changing the function). The 1D interpolation
``L((1 - a) theta_a + a theta_b)`` is Goodfellow, Vinyals & Saxe (ICLR 2015).

Here every grid point is one iteration of a ``jax.lax.map`` over the coordinates (optionally
in chunks that ``jax.vmap`` evaluates together): the whole surface is one XLA program, with no
round trip to Python per point (the anchors evaluate one point at a time from Python). ``loss_fn(params) -> scalar`` is any function of the
parameters: build it with ``dataset_loss`` to average a model's loss over a data set.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

__all__ = ["random_direction", "loss_surface", "interpolate", "TrajectoryPCA", "trajectory_pca", "dataset_loss"]

NORMALIZATIONS = ("filter", "layer", None)


def _is_model_state(path) -> bool:
    # Collections that are not parameters (Flax's batch statistics): carried along, never moved.
    return any(getattr(k, "key", None) == "batch_stats" for k in path)


def _normalise(d: jax.Array, w: jax.Array, normalization: str | None) -> jax.Array:
    """``d`` rescaled so each filter (the last axis, Flax's output units) or the whole leaf has
    the norm of the same filter or leaf of ``w``."""
    if normalization is None:
        return d
    axes = tuple(range(d.ndim - 1)) if normalization == "filter" else tuple(range(d.ndim))
    d_norm = jnp.sqrt(jnp.sum(d * d, axis=axes, keepdims=True))
    w_norm = jnp.sqrt(jnp.sum(w * w, axis=axes, keepdims=True))
    # a zero filter of d (possible only in theory) stays zero instead of becoming NaN
    return d * (w_norm / jnp.where(d_norm > 0, d_norm, 1.0))


def random_direction(key: jax.Array, params, *, normalization: str | None = "filter",
                     include_biases: bool = False):
    """A random direction in parameter space, shaped like ``params``, filter-normalised.

    Every leaf with two or more axes (a ``Dense`` kernel ``[in, out]``, a ``Conv`` kernel
    ``[h, w, in, out]``) gets a standard Gaussian direction ``d``, and each of its filters
    (output units: Flax's *last* axis, where PyTorch's is the first) is rescaled to
    ``||d_j|| = ||theta_j||`` (Li et al. 2018, eq. 1). ``normalization="layer"`` rescales
    whole leaves instead, ``None`` keeps the raw Gaussian.

    Leaves with fewer axes (biases, batch-norm scales and offsets) get a zero direction, as
    Li et al.'s ``--xignore biasbn``; with ``include_biases=True`` their direction is the
    parameter itself (what loss-landscape does when they are not ignored). Leaves under a
    ``batch_stats`` collection always get zero: pass the whole ``{"params": ..., "batch_stats":
    ...}`` variables to carry the statistics along unchanged.

    Args:
      key: a JAX random key.
      params: a parameter pytree (or a model's whole variables).
      normalization: ``"filter"`` (default), ``"layer"`` or ``None``.
      include_biases: give 0- and 1-axis leaves a direction.

    Returns:
      a pytree like ``params`` (float32 leaves of the same shapes).
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"random_direction: unknown normalization {normalization!r}; choose from {NORMALIZATIONS}.")
    return _random_direction(key, params, normalization=normalization, include_biases=bool(include_biases))


@functools.partial(jax.jit, static_argnames=("normalization", "include_biases"))
def _random_direction(key, params, *, normalization, include_biases):
    # One compiled program: op by op, every leaf's few small operations compile on their own.
    paths, treedef = jax.tree_util.tree_flatten_with_path(params)
    keys = jax.random.split(key, max(len(paths), 1))
    leaves = []
    for k, (path, w) in zip(keys, paths):
        w = jnp.asarray(w)
        if _is_model_state(path) or not jnp.issubdtype(w.dtype, jnp.floating):
            leaves.append(jnp.zeros_like(w))
        elif w.ndim <= 1:
            leaves.append(w if include_biases else jnp.zeros_like(w))
        else:
            leaves.append(_normalise(jax.random.normal(k, w.shape, w.dtype), w, normalization))
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _check_same_structure(where: str, params, direction) -> None:
    if jax.tree.structure(params) != jax.tree.structure(direction):
        raise ValueError(f"{where}: the direction's tree {jax.tree.structure(direction)} differs from the "
                         f"parameters' {jax.tree.structure(params)}.")
    for p, d in zip(jax.tree.leaves(params), jax.tree.leaves(direction), strict=True):
        if jnp.shape(p) != jnp.shape(d):
            raise ValueError(f"{where}: a direction leaf of shape {jnp.shape(d)} for a parameter of shape {jnp.shape(p)}.")


def _directions_and_coords(params, directions, coords) -> tuple[tuple, jax.Array]:
    coords = jnp.asarray(coords, jnp.float32)
    if coords.ndim == 1:
        directions, coords = (directions,), coords[:, None]
    elif coords.ndim == 2 and coords.shape[1] == 2:
        if not (isinstance(directions, (tuple, list)) and len(directions) == 2):
            raise ValueError("loss_surface: coords of shape [N, 2] need a pair of directions (d1, d2).")
        directions = tuple(directions)
    else:
        raise ValueError(f"loss_surface: coords must be [N] (one direction) or [N, 2] (two), got shape {coords.shape}.")
    for d in directions:
        _check_same_structure("loss_surface", params, d)
    return directions, coords


def loss_surface(loss_fn: Callable[[Any], jax.Array], params, directions, coords, *,
                 chunk_size: int = 1) -> jax.Array:
    """Losses at ``params + a d1`` (1D) or ``params + a d1 + b d2`` (2D), as one compiled program.

    Args:
      loss_fn: ``params -> scalar`` (e.g. from ``dataset_loss``); must be traceable by JAX.
      params: the centre ``theta`` (a trained model's parameters).
      directions: one pytree like ``params`` (with ``coords [N]``) or a pair ``(d1, d2)``
        (with ``coords [N, 2]``), e.g. from ``random_direction``.
      coords: ``[N]`` values of ``a``, or ``[N, 2]`` pairs ``(a, b)``; a 51x51 grid over
        ``[-1, 1]^2`` is Li et al.'s plot.
      chunk_size: grid points evaluated together under ``jax.vmap``; memory grows with it.
        The default 1 runs them one after another inside the one program: on a CPU that is
        as fast as any chunk for dense layers and about twice as fast for convolutions
        (vmapping a convolution over its kernels makes it a grouped convolution); see
        ``benchmarks/REPORT.md``. On an accelerator, larger chunks can fill the device.

    Returns:
      ``[N]`` float32 losses, in the order of ``coords``.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"loss_surface: chunk_size must be an int >= 1, got {chunk_size!r}.")
    directions, coords = _directions_and_coords(params, directions, coords)
    return _surface(loss_fn, min(chunk_size, coords.shape[0]))(params, directions, coords)


@functools.lru_cache(maxsize=8)  # holds the loss (and the data it closes over): a few only
def _surface(loss_fn, chunk_size: int):
    # Cached on the function: a second surface of the same loss (another grid, other
    # directions of the same shapes) reuses the compiled program.
    @jax.jit
    def surface(params, directions, coords):
        def at(c):
            moved = jax.tree.map(lambda p, *ds: p + sum(ci * d for ci, d in zip(c, ds)).astype(p.dtype),
                                 params, *directions)
            return jnp.asarray(loss_fn(moved), jnp.float32)

        return jax.lax.map(at, coords, batch_size=chunk_size)

    return surface


def interpolate(loss_fn: Callable[[Any], jax.Array], params_a, params_b, alphas, *, chunk_size: int = 1) -> jax.Array:
    """Losses along the line ``(1 - a) params_a + a params_b`` (Goodfellow et al. 2015).

    ``a = 0`` is ``params_a``, ``a = 1`` is ``params_b``; Li et al. plot ``a`` in
    ``[-0.5, 1.5]`` to compare the sharpness of two minima (small- vs large-batch training).

    Returns:
      ``[len(alphas)]`` float32 losses.
    """
    _check_same_structure("interpolate", params_a, params_b)
    direction = jax.tree.map(lambda a, b: b - a, params_a, params_b)
    return loss_surface(loss_fn, params_a, direction, jnp.asarray(alphas, jnp.float32), chunk_size=chunk_size)


class TrajectoryPCA(NamedTuple):
    """The plane that best holds a training trajectory.

    Attributes:
      directions: ``(d1, d2)``, unit-norm pytrees like the parameters (orthogonal).
      coords: ``[T, 2]`` coordinates of each checkpoint in that plane, relative to the final
        parameters (the last checkpoint is ``(0, 0)``).
      explained_variance_ratio: ``[2]`` share of the trajectory's variance along each.
    """

    directions: tuple
    coords: np.ndarray
    explained_variance_ratio: np.ndarray


def trajectory_pca(checkpoints: Sequence[Any], final=None) -> TrajectoryPCA:
    """The top two principal directions of a trajectory ``theta_1 .. theta_T`` (Li et al. 2018, §7).

    Random directions are nearly orthogonal to the path an optimiser takes in a space of
    millions of dimensions, so a trajectory drawn on a random plane barely moves. Li et al.
    take PCA of the matrix ``[theta_i - theta_final]`` (centred, as scikit-learn's PCA they
    use) and project every checkpoint onto the two leading directions.

    Args:
      checkpoints: ``T >= 2`` parameter pytrees of the same structure, in training order.
      final: the parameters the plot is centred on (default: the last checkpoint).

    Returns:
      ``TrajectoryPCA``; draw the surface with ``loss_surface(loss_fn, final, directions,
      coords)`` over a grid that covers ``coords``.
    """
    if len(checkpoints) < 2:
        raise ValueError(f"trajectory_pca: needs at least 2 checkpoints, got {len(checkpoints)}.")
    final = checkpoints[-1] if final is None else final
    flat_final, unravel = ravel_pytree(final)
    rows = []
    for i, c in enumerate(checkpoints):
        _check_same_structure(f"trajectory_pca (checkpoint {i})", final, c)
        rows.append(ravel_pytree(c)[0] - flat_final)
    m = np.asarray(jnp.stack(rows), np.float64)
    centred = m - m.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    top = vt[:2] if len(vt) >= 2 else np.concatenate([vt, np.zeros_like(vt)])
    variance = s**2
    ratio = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    directions = tuple(unravel(jnp.asarray(v, flat_final.dtype)) for v in top)
    return TrajectoryPCA(directions, (m @ top.T).astype(np.float32), np.asarray(ratio, np.float32))


def dataset_loss(model, loss, x, y, *, model_state=None, batch_size: int = 1024,
                 train: bool = False) -> Callable[[Any], jax.Array]:
    """``loss_fn(params) -> mean_b loss(model(x_b), y_b)`` over a whole data set, in batches.

    The examples are padded to a multiple of ``batch_size`` and visited by ``jax.lax.map``
    (padding masked out), so memory stays that of one batch however large the set, and the
    function composes with ``jit``, ``vmap`` (``loss_surface``) and ``jax.grad`` (the Hessian
    tools).

    Args:
      model: a Flax module whose ``__call__`` takes ``train=`` (every jaxdl model does).
      loss: per-example loss ``(outputs [B, ...], targets) -> [B]``, e.g.
        ``jaxdl.softmax_cross_entropy``.
      x, y: ``[N, ...]`` inputs and targets (e.g. ``data.x_train, data.y_train``).
      model_state: the model's other collections, e.g. ``{"batch_stats": ...}``
        (``state.model_state``); used as they are (``train=False``: running statistics).
      batch_size: examples per batch.
      train: run the model in training mode (batch statistics of each batch; no dropout rng,
        so a model with dropout must stay in evaluation mode).

    Returns:
      ``loss_fn(params) -> float32 scalar``.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    n = x.shape[0]
    if n == 0 or y.shape[:1] != (n,):
        raise ValueError(f"dataset_loss: x and y must hold the same number (>= 1) of examples, got {x.shape} and {y.shape}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"dataset_loss: batch_size must be an int >= 1, got {batch_size!r}.")
    b = min(batch_size, n)
    pad = -n % b
    xs = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape(-1, b, *x.shape[1:])
    ys = jnp.pad(y, [(0, pad)] + [(0, 0)] * (y.ndim - 1)).reshape(-1, b, *y.shape[1:])
    masks = (jnp.arange(n + pad) < n).astype(jnp.float32).reshape(-1, b)
    model_state = dict(model_state or {})

    def loss_fn(params) -> jax.Array:
        def batch_sum(batch):
            xb, yb, mb = batch
            outputs = model.apply({"params": params, **model_state}, xb, train=train,
                                  mutable=list(model_state) if (train and model_state) else False)
            if train and model_state:
                outputs = outputs[0]
            return jnp.sum(loss(outputs, yb).astype(jnp.float32) * mb)

        return jnp.sum(jax.lax.map(batch_sum, (xs, ys, masks))) / n

    return loss_fn

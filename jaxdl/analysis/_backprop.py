"""Backpropagation by hand, next to autodiff: modular boxes and a finite-difference checker.

Each box is a layer with a forward pass ``fprop`` that keeps what its backward pass needs
(the *cache*), and a backward pass ``bprop`` that turns ``dL/dy`` into ``dL/dx`` and the
gradients of its own parameters: the chain rule, one layer at a time (Rumelhart, Hinton &
Williams 1986; the LxMLS "modular" view). Chaining the boxes forward and then backward in
reverse order is backpropagation; ``jax.grad`` does the same thing automatically, and the
tests check that the two agree.

Parameters use the layout of ``jaxdl.MLP`` (``{"dense_0": {"kernel", "bias"}, ...}``), so a
Flax-initialised MLP can be differentiated both ways. All functions are pure ``jax.numpy``
and can be jitted.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "Box",
    "linear_box",
    "relu_box",
    "sigmoid_box",
    "tanh_box",
    "dropout_box",
    "dropout_mask",
    "softmax_cross_entropy_box",
    "mlp_boxes",
    "forward",
    "backward",
    "loss_and_grad",
    "GradCheck",
    "check_gradients",
]


class Box(NamedTuple):
    """A layer with a hand-written forward and backward pass.

    Attributes:
      name: the parameter group it owns (``"dense_0"``), or ``None`` for a parameter-free box.
      fprop: ``(params, x, key, train) -> (y, cache)``.
      bprop: ``(params, cache, dy) -> (dx, dparams)``; ``dparams`` is ``None`` without params.
    """

    name: str | None
    fprop: Callable
    bprop: Callable


def linear_box(name: str) -> Box:
    """``y = x W + b`` for ``x: [B, D_in]``, ``W: [D_in, D_out]``.

    Backward: ``dx = dy W^T``, ``dW = x^T dy``, ``db = sum_batch dy``.
    """

    def fprop(p, x, key, train):
        return x @ p["kernel"] + p["bias"][None, :], x

    def bprop(p, x, dy):
        return dy @ p["kernel"].T, {"kernel": x.T @ dy, "bias": dy.sum(axis=0)}

    return Box(name, fprop, bprop)


def _elementwise(fn: Callable, derivative_from_output: Callable) -> Box:
    # sigmoid and tanh have derivatives in terms of their outputs, so the cache is y.
    def fprop(p, x, key, train):
        y = fn(x)
        return y, y

    return Box(None, fprop, lambda p, y, dy: (dy * derivative_from_output(y), None))


def relu_box() -> Box:
    """``y = max(x, 0)``; backward ``dx = dy [x > 0]`` (the subgradient 0 at ``x = 0``, as JAX)."""
    return Box(None, lambda p, x, key, train: (jnp.maximum(x, 0), x > 0),
               lambda p, active, dy: (jnp.where(active, dy, 0), None))


def sigmoid_box() -> Box:
    """``y = 1 / (1 + e^{-x})``; backward ``dx = dy y (1 - y)``."""
    return _elementwise(jax.nn.sigmoid, lambda y: y * (1 - y))


def tanh_box() -> Box:
    """``y = tanh x``; backward ``dx = dy (1 - y^2)``."""
    return _elementwise(jnp.tanh, lambda y: 1 - jnp.square(y))


def dropout_mask(key: jax.Array, rate: float, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Inverted dropout's mask: ``Bernoulli(1 - rate) / (1 - rate)`` per unit, so the expected
    activation is unchanged (Srivastava et al. 2014). ``rate`` in ``[0, 1)``: at 1 every unit
    is dropped and the scale ``1 / (1 - rate)`` divides by zero."""
    if isinstance(rate, (int, float)) and not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout_mask: rate must be in [0, 1), got {rate}.")
    keep = jax.random.bernoulli(key, 1.0 - rate, shape)
    return keep.astype(dtype) / (1.0 - rate)


def dropout_box(rate: float) -> Box:
    """Inverted dropout: in training ``y = x m`` with ``m = dropout_mask(key, rate)``; the
    identity in evaluation. Backward: ``dx = dy m`` (the same mask, kept in the cache)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout_box: rate must be in [0, 1), got {rate}.")

    def fprop(p, x, key, train):
        if not train or rate == 0.0:
            return x, jnp.ones((), x.dtype)
        if key is None:
            raise ValueError("dropout_box: training with dropout needs a key.")
        mask = dropout_mask(key, rate, x.shape, x.dtype)
        return x * mask, mask

    return Box(None, fprop, lambda p, mask, dy: (dy * mask, None))


def softmax_cross_entropy_box():
    """The loss box: mean over the batch of ``-log softmax(s)_y``.

    ``fprop(logits [B, C], labels [B]) -> (loss, cache)``; ``bprop(cache) -> dL/ds =
    (softmax(s) - onehot(y)) / B``, the famously simple gradient of softmax + cross-entropy.
    """

    def fprop(logits, labels):
        log_p = jax.nn.log_softmax(logits)
        loss = -jnp.take_along_axis(log_p, labels[:, None], axis=1).mean()
        return loss, (jnp.exp(log_p), labels)

    def bprop(cache):
        probs, labels = cache
        return (probs - jax.nn.one_hot(labels, probs.shape[1], dtype=probs.dtype)) / probs.shape[0]

    return fprop, bprop


_ACTIVATION_BOXES = {"relu": relu_box, "sigmoid": sigmoid_box, "tanh": tanh_box}


def mlp_boxes(num_layers: int, *, activation: str = "relu", dropout_rate: float = 0.0) -> list[Box]:
    """The boxes of ``jaxdl.MLP`` with ``num_layers`` dense layers: ``linear -> activation
    [-> dropout]`` for every layer but the last, then ``linear``.

    Args:
      num_layers: ``len(features)`` of the matching ``jaxdl.MLP``.
      activation: ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
      dropout_rate: inverted dropout after every hidden activation (0: none).
    """
    if activation not in _ACTIVATION_BOXES:
        raise ValueError(f"mlp_boxes: unknown activation {activation!r}; choose from {sorted(_ACTIVATION_BOXES)}.")
    if num_layers < 1:
        raise ValueError(f"mlp_boxes: num_layers must be >= 1, got {num_layers}.")
    boxes = []
    for i in range(num_layers):
        boxes.append(linear_box(f"dense_{i}"))
        if i < num_layers - 1:
            boxes.append(_ACTIVATION_BOXES[activation]())
            if dropout_rate > 0:
                boxes.append(dropout_box(dropout_rate))
    return boxes


def forward(boxes: list[Box], params: dict, x: jax.Array, *, key: jax.Array | None = None,
            train: bool = False) -> tuple[jax.Array, list]:
    """Run the boxes in order. Box ``i`` gets the key ``fold_in(key, i)``.

    Returns:
      ``(outputs, caches)``, one cache per box for ``backward``.
    """
    caches = []
    for i, box in enumerate(boxes):
        box_key = None if key is None else jax.random.fold_in(key, i)
        x, cache = box.fprop(params[box.name] if box.name else None, x, box_key, train)
        caches.append(cache)
    return x, caches


def backward(boxes: list[Box], params: dict, caches: list, dy: jax.Array) -> tuple[jax.Array, dict]:
    """Run the boxes' ``bprop`` in reverse order, from ``dy = dL/d(outputs)``.

    Returns:
      ``(dL/dx, grads)`` with ``grads`` in the layout of ``params``.
    """
    grads = {}
    for box, cache in zip(reversed(boxes), reversed(caches)):
        dy, dparams = box.bprop(params[box.name] if box.name else None, cache, dy)
        if box.name:
            grads[box.name] = dparams
    return dy, grads


def loss_and_grad(boxes: list[Box], params: dict, x: jax.Array, labels: jax.Array, *,
                  key: jax.Array | None = None, train: bool = False) -> tuple[jax.Array, dict]:
    """Mean softmax cross-entropy of the boxes' logits and its gradient, by backpropagation.

    Args:
      x: ``[B, D_in]``; labels: ``[B]`` integer classes.

    Returns:
      ``(loss, grads)``, the same values as ``jax.value_and_grad`` of the forward pass.
    """
    logits, caches = forward(boxes, params, x, key=key, train=train)
    loss_fprop, loss_bprop = softmax_cross_entropy_box()
    loss, loss_cache = loss_fprop(logits, labels)
    _, grads = backward(boxes, params, caches, loss_bprop(loss_cache))
    return loss, grads


class GradCheck(NamedTuple):
    """Result of ``check_gradients``.

    Attributes:
      errors: ``{leaf path: relative error}`` of the directional derivative along a random
        direction inside that leaf, plus ``"all"`` for a direction over every leaf.
      max_error: the largest of them.
      ok: ``max_error <= tol``.
    """

    errors: dict[str, float]
    max_error: float
    ok: bool


def check_gradients(fn: Callable[..., jax.Array], params: Any, *args, seed: int = 0, eps: float = 1e-6,
                    tol: float = 1e-6) -> GradCheck:
    """Compare ``jax.grad(fn)`` with central finite differences, in float64.

    For a unit direction ``v``, ``(f(p + eps v) - f(p - eps v)) / (2 eps)`` approximates
    ``<grad f(p), v>`` with error ``O(eps^2)``; in float64 with ``eps = 1e-6`` both the
    truncation and the rounding error are ~1e-10, so a wrong gradient stands out by orders of
    magnitude. One random direction per parameter leaf says *which* leaf is wrong. The error
    is ``|numeric - analytic| / max(|numeric|, |analytic|, 1e-4 (1 + |f|))``: relative, except
    for derivatives too small for finite differences to resolve.

    Args:
      fn: ``fn(params, *args) -> scalar``, e.g. the mean loss of any jaxdl model. Pass data
        through ``args`` (not a closure) so that it is promoted to float64 too.
      params: a pytree of float arrays.
      seed: for the random directions.
      eps, tol: step and the largest relative error accepted.

    Returns:
      ``GradCheck``.
    """
    with jax.enable_x64(True):
        def to64(a):
            a = jnp.asarray(a)
            return a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a

        params, args = jax.tree.map(to64, params), jax.tree.map(to64, args)

        def f(p):
            return jnp.asarray(fn(p, *args), jnp.float64)

        shape = jax.eval_shape(f, params).shape
        if shape != ():
            raise ValueError(f"check_gradients: fn must return a scalar, got shape {shape}.")
        value, grad = jax.jit(jax.value_and_grad(f))(params)

        @jax.jit
        def derivatives(v):
            numeric = (f(jax.tree.map(lambda p, d: p + eps * d, params, v))
                       - f(jax.tree.map(lambda p, d: p - eps * d, params, v))) / (2 * eps)
            analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(v)))
            return numeric, analytic

        # Rounding in f(p +- eps v) is ~1e-16 |f| / eps = 1e-10 |f|: a derivative smaller than
        # this floor is compared absolutely, so an all-zero gradient (dead units) still passes.
        floor = 1e-4 * (1.0 + abs(float(value)))
        paths, leaves = zip(*jax.tree_util.tree_flatten_with_path(params)[0])
        treedef = jax.tree.structure(params)
        rng = np.random.default_rng(seed)
        errors = {}
        for i, name in enumerate([*(jax.tree_util.keystr(p) for p in paths), "all"]):
            v = [rng.standard_normal(np.shape(leaf)) if name == "all" or j == i else np.zeros(np.shape(leaf))
                 for j, leaf in enumerate(leaves)]
            norm = np.sqrt(sum(np.vdot(a, a) for a in v))
            numeric, analytic = map(float, derivatives(jax.tree.unflatten(treedef, [a / norm for a in v])))
            errors[name] = abs(numeric - analytic) / max(abs(numeric), abs(analytic), floor)
    worst = max(errors.values())
    return GradCheck(errors, worst, bool(np.isfinite(worst) and worst <= tol))


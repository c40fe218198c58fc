"""Attribution: which input pixels a score depends on, for any ``score_fn(x [B, ...]) -> [B]``,
and reading or perturbing a named layer of a Flax model (for Grad-CAM and layer objectives).

Anchors: PAIR-code/saliency (vanilla gradients, SmoothGrad, Integrated Gradients, Grad-CAM)
and Captum; here every method is a pure function that composes with ``jit`` and ``vmap``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxdl._checks import as_key, positive_int

__all__ = ["GradCam", "deletion_accuracy", "grad_cam", "integrated_gradients", "layer_activation", "saliency", "smoothgrad"]

ScoreFn = Callable[[jax.Array], jax.Array]


def _checked_score(where: str, score_fn: ScoreFn, x: jax.Array) -> None:
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise ValueError(f"{where}: inputs must be floating point, got dtype {jnp.result_type(x)}.")
    out = jax.eval_shape(score_fn, jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)))
    if out.shape != jnp.shape(x)[:1]:
        raise ValueError(f"{where}: score_fn must map inputs [B, ...] to one score per example [B]; for inputs of "
                         f"shape {jnp.shape(x)} it returned {out.shape}.")


def _input_gradient(score_fn: ScoreFn, x: jax.Array) -> jax.Array:
    # Each score depends only on its own example, so the gradient of the sum is every
    # example's own gradient: one backward pass for the batch.
    return jax.grad(lambda v: jnp.sum(score_fn(v)))(x)


def saliency(score_fn: ScoreFn, x: jax.Array) -> jax.Array:
    """Vanilla gradients ``d score_b / d x_b`` (Simonyan et al. 2014), ``[B, ...] -> [B, ...]``.

    Signed; show ``abs`` (or the max over channels) as a map."""
    _checked_score("saliency", score_fn, x)
    return _input_gradient(score_fn, x)


def smoothgrad(score_fn: ScoreFn, x: jax.Array, *, key: jax.Array, samples: int = 25, noise: float = 0.15,
               squared: bool = False) -> jax.Array:
    """SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of each input,
    ``(1/n) sum_i grad score(x + e_i)``, ``e_i ~ N(0, sigma^2)``, ``sigma = noise * (max x_b - min x_b)``
    per example (PAIR-code/saliency's ``stdev_spread``: 0.15 and 25 samples by default).

    Args:
      squared: average the squared gradients instead (SmoothGrad-Squared, Hooker et al. 2019).

    Returns:
      ``[B, ...]`` attributions; the samples run one after another inside one program
      (``lax.map``), so memory stays that of one gradient.
    """
    _checked_score("smoothgrad", score_fn, x)
    samples = positive_int("smoothgrad: samples", samples)
    flat = x.reshape(x.shape[0], -1)
    sigma = (noise * (flat.max(axis=1) - flat.min(axis=1))).reshape((-1,) + (1,) * (x.ndim - 1))

    def one(k):
        g = _input_gradient(score_fn, x + sigma * jax.random.normal(k, x.shape, x.dtype))
        return jnp.square(g) if squared else g

    return jnp.mean(jax.lax.map(one, jax.random.split(as_key(key), samples)), axis=0)


def integrated_gradients(score_fn: ScoreFn, x: jax.Array, *, baseline: jax.Array | None = None,
                         steps: int = 64) -> jax.Array:
    """Integrated Gradients (Sundararajan et al. 2017):
    ``(x - x') * int_0^1 grad score(x' + a (x - x')) da``, by the trapezoidal rule on ``steps``
    intervals, ``[B, ...] -> [B, ...]``.

    Completeness: the attributions of an example sum to ``score(x) - score(x')`` (exactly
    for a score linear in ``x``; up to the quadrature error otherwise, which shrinks as
    ``1 / steps^2`` for a smooth score).

    Args:
      baseline: ``x'``, broadcastable to ``x`` (default zeros: a black image).
      steps: intervals of the path (PAIR-code/saliency and Captum use 25-300 points).
    """
    _checked_score("integrated_gradients", score_fn, x)
    steps = positive_int("integrated_gradients: steps", steps)
    baseline = jnp.zeros_like(x) if baseline is None else jnp.broadcast_to(jnp.asarray(baseline, x.dtype), x.shape)
    alphas = jnp.linspace(0.0, 1.0, steps + 1, dtype=x.dtype)
    weights = jnp.full(steps + 1, 1.0 / steps, x.dtype).at[0].multiply(0.5).at[-1].multiply(0.5)

    def one(carry, aw):
        a, w = aw
        return carry + w * _input_gradient(score_fn, baseline + a * (x - baseline)), None

    average = jax.lax.scan(one, jnp.zeros_like(x), (alphas, weights))[0]
    return (x - baseline) * average


def _layer_path(layer: str) -> tuple[str, ...]:
    return tuple(part for part in layer.split("/") if part)


def _applying_at_layer(model: nn.Module, variables, layer: str, x: jax.Array, edit: Callable[[jax.Array], jax.Array],
                       **apply_kwargs):
    """``model.apply(variables, x)`` with the named submodule's output replaced by ``edit(output)``;
    returns ``(model output, the layer's original output)``."""
    path, seen = _layer_path(layer), {}

    def interceptor(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if context.method_name == "__call__" and tuple(context.module.path) == path:
            seen["activation"] = out
            return edit(out)
        return out

    with nn.intercept_methods(interceptor):
        out = model.apply(variables, x, **apply_kwargs)
    if "activation" not in seen:
        names = _submodule_names(model, variables, x, apply_kwargs)
        raise ValueError(f"{type(model).__name__} has no layer {layer!r}; its layers are {names}.")
    return out, seen["activation"]


def _submodule_names(model, variables, x, apply_kwargs) -> list[str]:
    names = []

    def interceptor(next_fun, args, kwargs, context):
        if context.method_name == "__call__" and context.module.path:
            names.append("/".join(context.module.path))
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(interceptor):
        jax.eval_shape(lambda v: model.apply(variables, v, **apply_kwargs), x)
    return list(dict.fromkeys(names))


def layer_activation(model: nn.Module, variables, layer: str, **apply_kwargs) -> Callable[[jax.Array], jax.Array]:
    """``x -> the output of the submodule named layer`` (``"c3"``, or a path ``"stage1/block0"``)
    for a Flax model and its variables: the function a layer objective (a neuron, a channel,
    DeepDream's mean square) is built on. ``apply_kwargs`` go to ``model.apply`` (e.g.
    ``train=False``)."""
    def activation(x):
        return _applying_at_layer(model, variables, layer, x, lambda a: a, **apply_kwargs)[1]
    return activation


class GradCam(NamedTuple):
    """``heatmap [B, h, w]`` at the layer's resolution (>= 0), ``upsampled [B, H, W]`` to the
    input's, and the channel ``weights [B, K]``."""
    heatmap: jax.Array
    upsampled: jax.Array
    weights: jax.Array


def grad_cam(model: nn.Module, variables, layer: str, x: jax.Array, targets: jax.Array, **apply_kwargs) -> GradCam:
    """Grad-CAM (Selvaraju et al. 2017) at a convolutional layer ``A [B, h, w, K]``:
    ``w_k = mean_ij d y_c / d A_ijk``, ``heatmap = relu(sum_k w_k A_k)``, for the logit ``y_c``
    of each example's ``targets`` class.

    The gradient with respect to the layer's output is taken by adding a zero perturbation to
    it (a Flax method interceptor), so any Flax model works unchanged.

    Args:
      model, variables: a Flax classifier returning logits ``[B, C]``.
      layer: the name (path) of the submodule whose output is ``A``.
      x: ``[B, H, W, C_in]`` inputs; targets: ``[B]`` classes to explain.
    """
    activation = layer_activation(model, variables, layer, **apply_kwargs)(x)
    if activation.ndim != 4:
        raise ValueError(f"grad_cam: layer {layer!r} outputs shape {activation.shape}; Grad-CAM needs a "
                         "convolutional [B, h, w, K] layer.")

    def score(delta):
        logits = _applying_at_layer(model, variables, layer, x, lambda a: a + delta, **apply_kwargs)[0]
        return jnp.sum(jnp.take_along_axis(logits, jnp.asarray(targets)[:, None], axis=-1))

    grads = jax.grad(score)(jnp.zeros_like(activation))
    weights = grads.mean(axis=(1, 2))
    heatmap = jax.nn.relu(jnp.einsum("bijk,bk->bij", activation, weights))
    upsampled = jax.image.resize(heatmap, (x.shape[0],) + tuple(x.shape[1:3]), "bilinear")
    return GradCam(heatmap, upsampled, weights)


def deletion_accuracy(logits_fn: Callable, x: jax.Array, y: jax.Array, attributions: jax.Array, fractions, *,
                      fill: float = 0.0) -> jax.Array:
    """Accuracy after deleting (setting to ``fill``) each image's most-attributed pixels: the
    deletion test (Samek et al. 2017; Petsiuk et al. 2018) that measures an attribution
    instead of looking at it. A faithful map drops the accuracy faster than a random one.

    Args:
      logits_fn: ``x [B, H, W, C] -> [B, classes]``.
      attributions: ``[B, H, W]`` or ``[B, H, W, C]`` (ranked by ``|a|``, max over channels).
      fractions: ``[F]`` fractions of the ``H W`` pixels to delete, e.g. ``[0.05, 0.1, 0.2]``.

    Returns:
      ``[F]`` accuracies.
    """
    a = jnp.abs(jnp.asarray(attributions))
    a = a.max(axis=-1) if a.ndim == 4 else a
    if a.shape != x.shape[:3]:
        raise ValueError(f"deletion_accuracy: attributions of shape {jnp.shape(attributions)} do not match images "
                         f"of shape {x.shape}.")
    ranks = jnp.argsort(jnp.argsort(-a.reshape(a.shape[0], -1), axis=1), axis=1).reshape(a.shape)  # 0 = most

    def accuracy(fraction):
        keep = ranks >= jnp.round(fraction * ranks[0].size)
        deleted = jnp.where(keep[..., None], x, fill)
        return jnp.mean(jnp.argmax(logits_fn(deleted), axis=-1) == y)

    return jax.lax.map(accuracy, jnp.asarray(fractions, jnp.float32))

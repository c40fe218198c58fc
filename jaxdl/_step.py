"""The pure train and eval steps, built from small pieces that compose.

``train_step(state, batch, rng) -> (state, metrics)`` is a pure function: jit it at the call
site with the state donated, ``jax.jit(train_step, donate_argnums=0)``. The same function
works unchanged under ``jax.vmap`` over a stack of ``K`` states (``K`` seeds and/or learning
rates in one program) and, when built with ``axis_name=``, under a named device axis
(``jax.pmap``, ``shard_map`` or ``jax.vmap(..., axis_name=...)``), where every device sees its
shard of the batch and the update equals one step on the full batch.

A batch is a dict ``{"x": [B, ...], "y": [B, ...], "mask": [B] (optional)}``; the mask
(1 = real example, 0 = padding) lets a last partial batch keep the compiled shape.

The step is assembled from a *gradient function* ``(state, batch, rng, count) ->
Gradients(grads, metrics, model_state)``, whose terms are sums over the batch's examples
divided by ``count`` (the number of real examples of the whole batch, on all devices):

* ``loss_gradients(loss_fn)``: the mean loss's gradient (the core);
* ``microbatched(fn, k)``: the same gradient as a sum over ``k`` micro-batches (optax's
  ``microbatching`` is the model);
* ``across_devices(fn, axis_name)``: each device's part summed over a named axis;
* ``penalized(fn, regularizer)``: a weight penalty added once to the objective;
* ``gradient_step(fn)``: the train step that applies the gradient with ``state.tx``.

``make_train_step`` composes them from flags, for the common cases.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxdl._checks import positive_int
from jaxdl._state import TrainState

__all__ = ["Gradients", "apply_model", "loss_gradients", "microbatched", "across_devices", "penalized",
           "gradient_step", "make_train_step", "make_eval_step"]

LossFn = Callable[[jax.Array, jax.Array], jax.Array]  # (outputs [B, ...], targets) -> [B]
MetricFns = Mapping[str, LossFn]


class Gradients(NamedTuple):
    """What a gradient function returns for a batch (or its share of one).

    Attributes:
      grads: a tree like ``state.params``.
      metrics: ``{"train_loss": scalar, "train_<name>": scalar, ...}``, each a sum over the
        batch's examples divided by the whole batch's example count.
      model_state: the updated non-parameter collections (batch statistics), or ``{}``.
    """

    grads: Any
    metrics: dict[str, jax.Array]
    model_state: Any


GradientFn = Callable[[TrainState, dict, jax.Array, jax.Array], Gradients]


def apply_model(state: TrainState, params, x: jax.Array, *, train: bool, rng: jax.Array | None = None):
    """Run ``state``'s model with ``params`` on ``x [B, ...]``.

    Returns:
      ``(outputs [B, ...], model_state)``: in training mode with batch statistics, the
      updated collections; otherwise ``state.model_state`` unchanged.
    """
    variables = {"params": params, **state.model_state}
    rngs = {"dropout": rng} if rng is not None else None
    if state.model_state and train:
        return state.apply_fn(variables, x, train=True, rngs=rngs, mutable=list(state.model_state))
    return state.apply_fn(variables, x, train=train, rngs=rngs), state.model_state


def example_count(batch: dict) -> jax.Array:
    """The number of real (unmasked) examples in ``batch``, as a float32 scalar."""
    mask = batch.get("mask")
    if mask is None:
        return jnp.float32(jnp.shape(batch["x"])[0])
    return jnp.sum(mask.astype(jnp.float32))


def masked_sum(values: jax.Array, mask: jax.Array | None) -> jax.Array:
    """``sum_b mask_b * values_b`` in float32 (all ones without a mask)."""
    values = values.astype(jnp.float32)
    if mask is None:
        mask = jnp.ones(values.shape[:1], jnp.float32)
    return jnp.sum(values * mask.astype(jnp.float32))


def loss_gradients(loss_fn: LossFn, *, metrics: MetricFns | None = None) -> GradientFn:
    """The gradient function of ``sum_b mask_b loss_fn(f(x_b), y_b) / max(count, 1)``.

    Args:
      loss_fn: per-example loss ``(outputs [B, ...], targets) -> [B]``, e.g. ``jaxdl.mse``.
      metrics: optional per-example metrics ``{name: fn(outputs, targets) -> [B]}``, reported
        as ``train_<name>`` with the same normalisation.

    Returns:
      ``gradients(state, batch, rng, count) -> Gradients``; ``rng`` drives dropout.
    """
    metrics = dict(metrics or {})

    def gradients(state: TrainState, batch: dict, rng: jax.Array, count: jax.Array) -> Gradients:
        mask, count = batch.get("mask"), jnp.maximum(count, 1.0)

        def objective(params):
            outputs, model_state = apply_model(state, params, batch["x"], train=True, rng=rng)
            return masked_sum(loss_fn(outputs, batch["y"]), mask) / count, (outputs, model_state)

        (loss, (outputs, model_state)), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
        step_metrics = {"train_loss": loss}
        for name, fn in metrics.items():
            step_metrics[f"train_{name}"] = masked_sum(fn(outputs, batch["y"]), mask) / count
        return Gradients(grads, step_metrics, model_state)

    return gradients


def microbatched(gradients: GradientFn, num: int) -> GradientFn:
    """``gradients`` of the batch as the sum over ``num`` equal micro-batches.

    ``grad(sum_i L_i) = sum_i grad(L_i)``, each ``L_i`` divided by the whole batch's example
    count: the same update as one step on the whole batch, up to float rounding, as gradient
    accumulation within one step. The micro-batches are unrolled, not scanned, so XLA sees
    ``num`` independent forward and backward passes it may run side by side (on a CPU, where
    a small network's kernels are mostly single-threaded, that is where the gain is: see
    ``benchmarks/REPORT.md``). Dropout draws each micro-batch's masks from ``fold_in(rng, i)``.

    Raises (at trace time):
      ValueError: a batch size that ``num`` does not divide; a model with batch statistics
        (each micro-batch would be normalised by its own: ghost batch norm).
    """
    num = positive_int("microbatched: num", num)
    if num == 1:
        return gradients

    def split(state: TrainState, batch: dict, rng: jax.Array, count: jax.Array) -> Gradients:
        b = jnp.shape(batch["x"])[0]
        if b % num:
            raise ValueError(f"make_train_step(microbatches={num}) needs a batch size divisible by {num}, got a "
                             f"batch of {b}.")
        if state.model_state:
            raise ValueError(f"make_train_step(microbatches={num}): the model keeps {sorted(state.model_state)} "
                             "(e.g. batch statistics), which each micro-batch would compute on its own examples; "
                             "use microbatches=1.")
        size, total = b // num, None
        for i in range(num):
            part = jax.tree.map(lambda v: v[i * size:(i + 1) * size], batch)
            terms = gradients(state, part, jax.random.fold_in(rng, i), count)
            total = terms if total is None else jax.tree.map(jnp.add, total, terms)
        return total

    return split


def _varying_axes(x) -> frozenset:
    """The mapped axes ``x`` is typed as varying over inside ``shard_map`` (empty elsewhere).

    jax 0.10 spells it ``typeof(x).manual_axis_type.varying``; earlier releases ``.vma``.
    """
    aval = jax.typeof(x)
    manual = getattr(aval, "manual_axis_type", None)
    if manual is not None:
        return frozenset(manual.varying)
    return frozenset(getattr(aval, "vma", ()))


def _device_varying(params, x: jax.Array, axis_name: str):
    """``params`` marked as varying over ``axis_name`` when the data ``x`` is, so their
    gradient stays per-device.

    Under ``shard_map`` with ``check_vma=True`` (its default) the batch shard is typed as
    varying over the axis and a replicated parameter as invariant; using the parameter on
    the data broadcasts it implicitly, and the transpose of that broadcast is a ``psum``:
    ``jax.grad`` would return gradients already summed over devices, and the explicit
    ``psum`` of ``across_devices`` would count them ``num_devices`` times (an ``n`` times too
    large step on ``n`` devices, with no error). Casting them to varying first gives
    per-device gradients, as ``pmap``, ``vmap(axis_name=...)`` and
    ``shard_map(check_vma=False)`` do (there nothing is typed as varying and nothing is
    cast), so every path sums them exactly once.
    """
    if axis_name not in _varying_axes(x):
        return params

    def cast(p):
        if axis_name in _varying_axes(p):
            return p
        return jax.lax.pcast(p, axis_name, to="varying")

    return jax.tree.map(cast, params)


def across_devices(gradients: GradientFn, axis_name: str) -> GradientFn:
    """``gradients`` of a batch sharded over the named device axis ``axis_name``.

    Each device's terms are divided by the example count of *all* shards (a ``psum``), so their
    ``psum`` is the full-batch mean even when shards hold different numbers of real examples;
    gradients and metrics are ``psum``-ed, non-parameter collections (batch statistics)
    ``pmean``-ed. Dropout masks differ per device (the rng folds in the device index).
    """
    def sharded(state: TrainState, batch: dict, rng: jax.Array, count: jax.Array) -> Gradients:
        rng = jax.random.fold_in(rng, jax.lax.axis_index(axis_name))
        count = jax.lax.psum(count, axis_name)
        state = state.replace(params=_device_varying(state.params, batch["x"], axis_name))
        grads, step_metrics, model_state = gradients(state, batch, rng, count)
        return Gradients(jax.lax.psum(grads, axis_name), jax.lax.psum(step_metrics, axis_name),
                         jax.lax.pmean(model_state, axis_name))

    return sharded


def penalized(gradients: GradientFn, regularizer: Callable[[Any], jax.Array]) -> GradientFn:
    """``gradients`` of the objective ``data loss + regularizer(params)``; the penalty is added
    once per step (outside any micro-batch or device split), and reported as
    ``train_objective`` next to the data term ``train_loss``.

    Args:
      regularizer: ``params -> scalar``, e.g. ``lambda p: 1e-4 * jaxdl.l2_penalty(p)``.
    """
    def with_penalty(state: TrainState, batch: dict, rng: jax.Array, count: jax.Array) -> Gradients:
        grads, step_metrics, model_state = gradients(state, batch, rng, count)
        penalty, penalty_grads = jax.value_and_grad(regularizer)(state.params)
        step_metrics = {**step_metrics, "train_objective": step_metrics["train_loss"] + penalty}
        return Gradients(jax.tree.map(jnp.add, grads, penalty_grads), step_metrics, model_state)

    return with_penalty


def gradient_step(gradients: GradientFn, *, norms: bool = False
                  ) -> Callable[[TrainState, dict, jax.Array], tuple[TrainState, dict]]:
    """The pure ``train_step(state, batch, rng) -> (state, metrics)`` that applies
    ``gradients`` with ``state.tx``.

    ``rng`` is the run's base key: the step uses ``fold_in(rng, state.step)``, so it never needs
    a fresh key from the caller.

    Args:
      norms: also report ``train_grad_norm`` and ``train_param_norm``, the global L2 norms
        ``sqrt(sum_i g_i^2)`` of the gradient and of the updated parameters. Off by default:
        each is one more pass over every parameter, which for a memory-bound step (a wide
        MLP on a CPU) is a tenth of its time (``benchmarks/REPORT.md``).
    """
    def train_step(state: TrainState, batch: dict, rng: jax.Array) -> tuple[TrainState, dict]:
        rng = jax.random.fold_in(rng, state.step)
        grads, step_metrics, model_state = gradients(state, batch, rng, example_count(batch))
        new_state = state.apply_gradients(grads=grads, model_state=model_state)
        if norms:
            step_metrics = {**step_metrics, "train_grad_norm": optax.tree.norm(grads),
                            "train_param_norm": optax.tree.norm(new_state.params)}
        return new_state, step_metrics

    return train_step


def make_train_step(
    loss_fn: LossFn,
    *,
    regularizer: Callable[[Any], jax.Array] | None = None,
    metrics: MetricFns | None = None,
    axis_name: str | None = None,
    microbatches: int = 1,
    norms: bool = False,
) -> Callable[[TrainState, dict, jax.Array], tuple[TrainState, dict]]:
    """Build the pure ``train_step(state, batch, rng) -> (state, metrics)``.

    The objective is ``mean_b loss_fn(f(x_b), y_b) + regularizer(params)`` (mean over real,
    unmasked examples), minimised by one update of ``state.tx``. The step is
    ``gradient_step(penalized(across_devices(microbatched(loss_gradients(loss_fn), k))))``,
    each wrapper present only when asked for.

    Args:
      loss_fn: per-example loss ``(outputs [B, ...], targets) -> [B]``, e.g. ``jaxdl.mse``.
      regularizer: optional ``params -> scalar`` added to the objective (``penalized``).
      metrics: optional per-example metrics ``{name: fn(outputs, targets) -> [B]}``, reported
        as ``train_<name>`` (e.g. ``{"accuracy": jaxdl.accuracy}``).
      axis_name: name of a mapped device axis (``across_devices``): the update equals one
        full-batch step.
      microbatches: split the batch into this many equal micro-batches (``microbatched``).
      norms: also report the gradient's and the parameters' global L2 norms
        (``gradient_step``).

    Returns:
      ``train_step``; its metrics: ``train_loss`` (data term), ``train_objective`` (with a
      regularizer), ``train_<name>``, and with ``norms`` ``train_grad_norm`` and
      ``train_param_norm``.
    """
    gradients = microbatched(loss_gradients(loss_fn, metrics=metrics),
                             positive_int("make_train_step: microbatches", microbatches))
    if axis_name is not None:
        gradients = across_devices(gradients, axis_name)
    if regularizer is not None:
        gradients = penalized(gradients, regularizer)
    return gradient_step(gradients, norms=norms)


def make_eval_step(
    loss_fn: LossFn,
    *,
    metrics: MetricFns | None = None,
    axis_name: str | None = None,
) -> Callable[[TrainState, dict], dict]:
    """Build the pure ``eval_step(state, batch) -> metrics`` (inference mode: no dropout,
    running batch statistics).

    Returns:
      ``eval_step``; its metrics are the masked means ``eval_loss`` and ``eval_<name>`` over
      the batch (over all devices' shards when ``axis_name`` is given).
    """
    metrics = {"loss": loss_fn, **(metrics or {})}

    def eval_step(state: TrainState, batch: dict) -> dict:
        outputs, _ = apply_model(state, state.params, batch["x"], train=False)
        count = example_count(batch)
        if axis_name is not None:
            count = jax.lax.psum(count, axis_name)
        count = jnp.maximum(count, 1.0)
        result = {f"eval_{name}": masked_sum(fn(outputs, batch["y"]), batch.get("mask")) / count
                  for name, fn in metrics.items()}
        return jax.lax.psum(result, axis_name) if axis_name is not None else result

    return eval_step

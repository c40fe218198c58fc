"""The train engine: a train state and pure ``train_step`` / ``eval_step`` functions.

``train_step(state, batch, rng) -> (state, metrics)`` is a pure function: jit it at the call
site with the state donated, ``jax.jit(train_step, donate_argnums=0)``. The same function
works unchanged

* under ``jax.vmap`` over a stack of ``K`` states (``K`` seeds and/or learning rates in one
  compiled program; the learning rate lives in the optimizer state through
  ``optax.inject_hyperparams``), and
* under a named device axis (``jax.pmap(..., axis_name="data")``, ``shard_map``, or
  ``jax.vmap(..., axis_name=...)``) when built with ``axis_name=``: every device sees its
  shard of the batch and the gradients are combined so that the result equals one step on
  the full batch.

A batch is a dict ``{"x": [B, ...], "y": [B, ...], "mask": [B] (optional)}``; the mask
(1 = real example, 0 = padding) lets a last partial batch keep the compiled shape.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from flax.training import train_state

from jaxdl.compile import jit_once
from jaxdl.validate import _as_key, _positive_int

__all__ = ["TrainState", "create_train_state", "create_train_states", "set_hyperparams",
           "make_train_step", "make_eval_step"]

LossFn = Callable[[jax.Array, jax.Array], jax.Array]  # (outputs [B, ...], targets) -> [B]
MetricFns = Mapping[str, LossFn]


class TrainState(train_state.TrainState):
    """Flax's ``TrainState`` (``step``, ``params``, ``opt_state``, ``apply_fn``, ``tx``) plus:

    Attributes:
      model_state: every variable collection other than ``params`` (e.g. ``batch_stats``),
        updated by the train step through ``mutable=``; empty for stateless models.
      input_shape: the shape of one input example the model was built for, so a data set
        with the wrong feature dimension is rejected with a clear message before training.
    """

    model_state: Any = struct.field(default_factory=dict)
    input_shape: tuple[int, ...] = struct.field(pytree_node=False, default=())


def set_hyperparams(opt_state: optax.OptState, **values) -> optax.OptState:
    """Set hyperparameters held in ``optax.inject_hyperparams`` state, e.g. ``learning_rate``.

    Every ``inject_hyperparams`` state in the tree with a hyperparameter of that name is set,
    so this works for chains too. Values keep the dtype the optimizer stored.

    Raises:
      ValueError: if no such hyperparameter is found (the optimizer was not wrapped in
        ``optax.inject_hyperparams``, or the name is wrong), or a concrete value is NaN or
        inf (under ``jit``/``vmap`` values are not checked).
    """
    converted = {}
    for name, value in values.items():
        if not isinstance(value, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(value, np.float64))):
            raise ValueError(f"hyperparameter {name!r} must be finite, got {value!r}.")
        found = [v for p, v in optax.tree_utils.tree_get_all_with_path(opt_state, name)
                 if _is_injected(p)]
        if not found:
            raise ValueError(
                f"the optimizer state has no injected hyperparameter {name!r}; wrap the optimizer "
                f"as optax.inject_hyperparams(optax.adam)(learning_rate=...) to vary it per run."
            )
        # A copy: the state is donated to the train step, which must not delete the caller's array.
        converted[name] = jnp.array(value, dtype=jnp.asarray(found[0]).dtype, copy=True)
    return optax.tree_utils.tree_set(opt_state, lambda p, v: _is_injected(p), **converted)


def _is_injected(path) -> bool:
    # tree paths into InjectHyperparamsState look like (..., NamedTupleKey('hyperparams'), DictKey(name))
    return len(path) >= 2 and getattr(path[-2], "name", None) == "hyperparams"


def _check_input_shape(input_shape) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive ints, or a ValueError/TypeError saying why not."""
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(f"input_shape must be a tuple of ints (one example's shape, e.g. (40,)), "
                        f"got {type(input_shape).__name__} {input_shape!r}.")
    for d in input_shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(f"input_shape must hold ints, got {input_shape!r}.")
        if d < 1:
            raise ValueError(f"input_shape must hold positive sizes, got {tuple(input_shape)!r}.")
    return tuple(int(d) for d in input_shape)


def _init_variables(model: nn.Module, input_shape: tuple[int, ...], key):
    param_key, dropout_key = jax.random.split(key)
    return model.init({"params": param_key, "dropout": dropout_key}, jnp.zeros((1, *input_shape), jnp.float32),
                      train=False)


@functools.lru_cache(maxsize=32)
def _initialiser(model: nn.Module, input_shape: tuple[int, ...]):
    """``model.init`` as one ``jit_once`` program, kept per (equal) module and input shape.
    Op by op, every random initialiser of another shape compiled its own program at the
    default level: ``create_train_state`` took 1.8 s for the MNIST-1D MLP and 4.8 s for
    LeNet-5 in a fresh process on a 2-core CPU, and 0.55 s and 0.9 s with this one program
    (``jit_once``: same random bits, floats within the last bit)."""
    return jit_once(functools.partial(_init_variables, model, input_shape))


def create_train_state(
    model: nn.Module,
    tx: optax.GradientTransformation,
    *,
    key: jax.Array,
    input_shape: tuple[int, ...],
    **hyperparams,
) -> TrainState:
    """Initialise ``model`` on a dummy ``[1, *input_shape]`` batch and ``tx`` on its params.

    Pure in ``key`` and ``hyperparams``, so a stack of ``K`` states is
    ``jax.vmap(lambda k, lr: create_train_state(model, tx, key=k, input_shape=s, learning_rate=lr))(keys, lrs)``.
    Called outside a trace, ``model.init`` runs as one ``jit_once`` program kept per (equal)
    module and input shape: a fresh process initialises LeNet-5 in 0.9 s instead of 4.8 s.

    Args:
      model: a Flax linen module taking ``(x, *, train)``.
      tx: any optax ``GradientTransformation``.
      key: parameter-initialisation key (also seeds the init-time dropout stream).
      input_shape: shape of one example, e.g. ``(40,)``.
      **hyperparams: values for hyperparameters injected with ``optax.inject_hyperparams``
        (see ``set_hyperparams``).

    Returns:
      A ``TrainState`` with ``step == 0``.
    """
    input_shape = _check_input_shape(input_shape)
    init = functools.partial(_init_variables, model, input_shape)
    if not isinstance(key, jax.core.Tracer):  # under jit / vmap the caller's program compiles it
        key = _as_key(key)
        try:
            init = _initialiser(model, input_shape)
        except TypeError:  # a module with unhashable fields (e.g. a list): op by op
            pass
    variables = dict(init(key))
    params = variables.pop("params")
    state = TrainState.create(apply_fn=model.apply, params=params, tx=tx,
                              model_state=variables, input_shape=input_shape)
    if hyperparams:
        state = state.replace(opt_state=set_hyperparams(state.opt_state, **hyperparams))
    return state


def create_train_states(
    model: nn.Module,
    tx: optax.GradientTransformation,
    *,
    keys: jax.Array,
    input_shape: tuple[int, ...],
    **hyperparams,
) -> TrainState:
    """A stack of ``K`` train states, one per key (and per hyperparameter value), for
    ``jax.vmap``-ed training: ``jax.vmap(lambda k, ...: create_train_state(model, tx, key=k,
    ...))(keys, ...)``, compiled by ``jit_once`` (the initialiser runs once, so its compile
    time is what counts: 0.5 s instead of 2.3 s for 16 MNIST-1D MLPs on XLA:CPU).

    Args:
      keys: ``[K]`` keys.
      **hyperparams: ``[K]`` values per injected hyperparameter (see ``set_hyperparams``).

    Returns:
      a ``TrainState`` whose leaves have a leading axis of size ``K``.
    """
    k = int(jnp.shape(keys)[0])
    for name, values in hyperparams.items():
        if jnp.shape(values) != (k,):
            raise ValueError(f"hyperparameter {name!r} needs {k} values (one per key), got shape {jnp.shape(values)}.")
    init = jit_once(jax.vmap(lambda key, hp: create_train_state(model, tx, key=key, input_shape=input_shape, **hp)))
    return init(keys, {n: jnp.asarray(v) for n, v in hyperparams.items()})


def _masked_mean(values: jax.Array, mask: jax.Array | None, axis_name: str | None) -> jax.Array:
    """``sum(mask * values) / N`` with ``N`` the number of real examples on *all* devices.

    Dividing by the global count (not the local one) makes the per-device terms add up to
    the full-batch mean, so a ``psum`` over devices is exact even when shards hold different
    numbers of real examples.
    """
    return _masked_sum(values, mask) / _count(mask, values.shape[0], axis_name)


def _masked_sum(values: jax.Array, mask: jax.Array | None) -> jax.Array:
    values = values.astype(jnp.float32)
    if mask is None:
        mask = jnp.ones(values.shape[:1], jnp.float32)
    return jnp.sum(values * mask.astype(jnp.float32))


def _count(mask: jax.Array | None, size: int, axis_name: str | None) -> jax.Array:
    """The number of real examples in a batch of ``size`` (over all devices), at least 1."""
    count = jnp.sum(mask.astype(jnp.float32)) if mask is not None else jnp.float32(size)
    if axis_name is not None:
        count = jax.lax.psum(count, axis_name)
    return jnp.maximum(count, 1.0)


def _apply(state: TrainState, params, x, *, train: bool, rng=None):
    """Run the model; returns ``(outputs, new_model_state)``."""
    variables = {"params": params, **state.model_state}
    rngs = {"dropout": rng} if rng is not None else None
    if state.model_state and train:
        return state.apply_fn(variables, x, train=True, rngs=rngs, mutable=list(state.model_state))
    return state.apply_fn(variables, x, train=train, rngs=rngs), state.model_state


def _varying_axes(x) -> frozenset:
    """The mapped axes ``x`` is typed as varying over inside ``shard_map`` (empty elsewhere).

    jax 0.10 spells it ``typeof(x).manual_axis_type.varying``; earlier releases ``.vma``.
    """
    aval = jax.typeof(x)
    manual = getattr(aval, "manual_axis_type", None)
    if manual is not None:
        return frozenset(manual.varying)
    return frozenset(getattr(aval, "vma", ()))


def _device_varying(params, x: jax.Array, axis_name: str | None):
    """``params`` marked as varying over ``axis_name`` when the data ``x`` is, so their
    gradient stays per-device.

    Under ``shard_map`` with ``check_vma=True`` (its default) the batch shard is typed as
    varying over the axis and a replicated parameter as invariant; using the parameter on
    the data broadcasts it implicitly, and the transpose of that broadcast is a ``psum``:
    ``jax.grad`` would return gradients already summed over devices, and the explicit
    ``psum`` below would count them ``num_devices`` times (an 8x too large step on 8
    devices, with no error). Casting them to varying first gives per-device gradients, as
    ``pmap``, ``vmap(axis_name=...)`` and ``shard_map(check_vma=False)`` do (there nothing
    is typed as varying and nothing is cast), so every path sums them exactly once.
    """
    if axis_name is None or axis_name not in _varying_axes(x):
        return params

    def cast(p):
        if axis_name in _varying_axes(p):
            return p
        return jax.lax.pcast(p, axis_name, to="varying")

    return jax.tree.map(cast, params)


def make_train_step(
    loss_fn: LossFn,
    *,
    regularizer: Callable[[Any], jax.Array] | None = None,
    metrics: MetricFns | None = None,
    axis_name: str | None = None,
    microbatches: int = 1,
) -> Callable[[TrainState, dict, jax.Array], tuple[TrainState, dict]]:
    """Build the pure ``train_step(state, batch, rng) -> (state, metrics)``.

    The objective is ``mean_b loss_fn(f(x_b), y_b) + regularizer(params)`` (mean over real,
    unmasked examples), minimised by one update of ``state.tx``.

    Args:
      loss_fn: per-example loss ``(outputs [B, ...], targets) -> [B]``, e.g. ``jaxdl.mse``.
      regularizer: optional ``params -> scalar`` added to the objective, e.g.
        ``lambda p: 1e-4 * jaxdl.l2_penalty(p)``.
      metrics: optional per-example metrics ``{name: fn(outputs, targets) -> [B]}``, reported
        as ``train_<name>`` (e.g. ``{"accuracy": jaxdl.accuracy}``).
      axis_name: name of a mapped device axis. The batch on each device is a shard; the loss
        is normalised by the global example count and the gradients ``psum``-ed, so the update
        equals one full-batch step. Dropout masks differ per device (the rng folds in the
        device index). Non-param collections (batch statistics) are ``pmean``-ed.
      microbatches: split the batch into this many equal micro-batches and sum their
        gradients: the same update as one step on the whole batch (up to float rounding:
        ``grad(sum_i L_i) = sum_i grad(L_i)``, each ``L_i`` normalised by the whole batch's
        example count), as gradient accumulation within one step. The micro-batches are
        unrolled, not scanned, so XLA sees ``microbatches`` independent forward and backward
        passes: on a CPU, where most kernels of a small network run on one thread, its
        executor runs them side by side on the cores (LeNet-5, batch 128, on 2 cores: see
        ``benchmarks/conv_step.py``: 1.03-1.22x), for a longer compile (its first step
        1.5 -> 3.5 s with 4). The batch size must be a multiple; dropout draws each
        micro-batch's masks from its own key (``fold_in(rng, i)``); models with batch
        statistics are rejected, since each micro-batch would be normalised by its own
        statistics (ghost batch norm).

    Returns:
      ``train_step(state, batch, rng)``: ``rng`` is the run's base key; the step uses
      ``fold_in(rng, state.step)``, so it never needs a fresh key from the caller. ``metrics``
      holds scalars: ``train_loss`` (data term), ``train_objective`` (with the regularizer),
      ``train_grad_norm``, ``train_param_norm`` (global L2 norms) and ``train_<name>`` for each extra metric.
    """
    metrics = dict(metrics or {})
    microbatches = _positive_int("make_train_step: microbatches", microbatches)

    def train_step(state: TrainState, batch: dict, rng: jax.Array):
        rng = jax.random.fold_in(rng, state.step)
        num_devices = 1
        if axis_name is not None:
            rng = jax.random.fold_in(rng, jax.lax.axis_index(axis_name))
            num_devices = jax.lax.psum(1, axis_name)
        b = jnp.shape(batch["x"])[0]
        # Every micro-batch's terms are divided by the whole batch's example count, so they add
        # up to the full-batch mean; the penalty is added once.
        count = _count(batch.get("mask"), b, axis_name)
        if microbatches == 1:
            return _update(state, *_gradients(state, batch, rng, num_devices, count))
        if b % microbatches:
            raise ValueError(f"make_train_step(microbatches={microbatches}) needs a batch size divisible by "
                             f"{microbatches}, got a batch of {b}.")
        if state.model_state:
            raise ValueError(f"make_train_step(microbatches={microbatches}): the model keeps "
                             f"{sorted(state.model_state)} (e.g. batch statistics), which each micro-batch would "
                             "compute on its own examples; use microbatches=1.")
        size, total = b // microbatches, None
        for i in range(microbatches):
            part = jax.tree.map(lambda v: v[i * size:(i + 1) * size], batch)
            terms = _gradients(state, part, jax.random.fold_in(rng, i), num_devices, count, penalty=i == 0)
            total = terms if total is None else jax.tree.map(jnp.add, total, terms)
        return _update(state, *total)

    def _gradients(state, batch, rng, num_devices, count, penalty=True):
        """``(grads, metrics, model_state)`` of a batch or micro-batch, its terms divided by
        ``count`` (the whole batch's real examples, on all devices), before any cross-device sum."""
        mask = batch.get("mask")

        def mean(values):
            return _masked_sum(values, mask) / count

        def objective(params):
            outputs, new_model_state = _apply(state, params, batch["x"], train=True, rng=rng)
            data_loss = mean(loss_fn(outputs, batch["y"]))
            if regularizer is None or not penalty:
                return data_loss, (data_loss, outputs, new_model_state)
            # Each device adds 1/num_devices of the penalty so the psum adds it exactly once.
            return data_loss + regularizer(params) / num_devices, (data_loss, outputs, new_model_state)

        grads, (data_loss, outputs, new_model_state) = jax.grad(objective, has_aux=True)(
            _device_varying(state.params, batch["x"], axis_name))
        step_metrics = {"train_loss": data_loss}
        for name, fn in metrics.items():
            step_metrics[f"train_{name}"] = mean(fn(outputs, batch["y"]))
        return grads, step_metrics, new_model_state

    def _update(state, grads, step_metrics, new_model_state):
        if axis_name is not None:
            grads = jax.lax.psum(grads, axis_name)
            step_metrics = jax.lax.psum(step_metrics, axis_name)
            new_model_state = jax.lax.pmean(new_model_state, axis_name)
        if regularizer is not None:
            step_metrics["train_objective"] = step_metrics["train_loss"] + regularizer(state.params)
        step_metrics["train_grad_norm"] = optax.tree.norm(grads)
        new_state = state.apply_gradients(grads=grads, model_state=new_model_state)
        step_metrics["train_param_norm"] = optax.tree.norm(new_state.params)
        return new_state, step_metrics

    return train_step


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
    metrics = dict(metrics or {})

    def eval_step(state: TrainState, batch: dict) -> dict:
        outputs, _ = _apply(state, state.params, batch["x"], train=False)
        mask = batch.get("mask")
        result = {"eval_loss": _masked_mean(loss_fn(outputs, batch["y"]), mask, axis_name)}
        for name, fn in metrics.items():
            result[f"eval_{name}"] = _masked_mean(fn(outputs, batch["y"]), mask, axis_name)
        if axis_name is not None:
            result = jax.lax.psum(result, axis_name)
        return result

    return eval_step

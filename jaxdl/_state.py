"""The train state: parameters, optimizer state, model state, and how they are created.

``TrainState`` is Flax's, plus the non-parameter variable collections (batch statistics) and
the input shape the model was built for. ``create_train_state`` is pure in its key and
hyperparameters, so ``jax.vmap`` over it builds a stack of ``K`` states (``K`` seeds or
learning rates in one program); hyperparameters a sweep varies live in the optimizer state
through ``optax.inject_hyperparams`` (``set_hyperparams``).
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from flax.training import train_state

from jaxdl._checks import as_key
from jaxdl.cpu import jit_once
from jaxdl._precision import mixed_precision

__all__ = ["TrainState", "create_train_state", "create_train_states", "set_hyperparams", "stack_size"]


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
    """``model.init`` as one ``jit_once`` program, kept per (equal) module and input shape:
    op by op, every random initialiser of another shape would compile a program of its own
    (``jit_once``: same random bits, floats within the last bit; the saving is measured in
    ``benchmarks/REPORT.md``)."""
    return jit_once(functools.partial(_init_variables, model, input_shape))


def create_train_state(
    model: nn.Module,
    tx: optax.GradientTransformation,
    *,
    key: jax.Array,
    input_shape: tuple[int, ...],
    precision: str = "float32",
    **hyperparams,
) -> TrainState:
    """Initialise ``model`` on a dummy ``[1, *input_shape]`` batch and ``tx`` on its params.

    Pure in ``key`` and ``hyperparams``, so a stack of ``K`` states is
    ``jax.vmap(lambda k, lr: create_train_state(model, tx, key=k, input_shape=s, learning_rate=lr))(keys, lrs)``.
    Called outside a trace, ``model.init`` runs as one ``jit_once`` program kept per (equal)
    module and input shape, instead of one small program per random initialiser.

    Args:
      model: a Flax linen module taking ``(x, *, train)``.
      tx: any optax ``GradientTransformation``.
      key: parameter-initialisation key (also seeds the init-time dropout stream).
      input_shape: shape of one example, e.g. ``(40,)``.
      precision: ``"float32"`` or ``"bf16"``: the state's ``apply_fn`` computes the model's
        matmuls and convolutions as bf16 x bf16 -> float32 (``jaxdl.mixed_precision``), in
        training and evaluation; parameters, optimizer state, batch statistics, losses and
        checkpoints stay float32. ``"float16"`` is refused (it would need loss scaling).
      **hyperparams: values for hyperparameters injected with ``optax.inject_hyperparams``
        (see ``set_hyperparams``).

    Returns:
      A ``TrainState`` with ``step == 0``.
    """
    input_shape = _check_input_shape(input_shape)
    apply_fn = mixed_precision(model.apply, precision)  # checks the name before any work
    init = functools.partial(_init_variables, model, input_shape)
    if not isinstance(key, jax.core.Tracer):  # under jit / vmap the caller's program compiles it
        key = as_key(key)
        try:
            init = _initialiser(model, input_shape)
        except TypeError:  # a module with unhashable fields (e.g. a list): op by op
            pass
    variables = dict(init(key))
    params = variables.pop("params")
    state = TrainState.create(apply_fn=apply_fn, params=params, tx=tx,
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
    precision: str = "float32",
    **hyperparams,
) -> TrainState:
    """A stack of ``K`` train states, one per key (and per hyperparameter value), for
    ``jax.vmap``-ed training: ``jax.vmap(lambda k, ...: create_train_state(model, tx, key=k,
    ...))(keys, ...)``, compiled by ``jit_once`` (the initialiser runs once, so its compile
    time is what counts).

    Args:
      keys: ``[K]`` keys.
      precision: as ``create_train_state``'s.
      **hyperparams: ``[K]`` values per injected hyperparameter (see ``set_hyperparams``).

    Returns:
      a ``TrainState`` whose leaves have a leading axis of size ``K``.
    """
    k = int(jnp.shape(keys)[0])
    for name, values in hyperparams.items():
        if jnp.shape(values) != (k,):
            raise ValueError(f"hyperparameter {name!r} needs {k} values (one per key), got shape {jnp.shape(values)}.")
    init = jit_once(jax.vmap(lambda key, hp: create_train_state(model, tx, key=key, input_shape=input_shape,
                                                                precision=precision, **hp)))
    return init(keys, {n: jnp.asarray(v) for n, v in hyperparams.items()})


def stack_size(state: TrainState) -> int | None:
    """``K`` for a stack of ``K`` states built with ``jax.vmap`` (step of shape ``[K]``), else None."""
    shape = jnp.shape(state.step)
    return int(shape[0]) if len(shape) == 1 else None

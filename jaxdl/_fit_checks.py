"""The checks that turn a bad ``fit`` or ``Sweep`` call into a clear error before any step runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checks import positive_int
from jaxdl._state import TrainState, stack_size
from jaxdl.data import Dataset

__all__ = ["check_fit_inputs"]


def check_fit_inputs(state: TrainState, data: Dataset, *, batch_size, num_steps, stacked: bool,
                     **periods) -> None:
    """Validate a ``fit`` call: data type, sizes, the model's input and output widths.

    Raises:
      TypeError: ``data`` is not a ``Dataset``; sizes are not ints.
      ValueError: batch larger than the data; negative step count; a period (``eval_every``,
        ``log_every``, ...) below 1; a feature shape the model
        was not built for; a classifier whose output width cannot cover the labels; a
        ``stacked`` flag that disagrees with the state.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"fit expects a jaxdl Dataset, got {type(data).__name__}.")
    batch_size = positive_int("batch_size", batch_size)
    for name, value in periods.items():  # eval_every, log_every, ...: None means "the default"
        if value is not None:
            positive_int(name, value)
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
        raise ValueError(f"num_steps must be a non-negative int, got {num_steps!r}.")
    if batch_size > data.num_train:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {data.num_train} training examples of "
            f"{data.name!r}; use batch_size <= {data.num_train}."
        )
    k = stack_size(state)
    if stacked and k is None:
        raise ValueError("stacked=True needs a stack of states (built with jax.vmap); got a single state.")
    if not stacked and k is not None:
        raise ValueError(f"got a stack of {k} states; pass stacked=True (and one key per state).")
    if state.input_shape and tuple(state.input_shape) != data.input_shape:
        raise ValueError(
            f"the model was built for inputs of shape {tuple(state.input_shape)} but "
            f"{data.name!r} has examples of shape {data.input_shape}."
        )
    if data.is_classification:
        variables = {"params": state.params, **state.model_state}
        if stacked:  # one member's shapes, without slicing (and compiling a slice of) every leaf
            variables = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), variables)
        out = jax.eval_shape(
            lambda v, x: state.apply_fn(v, x, train=False), variables,
            jax.ShapeDtypeStruct((1, *data.input_shape), jnp.float32),
        )
        width = out.shape[-1] if out.ndim == 2 else 1
        enough = width >= data.num_classes or (width == 1 and data.num_classes <= 2)
        if not enough:
            raise ValueError(
                f"{data.name!r} has labels 0..{data.num_classes - 1} but the model outputs only "
                f"{width} logits; build it with {data.num_classes} outputs."
            )

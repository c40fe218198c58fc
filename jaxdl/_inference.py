"""Inference over a whole data set: ``evaluate`` (mean metrics) and ``predict`` (outputs).

Both cut the data into batches of one size, the last one padded (and masked), so a single
compiled shape serves any data size and every example counts exactly once.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checks import positive_int
from jaxdl._state import TrainState
from jaxdl._step import apply_model

__all__ = ["evaluate", "predict", "to_host"]


def _check_examples(name: str, state: TrainState, x, batch_size) -> tuple[int, int]:
    """``(N, batch size)`` for ``x [N, ...]`` with one example per row, or a clear error.

    Only the rank is fixed by the model's build shape: a convolutional or recurrent model may
    take other image sizes or lengths, so other shapes go to the model (``_applied``)."""
    batch_size = positive_int(f"{name}: batch_size", batch_size)
    shape = tuple(np.shape(x))
    if not shape or shape[0] == 0:
        raise ValueError(f"{name}: no examples (x has shape {shape}); x must be [N, *example shape].")
    if state.input_shape and len(shape) != len(state.input_shape) + 1:
        raise ValueError(f"{name}: the model was built for examples of shape {tuple(state.input_shape)}, but x has "
                         f"shape {shape}; x must be [N, {', '.join(map(str, state.input_shape))}] (one example "
                         f"per row).")
    return shape[0], min(batch_size, shape[0])


def _applied(name: str, state: TrainState, x, run: Callable):
    """``run()``, which applies the model to ``x``; an error it raises on examples of another
    shape than the model was built for is re-raised naming both shapes."""
    try:
        return run()
    except Exception as error:
        if not state.input_shape or tuple(np.shape(x))[1:] == tuple(state.input_shape):
            raise
        raise ValueError(f"{name}: the model was built for examples of shape {tuple(state.input_shape)} and "
                         f"failed on examples of shape {tuple(np.shape(x))[1:]} ({type(error).__name__}: "
                         f"{str(error).splitlines()[0][:300]}).") from error


def to_host(tree):
    """Device scalars (or ``[K]`` stacks) to Python floats (or lists of floats)."""
    return jax.tree.map(lambda a: np.asarray(a).tolist(), jax.device_get(tree))


def evaluate(eval_step: Callable, state: TrainState, x, y, *, batch_size: int = 1000) -> dict[str, Any]:
    """Mean metrics of ``eval_step`` over every example of ``(x, y)``.

    The data is cut into batches of ``batch_size``; the last one is padded and masked, so a
    single compiled shape serves any data size and every example counts exactly once.

    Args:
      eval_step: a *jitted* ``eval_step(state, batch) -> metrics``, e.g.
        ``jax.jit(make_eval_step(loss))``; for a stack of ``K`` states,
        ``jax.jit(jax.vmap(make_eval_step(loss), in_axes=(0, None)))``.
      state: a state, or a stack of ``K`` states.
      x: ``[N, ...]`` inputs; y: ``[N, ...]`` targets.

    Returns:
      ``{name: float}`` (``{name: [K floats]}`` for a stack of states).
    """
    n, batch_size = _check_examples("evaluate", state, x, batch_size)
    if np.shape(y)[:1] != (n,):
        raise ValueError(f"evaluate: x has {n} examples but y has shape {np.shape(y)}.")
    totals, weight = None, 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        real = stop - start
        pad = batch_size - real
        xb, yb = _pad_rows(x[start:stop], batch_size), _pad_rows(y[start:stop], batch_size)
        mask = np.concatenate([np.ones(real, np.float32), np.zeros(pad, np.float32)])
        metrics = _applied("evaluate", state, xb, lambda: eval_step(state, {"x": xb, "y": yb, "mask": mask}))
        scaled = jax.tree.map(lambda m: m * real, metrics)
        totals = scaled if totals is None else jax.tree.map(jnp.add, totals, scaled)
        weight += real
    return to_host(jax.tree.map(lambda t: t / weight, totals))


def _pad_rows(a, size: int) -> np.ndarray:
    """``a`` with its first row repeated up to ``size`` rows (padding to be masked or cut off),
    so the last partial batch keeps the compiled shape."""
    a = np.asarray(a)
    return a if len(a) == size else np.concatenate([a, np.repeat(a[:1], size - len(a), axis=0)])


@jax.jit
def _outputs(state: TrainState, x: jax.Array) -> jax.Array:
    # apply_fn is a static field of the state, so this compiles once per model and shape.
    return apply_model(state, state.params, x, train=False)[0]


def predict(state: TrainState, x, *, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs in inference mode (no dropout, running batch statistics) for every
    example of ``x``, in batches of ``batch_size`` (the last one padded, so one compiled shape).

    Returns:
      ``[N, ...]`` outputs (e.g. logits ``[N, C]``) as a host array.
    """
    n, batch_size = _check_examples("predict", state, x, batch_size)
    outputs = []
    for start in range(0, n, batch_size):
        xb = x[start:start + batch_size]
        padded = _pad_rows(xb, batch_size)
        outputs.append(np.asarray(_applied("predict", state, padded, lambda: _outputs(state, padded)))[:len(xb)])
    return np.concatenate(outputs)

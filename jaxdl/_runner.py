"""Train one configuration over several seeds at once and summarise it (what scripts call)."""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np
import optax

from jaxdl.data import Dataset
from jaxdl._fit import fit
from jaxdl._inference import evaluate
from jaxdl._state import create_train_states
from jaxdl._step import make_eval_step, make_train_step
from jaxdl._pytrees import param_count
from jaxdl._checks import int_seeds

__all__ = ["train_seeds"]


def train_seeds(
    model,
    tx: optax.GradientTransformation,
    data: Dataset,
    *,
    loss: Callable,
    seeds: Sequence[int],
    num_steps: int,
    batch_size: int,
    metrics: Mapping[str, Callable] | None = None,
    regularizer: Callable | None = None,
    workdir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    eval_every: int | None = None,
    progress: bool = True,
    description: str = "train",
    log_dir: str | os.PathLike | None = None,
    precision: str = "float32",
) -> dict[str, Any]:
    """Train ``model`` with ``tx`` from each seed, all seeds as one vmapped program (``fit``
    with ``stacked=True``: each seed has its own initialisation, data order and dropout), then
    evaluate the final parameters on every example of both splits. ``log_dir``: TensorBoard
    runs of the training (``fit``'s, one folder per seed). ``precision``: ``"bf16"`` computes the
    matmuls and convolutions in bfloat16 with float32 accumulation (``create_train_state``).

    Returns:
      A dict with ``"per_seed"`` (one dict per seed with ``seed``, ``test_loss``, ``train_loss``
      and the metrics), ``"<metric>"`` and ``"<metric>_std"`` (mean and std over seeds),
      ``"steps"``, ``"seconds"``, ``"param_count"``, ``"history"`` and ``"state"``; ``seconds``
      is the training wall time (compilation and per-epoch evaluation included, summed over
      resumed sessions).
    """
    seed_array = int_seeds("train_seeds", seeds)
    seeds = seed_array.tolist()
    pairs = jax.vmap(jax.random.split)(jax.vmap(jax.random.key)(seed_array))  # [K, 2]: init, run
    init_keys, run_keys = pairs[:, 0], pairs[:, 1]
    states = create_train_states(model, tx, keys=init_keys, input_shape=data.input_shape, precision=precision)
    eval_step = make_eval_step(loss, metrics=metrics)
    result = fit(
        states, data, make_train_step(loss, metrics=metrics, regularizer=regularizer), key=run_keys,
        num_steps=num_steps, batch_size=batch_size, eval_step=eval_step, eval_every=eval_every, workdir=workdir,
        checkpoint_every=checkpoint_every, stacked=True, progress=progress, description=description,
        log_dir=log_dir,
    )
    final_eval = jax.jit(jax.vmap(eval_step, in_axes=(0, None)))
    test = evaluate(final_eval, result.state, data.x_test, data.y_test)
    train = evaluate(final_eval, result.state, data.x_train, data.y_train)
    per_seed = []
    for i, seed in enumerate(seeds):
        row = {"seed": seed}
        for split, values in (("test", test), ("train", train)):
            for name, value in values.items():
                row[name.replace("eval_", f"{split}_")] = value[i]
        per_seed.append(row)
    summary = {name: float(np.mean([r[name] for r in per_seed])) for name in per_seed[0] if name != "seed"}
    summary.update({f"{name}_std": float(np.std([r[name] for r in per_seed])) for name in list(summary)})
    return {
        **summary,
        "per_seed": per_seed,
        "steps": int(np.asarray(result.state.step)[0]),
        "seconds": result.history[-1]["seconds"] if result.history else 0.0,
        "param_count": param_count(jax.tree.map(lambda a: a[0], result.state.params)),
        "history": result.history,
        "state": result.state,
    }

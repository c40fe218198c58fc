"""What ``fit`` does every so many steps, as small periodic actions (in the spirit of CLU's
``periodic_actions``): report progress, evaluate and record history, save a checkpoint; and
the divergence watch that every one of them consults first.

Each action fires when the number of steps done is a multiple of its period, and at the last
step. The divergence watch lives on the device (``watch_step``): every step records whether
any metric became NaN or inf, at no host synchronisation; an action reads it before it acts,
so a diverged state is never evaluated into the history or saved over a good checkpoint, and
the error names the metric and the exact step it first went bad.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checkpoint import Checkpointer
from jaxdl._inference import evaluate, to_host
from jaxdl._resume import append_history

__all__ = ["LoopState", "Periodic", "new_watch", "watch_step", "check_divergence", "ReportProgress", "RecordEvaluation",
           "SaveCheckpoint"]


def new_watch(loss_shape: tuple[int, ...] = ()) -> dict[str, jax.Array]:
    """A fresh device-side watch: no bad step yet, no bad metric, a zero loss sum."""
    return {"first_bad_step": jnp.array(-1, jnp.int32), "bad_metrics": jnp.array(0, jnp.int32),
            "loss_sum": jnp.zeros(loss_shape, jnp.float32)}


def watch_step(step_fn: Callable) -> Callable:
    """``step_fn(state, *args) -> (state, metrics)`` as ``(state, watch, step, *args) -> (state,
    watch, metrics)``: the step plus, on the device, the running loss sum and the first step at
    which any metric became NaN/inf (a bit per metric, in sorted name order)."""
    def watched(state, watch, step, *args):
        state, metrics = step_fn(state, *args)
        bits = sum(jnp.any(~jnp.isfinite(metrics[name])).astype(jnp.int32) << i
                   for i, name in enumerate(sorted(metrics)))
        newly = (watch["first_bad_step"] < 0) & (bits != 0)
        watch = {"first_bad_step": jnp.where(newly, step + 1, watch["first_bad_step"]),
                 "bad_metrics": jnp.where(newly, bits, watch["bad_metrics"]),
                 "loss_sum": watch["loss_sum"] + metrics["train_loss"]}
        return state, watch, metrics

    return watched


@dataclasses.dataclass
class LoopState:
    """What the loop has done so far; the periodic actions read it and reset its loss sum.

    Attributes:
      state: the current train state (or stack of states).
      watch: the device-side divergence watch (``new_watch``).
      metrics: the last step's metrics (device arrays).
      steps_since_record: steps summed into ``watch["loss_sum"]`` since the last record.
      checked_at: the step at which the watch was last read (one host sync per step at most).
      checkpointer: where checkpoints go, or ``None``; named in the divergence message.
    """

    state: Any
    watch: dict[str, jax.Array]
    metrics: dict[str, jax.Array] = dataclasses.field(default_factory=dict)
    steps_since_record: int = 0
    checked_at: int = -1
    checkpointer: Checkpointer | None = None


def check_divergence(loop: LoopState, done: int) -> None:
    """Raise ``FloatingPointError`` if any metric became NaN or inf by step ``done``, naming
    the metrics and the first bad step, and where the last good checkpoint is kept."""
    if loop.checked_at == done:  # logging, evaluation and checkpoint can fall on one step: sync once
        return
    loop.checked_at = done
    first_bad = int(loop.watch["first_bad_step"])
    if first_bad < 0:
        return
    bits = int(loop.watch["bad_metrics"])
    names = [name for i, name in enumerate(sorted(loop.metrics)) if bits >> i & 1]
    kept = ""
    if loop.checkpointer is not None and loop.checkpointer.latest_step() is not None:
        kept = (f" The last good checkpoint (step {loop.checkpointer.latest_step()}) is kept in "
                f"{loop.checkpointer.directory}; a rerun resumes from it.")
    raise FloatingPointError(
        f"{' and '.join(names)} became NaN or inf at step {first_bad} (noticed at step {done}); training "
        f"stopped.{kept} Lower the learning rate, or pass debug_nans=True to find the operation that produced it."
    )


class Periodic:
    """Fires at every multiple of ``every`` steps and at the last step (``every=None``: only
    at the last step)."""

    def __init__(self, every: int | None):
        self.every = every

    def due(self, done: int, num_steps: int) -> bool:
        return done == num_steps or bool(self.every) and done % self.every == 0


class ReportProgress(Periodic):
    """Every ``every`` steps: check for divergence and show the last loss on a tqdm bar."""

    def __init__(self, every: int, bar):
        super().__init__(every)
        self.bar = bar

    def __call__(self, loop: LoopState, done: int) -> None:
        check_divergence(loop, done)
        self.bar.set_postfix(loss=f"{float(np.mean(loop.metrics['train_loss'])):.4f}", refresh=False)
        self.bar.update(done - self.bar.n)


class RecordEvaluation(Periodic):
    """Every ``every`` steps: append a record to the history (and to ``workdir/history.jsonl``):
    ``step``, ``epoch``, ``train_loss`` (mean over the steps since the previous record), the
    ``eval_*`` metrics on ``eval_data`` and ``seconds`` (summed over resumed sessions)."""

    def __init__(self, every: int, *, history: list, steps_per_epoch: int | None, eval_fn: Callable | None,
                 eval_data: tuple | None, eval_batch_size: int, workdir: str | None, place: Callable, bar):
        super().__init__(every)
        self.history, self.steps_per_epoch, self.workdir, self.place, self.bar = (
            history, steps_per_epoch, workdir, place, bar)
        self.evaluate = None
        if eval_fn is not None and eval_data is not None:
            self.evaluate = lambda state: evaluate(eval_fn, state, *eval_data, batch_size=eval_batch_size)
        self.seconds_before = history[-1]["seconds"] if history else 0.0
        self.clock = time.perf_counter()

    def __call__(self, loop: LoopState, done: int) -> None:
        check_divergence(loop, done)
        entry: dict[str, Any] = {"step": done}
        if self.steps_per_epoch:
            entry["epoch"] = done / self.steps_per_epoch
        if loop.steps_since_record:
            entry["train_loss"] = to_host(loop.watch["loss_sum"] / loop.steps_since_record)
        if self.evaluate is not None:
            entry.update(self.evaluate(loop.state))
        entry["seconds"] = self.seconds_before + time.perf_counter() - self.clock
        self.history.append(entry)
        if self.workdir is not None:
            append_history(self.workdir, entry)
        loss_sum = loop.watch["loss_sum"]
        loop.watch = {**loop.watch, "loss_sum": self.place(jnp.zeros(loss_sum.shape, loss_sum.dtype))}
        loop.steps_since_record = 0
        if "eval_accuracy" in entry and "train_loss" in entry:
            self.bar.set_postfix(loss=f"{np.mean(entry['train_loss']):.4f}",
                                 test_acc=f"{np.mean(entry['eval_accuracy']):.3f}", refresh=False)


class SaveCheckpoint(Periodic):
    """Every ``every`` steps (and at the last): check for divergence, so a diverged state never
    overwrites the last good checkpoint, then save the state with the run's settings."""

    def __init__(self, every: int | None, checkpointer: Checkpointer, settings: dict[str, Any]):
        super().__init__(every)
        self.checkpointer, self.settings = checkpointer, settings

    def __call__(self, loop: LoopState, done: int) -> None:
        check_divergence(loop, done)
        self.checkpointer.save(done, loop.state, self.settings)

"""TensorBoard event files for ``fit`` (``log_dir=``), written with tensorboardX: no TensorFlow.

Every history record (each evaluation) becomes scalars at its step: ``train_loss``, the
``eval_*`` metrics, ``epoch``, ``seconds`` and the learning rate when the optimizer injects it
(``optax.inject_hyperparams``: the rate of the update that made the step, i.e. a schedule's
value at ``step - 1``); a stack of ``K`` runs writes one run folder per member
(``member_0`` ...), so TensorBoard overlays them. At the end the run's hyperparameters go to
the HParams plugin with the final metrics. Records are buffered by the writer and flushed at
each evaluation, never inside a step; only process 0 writes.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import jax
import numpy as np

from jaxdl._actions import LoopState, Periodic

__all__ = ["WriteTensorBoard", "injected_learning_rate", "member_name", "write_figures", "write_hparams", "write_sweep"]


def injected_learning_rate(opt_state) -> np.ndarray | None:
    """The ``learning_rate`` an ``optax.inject_hyperparams`` state holds (searched through
    chains), as a host array (``[K]`` for a stack), or ``None``."""
    stack = [opt_state]
    while stack:
        node = stack.pop()
        hyper = getattr(node, "hyperparams", None)
        if isinstance(hyper, Mapping) and "learning_rate" in hyper:
            return np.asarray(jax.device_get(hyper["learning_rate"]))
        if isinstance(node, (tuple, list)):
            stack.extend(node)
    return None


class WriteTensorBoard(Periodic):
    """After each history record: its scalars (and the learning rate) at its step.

    Args:
      every: the evaluation period (the same as the history's).
      log_dir: the run's folder (created).
      history: the list ``fit`` appends records to.
      members: ``K`` for a stack of runs (one folder each), ``None`` for one run.
      hparams: ``{name: number or str}`` for the HParams plugin (written by ``close``).
    """

    def __init__(self, every: int | None, log_dir: str | os.PathLike, history: list, *, members: int | None,
                 hparams: Mapping[str, Any] | None = None):
        super().__init__(every)
        from tensorboardX import SummaryWriter

        self.history, self.members, self.hparams = history, members, dict(hparams or {})
        self.writers = []
        if jax.process_index() == 0:
            folders = [os.fspath(log_dir)] if members is None else [
                os.path.join(os.fspath(log_dir), f"member_{k}") for k in range(members)]
            self.writers = [SummaryWriter(logdir=f, flush_secs=10 ** 6) for f in folders]  # flushed by us

    def _value(self, value, k: int) -> float | None:
        v = np.asarray(value, np.float64).reshape(-1)
        if v.size == 1:
            return float(v[0])
        return float(v[k]) if k < v.size else None

    def __call__(self, loop: LoopState, done: int) -> None:
        if not self.writers or not self.history or self.history[-1].get("step") != done:
            return
        entry = self.history[-1]
        rate = injected_learning_rate(getattr(loop.state, "opt_state", None))
        for k, writer in enumerate(self.writers):
            for name, value in entry.items():
                if name == "step" or not isinstance(value, (int, float, list, np.ndarray, np.number)):
                    continue
                scalar = self._value(value, k)
                if scalar is not None:
                    writer.add_scalar(name, scalar, done)
            if rate is not None:
                writer.add_scalar("learning_rate", self._value(rate, k), done)
            writer.flush()

    def close(self) -> None:
        final = self.history[-1] if self.history else {}
        for k, writer in enumerate(self.writers):
            if self.hparams:
                self._write_hparams(writer, final, k)
            writer.close()

    def _write_hparams(self, writer, final: dict, k: int) -> None:
        metrics = {f"hparam/{n}": self._value(v, k) for n, v in final.items() if n.startswith("eval_") or n == "train_loss"}
        values = {n: (v if isinstance(v, (int, float, str, bool)) else str(v)) for n, v in self.hparams.items()}
        write_hparams(writer, values, {n: v for n, v in metrics.items() if v is not None}, int(final.get("step", 0)))


def write_hparams(writer, values: Mapping[str, Any], metrics: Mapping[str, float], step: int) -> None:
    """The HParams plugin's summaries (``values``, and ``metrics`` also as scalars) at ``step``,
    through ``writer`` itself: ``SummaryWriter.add_hparams`` opens a second writer, whose event
    file can take the same name (same second, same host) and replace the first. ``step`` should
    be the run's last: a step going backwards makes TensorBoard drop ("purge") later events."""
    from tensorboardX.summary import hparams as hparams_summaries

    for summary in hparams_summaries(dict(values), dict(metrics)):
        writer.file_writer.add_summary(summary, step)
    for name, value in metrics.items():
        writer.add_scalar(name, value, step)


def member_name(hyperparams: Mapping[str, np.ndarray], k: int) -> str:
    """A run folder name from member ``k``'s hyperparameters, e.g. ``learning_rate=0.01,seed=3``."""
    return ",".join(f"{n}={float(v[k]):.4g}" if n != "seed" else f"seed={int(v[k])}"
                    for n, v in sorted(hyperparams.items()))


def write_sweep(result, log_dir: str | os.PathLike) -> list[str]:
    """TensorBoard runs for a ``SweepResult``: one folder per member, named by its
    hyperparameters (``member_name``), holding its training loss at every step, its ``eval_*``
    metrics at the evaluation steps, and its hyperparameters with the final metrics (HParams).
    Written after the sweep program, so no step waits on it; process 0 only. Returns the folders."""
    from tensorboardX import SummaryWriter

    if jax.process_index() != 0:
        return []
    folders = []
    k_members = len(result.train_loss)
    for k in range(k_members):
        folder = os.path.join(os.fspath(log_dir), member_name(result.hyperparams, k))
        with SummaryWriter(logdir=folder, flush_secs=10 ** 6) as writer:
            for step, loss in enumerate(result.train_loss[k], start=1):
                writer.add_scalar("train_loss", float(loss), step)
            for name, values in result.eval_metrics.items():
                for step, value in zip(result.eval_steps, values[k]):
                    writer.add_scalar(name, float(value), int(step))
            write_hparams(writer, {n: float(v[k]) for n, v in result.hyperparams.items()},
                          {f"hparam/{n}": float(v[k, -1]) for n, v in result.eval_metrics.items()},
                          int(result.eval_steps[-1]))
        folders.append(folder)
    return folders


def write_figures(log_dir: str | os.PathLike, paths, *, step: int = 0, hparams: Mapping[str, Any] | None = None,
                  metrics: Mapping[str, float] | None = None) -> list[str]:
    """A run's figures (PNG files) as TensorBoard images, each tagged by its file name without
    ``.png`` (``curves``), at ``step``; with ``hparams`` also the HParams plugin's summaries,
    ``metrics`` (``{name: number}``) as its metrics and scalars. Process 0 only.

    Returns:
      the tags written (none on other processes).
    """
    import matplotlib.image
    from tensorboardX import SummaryWriter

    if jax.process_index() != 0:
        return []
    tags = []
    with SummaryWriter(logdir=os.fspath(log_dir), flush_secs=10 ** 6) as writer:
        for path in sorted(map(os.fspath, paths)):
            try:
                image = np.asarray(matplotlib.image.imread(path))  # [H, W, 3 or 4], floats in [0, 1] for a PNG
            except (OSError, ValueError, SyntaxError) as error:  # PIL: OSError / SyntaxError on bad bytes
                raise ValueError(f"write_figures: cannot read {path} as an image ({error}).") from error
            if image.ndim != 3 or image.shape[-1] not in (3, 4):
                raise ValueError(f"write_figures: {path} is not an RGB or RGBA image (shape {image.shape}).")
            tag = os.path.splitext(os.path.basename(path))[0]
            writer.add_image(tag, image[..., :3], step, dataformats="HWC")
            tags.append(tag)
        if hparams:
            values = {n: (v if isinstance(v, (int, float, str, bool)) else str(v)) for n, v in hparams.items()}
            write_hparams(writer, values, dict(metrics or {}), step)
    return tags

"""Checkpoints of a ``TrainState`` with orbax's ``CheckpointManager``.

Orbax writes each step into a temporary directory and renames it when complete, so a crash
mid-write never leaves a checkpoint that looks finished. Only the pytree part of the state
(``step``, ``params``, ``opt_state``, ``model_state``) is saved, as a plain nested dict of
arrays (``flax.serialization.to_state_dict``); the model and optimizer come from the code.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from flax import serialization

__all__ = ["Checkpointer"]


class Checkpointer:
    """Save and restore a train state (and a small JSON ``meta`` dict) under ``directory``.

    Args:
      directory: where the numbered step directories go; created if missing.
      max_to_keep: how many of the most recent checkpoints to keep.
    """

    def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 3):
        self.directory = os.path.abspath(os.fspath(directory))
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            create=True,
            # Synchronous: the caller donates the state to the next train step right after
            # saving, so the write must be finished (not just scheduled) when save returns.
            enable_async_checkpointing=False,
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state, meta: dict[str, Any]) -> bool:
        """Write ``state`` as checkpoint ``step``; a no-op if that step is already saved."""
        if step in self._manager.all_steps():
            return False
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(serialization.to_state_dict(state)),
            meta=ocp.args.JsonSave(meta),
        )
        return self._manager.save(step, args=args, force=True)

    def restore(self, state, step: int | None = None):
        """Restore checkpoint ``step`` (default: the latest) into the structure of ``state``.

        Returns:
          ``(state, meta)``, or ``(state, None)`` unchanged when there is no checkpoint.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            return state, None
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, serialization.to_state_dict(state))
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()),
        )
        return serialization.from_state_dict(state, restored["state"]), dict(restored["meta"])

    def close(self) -> None:
        self._manager.close()

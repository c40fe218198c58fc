"""Checkpoints of a ``TrainState`` with orbax's ``CheckpointManager``.

Orbax writes each step into a temporary directory and renames it when complete, so a crash
mid-write never leaves a checkpoint that looks finished. Only the pytree part of the state
(``step``, ``params``, ``opt_state``, ``model_state``) is saved, as a plain nested dict of
arrays (``flax.serialization.to_state_dict``); the model and optimizer come from the code.
Nothing is unpickled: arrays are tensorstore (zarr/OCDBT) files, metadata is JSON.

Faults are survived rather than propagated: a temporary directory left by a crash mid-write
is reported and removed; a finished checkpoint that cannot be read (truncated or missing
files) is moved aside to ``<directory>.corrupt/`` with a warning and the previous one is used.
A checkpoint whose structure differs from the state being restored (another model or
optimizer) is an error that names the first mismatching leaf, never a silent fallback.
"""

from __future__ import annotations

import os
import shutil
import warnings
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from flax import serialization

from jaxdl._checks import positive_int

__all__ = ["Checkpointer", "check_structure"]


class Checkpointer:
    """Save and restore a train state (and a small JSON ``meta`` dict) under ``directory``.

    Args:
      directory: where the numbered step directories go; created if missing.
      max_to_keep: how many of the most recent checkpoints to keep.
    """

    def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 3):
        # orbax takes 0 as "keep none" and deletes every checkpoint right after writing it.
        max_to_keep = positive_int("Checkpointer: max_to_keep", max_to_keep)
        self.directory = os.path.abspath(os.fspath(directory))
        unfinished = _unfinished_writes(self.directory)
        if unfinished:
            warnings.warn(
                f"{self.directory}: unfinished checkpoint write(s) {unfinished} left by an interrupted "
                f"run; they are incomplete and will be removed.", stacklevel=2)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            create=True,
            cleanup_tmp_directories=True,
            # Synchronous: the caller donates the state to the next train step right after
            # saving, so the write must be finished (not just scheduled) when save returns.
            enable_async_checkpointing=False,
        )
        # Handlers named up front, so a fresh process can read a checkpoint's metadata (the
        # structure check) before anything has been saved or restored through this manager.
        handlers = {"state": ocp.StandardCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()}
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_handlers=handlers)

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
        """Restore checkpoint ``step`` (default: the latest readable one) into the structure
        (and the shardings) of ``state``.

        Returns:
          ``(state, meta)``, or ``(state, None)`` unchanged when there is no checkpoint.

        Raises:
          ValueError: the checkpoint's tree differs from ``state``'s (names the leaf), or the
            requested ``step`` does not exist or cannot be read.
        """
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, serialization.to_state_dict(state))
        candidates = sorted(self._manager.all_steps(), reverse=True) if step is None else [step]
        if step is not None and step not in self._manager.all_steps():
            raise ValueError(f"no checkpoint for step {step} in {self.directory}; "
                             f"available: {sorted(self._manager.all_steps())}.")
        for candidate in candidates:
            try:
                saved = self._manager.item_metadata(candidate)["state"]
            except Exception as error:  # unreadable metadata: a damaged checkpoint
                self._set_aside(candidate, error, explicit=step is not None)
                continue
            check_structure(saved, target, where=f"checkpoint {candidate} in {self.directory}")
            try:
                restored = self._manager.restore(candidate, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()))
            except Exception as error:  # truncated or missing array files
                self._set_aside(candidate, error, explicit=step is not None)
                continue
            return serialization.from_state_dict(state, restored["state"]), dict(restored["meta"])
        return state, None

    def _set_aside(self, step: int, error: Exception, *, explicit: bool) -> None:
        if explicit:
            raise ValueError(f"checkpoint {step} in {self.directory} cannot be read: "
                             f"{type(error).__name__}: {error}") from error
        quarantine = os.path.join(self.directory + ".corrupt", str(step))
        suffix = 1
        while os.path.exists(quarantine):
            quarantine, suffix = os.path.join(self.directory + ".corrupt", f"{step}-{suffix}"), suffix + 1
        os.makedirs(os.path.dirname(quarantine), exist_ok=True)
        shutil.move(os.path.join(self.directory, str(step)), quarantine)
        self._manager.reload()
        message = str(error).splitlines()[0][:300] if str(error) else ""
        warnings.warn(
            f"checkpoint {step} in {self.directory} cannot be read ({type(error).__name__}: {message}); "
            f"moved it to {quarantine} and falling back to the previous checkpoint.", stacklevel=3)

    def close(self) -> None:
        self._manager.close()


def _unfinished_writes(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        return []
    return sorted(name for name in os.listdir(directory) if ".orbax-checkpoint-tmp" in name)


def _leaf_name(path) -> str:
    return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path)


def check_structure(saved: Any, target: Any, *, where: str = "checkpoint") -> None:
    """Compare a checkpoint's tree (orbax array metadata) with the tree it is restored into.

    Raises:
      ValueError: naming the first leaf that is missing on either side or differs in shape or
        dtype, e.g. ``params/dense_1/kernel: shape (16, 2) float32 in the checkpoint, (32, 2)
        float32 in the state``.
    """
    saved_leaves = {_leaf_name(p): v for p, v in jax.tree_util.tree_leaves_with_path(saved)}
    target_leaves = {_leaf_name(p): v for p, v in jax.tree_util.tree_leaves_with_path(target)}
    missing = sorted(set(target_leaves) - set(saved_leaves))
    extra = sorted(set(saved_leaves) - set(target_leaves))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from the checkpoint: {', '.join(missing[:5])}")
        if extra:
            parts.append(f"in the checkpoint but not in the state: {', '.join(extra[:5])}")
        raise ValueError(f"{where} does not match the state being restored ({'; '.join(parts)}); "
                         f"was it written by another model or optimizer?")
    mismatches = []
    for name, want in target_leaves.items():
        have = saved_leaves[name]
        have_shape, want_shape = tuple(getattr(have, "shape", ())), tuple(np.shape(want))
        # Python scalars (a fresh TrainState's step is the int 0) have no dtype to compare.
        have_dtype, want_dtype = getattr(have, "dtype", None), getattr(want, "dtype", None)
        dtypes_differ = (have_dtype is not None and want_dtype is not None
                         and np.dtype(have_dtype) != np.dtype(want_dtype))
        if have_shape != want_shape or dtypes_differ:
            mismatches.append(f"{name} has shape {have_shape} {have_dtype or ''} in the checkpoint, "
                              f"{want_shape} {want_dtype or ''} in the state")
    if mismatches:
        # Parameters first: the optimizer state mirrors them and only repeats the news.
        mismatches.sort(key=lambda m: (not m.startswith("params/"), m))
        more = f" (and {len(mismatches) - 3} more)" if len(mismatches) > 3 else ""
        raise ValueError(f"{where} does not match the state being restored: {'; '.join(mismatches[:3])}{more}.")

"""Restoring a run from its work directory: the latest checkpoint, the settings it was started
with, and the history records that still describe it.

A work directory holds ``checkpoints/`` (``Checkpointer``) and ``history.jsonl`` (one JSON
record per evaluation). A run restarted with the same arguments continues from the latest
checkpoint; records written after that checkpoint describe steps that will be run again, so
they are dropped. A directory holding a run with other settings (key, batch size, data size)
is refused rather than silently mixed.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from jaxdl._checkpoint import Checkpointer
from jaxdl._state import TrainState

__all__ = ["HISTORY_FILE", "Restored", "restore_run", "read_history", "append_history"]

HISTORY_FILE = "history.jsonl"


class Restored(NamedTuple):
    """What ``restore_run`` found: the state to continue from (the given one when there was no
    checkpoint), the open checkpointer (``None`` without a work directory; the caller closes it)
    and the history records up to the restored step."""

    state: TrainState
    checkpointer: Checkpointer | None
    history: list[dict[str, Any]]


def read_history(workdir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records ``fit`` appended to ``workdir/history.jsonl`` (JSON lines), in order."""
    path = os.path.join(workdir, HISTORY_FILE)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def append_history(workdir: str | os.PathLike, entry: dict[str, Any]) -> None:
    """Append one record to ``workdir/history.jsonl``."""
    with open(os.path.join(workdir, HISTORY_FILE), "a") as f:
        f.write(json.dumps(entry) + "\n")


def _truncate_history(workdir: str, last_step: int) -> list[dict[str, Any]]:
    """Keep the records of steps ``<= last_step`` (rewritten atomically); returns them."""
    kept = [r for r in read_history(workdir) if r["step"] <= last_step]
    path = os.path.join(workdir, HISTORY_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)
    os.replace(tmp, path)
    return kept


def restore_run(workdir: str | os.PathLike | None, state: TrainState, settings: dict[str, Any], *,
                max_to_keep: int = 3) -> Restored:
    """Open ``workdir`` for a run of ``state`` with ``settings`` and continue where it stopped.

    Args:
      workdir: the run's directory (created if missing), or ``None`` to keep nothing on disk.
      state: the fresh state; a checkpoint is restored into its structure and shardings.
      settings: what must match for a resumed run to equal an uninterrupted one (JSON values).

    Raises:
      ValueError: ``workdir`` holds a run with other settings.
    """
    if workdir is None:
        return Restored(state, None, [])
    workdir = os.fspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    checkpointer = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=max_to_keep)
    try:
        state, saved = checkpointer.restore(state)
        if saved is not None and saved != settings:
            raise ValueError(f"{workdir} holds a run with different settings {saved} (this call: {settings}); use "
                             f"another workdir or the same key, batch size and data.")
    except BaseException:
        checkpointer.close()
        raise
    if saved is not None:
        return Restored(state, checkpointer, _truncate_history(workdir, checkpointer.latest_step()))
    if os.path.exists(os.path.join(workdir, HISTORY_FILE)):
        return Restored(state, checkpointer, _truncate_history(workdir, -1))  # no checkpoint: nothing counts
    return Restored(state, checkpointer, [])

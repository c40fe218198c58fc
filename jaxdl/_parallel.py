"""Data parallelism with JAX's own SPMD: a ``Mesh`` over a ``data`` axis, the batch sharded
along it, the train state replicated, and one ``jax.jit``.

The train step itself does not change: XLA's SPMD partitioner splits the batch computation
over the devices and inserts the all-reduce of the gradients (the mean over the global batch
is a sum over shards). The same code runs on

* one host with several devices (GPUs, TPU cores, or ``--xla_force_host_platform_device_count``
  fake CPU devices): ``jax.devices()`` lists them all;
* several hosts (a GPU cluster or a TPU pod slice): every process runs the same script after
  ``jax.distributed.initialize()`` (arguments found from the cluster environment on TPU, SLURM
  and Open MPI; or pass ``coordinator_address``, ``num_processes``, ``process_id``); then
  ``jax.devices()`` lists the devices of every process, the mesh spans them, and each
  process feeds only its own slice of the global batch (``shard_batch``).

With several fake CPU devices in one process, keep one step in flight in loops of your own
(``jax.block_until_ready`` on each step's output): jaxlib 0.10.2's in-process CPU all-reduce
deadlocked with many queued steps (README, "Many devices, many hosts"); ``fit`` does this.

The explicit-collective alternative (``make_train_step(..., axis_name="data")`` under
``jax.pmap`` or ``jax.shard_map``) gives the same numbers; see ``jaxdl.train``.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["DATA_AXIS", "data_mesh", "replicate", "shard_batch", "batch_sharding", "replicated"]

DATA_AXIS = "data"


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-dimensional ``Mesh`` with axis ``"data"`` over ``devices`` (default: all devices
    of all processes, ``jax.devices()``)."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("data_mesh needs at least one device.")
    return Mesh(np.array(devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    """Every device holds the whole array (parameters, optimizer state)."""
    return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """The leading (example) axis split over ``"data"``. (Under ``jax.vmap`` over a stack of
    runs, a constraint with this sharding applies to the per-run batch axis.)"""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def _global_array(value, sharding: NamedSharding) -> jax.Array:
    if jax.process_count() == 1:
        return jax.device_put(value, sharding)
    # Several processes: each supplies the part its own devices hold (all of it when replicated).
    return jax.make_array_from_process_local_data(sharding, np.asarray(value))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """``tree`` copied onto every device of ``mesh`` (every process must pass the same values)."""
    sharding = replicated(mesh)
    return jax.tree.map(lambda a: _global_array(a, sharding), tree)


def shard_batch(local_batch: Any, mesh: Mesh) -> Any:
    """The global batch from each process's local part, split over ``"data"``.

    With one process, ``local_batch`` is the whole batch. With ``P`` processes each passes its
    own ``[B / P, ...]`` slice (process ``i`` holds examples ``i B/P ... (i+1) B/P - 1`` when the
    devices are ordered by process, as ``jax.devices()`` is), and the result is one
    ``[B, ...]`` array (``jax.make_array_from_process_local_data``).
    """
    sharding = batch_sharding(mesh)

    def place(a):
        a = np.asarray(a)
        if a.ndim == 0:
            raise ValueError("shard_batch: every leaf of the batch needs a leading example axis.")
        return jax.make_array_from_process_local_data(sharding, a)

    return jax.tree.map(place, local_batch)

"""One batching path for ``fit`` and ``Sweep``: epochs of shuffled mini-batches, padded and masked.

Epoch ``e`` visits the ``N`` training examples in the order
``jax.random.permutation(fold_in(data_key, e), N)``, cut into ``steps_per_epoch`` batches of
``B``. The last partial batch (``N mod B`` examples) is padded to ``B`` with masked-out
examples, so every step has the compiled shape and every example is seen exactly once per
epoch; ``drop_last=True`` skips it instead. Orders are pure functions of ``(key, epoch)``,
which is what makes a resumed run bitwise equal to an uninterrupted one.
"""

from __future__ import annotations

import functools
from typing import Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checks import positive_int
from jaxdl.cpu import jit_once

__all__ = ["EpochLayout", "epoch_layout", "epoch_order", "epoch_orders", "batch_schedule", "iterate_batches"]


class EpochLayout(NamedTuple):
    """How ``num_examples`` examples fill the batches of one epoch.

    Attributes:
      num_examples: ``N``.
      batch_size: ``B``.
      steps_per_epoch: ``ceil(N / B)``, or ``floor(N / B)`` with ``drop_last``.
      padded: ``steps_per_epoch * B``, the length of one epoch's (padded or cut) order.
    """

    num_examples: int
    batch_size: int
    steps_per_epoch: int
    padded: int

    def epochs(self, num_steps: int) -> int:
        """The number of epochs that ``num_steps`` steps touch."""
        return -(-num_steps // self.steps_per_epoch)

    def mask(self) -> np.ndarray:
        """``[padded]`` float32: 1 for a real example, 0 for padding."""
        return (np.arange(self.padded) < self.num_examples).astype(np.float32)


def epoch_layout(num_examples: int, batch_size: int, *, drop_last: bool = False) -> EpochLayout:
    """The ``EpochLayout`` of ``num_examples`` in batches of ``batch_size``."""
    num_examples = positive_int("num_examples", num_examples)
    batch_size = positive_int("batch_size", batch_size)
    steps = num_examples // batch_size if drop_last else -(-num_examples // batch_size)
    return EpochLayout(num_examples, batch_size, steps, steps * batch_size)


def epoch_order(data_key: jax.Array, epoch, num_examples: int, padded_size: int) -> jax.Array:
    """Example indices of one epoch: ``permutation(fold_in(data_key, epoch), N)``, padded (with
    index 0, to be masked out) or cut to ``padded_size``.

    Returns:
      ``[padded_size]`` int32 indices.
    """
    perm = jax.random.permutation(jax.random.fold_in(data_key, epoch), num_examples)
    return jnp.pad(perm, (0, max(padded_size - num_examples, 0)))[:padded_size]


@functools.lru_cache(maxsize=32)
def epoch_orders(layout: EpochLayout, stacked: bool = False):
    """The compiled ``(data_key, epoch) -> [padded]`` order of ``layout`` (``[K, padded]`` for
    ``K`` keys when ``stacked``): a ``jit_once`` program, since it runs once per epoch."""
    order = functools.partial(epoch_order, num_examples=layout.num_examples, padded_size=layout.padded)
    return jit_once(jax.vmap(order, in_axes=(0, None)) if stacked else order)


def _schedule_indices(key: jax.Array, layout: EpochLayout, num_steps: int) -> jax.Array:
    epochs = jnp.arange(layout.epochs(num_steps))
    orders = jax.vmap(lambda e: epoch_order(key, e, layout.num_examples, layout.padded))(epochs)
    return orders.reshape(-1, layout.batch_size)[:num_steps]


@functools.cache
def _schedule_from_key():
    # Built on first use, not at import: jit_once reads the backend, which import must not start.
    return jit_once(_schedule_indices, static_argnums=(1, 2))


@functools.cache
def schedule_program(sharding=None):
    """``(data_seed, layout, num_steps) -> [S, B]`` int32 indices of every batch of a run
    (``layout`` and ``num_steps`` static), as one ``jit_once`` program placed with ``sharding``."""
    def plan(data_seed, layout, num_steps):
        return _schedule_indices(jax.random.key(data_seed), layout, num_steps)

    return jit_once(plan, static_argnums=(1, 2), out_shardings=sharding)


def schedule_mask(layout: EpochLayout, num_steps: int) -> np.ndarray:
    """``[S, B]`` float32 mask of every batch of a run (1 = real example)."""
    return np.tile(layout.mask(), layout.epochs(num_steps)).reshape(-1, layout.batch_size)[:num_steps]


def batch_schedule(key: jax.Array, num_examples: int, batch_size: int, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and mask of every batch of a run, in the same epoch order as ``fit``.

    Returns:
      ``(indices [S, B] int32, mask [S, B] float32)``; a last partial batch of each epoch is
      padded and masked, so every example is used exactly once per epoch.
    """
    layout = epoch_layout(positive_int("batch_schedule: num_examples", num_examples),
                          positive_int("batch_schedule: batch_size", batch_size))
    num_steps = positive_int("batch_schedule: num_steps", num_steps)
    indices = _schedule_from_key()(key, layout, num_steps)
    return np.asarray(indices, np.int32), schedule_mask(layout, num_steps)


def iterate_batches(x, y, *, key: jax.Array, batch_size: int, num_steps: int, start: int = 0,
                    drop_last: bool = False) -> Iterator[dict]:
    """Host batches ``{"x": [B, ...], "y": [B, ...], "mask": [B]}`` of steps ``start ..
    num_steps - 1``, in ``fit``'s data order: what ``fit`` trains on when given a ``Dataset``,
    as an iterator (e.g. to feed a data-parallel loop or to check a pipeline)."""
    layout = epoch_layout(len(x), batch_size, drop_last=drop_last)
    mask, order, order_epoch = layout.mask(), None, -1
    for step in range(start, num_steps):
        epoch, index = divmod(step, layout.steps_per_epoch)
        if epoch != order_epoch:
            order, order_epoch = np.asarray(epoch_orders(layout)(key, epoch)), epoch
        rows = slice(index * batch_size, (index + 1) * batch_size)
        yield {"x": np.asarray(x)[order[rows]], "y": np.asarray(y)[order[rows]], "mask": mask[rows]}

"""The training loop: ``fit`` in named parts.

``fit`` is the only impure part of jaxdl: it owns the progress bar, the files in the work
directory and the Python loop. Everything it runs on the device is the pure ``train_step``
and ``eval_step`` it is given, jitted here (the call site) with the state donated. Its parts:

* ``restore_run`` (``_resume``): the latest checkpoint, the settings check, the history;
* a data source: an in-memory ``Dataset`` kept on the device and batched by the one
  batching path (``_batching``), or any iterator of batches;
* ``compiled_steps``: the jitted step (with the device-side divergence watch) and eval step,
  cached so that a second ``fit`` with the same step and sizes compiles nothing;
* the periodic actions (``_actions``): progress, evaluation and history, checkpoints.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxdl._actions import LoopState, RecordEvaluation, ReportProgress, SaveCheckpoint, new_watch, watch_step
from jaxdl._batching import EpochLayout, epoch_layout, epoch_orders
from jaxdl._checks import as_key, positive_int
from jaxdl._fit_checks import check_fit_inputs
from jaxdl._parallel import batch_sharding, data_mesh, replicate, replicated
from jaxdl._resume import restore_run
from jaxdl._state import TrainState, stack_size
from jaxdl.data import Dataset

__all__ = ["fit", "FitResult", "compiled_steps"]


class FitResult(NamedTuple):
    """What ``fit`` returns: the final state and one history record per evaluation."""

    state: TrainState
    history: list[dict[str, Any]]


@functools.lru_cache(maxsize=16)
def compiled_steps(train_step: Callable, eval_step: Callable | None, batch_size: int | None, stacked: bool, mesh,
                   debug_nans: bool, options: tuple = ()) -> tuple[Callable, Callable | None]:
    """The jitted ``(train_fn, eval_fn)`` that ``fit`` runs, cached on everything they close
    over, so a second ``fit`` with the same step and sizes (a resumed run, another seed, a
    warm-up) reuses the compiled programs.

    ``train_fn(state, watch, step, step_key, *data)`` is one step with the divergence watch
    (``watch_step``). With a ``batch_size``, ``data`` is ``(x_all, y_all, order, mask,
    batch_index)``: the batch is gathered on the device from the resident training set; with
    ``batch_size=None`` it is the batch itself.
    """
    def step_on(state, step_key, *data):
        batch = _gather(*data, batch_size) if batch_size is not None else data[0]
        if mesh is not None:
            # Split the batch over the devices; XLA partitions the step and all-reduces the grads.
            batch = jax.lax.with_sharding_constraint(batch, batch_sharding(mesh))
        return train_step(state, batch, step_key)

    jit = functools.partial(jax.jit, compiler_options=dict(options) or None)
    if stacked:  # members have their own key and (with a Dataset) their own order; data is shared
        data_axes = (None, None, 0, None, None) if batch_size is not None else (None,)
        step_on = jax.vmap(step_on, in_axes=(0, 0, *data_axes))
        eval_step = jax.vmap(eval_step, in_axes=(0, None)) if eval_step else None
    watched = watch_step(step_on)
    # debug_nans re-runs a failing step op by op on its inputs, which donation would have freed.
    donate = () if debug_nans else (0, 1)
    shardings = {"out_shardings": replicated(mesh)} if mesh is not None else {}
    return jit(watched, donate_argnums=donate, **shardings), jit(eval_step) if eval_step else None


def _gather(x_all, y_all, order, mask, batch_index, batch_size: int) -> dict:
    idx = jax.lax.dynamic_slice_in_dim(order, batch_index * batch_size, batch_size)
    return {"x": x_all[idx], "y": y_all[idx],
            "mask": jax.lax.dynamic_slice_in_dim(mask, batch_index * batch_size, batch_size)}


class _Placement:
    """The devices a run trains on: one, or a ``Mesh`` over a ``data`` axis (data parallel)."""

    def __init__(self, devices: Sequence[jax.Device] | None):
        self.devices = list(jax.devices() if devices is None else devices)
        if not self.devices:
            raise ValueError("fit: devices is empty; pass at least one device (or None for all).")
        self.mesh = data_mesh(self.devices) if len(self.devices) > 1 else None
        # Several CPU devices in one process (--xla_force_host_platform_device_count): jaxlib
        # 0.10.2's in-process all-reduce can deadlock when many steps are queued; one step in
        # flight at a time avoids it, at little cost on a CPU.
        self.one_in_flight = self.mesh is not None and self.devices[0].platform == "cpu"

    def put(self, tree):
        """Commit ``tree`` where the step's outputs live: an uncommitted input would be a
        different jit cache key from the committed one the step returns, and compile twice."""
        return replicate(tree, self.mesh) if self.mesh is not None else jax.device_put(tree, self.devices[0])


class _InMemory:
    """Batches of a ``Dataset`` held on the device: per epoch one order, per step a slice."""

    def __init__(self, data: Dataset, layout: EpochLayout, data_keys: jax.Array, stacked: bool, place: Callable):
        self.layout, self.data_keys, self.place = layout, data_keys, place
        self.order_of_epoch = epoch_orders(layout, stacked)
        self.resident = place((jnp.asarray(data.x_train), jnp.asarray(data.y_train), jnp.asarray(layout.mask())))
        self.order, self.order_epoch = None, -1

    def __call__(self, step: int) -> tuple:
        epoch, batch_index = divmod(step, self.layout.steps_per_epoch)
        if epoch != self.order_epoch:
            self.order, self.order_epoch = self.place(self.order_of_epoch(self.data_keys, epoch)), epoch
        x_all, y_all, mask = self.resident
        return x_all, y_all, self.order, mask, batch_index


class _FromIterator:
    """Batches from a user's iterator: ``next(batches)`` for every step that is run."""

    def __init__(self, batches: Iterable[dict], place: Callable):
        self.batches, self.place = iter(batches), place

    def __call__(self, step: int) -> tuple:
        try:
            batch = next(self.batches)
        except StopIteration:
            raise ValueError(f"fit: the batch iterator ended before step {step + 1}; give it at least num_steps "
                             f"batches (from the resumed step on).") from None
        if not isinstance(batch, Mapping) or "x" not in batch or "y" not in batch:
            raise TypeError(f"fit: each batch must be a dict with 'x' and 'y' (and optionally 'mask'), got "
                            f"{type(batch).__name__}.")
        return (self.place(dict(batch)),)


def _keys_and_settings(state: TrainState, key, stacked: bool, **settings) -> tuple[jax.Array, dict]:
    """The run's key(s), checked against the state, and the settings a resume must match."""
    keys = as_key(key)
    k = stack_size(state)
    if stacked and keys.shape != (k,):
        raise ValueError(f"stacked training of {k} states needs {k} keys, got key shape {keys.shape}.")
    if not stacked and keys.shape != ():
        raise ValueError(f"expected a single key, got shape {keys.shape}; stacked=True takes one per state.")
    return keys, {"key": np.asarray(jax.random.key_data(keys)).tolist(), **settings}


def _check_iterator_inputs(state: TrainState, stacked: bool, num_steps, eval_data, **periods) -> None:
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
        raise ValueError(f"num_steps must be a non-negative int, got {num_steps!r}.")
    for name, value in periods.items():
        if value is not None:
            positive_int(name, value)
    if stacked != (stack_size(state) is not None):
        raise ValueError("stacked=True needs a stack of states (built with jax.vmap), and a stack needs "
                         "stacked=True.")
    if eval_data is not None and (not isinstance(eval_data, (tuple, list)) or len(eval_data) != 2):
        raise TypeError("fit: eval_data must be a pair (x_test, y_test).")


def _run_loop(train_fn: Callable, source: Callable, loop: LoopState, actions: list, step_keys: jax.Array, *,
              start: int, num_steps: int, one_in_flight: bool) -> None:
    """Steps ``start .. num_steps - 1``, then every action that is due after each."""
    for step in range(start, num_steps):
        loop.state, loop.watch, loop.metrics = train_fn(loop.state, loop.watch, step, step_keys, *source(step))
        if one_in_flight:
            jax.block_until_ready(loop.watch)
        loop.steps_since_record += 1
        for action in actions:
            if action.due(step + 1, num_steps):
                action(loop, step + 1)


def fit(
    state: TrainState,
    data: Dataset | Iterable[dict],
    train_step: Callable,
    *,
    key: jax.Array,
    num_steps: int,
    batch_size: int | None = None,
    eval_step: Callable | None = None,
    eval_every: int | None = None,
    eval_batch_size: int = 1000,
    eval_data: tuple | None = None,
    workdir: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    max_to_keep: int = 3,
    stacked: bool = False,
    drop_last: bool = False,
    progress: bool = True,
    log_every: int = 50,
    description: str = "train",
    devices: Sequence[jax.Device] | None = None,
    debug_nans: bool = False,
    compiler_options: Mapping[str, Any] | None = None,
    log_dir: str | os.PathLike | None = None,
    hparams: Mapping[str, Any] | None = None,
) -> FitResult:
    """Train ``state`` for ``num_steps`` steps of mini-batch gradient descent.

    Data: a ``Dataset`` is kept on the device and visited in epochs (``jaxdl._batching``):
    epoch ``e`` in the order ``jax.random.permutation(fold_in(data_key, e), N)`` cut into
    batches of ``batch_size``, the last partial batch padded and masked (``drop_last=True``
    skips it). Any other iterable is an input pipeline of batches ``{"x": [B, ...], "y": [B,
    ...], "mask": [B] (optional)}``: ``fit`` takes one batch per step it runs (a resumed run
    takes the batches of the remaining steps, so the iterator must start there), and
    evaluates on ``eval_data=(x_test, y_test)``.

    Evaluation runs every ``eval_every`` steps (default: each epoch; with an iterator, only at
    the end) and at the end; each appends a record to the history (and to
    ``workdir/history.jsonl``): ``step``, ``epoch``, ``train_loss`` (mean over the steps since
    the previous record), ``eval_*`` metrics and ``seconds``.

    Resume: with a ``workdir``, checkpoints go to ``workdir/checkpoints`` every
    ``checkpoint_every`` steps and at the end, and a later call with the same arguments starts
    from the latest one. The step's randomness is ``fold_in(key, step)`` and the data order a
    function of ``(key, epoch)``, so the resumed run is bitwise identical to an uninterrupted
    one on CPU. A workdir holding a run with another key, batch size or data size is refused.

    Args:
      state: a ``TrainState``, or a stack of ``K`` of them (``stacked=True``).
      data: a ``Dataset``, or an iterable of batches.
      train_step: the pure ``train_step(state, batch, rng)`` from ``make_train_step``; it is
        jitted (and vmapped when ``stacked``) here.
      key: the run's key; with ``stacked``, ``K`` keys (``jax.random.split(key, K)``), so every
        member has its own data order and dropout masks.
      num_steps: total number of steps, counted from step 0 (a resumed run does the rest).
      batch_size: examples per step, ``1 <= B <= N`` (a ``Dataset`` only).
      eval_step: the pure ``eval_step(state, batch)`` from ``make_eval_step``, or None.
      eval_data: ``(x, y)`` to evaluate on; default the ``Dataset``'s test split.
      workdir: directory for checkpoints and the history; None keeps nothing on disk.
      stacked: train a stack of ``K`` states in one program with ``jax.vmap``.
      progress: show a tqdm bar with the loss (refreshed every ``log_every`` steps).
      devices: the devices to train on (default ``jax.devices()``). With more than one,
        training is data parallel: a ``Mesh`` over a ``data`` axis, each batch split along it,
        the state and the training set replicated, one ``jax.jit``; the result equals the
        one-device run up to float rounding (the gradient all-reduce's summation order).
      debug_nans: run under ``jax.debug_nans`` (slow; for debugging).
      compiler_options: passed to ``jax.jit`` for the train and eval steps.
      log_dir: write TensorBoard event files there (``jaxdl._tensorboard``, needs tensorboardX):
        every history record's scalars and the learning rate at its step, one folder per
        member when ``stacked``; ``hparams`` (a dict) go to the HParams plugin at the end.

    Returns:
      ``FitResult(state, history)``.

    Raises:
      ValueError / TypeError: bad data, sizes or a model that does not fit the data (before
        any training); FloatingPointError: a training metric became NaN or inf (the message
        names it and the first bad step; the last good checkpoint stays in ``workdir``).
    """
    in_memory = isinstance(data, Dataset)
    if not in_memory and (isinstance(data, (str, bytes, tuple, Mapping, np.ndarray, jax.Array))
                          or not isinstance(data, Iterable)):
        raise TypeError(f"fit expects a jaxdl Dataset or an iterable of batches {{'x': ..., 'y': ...}}, got "
                        f"{type(data).__name__}.")
    periods = dict(eval_every=eval_every, log_every=log_every, checkpoint_every=checkpoint_every,
                   eval_batch_size=eval_batch_size, max_to_keep=max_to_keep)
    if in_memory:
        check_fit_inputs(state, data, batch_size=batch_size, num_steps=num_steps, stacked=stacked, **periods)
        layout = epoch_layout(data.num_train, batch_size, drop_last=drop_last)
        keys, settings = _keys_and_settings(state, key, stacked, batch_size=int(batch_size), num_train=data.num_train,
                                            drop_last=bool(drop_last))
        eval_data = (data.x_test, data.y_test) if eval_data is None else eval_data
    else:
        _check_iterator_inputs(state, stacked, num_steps, eval_data, **periods)
        layout = None
        keys, settings = _keys_and_settings(state, key, stacked, batch_size=None)
    placement = _Placement(devices)
    # A fresh TrainState's step is the Python int 0 (weakly typed in jit); a restored one is
    # int32. One dtype for both, so a fresh and a resumed run share the compiled step. Placed
    # before the restore, so restored arrays take the same sharding.
    state = placement.put(state.replace(step=jnp.asarray(state.step, jnp.int32)))
    state, checkpointer, history = restore_run(workdir, state, settings, max_to_keep=max_to_keep)
    try:
        return _train(state, data, train_step, keys, layout, placement, checkpointer, history, settings,
                      num_steps=num_steps, eval_step=eval_step, eval_every=eval_every, eval_data=eval_data,
                      eval_batch_size=eval_batch_size, workdir=workdir, checkpoint_every=checkpoint_every,
                      stacked=stacked, progress=progress, log_every=log_every, description=description,
                      debug_nans=debug_nans, compiler_options=compiler_options, log_dir=log_dir,
                      hparams=hparams)
    finally:
        if checkpointer is not None:
            checkpointer.close()


def _train(state, data, train_step, keys, layout, placement, checkpointer, history, run_settings, *, num_steps,
           eval_step, eval_every, eval_data, eval_batch_size, workdir, checkpoint_every, stacked, progress,
           log_every, description, debug_nans, compiler_options, log_dir=None, hparams=None) -> FitResult:
    """``fit`` after its checks and the restore: build the source, the programs and the actions,
    and run the loop."""
    # Two independent streams per run: one orders the data, one is the step's rng.
    pairs = jax.vmap(jax.random.split)(keys) if stacked else jax.random.split(keys)
    data_keys, step_keys = pairs[..., 0], pairs[..., 1]
    if layout is not None:
        source = _InMemory(data, layout, data_keys, stacked, placement.put)
        eval_every = eval_every or layout.steps_per_epoch
    else:
        source = _FromIterator(data, placement.put)
    settings = (train_step, eval_step, layout.batch_size if layout else None, stacked, placement.mesh,
                bool(debug_nans), tuple(sorted((compiler_options or {}).items())))
    try:
        train_fn, eval_fn = compiled_steps(*settings)
    except TypeError:  # an unhashable step (a callable object): build without the cache
        train_fn, eval_fn = compiled_steps.__wrapped__(*settings)
    start = int(np.asarray(state.step).reshape(-1)[0])
    bar = tqdm(total=num_steps, initial=min(start, num_steps), disable=not progress, desc=description,
               dynamic_ncols=True, leave=True)
    loop = LoopState(state, placement.put(new_watch((stack_size(state),) if stacked else ())),
                     checkpointer=checkpointer)
    actions = [ReportProgress(log_every, bar),
               RecordEvaluation(eval_every, history=history, steps_per_epoch=layout and layout.steps_per_epoch,
                                eval_fn=eval_fn, eval_data=eval_data, eval_batch_size=eval_batch_size,
                                workdir=workdir and os.fspath(workdir), place=placement.put, bar=bar)]
    if checkpointer is not None:
        actions.append(SaveCheckpoint(checkpoint_every, checkpointer, run_settings))
    board = None
    if log_dir is not None:
        from jaxdl._tensorboard import WriteTensorBoard

        board = WriteTensorBoard(eval_every, log_dir, history, members=stack_size(state) if stacked else None,
                                 hparams=hparams)
        actions.insert(2, board)  # right after the record it writes
    try:
        with jax.debug_nans(bool(debug_nans)):
            _run_loop(train_fn, source, loop, actions, step_keys, start=start, num_steps=num_steps,
                      one_in_flight=placement.one_in_flight)
    finally:
        bar.close()
        if board is not None:
            board.close()
    return FitResult(loop.state, history)

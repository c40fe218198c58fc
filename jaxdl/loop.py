"""The training loop: epochs of shuffled mini-batches, evaluation, history, checkpoints.

``fit`` is the only impure part of jaxdl: it owns the progress bar, the files in the work
directory and the Python loop. Everything it runs on the device is the pure ``train_step``
and ``eval_step`` it is given, jitted here (the call site) with the state donated.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxdl import host_random
from jaxdl.checkpoint import Checkpointer
from jaxdl.compile import jit_once
from jaxdl.data.container import Dataset
from jaxdl.parallel import batch_sharding, data_mesh, replicate, replicated
from jaxdl.train import TrainState, _apply
from jaxdl.validate import _as_key, _positive_int, check_fit_inputs, stack_size

__all__ = ["fit", "evaluate", "predict", "epoch_order", "FitResult", "read_history"]

HISTORY_FILE = "history.jsonl"


class FitResult(NamedTuple):
    """What ``fit`` returns: the final state and one history record per evaluation."""

    state: TrainState
    history: list[dict[str, Any]]


def _check_examples(name: str, state: TrainState, x, batch_size) -> tuple[int, int]:
    """``(N, batch size)`` for ``x [N, ...]`` with one example per row, or a clear error.

    Only the rank is fixed by the model's build shape: a convolutional or recurrent model may
    take other image sizes or lengths, so other shapes go to the model (``_applied``)."""
    batch_size = _positive_int(f"{name}: batch_size", batch_size)
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


def _host(tree):
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
    return _host(jax.tree.map(lambda t: t / weight, totals))


def _pad_rows(a, size: int) -> np.ndarray:
    """``a`` with its first row repeated up to ``size`` rows (padding to be masked or cut off),
    so the last partial batch keeps the compiled shape."""
    a = np.asarray(a)
    return a if len(a) == size else np.concatenate([a, np.repeat(a[:1], size - len(a), axis=0)])


@jax.jit
def _outputs(state: TrainState, x: jax.Array) -> jax.Array:
    # apply_fn is a static field of the state, so this compiles once per model and shape.
    return _apply(state, state.params, x, train=False)[0]


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


def epoch_order(data_key: jax.Array, epoch, num_examples: int, padded_size: int) -> jax.Array:
    """Example indices of one epoch: ``permutation(fold_in(data_key, epoch), N)``, padded (with
    index 0, to be masked out) or cut to ``padded_size`` = steps per epoch x batch size.
    ``fit`` and ``Sweep`` compute the same indices with numpy (``jaxdl.host_random``) when a
    run's orders are small (``host_orders``), which spares them a compile.

    Returns:
      ``[padded_size]`` int32 indices.
    """
    perm = jax.random.permutation(jax.random.fold_in(data_key, epoch), num_examples)
    return jnp.pad(perm, (0, max(padded_size - num_examples, 0)))[:padded_size]


# Data orders of up to this many example-epochs in all are computed with numpy
# (``host_random``: the same bits, ~0.15-0.2 us per example-epoch on a 2-core CPU, so at most
# ~0.4 s) instead of as a compiled program, whose tracing and compile take 0.1-0.35 CPU-s
# before the first step; longer runs over larger sets amortise the compile.
HOST_ORDER_LIMIT = 2**21


def host_orders(num_examples: int, epochs: int, key: jax.Array | None = None) -> bool:
    """Whether ``epochs`` data orders of ``num_examples`` (for ``key``'s PRNG) are computed on
    the host: the same indices as ``epoch_order``, without a compile."""
    return num_examples * epochs <= HOST_ORDER_LIMIT and host_random.available(key)


def read_history(workdir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records ``fit`` appended to ``workdir/history.jsonl`` (JSON lines), in order."""
    path = os.path.join(workdir, HISTORY_FILE)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _truncate_history(workdir: str, last_step: int) -> list[dict[str, Any]]:
    # Records written after the checkpoint we resume from describe steps that will be re-run.
    kept = [r for r in read_history(workdir) if r["step"] <= last_step]
    path = os.path.join(workdir, HISTORY_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in kept)
    os.replace(tmp, path)
    return kept


@functools.lru_cache(maxsize=16)
def _compiled(train_step, eval_step, batch_size: int, n: int, padded: int, stacked: bool, mesh, debug_nans: bool,
              options: tuple = ()):
    """The jitted functions ``fit`` runs, cached on everything they close over, so a second
    ``fit`` with the same step and sizes (a resumed run, another seed, a warm-up) reuses the
    compiled programs instead of tracing and compiling them again.

    Returns:
      ``(train_fn, eval_fn, order_of_epoch)``: one step on batch ``batch_index`` of an epoch
      (with the on-device divergence watch), the evaluation step, and the epoch's example order.
    """
    order_of_epoch = functools.partial(epoch_order, num_examples=n, padded_size=padded)
    jit = functools.partial(jax.jit, compiler_options=dict(options) or None)

    def step_on_batch(state, x_all, y_all, order, mask, batch_index, step_key):
        idx = jax.lax.dynamic_slice_in_dim(order, batch_index * batch_size, batch_size)
        batch = {"x": x_all[idx], "y": y_all[idx],
                 "mask": jax.lax.dynamic_slice_in_dim(mask, batch_index * batch_size, batch_size)}
        if mesh is not None:
            # Split the batch over the devices; XLA partitions the step and all-reduces the grads.
            batch = jax.lax.with_sharding_constraint(batch, batch_sharding(mesh))
        return train_step(state, batch, step_key)

    if stacked:
        step_on_batch = jax.vmap(step_on_batch, in_axes=(0, None, None, 0, None, None, 0))
        order_of_epoch = jax.vmap(order_of_epoch, in_axes=(0, None))
        eval_fn = jit(jax.vmap(eval_step, in_axes=(0, None))) if eval_step else None
    else:
        eval_fn = jit(eval_step) if eval_step else None

    def watched_step(state, watch, x_all, y_all, order, mask, batch_index, step, step_key):
        """One step plus, on the device, the running loss sum and the first step at which any
        metric became NaN/inf (a bit per metric, in sorted name order): detection costs no
        host sync, and the report names the exact step even when checked only every
        ``log_every`` steps."""
        state, metrics = step_on_batch(state, x_all, y_all, order, mask, batch_index, step_key)
        bits = sum(jnp.any(~jnp.isfinite(metrics[name])).astype(jnp.int32) << i
                   for i, name in enumerate(sorted(metrics)))
        newly = (watch["first_bad_step"] < 0) & (bits != 0)
        watch = {"first_bad_step": jnp.where(newly, step + 1, watch["first_bad_step"]),
                 "bad_metrics": jnp.where(newly, bits, watch["bad_metrics"]),
                 "loss_sum": watch["loss_sum"] + metrics["train_loss"]}
        return state, watch, metrics

    # debug_nans re-runs a failing step op by op on its inputs, which donation would have freed.
    donate = () if debug_nans else (0, 1)
    if mesh is not None:
        train_fn = jit(watched_step, donate_argnums=donate, out_shardings=replicated(mesh))
    else:
        train_fn = jit(watched_step, donate_argnums=donate)
    # The epoch order runs once per epoch: a short compile matters more than a fast run.
    return train_fn, eval_fn, jit_once(order_of_epoch)


def fit(
    state: TrainState,
    data: Dataset,
    train_step: Callable,
    *,
    key: jax.Array,
    num_steps: int,
    batch_size: int,
    eval_step: Callable | None = None,
    eval_every: int | None = None,
    eval_batch_size: int = 1000,
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
) -> FitResult:
    """Train ``state`` on ``data`` for ``num_steps`` steps of mini-batch gradient descent.

    Data order: epoch ``e`` visits the training set in the order
    ``jax.random.permutation(fold_in(data_key, e), N)`` cut into batches of ``batch_size``, so
    every example is seen exactly once per epoch. The last partial batch (``N mod B``
    examples) is padded to ``B`` with masked-out examples: it keeps the compiled shape and
    its gradient is the mean over its real examples. ``drop_last=True`` skips it instead
    (those examples are then unseen in that epoch, and different ones in the next).

    Evaluation on the test split runs every ``eval_every`` steps (default: each epoch) and at
    the end; each run appends a record to the history (and to ``workdir/history.jsonl``):
    ``step``, ``epoch``, ``train_loss`` (mean over the steps since the previous record),
    ``eval_*`` metrics and ``seconds``.

    Resume: with a ``workdir``, checkpoints go to ``workdir/checkpoints`` every
    ``checkpoint_every`` steps and at the end, and a later call with the same arguments starts
    from the latest one. Since the step's randomness is ``fold_in(key, step)`` and the data
    order a function of ``(key, epoch)``, the resumed run is bitwise identical to an
    uninterrupted one on CPU. A workdir holding a run with another key, batch size or data
    size is refused rather than silently mixed.

    Args:
      state: a ``TrainState``, or a stack of ``K`` of them (``stacked=True``).
      data: the ``Dataset``.
      train_step: the pure ``train_step(state, batch, rng)`` from ``make_train_step``; it is
        jitted (and vmapped when ``stacked``) here.
      key: the run's key; with ``stacked``, ``K`` keys (``jax.random.split(key, K)``), so every
        member has its own data order and dropout masks.
      num_steps: total number of steps, counted from step 0 (a resumed run does the rest).
      batch_size: examples per step, ``1 <= B <= N``.
      eval_step: the pure ``eval_step(state, batch)`` from ``make_eval_step``, or None.
      workdir: directory for checkpoints and the history; None keeps nothing on disk.
      stacked: train a stack of ``K`` states in one program with ``jax.vmap``.
      progress: show a tqdm bar with the loss (refreshed every ``log_every`` steps).
      devices: the devices to train on (default ``jax.devices()``: every device of every
        process). With more than one, training is data parallel: a ``Mesh`` over a ``data``
        axis, each batch split along it (any batch size; XLA pads uneven shards), the state
        and the training set replicated, one ``jax.jit``. The result equals the one-device
        run up to float rounding (summation order of the gradient all-reduce).
      debug_nans: run under ``jax.debug_nans``: the first operation that produces a NaN
        raises ``FloatingPointError`` with its traceback (slow; for debugging).
      compiler_options: passed to ``jax.jit`` for the train and eval steps, e.g.
        ``jaxdl.legacy_emitters()`` (faster banded-convolution steps on XLA:CPU).

    Returns:
      ``FitResult(state, history)``.

    Divergence: every step records on the device whether any metric (loss, gradient or
    parameter norm, ...) became NaN or inf; it is checked every ``log_every`` steps, before
    each evaluation and before each checkpoint, so a diverged state is never saved and the
    error names the metric and the exact step it first went bad.

    Raises:
      ValueError / TypeError: bad data, sizes or a model that does not fit the data (before
        any training); FloatingPointError: a training metric became NaN or inf (the message
        names it and the step; the last good checkpoint stays in ``workdir``).
    """
    check_fit_inputs(state, data, batch_size=batch_size, num_steps=num_steps, stacked=stacked,
                     eval_every=eval_every, log_every=log_every, checkpoint_every=checkpoint_every,
                     eval_batch_size=eval_batch_size, max_to_keep=max_to_keep)
    keys = _as_key(key)
    k = stack_size(state)
    if stacked and keys.shape != (k,):
        raise ValueError(f"stacked training of {k} states needs {k} keys, got key shape {keys.shape}.")
    if not stacked and keys.shape != ():
        raise ValueError(f"expected a single key, got shape {keys.shape}; stacked=True takes one per state.")

    n = data.num_train
    steps_per_epoch = n // batch_size if drop_last else math.ceil(n / batch_size)
    padded = steps_per_epoch * batch_size
    eval_every = eval_every or steps_per_epoch
    # Two independent streams per run: one orders the data, one is the step's rng.
    pairs = jax.vmap(jax.random.split)(keys) if stacked else jax.random.split(keys)
    data_keys, step_keys = pairs[..., 0], pairs[..., 1]
    meta = {
        "key": np.asarray(jax.random.key_data(keys)).tolist(),
        "batch_size": int(batch_size),
        "num_train": n,
        "drop_last": bool(drop_last),
    }

    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("fit: devices is empty; pass at least one device (or None for all).")
    mesh = data_mesh(devices) if len(devices) > 1 else None

    def place(tree):
        # Everything the step takes is committed where its outputs live: an uncommitted input
        # would be a different jit cache key from the committed one the step returns, and
        # compile the step twice.
        return replicate(tree, mesh) if mesh is not None else jax.device_put(tree, devices[0])

    # A fresh TrainState's step is the Python int 0 (weakly typed in jit); a restored one is
    # int32. One dtype for both, so a fresh and a resumed run share the compiled step. Placed
    # before the restore, so restored arrays take the same sharding.
    state = place(state.replace(step=jnp.asarray(state.step, jnp.int32)))

    history: list[dict[str, Any]] = []
    checkpointer = None
    if workdir is not None:
        workdir = os.fspath(workdir)
        os.makedirs(workdir, exist_ok=True)
        checkpointer = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=max_to_keep)
        try:
            state, saved_meta = checkpointer.restore(state)
        except BaseException:
            checkpointer.close()
            raise
        if saved_meta is not None:
            if saved_meta != meta:
                checkpointer.close()
                raise ValueError(
                    f"{workdir} holds a run with different settings {saved_meta} (this call: "
                    f"{meta}); use another workdir or the same key, batch size and data."
                )
            history = _truncate_history(workdir, checkpointer.latest_step())
        elif os.path.exists(os.path.join(workdir, HISTORY_FILE)):
            history = _truncate_history(workdir, -1)  # no checkpoint: nothing before counts

    x_train, y_train = jnp.asarray(data.x_train), jnp.asarray(data.y_train)
    mask_epoch = jnp.asarray(np.arange(padded) < n, jnp.float32)
    x_train, y_train, mask_epoch = place((x_train, y_train, mask_epoch))

    settings = (train_step, eval_step, batch_size, n, padded, stacked, mesh, bool(debug_nans),
                tuple(sorted((compiler_options or {}).items())))
    try:
        train_fn, eval_fn, order_of_epoch = _compiled(*settings)
    except TypeError:  # an unhashable step (a callable object): build without the cache
        train_fn, eval_fn, order_of_epoch = _compiled.__wrapped__(*settings)

    if host_orders(n, -(-num_steps // steps_per_epoch) * (k if stacked else 1), data_keys):
        raw_keys = np.asarray(jax.random.key_data(data_keys)).reshape(-1, 2)

        def next_order(epoch: int) -> jax.Array:
            orders = np.concatenate([host_random.epoch_orders(r, [epoch], n, padded) for r in raw_keys])
            return place(orders if stacked else orders[0])
    else:
        def next_order(epoch: int) -> jax.Array:
            return order_of_epoch(data_keys, epoch)

    # Several CPU devices in one process (--xla_force_host_platform_device_count): jaxlib
    # 0.10.2's in-process all-reduce can deadlock when many steps are queued (seen in a loop of
    # pre-placed arrays after 50-3000 steps; the process aborts after 40 s). One step in flight
    # at a time avoids it, at little cost on a CPU.
    one_in_flight = mesh is not None and devices[0].platform == "cpu"

    start = int(np.asarray(state.step).reshape(-1)[0])
    clock = time.perf_counter()
    elapsed_before = history[-1]["seconds"] if history else 0.0
    loss_shape = (k,) if stacked else ()

    def fresh_watch():
        return place({"first_bad_step": jnp.array(-1, jnp.int32), "bad_metrics": jnp.array(0, jnp.int32),
                      "loss_sum": jnp.zeros(loss_shape, jnp.float32)})

    watch, loss_count, metric_names, checked_at = fresh_watch(), 0, [], -1
    order, order_epoch = None, -1
    bar = tqdm(total=num_steps, initial=min(start, num_steps), disable=not progress,
               desc=description, dynamic_ncols=True, leave=True)

    def record(step: int) -> dict[str, Any]:
        entry: dict[str, Any] = {"step": step, "epoch": step / steps_per_epoch}
        if loss_count:
            entry["train_loss"] = _host(watch["loss_sum"] / loss_count)
        if eval_fn is not None:
            entry.update(evaluate(eval_fn, state, data.x_test, data.y_test, batch_size=eval_batch_size))
        entry["seconds"] = elapsed_before + time.perf_counter() - clock
        history.append(entry)
        if workdir is not None:
            with open(os.path.join(workdir, HISTORY_FILE), "a") as f:
                f.write(json.dumps(entry) + "\n")
        return entry

    def check_finite(done: int) -> None:
        nonlocal checked_at
        if checked_at == done:  # logging, evaluation and checkpoint can fall on one step: sync once
            return
        checked_at = done
        first_bad = int(watch["first_bad_step"])
        if first_bad < 0:
            return
        bits = int(watch["bad_metrics"])
        names = [name for i, name in enumerate(metric_names) if bits >> i & 1]
        kept = ""
        if checkpointer is not None and checkpointer.latest_step() is not None:
            kept = (f" The last good checkpoint (step {checkpointer.latest_step()}) is kept in "
                    f"{checkpointer.directory}; a rerun resumes from it.")
        raise FloatingPointError(
            f"{' and '.join(names)} became NaN or inf at step {first_bad} (noticed at step {done}); "
            f"training stopped.{kept} Lower the learning rate, or pass debug_nans=True to find "
            f"the operation that produced it."
        )

    try:
        with jax.debug_nans(bool(debug_nans)):
            for step in range(start, num_steps):
                epoch, batch_index = divmod(step, steps_per_epoch)
                if epoch != order_epoch:
                    order, order_epoch = next_order(epoch), epoch
                state, watch, metrics = train_fn(state, watch, x_train, y_train, order, mask_epoch,
                                                 batch_index, step, step_keys)
                if one_in_flight:
                    jax.block_until_ready(watch)
                metric_names = metric_names or sorted(metrics)
                loss_count += 1
                done = step + 1
                if done % log_every == 0 or done == num_steps:
                    check_finite(done)
                    bar.set_postfix(loss=f"{float(np.mean(metrics['train_loss'])):.4f}", refresh=False)
                    bar.update(done - bar.n)
                if done % eval_every == 0 or done == num_steps:
                    check_finite(done)
                    entry = record(done)
                    watch, loss_count = {**watch, "loss_sum": place(jnp.zeros(loss_shape, jnp.float32))}, 0
                    if "eval_accuracy" in entry:
                        bar.set_postfix(loss=f"{np.mean(entry['train_loss']):.4f}",
                                        test_acc=f"{np.mean(entry['eval_accuracy']):.3f}", refresh=False)
                if checkpointer is not None and (
                    (checkpoint_every and done % checkpoint_every == 0) or done == num_steps
                ):
                    check_finite(done)  # never overwrite the last good checkpoint with a diverged state
                    checkpointer.save(done, state, meta)
    finally:
        bar.close()
        if checkpointer is not None:
            checkpointer.close()
    return FitResult(state, history)

"""Hyperparameter sweeps as one compiled program, and the DeepOBS tuning protocol.

A sweep trains ``K`` configurations (learning rates x seeds, or any scalar hyperparameter
that ``optax.inject_hyperparams`` can hold) side by side: one ``jax.jit(jax.vmap(run))``
where ``run`` is a ``lax.scan`` over all training steps of one configuration. Every member
sees the *same* data stream, so the only differences between them are the ones swept.
Because the batch is shared, XLA turns each member's first layer into one wide matmul.
"""

from __future__ import annotations

import concurrent.futures
import functools
import inspect
import itertools
import json
import os
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxdl import optim
from jaxdl._batching import batch_schedule, epoch_layout, schedule_mask, schedule_program
from jaxdl._checks import int_seeds, positive_int
from jaxdl._fit_checks import check_fit_inputs
from jaxdl._precision import compute_dtype
from jaxdl._state import create_train_state
from jaxdl._step import make_eval_step, make_train_step
from jaxdl.cpu import jit_once
from jaxdl.data._container import Dataset

__all__ = ["SweepResult", "Sweep", "grid", "batch_schedule", "run_sweep", "deepobs_protocol", "best_index",
           "concatenate_results", "save_sweep",
           "plot_sweep"]


class SweepResult(NamedTuple):
    """Everything a sweep measured, as host arrays with the configuration axis first.

    Attributes:
      train_loss: ``[K, S]`` training loss of every member at every step.
      eval_steps: ``[E]`` the steps after which the test split was evaluated.
      eval_metrics: ``{name: [K, E]}``, e.g. ``eval_loss``, ``eval_accuracy``.
      hyperparams: ``{name: [K]}`` the swept values, plus ``seed``.
      seconds: wall time of the whole sweep, compilation included.
      stopped_at: ``[K]`` with ``run(..., report=)``: the step after which each member was
        stopped (its state frozen from there), ``num_steps`` for members that ran to the end.
    """

    train_loss: np.ndarray
    eval_steps: np.ndarray
    eval_metrics: dict[str, np.ndarray]
    hyperparams: dict[str, np.ndarray]
    seconds: float
    stopped_at: np.ndarray | None = None

    def final(self, name: str) -> np.ndarray:
        """``[K]`` value of metric ``name`` at the last evaluation."""
        return self.eval_metrics[name][:, -1]


def concatenate_results(parts: Sequence[SweepResult]) -> SweepResult:
    """Several ``SweepResult`` objects of the same shape (members run one program each) as one:
    members concatenated in order, ``seconds`` summed."""
    first = parts[0]
    join = lambda get: {n: np.concatenate([get(p)[n] for p in parts]) for n in get(first)}  # noqa: E731
    return first._replace(
        train_loss=np.concatenate([p.train_loss for p in parts]),
        eval_metrics=join(lambda p: p.eval_metrics), hyperparams=join(lambda p: p.hyperparams),
        seconds=sum(p.seconds for p in parts),
        stopped_at=None if first.stopped_at is None else np.concatenate([p.stopped_at for p in parts]))


def best_index(scores, mode: str) -> int:
    """The index of the best of ``scores`` (``mode`` ``"max"`` or ``"min"``); a NaN or inf
    score (a run that diverged) counts as the worst."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}.")
    scores = np.asarray(scores, np.float64)
    scores = np.where(np.isfinite(scores), scores, -np.inf if mode == "max" else np.inf)
    return int(np.argmax(scores) if mode == "max" else np.argmin(scores))


def _factory_arguments(factory) -> set[str] | None:
    """The argument names ``factory`` accepts by keyword, or None when it takes ``**kwargs``
    (or has no signature to read)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in by_keyword}


def grid(**axes: Sequence[float]) -> dict[str, np.ndarray]:
    """The Cartesian product of the given axes, flattened to ``K = prod(len(axis))`` rows.

    ``grid(learning_rate=[1e-3, 1e-2], seed=[0, 1, 2])`` gives 6 rows, seeds varying fastest.

    Returns:
      ``{name: [K]}``.
    """
    if not axes:
        raise ValueError("grid needs at least one axis, e.g. grid(learning_rate=[1e-3, 1e-2]).")
    names = list(axes)
    for name in names:
        values = np.asarray(axes[name])
        if values.ndim != 1 or len(values) == 0 or not (np.issubdtype(values.dtype, np.integer)
                                                        or np.issubdtype(values.dtype, np.floating)):
            raise ValueError(f"grid: axis {name!r} must be a non-empty list of numbers, got {axes[name]!r}.")
        if not np.isfinite(values).all():
            raise ValueError(f"grid: axis {name!r} holds NaN or inf: {axes[name]!r}.")
    rows = list(itertools.product(*(list(axes[n]) for n in names)))
    return {n: np.asarray([r[i] for r in rows]) for i, n in enumerate(names)}


def _signature(tree) -> tuple:
    """What a compiled program is specialised to: tree structure, shapes, dtypes, shardings."""
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((np.shape(a), np.result_type(a), getattr(a, "sharding", None)) for a in leaves)


class Sweep:
    """A compiled sweep program for one model, optimizer family and loss; ``run`` it on data.

    The jitted program is built once per ``Sweep``; a second ``run`` with the same shapes
    reuses the compiled executable (warm), which is what a benchmark or a tuning loop wants.

    Args:
      model: a Flax linen module.
      optimizer: an optax optimizer *factory* (``optax.adam``, ``jaxdl._optim.adam``,
        ``functools.partial(optax.sgd, momentum=0.9)``); it is wrapped in
        ``optax.inject_hyperparams`` so every swept hyperparameter lives in the state.
      loss: per-example loss ``(outputs, targets) -> [B]``.
      batch_size: examples per step.
      eval_every: evaluate the whole test split every so many steps.
      metrics: extra per-example metrics, e.g. ``{"accuracy": jaxdl.accuracy}``.
      regularizer: optional ``params -> scalar`` added to the objective.
      devices: spread the members over these devices (``jax.sharding`` along the member
        axis; data replicated), e.g. ``jax.devices()`` on a multi-GPU host. On a CPU, start
        Python with ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` to run N groups of
        members on N threads. ``K`` is split over the largest number of the devices that
        divides it. Default: one device.
      compiler_options: passed to ``jax.jit`` for the sweep program. On XLA:CPU
        ``jaxdl.cpu.legacy_emitters()`` compiles it faster and runs it slower (its optimizer
        updates, written in place, run as scalar loops: see ``jaxdl.cpu``): worth it for
        short sweeps only (``benchmarks/REPORT.md`` has the figures).
      flatten_optimizer: run the optimizer on all parameters as one vector
        (``jaxdl._optim.flattened``): the same arithmetic for an element-wise optimizer, to
        float rounding, in fewer kernels, which compile faster. Default ``None``: when ``jaxdl._optim.is_elementwise(optimizer)``. The
        members' states never leave the sweep, so only the speed and the rounding show.
      precision: ``"float32"`` or ``"bf16"`` (the members' matmuls and convolutions as bf16 x
        bf16 -> float32; ``jaxdl.create_train_state``).
    """

    def __init__(self, model, optimizer: Callable[..., optax.GradientTransformation], *, loss: Callable,
                 batch_size: int, eval_every: int, metrics: Mapping[str, Callable] | None = None,
                 regularizer: Callable | None = None, devices: Sequence[jax.Device] | None = None,
                 compiler_options: Mapping[str, Any] | None = None, flatten_optimizer: bool | None = None,
                 precision: str = "float32"):
        if isinstance(optimizer, optax.GradientTransformation) or not callable(optimizer):
            raise TypeError(f"Sweep needs an optimizer factory such as optax.adam, called with each member's "
                            f"hyperparameters, not {type(optimizer).__name__} (an optimizer already built with its "
                            f"settings, e.g. optax.adam(0.1)).")
        if not callable(loss):
            raise TypeError(f"loss must be a per-example loss (outputs, targets) -> [B] such as "
                            f"jaxdl.softmax_cross_entropy, got {type(loss).__name__} {loss!r}.")
        batch_size = positive_int("Sweep: batch_size", batch_size)
        eval_every = positive_int("Sweep: eval_every", eval_every)
        self.model, self.optimizer, self.batch_size, self.eval_every = model, optimizer, batch_size, eval_every
        self.precision = precision
        compute_dtype(precision)  # a bad name fails here, not at the first run
        self._arguments = _factory_arguments(optimizer)  # the hyperparameters it can take; None: any
        if flatten_optimizer is None:
            flatten_optimizer = optim.is_elementwise(optimizer)
        self.flatten_optimizer = bool(flatten_optimizer)
        self._factory = optim.flattened(optimizer) if self.flatten_optimizer else optimizer
        self.devices = list(devices) if devices else []
        train_step = make_train_step(loss, metrics=metrics, regularizer=regularizer)
        eval_step = make_eval_step(loss, metrics=metrics)
        # input signature -> (abstract states, initialiser, batch plan, training program), compiled
        self._executables: dict[tuple, tuple] = {}
        self._last_plan: tuple = (None, None)  # ((signature, data seed), batch indices): a pure function of them

        def period(state, step_key, x, y, indices, mask):
            """Train steps over one evaluation period's batches ``indices, mask [eval_every, batch]``."""
            def one_step(state, batch_plan):
                idx, m = batch_plan
                state, step_metrics = train_step(state, {"x": x[idx], "y": y[idx], "mask": m}, step_key)
                return state, step_metrics["train_loss"]

            return jax.lax.scan(one_step, state, (indices, mask))

        def run(state, step_key, x, y, x_test, y_test, indices, mask):
            indices = indices.reshape(mask.shape)  # [chunks, eval_every, batch]

            def one_chunk(state, chunk_plan):
                state, losses = period(state, step_key, x, y, *chunk_plan)
                return state, (losses, eval_step(state, {"x": x_test, "y": y_test}))

            _, (losses, evals) = jax.lax.scan(one_chunk, state, (indices, mask))
            return losses.reshape(-1), evals

        def chunk(state, active, step_key, x, y, x_test, y_test, indices, mask):
            """``eval_every`` steps and an evaluation; a member not ``active`` keeps its state."""
            new_state, losses = period(state, step_key, x, y, indices, mask)
            new_state = jax.tree.map(lambda n, o: jnp.where(active, n, o), new_state, state)
            return new_state, losses, eval_step(new_state, {"x": x_test, "y": y_test})

        # Data and the batch plan are shared by all members (in_axes None): one data stream.
        self._program = jax.jit(jax.vmap(run, in_axes=(0, 0, None, None, None, None, None, None)),
                                compiler_options=compiler_options)
        self._chunk_program = jax.jit(jax.vmap(chunk, in_axes=(0, 0, 0, None, None, None, None, None, None)),
                                      donate_argnums=0, compiler_options=compiler_options)

    def _init_program(self, data: Dataset, names: tuple[str, ...], hyperparams: Mapping[str, np.ndarray],
                      sharding: NamedSharding | None) -> jax.stages.Wrapped:
        """The members' initialiser ``(seeds [K], {name: [K]}) -> (states, step keys)``, both
        stacked ``[K]``: one ``jit_once`` program (see ``create_train_states``) that with a
        ``sharding`` writes each member straight onto its device."""
        tx = optax.inject_hyperparams(self._factory)(**{n: float(hyperparams[n][0]) for n in names})

        def init_members(seeds, hp):
            keys = jax.vmap(jax.random.key)(seeds)
            states = jax.vmap(lambda key, h: create_train_state(
                self.model, tx, key=key, input_shape=data.input_shape, precision=self.precision, **h))(keys, hp)
            # The key the train steps fold the step number into (dropout), apart from init's.
            return states, jax.vmap(lambda key: jax.random.fold_in(key, 1))(keys)

        return jit_once(init_members, out_shardings=sharding)

    def _compile(self, init: jax.stages.Wrapped, init_args, plan_args, shared, replicated, validate: Callable) -> tuple:
        """``(abstract states, initialiser, batch plan, training program)``, compiled;
        ``validate(abstract states)`` runs before anything but the initialiser is traced.

        The training program is traced from the states' *shapes* and compiled in a worker
        thread (XLA compiles without holding the GIL) while this thread lowers and compiles the
        initialiser and the batch plan (``jit_once`` programs). All tracing stays in the calling
        thread, under its ``jax.config`` contexts.
        """
        init_traced = init.trace(*init_args)
        states, step_keys = init_traced.out_info  # shapes, dtypes and shardings
        validate(states)
        plan_traced = schedule_program(replicated).trace(*plan_args)
        x, y, x_test, y_test, mask = shared
        lowered = self._program.trace(states, step_keys, x, y, x_test, y_test, plan_traced.out_info, mask).lower()
        with concurrent.futures.ThreadPoolExecutor(1) as worker:
            program = worker.submit(lowered.compile)
            init_exe = init_traced.lower().compile()
            plan_exe = plan_traced.lower().compile()
            return states, init_exe, plan_exe, program.result()

    def _member_values(self, hyperparams: Mapping[str, Sequence[float]], k: int) -> dict[str, np.ndarray]:
        """``{name: [K] float32}``, each name an argument of the factory, each member's values
        accepted by the factory (named errors otherwise)."""
        values = {}
        for name, v in hyperparams.items():
            if self._arguments is not None and name not in self._arguments:
                raise ValueError(f"hyperparameter {name!r} is not an argument of the optimizer factory "
                                 f"{getattr(self.optimizer, '__name__', self.optimizer)!r}; its arguments: "
                                 f"{', '.join(sorted(self._arguments))}.")
            values[name] = np.asarray(v, np.float32)
            if values[name].shape != (k,):
                raise ValueError(f"hyperparameter {name!r} has {values[name].shape} values but there are {k} "
                                 f"seeds; give one per member.")
            if not np.isfinite(values[name]).all():
                raise ValueError(f"hyperparameter {name!r} is NaN or inf for member "
                                 f"{int(np.argmax(~np.isfinite(values[name])))}: {list(v)!r}.")
        for i in range(k):
            # The factory checks its own arguments (jaxdl._optim's reject e.g. b1 = 1 for Adam)
            # only when they are host numbers, which inside the compiled sweep they are not.
            member = {name: float(values[name][i]) for name in values}
            try:
                self.optimizer(**member)
            except ValueError as e:
                raise ValueError(f"member {i} ({', '.join(f'{n}={v:g}' for n, v in member.items())}): {e}") from e
        return values

    def run(self, data: Dataset, *, hyperparams: Mapping[str, Sequence[float]], seeds: Sequence[int],
            num_steps: int, data_seed: int = 0, report: Callable | None = None,
            log_dir: str | os.PathLike | None = None) -> SweepResult:
        """Train ``K = len(seeds)`` members for ``num_steps`` steps (a multiple of ``eval_every``).

        The first run of a shape compiles the training program in a worker thread, and
        meanwhile the initialiser and the batch plan (see ``_compile``); later runs of the same
        shapes reuse them, and of the same data seed the batch plan's result.

        Args:
          data: the ``Dataset``.
          hyperparams: ``{name: [K] values}`` for arguments of the optimizer factory.
          seeds: ``[K]`` initialisation seeds (the data stream is the same for all members).
          num_steps: steps per member.
          data_seed: seed of the shared data order.
          report: ``report(step, {metric: [K]}) -> [K] bool or None``, called after every
            evaluation (the program then runs one evaluation period per call); the members it
            marks stop: their state is frozen from there on while the others go on (e.g. an
            Optuna pruner's verdicts). Same numbers as without ``report`` for members that run on.
            When every member has stopped the program ends there (their remaining evaluations
            repeat the frozen values, their remaining training losses are 0).
          log_dir: write TensorBoard runs there after the program, one folder per member named
            by its hyperparameters (``jaxdl._tensorboard.write_sweep``; needs tensorboardX).
        """
        start = time.perf_counter()
        seeds = int_seeds("Sweep.run", seeds)
        k = len(seeds)
        values = self._member_values(hyperparams, k)
        if num_steps < 1 or num_steps % self.eval_every:
            raise ValueError(f"num_steps={num_steps} must be a positive multiple of eval_every={self.eval_every}.")
        n = max((d for d in range(1, len(self.devices) + 1) if k % d == 0), default=1)
        mesh = Mesh(np.asarray(self.devices[:n]), ("members",)) if n > 1 else None
        sharding = NamedSharding(mesh, PartitionSpec("members")) if mesh else None
        names = tuple(sorted(values))
        # Host (numpy) inputs go straight onto the member sharding; jnp arrays would land on
        # one device first and be split by two more compiled programs.
        init_args = (seeds, {name: values[name] for name in names})
        chunks = num_steps // self.eval_every
        layout = epoch_layout(data.num_train, self.batch_size)
        mask = schedule_mask(layout, num_steps).reshape(chunks, self.eval_every, self.batch_size)
        shared = (data.x_train, data.y_train, data.x_test, data.y_test, mask)
        replicated = NamedSharding(mesh, PartitionSpec()) if mesh else None
        if mesh is not None:  # members sharded over n devices; the jitted program follows the data
            shared = jax.device_put(shared, replicated)
        plan_args = (np.uint32(data_seed), layout, num_steps)
        # Hyperparameter names (the tree of init_args), input shape and mesh (x's shape and
        # sharding) fix the initialiser too.
        signature = (_signature(init_args), _signature(shared), plan_args[1:])
        validate = functools.partial(check_fit_inputs, data=data, batch_size=self.batch_size, num_steps=num_steps,
                                     stacked=True)
        if signature in self._executables:
            abstract_states, init_exe, plan_exe, program = self._executables[signature]
            validate(abstract_states)  # the data may differ in what its shapes do not show (its classes)
        else:
            init = self._init_program(data, names, values, sharding)
            self._executables[signature] = self._compile(init, init_args, plan_args, shared, replicated, validate)
            _, init_exe, plan_exe, program = self._executables[signature]
        if self._last_plan[0] != (signature, data_seed):  # a tuning loop reruns the same data order
            self._last_plan = (signature, data_seed), plan_exe(plan_args[0])
        states, step_keys = init_exe(*init_args)
        stopped_at = None
        if report is None:
            losses, evals = program(states, step_keys, *shared[:4], self._last_plan[1], shared[4])
            losses, evals = jax.device_get((losses, evals))
        else:
            losses, evals, stopped_at = self._run_reporting(states, step_keys, shared, report, k)
        result = SweepResult(
            train_loss=np.asarray(losses),
            eval_steps=np.arange(1, chunks + 1) * self.eval_every,
            eval_metrics={name: np.asarray(v) for name, v in evals.items()},
            hyperparams={**values, "seed": seeds},
            seconds=time.perf_counter() - start,
            stopped_at=stopped_at,
        )
        if log_dir is not None:
            from jaxdl._tensorboard import write_sweep

            write_sweep(result, log_dir)
        return result

    def _run_reporting(self, states, step_keys, shared, report: Callable, k: int):
        """The training program one evaluation period per call, asking ``report`` after each
        which members go on; returns host ``(losses [K, S], {metric: [K, E]}, stopped_at [K])``."""
        x, y, x_test, y_test, mask = shared
        plan = jnp.reshape(self._last_plan[1], mask.shape)
        active = np.ones(k, bool)
        stopped_at = np.full(k, mask.shape[0] * self.eval_every, np.int64)
        losses, evals = [], []
        for c in range(mask.shape[0]):
            states, chunk_losses, chunk_evals = self._chunk_program(states, jnp.asarray(active), step_keys, x, y,
                                                                    x_test, y_test, plan[c], mask[c])
            chunk_losses, chunk_evals = jax.device_get((chunk_losses, chunk_evals))
            losses.append(np.asarray(chunk_losses))
            evals.append({n: np.asarray(v) for n, v in chunk_evals.items()})
            step = (c + 1) * self.eval_every
            stop = report(step, evals[-1])
            if stop is not None:
                newly = np.asarray(stop, bool).reshape(k) & active
                stopped_at[newly] = step
                active &= ~newly
            if not active.any():  # every member stopped: the frozen values stand for the rest
                rest = mask.shape[0] - c - 1
                losses += [np.zeros_like(losses[-1])] * rest  # no training happened: no loss
                evals += [evals[-1]] * rest
                break
        metrics = {n: np.stack([e[n] for e in evals], axis=1) for n in evals[0]}
        return np.concatenate(losses, axis=1), metrics, stopped_at


def run_sweep(
    model,
    optimizer: Callable[..., optax.GradientTransformation],
    data: Dataset,
    *,
    loss: Callable,
    hyperparams: Mapping[str, Sequence[float]],
    seeds: Sequence[int],
    num_steps: int,
    batch_size: int,
    eval_every: int,
    metrics: Mapping[str, Callable] | None = None,
    regularizer: Callable | None = None,
    data_seed: int = 0,
) -> SweepResult:
    """Train ``K`` configurations of ``model`` x ``optimizer`` in one compiled program:
    ``Sweep(model, optimizer, ...).run(data, ...)`` (see ``Sweep`` for the arguments).

    Returns:
      ``SweepResult`` with ``[K, ...]`` arrays.
    """
    sweep = Sweep(model, optimizer, loss=loss, batch_size=batch_size, eval_every=eval_every,
                  metrics=metrics, regularizer=regularizer)
    return sweep.run(data, hyperparams=hyperparams, seeds=seeds, num_steps=num_steps, data_seed=data_seed)


def deepobs_protocol(
    sweep: Callable[..., SweepResult],
    data: Dataset,
    *,
    learning_rates: Sequence[float],
    num_seeds: int = 5,
    metric: str = "eval_accuracy",
    mode: str = "max",
    validation_fraction: float = 0.1,
    tuning_seed: int = 0,
) -> dict[str, Any]:
    """The DeepOBS benchmarking protocol (Schneider, Balles & Hennig, ICLR 2019).

    1. Tune: train with every learning rate of a log grid (one seed) on the training set
       minus a held-out validation split, and score each by its *final* validation ``metric``
       (a run that diverged, NaN, scores worst).
    2. Rerun the best learning rate with ``num_seeds`` seeds on the full training set.
    3. Report the test ``metric`` as mean +- std over seeds, with the learning curves.

    Args:
      sweep: ``sweep(data, learning_rates=[K], seeds=[K]) -> SweepResult``, e.g. a
        ``functools.partial`` of ``run_sweep`` with ``hyperparams`` filled in from its
        arguments (see ``benchmarks``).
      data: the ``Dataset`` (its test split is used only in step 3).
      learning_rates: the grid, e.g. ``np.logspace(-4, 0, 9)``.
      metric, mode: what "best" means: ``("eval_accuracy", "max")`` or ``("eval_loss", "min")``.

    Returns:
      JSON-ready dict: ``tuning`` (rate -> validation score), ``best_learning_rate``, the final
      ``test_<metric>_mean`` / ``_std``, per-seed values, and mean/std curves.
    """
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}.")
    learning_rates = np.asarray(learning_rates, np.float32)
    validation = data.validation_split(validation_fraction, key=jax.random.key(tuning_seed))
    tuning = sweep(validation, learning_rates=learning_rates, seeds=np.full(len(learning_rates), tuning_seed))
    best = best_index(tuning.final(metric), mode)
    best_lr = float(learning_rates[best])
    final = sweep(data, learning_rates=np.full(num_seeds, best_lr), seeds=np.arange(num_seeds))
    values = final.final(metric)
    return {
        "protocol": "DeepOBS (Schneider et al. 2019): tune lr on validation, rerun best with seeds",
        "metric": metric,
        "tuning": {f"{lr:.3g}": float(s) for lr, s in zip(learning_rates, tuning.final(metric))},
        "best_learning_rate": best_lr,
        f"test_{metric}_mean": float(np.mean(values)),
        f"test_{metric}_std": float(np.std(values)),
        f"test_{metric}_per_seed": values.tolist(),
        "train_loss_mean": final.train_loss.mean(axis=0).tolist(),
        "train_loss_std": final.train_loss.std(axis=0).tolist(),
        "eval_steps": final.eval_steps.tolist(),
        f"{metric}_mean": final.eval_metrics[metric].mean(axis=0).tolist(),
        f"{metric}_std": final.eval_metrics[metric].std(axis=0).tolist(),
        "seconds": tuning.seconds + final.seconds,
    }


def save_sweep(result: SweepResult, path: str | os.PathLike) -> str:
    """Write a ``SweepResult`` as JSON (lists, one row per member); returns ``path``."""
    payload = {
        "hyperparams": {k: v.tolist() for k, v in result.hyperparams.items()},
        "train_loss": result.train_loss.tolist(),
        "eval_steps": result.eval_steps.tolist(),
        "eval_metrics": {k: v.tolist() for k, v in result.eval_metrics.items()},
        "seconds": result.seconds,
    }
    with open(path, "w") as f:
        json.dump(payload, f)
    return os.fspath(path)


def plot_sweep(result: SweepResult, path: str | os.PathLike, *, by: str = "learning_rate", title: str = "") -> str:
    """Training loss against the step, one line per value of hyperparameter ``by``: the mean
    over the members (seeds) sharing that value, with a +- one standard deviation band.

    Returns:
      ``path``, after writing the PNG there.
    """
    from jaxdl._plotting import plot_bands

    values = result.hyperparams[by]
    steps = np.arange(1, result.train_loss.shape[1] + 1)
    series = {f"{by}={v:.3g}": (steps, result.train_loss[values == v]) for v in np.unique(values)}
    return plot_bands(series, path, ylabel="training loss", title=title)

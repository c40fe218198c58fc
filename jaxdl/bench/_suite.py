"""The benchmark plan: problems x optimizers under a tuning protocol, every grid and every seed
batch one ``Sweep`` program, every run one JSON file, finished runs never redone.

Protocols (each is "tune on a validation split, then rerun the best setting with seeds"):

- ``deepobs``: the learning rate over the problem's log grid, other hyperparameters at their
  defaults, best by the *final* validation metric; then ``num_seeds`` seeds (Schneider,
  Balles & Hennig, ICLR 2019, section 3).
- ``defaults``, ``small``, ``large``: Crowded Valley's budgets (Schmidt, Schneider & Hennig,
  ICML 2021): no tuning (the optimizer's defaults), or random search with 25 / 50 draws
  from the optimizer's space; with ``schedule="cosine"`` or ``"constant"``.

Layout under ``OUT/<protocol>[_<schedule>]/``: ``runs/<problem>/<optimizer>/<setting>/
random_seed__N.json`` for the final runs (Crowded Valley's layout; ``<setting>`` is
``name__value`` pairs), ``tuning/...`` the same for the tuning runs (validation metrics).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable, Sequence

import jax
import numpy as np
from tqdm.auto import tqdm

from jaxdl._sweep import Sweep, best_index, concatenate_results
from jaxdl.bench._optimizers import BenchOptimizer, hyperparameter_folder, sample_space, with_schedule
from jaxdl.bench._problems import DataUnavailable, Problem, describe

__all__ = ["Protocol", "PROTOCOLS", "get_protocol", "Unit", "make_sweep", "run_plan", "run_unit", "load_runs"]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How settings are chosen and how often the best one is rerun.

    Attributes:
      name: ``deepobs``, ``defaults``, ``small`` or ``large``.
      search: ``"grid"`` (the problem's learning-rate grid), ``"defaults"`` (no tuning) or
        ``"random"`` (``samples`` draws from the optimizer's space).
      samples: random-search draws.
      num_seeds: seeds of the final runs (DeepOBS and Crowded Valley use 10).
      schedule: ``"constant"`` or ``"cosine"`` learning rate.
      validation_fraction: the training examples held out for tuning.
      search_seed: the seed of the tuning runs and of the random search.
      max_settings: keep at most this many grid points, spread over the grid (``quick``).
      precision: ``"float32"`` or ``"bf16"`` (matmuls and convolutions in bfloat16 with float32
        accumulation; ``jaxdl.create_train_state``).
    """

    name: str
    search: str
    samples: int = 0
    num_seeds: int = 10
    schedule: str = "constant"
    validation_fraction: float = 0.1
    search_seed: int = 0
    max_settings: int | None = None
    precision: str = "float32"

    @property
    def tag(self) -> str:
        """The output folder: ``deepobs``, ``small_cosine``, ``deepobs_bf16``, ..."""
        tag = self.name if self.schedule == "constant" else f"{self.name}_{self.schedule}"
        return tag if self.precision == "float32" else f"{tag}_{self.precision}"

    def candidates(self, problem: Problem, optimizer: BenchOptimizer) -> list[dict[str, float]]:
        """The settings tried in tuning (one, the defaults, for ``search="defaults"``)."""
        if self.search == "defaults":
            return [dict(optimizer.defaults)]
        if self.search == "grid":
            rates = np.asarray(problem.learning_rates)
            if self.max_settings is not None and len(rates) > self.max_settings:
                rates = rates[np.linspace(0, len(rates) - 1, self.max_settings).round().astype(int)]
            return [{**optimizer.defaults, "learning_rate": float(lr)} for lr in rates]
        if self.search == "random":
            return [{**optimizer.defaults, **draw} for draw in sample_space(optimizer.space, self.samples,
                                                                           self.search_seed)]
        raise ValueError(f"unknown search {self.search!r}.")

    def quick(self) -> "Protocol":
        """Two seeds and at most three settings: for tests and ``--quick``."""
        return dataclasses.replace(self, num_seeds=2, samples=min(self.samples, 3), max_settings=3)


PROTOCOLS = {
    "deepobs": Protocol("deepobs", "grid"),
    "defaults": Protocol("defaults", "defaults"),
    "small": Protocol("small", "random", samples=25),
    "large": Protocol("large", "random", samples=50),
}


def get_protocol(name: str, *, schedule: str = "constant", num_seeds: int | None = None) -> Protocol:
    """``PROTOCOLS[name]`` with ``schedule`` (and ``num_seeds``) set."""
    if name not in PROTOCOLS:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}.")
    if schedule not in ("constant", "cosine"):
        raise ValueError(f"unknown schedule {schedule!r}; use 'constant' or 'cosine'.")
    protocol = dataclasses.replace(PROTOCOLS[name], schedule=schedule)
    return protocol if num_seeds is None else dataclasses.replace(protocol, num_seeds=num_seeds)


@dataclasses.dataclass(frozen=True)
class Unit:
    """One compiled program's worth of runs: ``settings[i]`` with ``seeds[i]``, on the tuning
    (validation) or the final (test) data."""

    problem: Problem
    optimizer: BenchOptimizer
    phase: str  # "tuning" or "final"
    settings: tuple[dict, ...]
    seeds: tuple[int, ...]

    def paths(self, root: str) -> list[str]:
        folder = "runs" if self.phase == "final" else "tuning"
        return [os.path.join(root, folder, self.problem.name, self.optimizer.name, hyperparameter_folder(s),
                             f"random_seed__{seed}.json") for s, seed in zip(self.settings, self.seeds)]


def _write_json(payload: dict, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(payload, f)
    os.replace(path + ".tmp", path)  # atomic: a crash leaves the old file or none, never half of one


def _steps_to_target(problem: Problem, steps: np.ndarray, values: np.ndarray) -> int | None:
    hit = np.flatnonzero(problem.reached(values))
    return int(steps[hit[0]]) if hit.size else None


def _records(unit: Unit, result, protocol: Protocol, seconds: float, execution: str) -> list[dict[str, Any]]:
    """One DeepOBS-style JSON record per member of a ``SweepResult``."""
    split = "test" if unit.phase == "final" else "valid"
    steps = np.asarray(result.eval_steps)
    records = []
    for k, (setting, seed) in enumerate(zip(unit.settings, unit.seeds)):
        values = np.asarray(result.eval_metrics[unit.problem.eval_metric][k], np.float64)
        to_target = _steps_to_target(unit.problem, steps, values)
        record = {
            "testproblem": unit.problem.name, "optimizer_name": unit.optimizer.name,
            "optimizer_hyperparams": setting, "random_seed": int(seed), "phase": unit.phase,
            "protocol": protocol.name, "schedule": protocol.schedule, "precision": protocol.precision,
            "problem": describe(unit.problem),
            "batch_size": unit.problem.batch_size, "num_steps": unit.problem.num_steps,
            "eval_steps": steps.tolist(), "minibatch_train_losses": np.asarray(result.train_loss[k]).tolist(),
            f"{split}_losses": np.asarray(result.eval_metrics["eval_loss"][k]).tolist(),
            "final_metric": float(values[-1]), "metric": unit.problem.metric,
            "steps_to_target": to_target,
            # The program trains every member at once: a member's time is the program's
            # (one by one: the time of all the members' programs, run in turn).
            "program_seconds": seconds, "program_members": len(unit.seeds), "execution": execution,
            "seconds_to_target": None if to_target is None else seconds * to_target / unit.problem.num_steps,
        }
        for name in unit.problem.metrics:
            record[f"{split}_{name}_values"] = np.asarray(result.eval_metrics[f"eval_{name}"][k]).tolist()
        if "accuracy" in unit.problem.metrics:  # DeepOBS's key
            record[f"{split}_accuracies"] = record.pop(f"{split}_accuracy_values")
        records.append(record)
    return records


def make_sweep(problem: Problem, data, factory, precision: str = "float32") -> Sweep:
    """The ``Sweep`` that trains ``problem``'s model on ``data`` with optimizer ``factory``."""
    return Sweep(problem.model(data), factory, loss=problem.loss, batch_size=problem.batch_size,
                 eval_every=problem.eval_every, metrics=dict(problem.metrics), precision=precision)


def run_unit(unit: Unit, data, protocol: Protocol, *, sweep: Sweep, one_by_one: bool = False) -> list[dict]:
    """Train a unit's runs as one ``Sweep`` program (or, ``one_by_one``, each member as its own
    one-member program through the same compiled code: the baseline of the speed-up)."""
    names = sorted(unit.settings[0])
    values = {n: [float(s[n]) for s in unit.settings] for n in names}
    start = time.perf_counter()
    if not one_by_one:
        result = sweep.run(data, hyperparams=values, seeds=list(unit.seeds), num_steps=unit.problem.num_steps,
                           data_seed=0)
    else:
        result = concatenate_results([
            sweep.run(data, hyperparams={n: [values[n][k]] for n in names}, seeds=[unit.seeds[k]],
                      num_steps=unit.problem.num_steps, data_seed=0) for k in range(len(unit.seeds))])
    return _records(unit, result, protocol, time.perf_counter() - start, "one_by_one" if one_by_one else "vmapped")


def _best(problem: Problem, records: list[dict]) -> dict:
    """The setting with the best final validation metric (a NaN run is worst)."""
    return records[best_index([r["final_metric"] for r in records], problem.mode)]["optimizer_hyperparams"]


def _load_or_run(unit: Unit, root: str, run: Callable[[Unit], list[dict]]) -> tuple[list[dict], bool]:
    paths = unit.paths(root)
    if all(os.path.exists(p) for p in paths):
        return [_read_json(p) for p in paths], False
    records = run(unit)
    for record, path in zip(records, paths):
        _write_json(record, path)
    return records, True


def run_plan(problems: Sequence[Problem], optimizers: Sequence[BenchOptimizer], protocol: Protocol, out: str, *,
             data_dir: str | None = None, quick: bool = False, one_by_one: bool = False,
             progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the whole plan; returns ``{"final": [records], "tuning": [records],
    "skipped": {problem: why}, "programs_run": n, "seconds": wall time}``.

    A problem whose data is absent (``DataUnavailable``) is skipped with its reason.
    Finished runs (their JSON exists) are loaded, not rerun; a unit is one program, so a crash
    loses at most the unit in flight.
    """
    root = os.path.join(out, protocol.tag)
    start, ran, finals, tunings, skipped = time.perf_counter(), 0, [], [], {}
    tuned = protocol.search != "defaults"
    per_problem = len(optimizers) * (2 if tuned else 1)  # programs: (tuning and) final per optimizer
    bar = tqdm(total=len(problems) * per_problem, disable=not progress, desc=f"bench {protocol.tag}")
    for problem in problems:
        problem = problem.quick() if quick else problem
        try:
            data = problem.data(data_dir, quick)
        except DataUnavailable as error:
            skipped[problem.name] = str(error)
            bar.update(per_problem)
            continue
        validation = data.validation_split(protocol.validation_fraction, key=jax.random.key(protocol.search_seed))
        for optimizer in optimizers:
            sweep = make_sweep(problem, data, with_schedule(optimizer.factory, protocol.schedule, problem.num_steps),
                               protocol.precision)
            run = lambda unit, d: run_unit(unit, d, protocol, sweep=sweep, one_by_one=one_by_one)  # noqa: E731
            best = dict(optimizer.defaults)
            if tuned:
                settings = protocol.candidates(problem, optimizer)
                unit = Unit(problem, optimizer, "tuning", tuple(settings), (protocol.search_seed,) * len(settings))
                bar.set_postfix_str(f"{problem.name} / {optimizer.name}: tuning {len(settings)}")
                records, fresh = _load_or_run(unit, root, lambda u: run(u, validation))
                tunings += records
                ran += fresh
                best = _best(problem, records)
                bar.update(1)
            unit = Unit(problem, optimizer, "final", (best,) * protocol.num_seeds, tuple(range(protocol.num_seeds)))
            bar.set_postfix_str(f"{problem.name} / {optimizer.name}: {protocol.num_seeds} seeds")
            records, fresh = _load_or_run(unit, root, lambda u: run(u, data))
            finals += records
            ran += fresh
            bar.update(1)
    bar.close()
    return {"final": finals, "tuning": tunings, "skipped": skipped, "programs_run": ran,
            "seconds": time.perf_counter() - start, "root": root}


def load_runs(root: str, *, phase: str = "final") -> list[dict]:
    """Every run JSON under ``root/runs`` (or ``root/tuning``), e.g. for
    ``pandas.DataFrame(load_runs(...))``, sorted by path."""
    folder = os.path.join(root, "runs" if phase == "final" else "tuning")
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(folder) for f in files if f.endswith(".json"))
    return [_read_json(p) for p in paths]


def _read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)

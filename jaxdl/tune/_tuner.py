"""Tuning with Optuna, K trials at a time as one ``Sweep`` program, in a database that survives
a kill."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from jaxdl._sweep import Sweep
from jaxdl.data import Dataset
from jaxdl.tune._space import distributions, make_pruner, make_sampler

__all__ = ["TuneResult", "open_study", "recover_interrupted", "tune"]


class TuneResult(NamedTuple):
    """``study``: the Optuna study; ``best_params`` / ``best_value``: its best trial;
    ``batches``: sweep programs run in this call; ``trials_run``: trials completed in this call;
    ``seconds``: wall time of the sweeps."""
    study: Any
    best_params: dict
    best_value: float
    batches: int
    trials_run: int
    seconds: float


def open_study(storage: str, study_name: str, *, direction: str = "maximize", sampler: str = "tpe",
               pruner: str | Any = "median", seed: int | None = None):
    """Create or load the study ``study_name`` in ``storage`` (any SQLAlchemy URL; e.g.
    ``sqlite:///DIR/study.db``), with the named sampler and pruner (``make_pruner``)."""
    import optuna

    return optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                               sampler=make_sampler(sampler, seed), pruner=make_pruner(pruner),
                               load_if_exists=True)


def recover_interrupted(study) -> int:
    """Mark every trial left ``RUNNING`` (by a process killed mid-batch) as ``FAIL`` and enqueue
    its parameters again, so the next batch reruns exactly those; returns how many.

    Optuna's heartbeat does this for ``study.optimize`` only, not for ask-and-tell; this
    assumes one tuner per study at a time (a second live tuner's trials would look stale)."""
    import optuna

    stale = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in stale:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return len(stale)


def _finished(study) -> int:
    """Trials that count towards the requested number: complete or pruned (as in Optuna's own
    ``n_trials``)."""
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=done))


def _reporter(asked, metric: str):
    """``report(step, metrics)`` for ``Sweep.run``: each running trial reports its value and
    asks its pruner; returns the members to stop, and keeps which were pruned."""
    pruned = np.zeros(len(asked), bool)

    def report(step, metrics):
        stop = np.zeros(len(asked), bool)
        for i, trial in enumerate(asked):
            if pruned[i]:
                continue
            trial.report(float(metrics[metric][i]), int(step))
            stop[i] = pruned[i] = trial.should_prune()
        return stop

    return report, pruned


def _run_and_tell(study, sweep: Sweep, data: Dataset, asked, chosen, *, metric: str, num_steps: int,
                  seed: int) -> float:
    """Train the trials ``asked`` (their optimizer values ``chosen``) as one program of ``sweep``,
    reporting live, and tell Optuna each result; returns the program's seconds."""
    import optuna

    report, pruned = _reporter(asked, metric)
    result = sweep.run(data, hyperparams={n: [c[n] for c in chosen] for n in chosen[0]},
                       seeds=[seed + t.number for t in asked], num_steps=num_steps, report=report)
    values = result.eval_metrics[metric]  # [K, E]
    for i, trial in enumerate(asked):
        final = float(values[i, -1])
        if pruned[i]:  # stopped (frozen) at result.stopped_at[i]; the others went on
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif np.isfinite(final):
            study.tell(trial, final)
        else:  # a diverged member: failed, not a value the sampler should learn from
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return result.seconds


def tune(sweep, data: Dataset, space, *, study, trials: int, batch: int, num_steps: int,
         metric: str = "eval_accuracy", seed: int = 0, model_params: tuple[str, ...] = ()) -> TuneResult:
    """Run the study until it holds ``trials`` finished trials, asking Optuna for ``batch``
    trials at a time and training them as the members of one ``sweep.run`` (each member its own
    hyperparameters, e.g. learning rate and weight decay of the sweep's optimizer factory).

    Every member's ``metric`` is reported to its trial at every evaluation while the sweep
    runs (``Sweep.run(report=)``), and the study's pruner (median, Hyperband, successive
    halving) may stop it there: a pruned member's state is frozen while the others go on, and
    its trial is told ``PRUNED``; the others are told their final value. Complete and pruned
    trials count towards ``trials``. A restarted call first recovers the trials a killed run
    left running (``recover_interrupted``) and only runs what is missing, so no complete trial
    is lost or run twice.

    Args:
      sweep: a ``jaxdl.sweep.Sweep`` (model, optimizer factory, loss, batch size, eval_every);
        or, with ``model_params``, a function ``{model param: value} -> Sweep`` (called once
        per distinct value set, cached).
      space: ``{hyperparameter: ("log", low, high) | ...}``, or an Optuna-style function
        ``trial -> {name: value}`` (``trial.suggest_float(...)`` inside).
      study: from ``open_study`` (or any Optuna study).
      trials, batch: finished trials wanted; trials asked at a time.
      num_steps: training steps per trial; metric: the ``eval_<name>`` that is the objective.
      model_params: names in ``space`` that shape the model (width, dropout rate, ...): the
        batch is split into groups with equal values, each group one program of its own sweep;
        the other names go to the optimizer factory.
    """
    if callable(space):  # define-by-run: space(trial) -> {name: value}, as in an Optuna objective
        ask = lambda: (lambda t: (t, dict(space(t))))(study.ask())
    else:
        dists = distributions(space)
        ask = lambda: (lambda t: (t, {n: t.params[n] for n in dists}))(study.ask(dists))
    sweeps: dict[tuple, Sweep] = {}
    recover_interrupted(study)
    batches = run = 0
    seconds = 0.0
    while (missing := trials - _finished(study)) > 0:
        asked = [ask() for _ in range(min(batch, missing))]
        groups: dict[tuple, list] = {}
        for trial, values in asked:
            groups.setdefault(tuple((n, values[n]) for n in model_params), []).append((trial, values))
        for key, members in groups.items():
            if key not in sweeps:
                sweeps[key] = sweep(**dict(key)) if model_params else sweep
            chosen = [{n: v for n, v in values.items() if n not in model_params} for _, values in members]
            seconds += _run_and_tell(study, sweeps[key], data, [t for t, _ in members], chosen, metric=metric,
                                     num_steps=num_steps, seed=seed)
            batches += 1
        run += len(asked)
    best = study.best_trial
    return TuneResult(study, dict(best.params), float(best.value), batches, run, seconds)

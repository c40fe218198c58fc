"""Search spaces for Optuna from a small declarative description."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["distributions", "PRUNERS", "SAMPLERS", "make_pruner", "make_sampler"]

SAMPLERS = ("tpe", "random", "cmaes", "gp")
PRUNERS = ("median", "hyperband", "successive_halving", "none")


def distributions(space: Mapping[str, tuple]) -> dict[str, Any]:
    """``{name: ("log", low, high) | ("uniform", low, high) | ("int", low, high) | ("categorical",
    [choices])}`` -> Optuna distributions (``optuna.distributions.FloatDistribution`` etc.), the
    form ``study.ask(fixed_distributions)`` takes, so K trials can be asked at once."""
    import optuna

    out = {}
    for name, spec in space.items():
        if not isinstance(spec, (tuple, list)) or not spec:
            raise ValueError(f"search space {name!r}: expected (kind, ...), got {spec!r}.")
        kind, args = spec[0], tuple(spec[1:])
        if kind in ("log", "uniform", "int"):
            if len(args) != 2 or not float(args[0]) < float(args[1]) or (kind == "log" and float(args[0]) <= 0):
                raise ValueError(f"search space {name!r}: ({kind!r}, low, high) needs low < high"
                                 f"{' and low > 0' if kind == 'log' else ''}, got {spec!r}.")
            if kind == "int":
                out[name] = optuna.distributions.IntDistribution(int(args[0]), int(args[1]))
            else:
                out[name] = optuna.distributions.FloatDistribution(float(args[0]), float(args[1]), log=kind == "log")
        elif kind == "categorical":
            if len(args) != 1 or not len(args[0]):
                raise ValueError(f"search space {name!r}: ('categorical', [choices]) needs a non-empty list.")
            out[name] = optuna.distributions.CategoricalDistribution(list(args[0]))
        else:
            raise ValueError(f"search space {name!r}: unknown kind {kind!r}; use 'log', 'uniform', 'int' or "
                             "'categorical'.")
    return out


def make_sampler(name: str, seed: int | None = None):
    """An Optuna sampler by name: ``"tpe"`` (default), ``"random"``, ``"cmaes"``, ``"gp"``."""
    import optuna

    makers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler,
              "cmaes": optuna.samplers.CmaEsSampler, "gp": getattr(optuna.samplers, "GPSampler", None)}
    if name not in makers or makers[name] is None:
        raise ValueError(f"unknown sampler {name!r}; choose one of {SAMPLERS}.")
    return makers[name](seed=seed)


def make_pruner(pruner):
    """An Optuna pruner by name (``"median"``, ``"hyperband"``, ``"successive_halving"``,
    ``"none"``) with Optuna's defaults, or a pruner object passed through."""
    import optuna

    if not isinstance(pruner, str):
        return pruner
    makers = {"median": optuna.pruners.MedianPruner, "hyperband": optuna.pruners.HyperbandPruner,
              "successive_halving": optuna.pruners.SuccessiveHalvingPruner, "none": optuna.pruners.NopPruner}
    if pruner not in makers:
        raise ValueError(f"unknown pruner {pruner!r}; choose one of {PRUNERS} or pass an optuna pruner.")
    return makers[pruner]()

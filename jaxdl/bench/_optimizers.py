"""Optimizers for the benchmark suite, by name: jaxdl's own, any optax optimizer, or a user's
factory given by import path.

Every optimizer is a factory ``factory(learning_rate, **hyperparameters) ->
optax.GradientTransformation`` plus its defaults (what "no tuning" means, Crowded Valley's
one-shot budget) and a search space (what random search draws from). Names:

- ``sgd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``, ``adam``: ``jaxdl.optim``
  (each tested equal to optax's own).
- ``optax:NAME`` (e.g. ``optax:adamw``, ``optax:lion``): ``optax.NAME``; its defaults are its
  signature's, and only the learning rate is searched.
- ``pkg.module:factory``: imported; the same, unless the module gives
  ``factory.defaults`` / ``factory.space`` dicts.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
from typing import Any, Callable, Mapping

import numpy as np
import optax

from jaxdl import optim

__all__ = ["BenchOptimizer", "OPTIMIZERS", "get_optimizer", "with_schedule", "sample_space",
           "hyperparameter_folder"]

# A search-space entry: ("log", low, high) or ("uniform", low, high).
Space = Mapping[str, tuple[str, float, float]]
LR_SPACE = ("log", 1e-4, 1.0)


@dataclasses.dataclass(frozen=True)
class BenchOptimizer:
    """An optimizer as the suite sees it.

    Attributes:
      name: as given on the command line (also the results folder's name, ``:`` and ``.``
        kept; ``/`` is not allowed).
      factory: ``factory(learning_rate, **hyperparameters) -> GradientTransformation``.
      defaults: the hyperparameters of an untuned run, ``learning_rate`` included.
      space: what random search samples, ``{name: ("log" | "uniform", low, high)}``.
    """

    name: str
    factory: Callable[..., optax.GradientTransformation]
    defaults: Mapping[str, float]
    space: Space


def _builtin(name, factory, learning_rate, **space) -> BenchOptimizer:
    # Defaults: the learning rates PyTorch and Keras ship (0.01 for SGD-type methods and
    # AdaGrad, 0.001 for RMSProp and Adam), the factories' own values for everything else.
    defaults = {"learning_rate": learning_rate}
    signature = inspect.signature(factory)
    defaults.update({n: float(signature.parameters[n].default) for n in space})
    return BenchOptimizer(name, factory, defaults, {"learning_rate": LR_SPACE, **space})


OPTIMIZERS: dict[str, BenchOptimizer] = {
    "sgd": _builtin("sgd", optim.sgd, 1e-2),
    "momentum": _builtin("momentum", optim.momentum, 1e-2, momentum=("uniform", 0.0, 0.99)),
    "nesterov": _builtin("nesterov", optim.nesterov, 1e-2, momentum=("uniform", 0.0, 0.99)),
    "adagrad": _builtin("adagrad", optim.adagrad, 1e-2),
    "rmsprop": _builtin("rmsprop", optim.rmsprop, 1e-3, decay=("uniform", 0.8, 0.999)),
    "adam": _builtin("adam", optim.adam, 1e-3, b1=("uniform", 0.5, 0.999), b2=("uniform", 0.9, 0.9999)),
}


def _numeric_defaults(factory) -> dict[str, float]:
    out = {}
    for name, p in inspect.signature(factory).parameters.items():
        if isinstance(p.default, (int, float)) and not isinstance(p.default, bool):
            out[name] = float(p.default)
    return out


def get_optimizer(name: str) -> BenchOptimizer:
    """The optimizer called ``name`` (see the module docstring for the forms).

    Raises:
      KeyError: an unknown built-in or optax name, listing the choices. ImportError: a
        ``pkg.module:factory`` that cannot be imported. ValueError: a factory without a
        ``learning_rate`` argument.
    """
    if name in OPTIMIZERS:
        return OPTIMIZERS[name]
    if "/" in name or ":" not in name:
        raise KeyError(f"unknown optimizer {name!r}; use one of {', '.join(sorted(OPTIMIZERS))}, "
                       f"optax:NAME (e.g. optax:adamw) or pkg.module:factory.")
    module_name, attribute = name.split(":", 1)
    if module_name == "optax":
        if not callable(getattr(optax, attribute, None)):
            raise KeyError(f"optax has no optimizer {attribute!r} (optimizer {name!r}).")
        factory = getattr(optax, attribute)
    else:
        try:
            factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ImportError(f"optimizer {name!r}: cannot import {attribute!r} from {module_name!r} ({error}).") \
                from error
    if "learning_rate" not in inspect.signature(factory).parameters:
        raise ValueError(f"optimizer {name!r}: its factory takes no 'learning_rate' argument.")
    defaults = dict(getattr(factory, "defaults", None) or {})
    defaults.setdefault("learning_rate", _numeric_defaults(factory).get("learning_rate", 1e-3))
    space = dict(getattr(factory, "space", None) or {"learning_rate": LR_SPACE})
    return BenchOptimizer(name, factory, defaults, space)


def with_schedule(factory: Callable, schedule: str, num_steps: int) -> Callable:
    """``factory`` whose ``learning_rate`` becomes a schedule: ``"constant"`` (unchanged) or
    ``"cosine"`` (``alpha_t = alpha (1 + cos(pi t / T)) / 2``, Loshchilov & Hutter 2017, as
    Crowded Valley's cosine schedule). Keeps the factory's signature (``Sweep`` reads it)."""
    if schedule == "constant":
        return factory
    if schedule != "cosine":
        raise ValueError(f"unknown schedule {schedule!r}; use 'constant' or 'cosine'.")

    @functools.wraps(factory)
    def scheduled(learning_rate, **kwargs):
        return factory(learning_rate=optax.cosine_decay_schedule(learning_rate, num_steps), **kwargs)

    scheduled.__signature__ = inspect.signature(factory)
    return scheduled


def sample_space(space: Space, count: int, seed: int) -> list[dict[str, float]]:
    """``count`` independent draws from ``space`` (log-uniform or uniform per entry)."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(count):
        draw = {}
        for name, (kind, low, high) in sorted(space.items()):
            if kind == "log":
                draw[name] = float(np.exp(rng.uniform(np.log(low), np.log(high))))
            elif kind == "uniform":
                draw[name] = float(rng.uniform(low, high))
            else:
                raise ValueError(f"search space entry {name!r}: unknown kind {kind!r} (use 'log' or 'uniform').")
        draws.append(draw)
    return draws


def hyperparameter_folder(hyperparams: Mapping[str, Any]) -> str:
    """DeepOBS's folder name for a setting: ``name__value`` pairs joined by ``__``, values
    written as ``%.6g`` (``learning_rate__0.01``)."""
    return "__".join(f"{n}__{float(v):.6g}" for n, v in sorted(hyperparams.items()))

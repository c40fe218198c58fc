"""Optimizer benchmarks: a registry of test problems, optimizers by name, the DeepOBS and
Crowded Valley protocols, one JSON per run, leaderboards and performance profiles.

    python -m jaxdl.bench --protocol deepobs --out runs/bench            # the default CPU suite
    python -m jaxdl.bench --problems quadratic_deep --optimizers sgd adam optax:adamw --quick

See ``_suite`` for the protocols and the layout, ``_report`` for the profiles.
"""

from jaxdl.bench._problems import PROBLEMS as PROBLEMS
from jaxdl.bench._problems import DEFAULT_PROBLEMS as DEFAULT_PROBLEMS
from jaxdl.bench._problems import DataUnavailable as DataUnavailable
from jaxdl.bench._problems import NoisyQuadratic as NoisyQuadratic
from jaxdl.bench._problems import Problem as Problem
from jaxdl.bench._problems import get_problem as get_problem
from jaxdl.bench._problems import noisy_quadratic_data as noisy_quadratic_data
from jaxdl.bench._problems import quadratic_deep_hessian as quadratic_deep_hessian
from jaxdl.bench._problems import quadratic_loss as quadratic_loss
from jaxdl.bench._problems import register_problem as register_problem
from jaxdl.bench._optimizers import OPTIMIZERS as OPTIMIZERS
from jaxdl.bench._optimizers import BenchOptimizer as BenchOptimizer
from jaxdl.bench._optimizers import get_optimizer as get_optimizer
from jaxdl.bench._optimizers import sample_space as sample_space
from jaxdl.bench._optimizers import with_schedule as with_schedule
from jaxdl.bench._suite import PROTOCOLS as PROTOCOLS
from jaxdl.bench._suite import Protocol as Protocol
from jaxdl.bench._suite import get_protocol as get_protocol
from jaxdl.bench._suite import load_runs as load_runs
from jaxdl.bench._suite import make_sweep as make_sweep
from jaxdl.bench._suite import run_plan as run_plan
from jaxdl.bench._suite import run_unit as run_unit
from jaxdl.bench._suite import Unit as Unit
from jaxdl.bench._report import leaderboard as leaderboard
from jaxdl.bench._report import leaderboard_markdown as leaderboard_markdown
from jaxdl.bench._report import performance_profile as performance_profile
from jaxdl.bench._report import plot_learning_curves as plot_learning_curves
from jaxdl.bench._report import plot_performance_profile as plot_performance_profile
from jaxdl.bench._report import write_leaderboard as write_leaderboard
from jaxdl.bench._main import main as main

__all__ = [
    "PROBLEMS", "DEFAULT_PROBLEMS", "DataUnavailable", "NoisyQuadratic", "Problem", "get_problem",
    "noisy_quadratic_data", "quadratic_deep_hessian", "quadratic_loss", "register_problem",
    "OPTIMIZERS", "BenchOptimizer", "get_optimizer", "sample_space", "with_schedule",
    "PROTOCOLS", "Protocol", "get_protocol", "load_runs", "make_sweep", "run_plan", "run_unit", "Unit",
    "leaderboard", "leaderboard_markdown", "performance_profile", "plot_learning_curves",
    "plot_performance_profile", "write_leaderboard", "main",
]

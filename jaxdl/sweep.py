"""Hyperparameter sweeps as one compiled program, and the DeepOBS tuning protocol.
"""

from jaxdl._sweep import SweepResult as SweepResult
from jaxdl._sweep import Sweep as Sweep
from jaxdl._sweep import grid as grid
from jaxdl._sweep import batch_schedule as batch_schedule
from jaxdl._sweep import run_sweep as run_sweep
from jaxdl._sweep import deepobs_protocol as deepobs_protocol
from jaxdl._sweep import best_index as best_index
from jaxdl._sweep import concatenate_results as concatenate_results
from jaxdl._sweep import save_sweep as save_sweep
from jaxdl._sweep import plot_sweep as plot_sweep

__all__ = [
    "SweepResult",
    "Sweep",
    "grid",
    "batch_schedule",
    "run_sweep",
    "deepobs_protocol",
    "best_index",
    "concatenate_results",
    "save_sweep",
    "plot_sweep",
]

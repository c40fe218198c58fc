"""Hyperparameter tuning with Optuna (the optional extra ``jaxdl[tune]``): K trials asked at once
and trained as one ``Sweep`` program, studies in an SQL database that survive a kill."""

from jaxdl.tune._space import PRUNERS, SAMPLERS, distributions, make_pruner, make_sampler
from jaxdl.tune._tuner import TuneResult, open_study, recover_interrupted, tune

__all__ = ["PRUNERS", "make_pruner", "SAMPLERS", "TuneResult", "distributions", "make_sampler", "open_study", "recover_interrupted", "tune"]

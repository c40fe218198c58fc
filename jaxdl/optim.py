"""Optimizers written as optax ``GradientTransformation`` s, each tested equal to optax's own.

Momentum, Nesterov, AdaGrad, RMSProp and Adam as chains of small building blocks
(``scale_by_*``, ``trace``), in the lectures' notation; see each docstring for the update rule
and the paper.
"""

from jaxdl._optim import ScaleByLearningRateState as ScaleByLearningRateState
from jaxdl._optim import TraceState as TraceState
from jaxdl._optim import ScaleByRssState as ScaleByRssState
from jaxdl._optim import ScaleByRmsState as ScaleByRmsState
from jaxdl._optim import ScaleByAdamState as ScaleByAdamState
from jaxdl._optim import scale_by_learning_rate as scale_by_learning_rate
from jaxdl._optim import trace as trace
from jaxdl._optim import scale_by_rss as scale_by_rss
from jaxdl._optim import scale_by_rms as scale_by_rms
from jaxdl._optim import scale_by_adam as scale_by_adam
from jaxdl._optim import sgd as sgd
from jaxdl._optim import momentum as momentum
from jaxdl._optim import nesterov as nesterov
from jaxdl._optim import adagrad as adagrad
from jaxdl._optim import rmsprop as rmsprop
from jaxdl._optim import adam as adam
from jaxdl._optim import ELEMENTWISE as ELEMENTWISE
from jaxdl._optim import is_elementwise as is_elementwise
from jaxdl._optim import flattened as flattened

__all__ = [
    "ScaleByLearningRateState",
    "TraceState",
    "ScaleByRssState",
    "ScaleByRmsState",
    "ScaleByAdamState",
    "scale_by_learning_rate",
    "trace",
    "scale_by_rss",
    "scale_by_rms",
    "scale_by_adam",
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "ELEMENTWISE",
    "is_elementwise",
    "flattened",
]

"""jaxdl: a JAX functional deep-learning toolkit.

Pure-function Flax (linen) models and optax optimizers, combined by jit-compiled, vmap- and
pmap-friendly train steps. The public API is flat: ``import jaxdl`` and use ``jaxdl.MLP``,
``jaxdl.softmax_cross_entropy``, ``jaxdl.make_train_step``, ``jaxdl.fit``, ...
"""

from jaxdl import data, optim, sweep
from jaxdl.checkpoint import Checkpointer
from jaxdl.compile import jit_once
from jaxdl.data import Dataset
from jaxdl.loop import FitResult, evaluate, fit, predict, read_history
from jaxdl.losses import (
    binary_cross_entropy,
    gaussian_nll,
    heaviside,
    l1_penalty,
    l2_penalty,
    mae,
    mse,
    perceptron_loss,
    softmax_cross_entropy,
)
from jaxdl.metrics import accuracy, confusion_matrix
from jaxdl.models import (
    ACTIVATIONS,
    KERNEL_INITS,
    MLP,
    BiGRU,
    CNN1D,
    GRUCell,
    LinearRegression,
    LogisticRegression,
    Perceptron,
    ShallowNet,
    SmallCNN,
    LeNet5,
    AlexNet,
    VGG,
    InceptionModule,
    InceptionNet,
    BasicBlock,
    ResNet,
    resnet20,
    resnet56,
    batch_norm,
    pool2d,
    conv_output_size,
    same_padding,
    get_activation,
    get_kernel_init,
    least_squares,
)
from jaxdl.runner import train_seeds
from jaxdl.train import (
    TrainState,
    create_train_state,
    create_train_states,
    make_eval_step,
    make_train_step,
    set_hyperparams,
)
from jaxdl.utils import param_count

__version__ = "0.1.0"

__all__ = [
    "data",
    "optim",
    "sweep",
    "Checkpointer",
    "jit_once",
    "Dataset",
    "FitResult",
    "evaluate",
    "predict",
    "confusion_matrix",
    "fit",
    "read_history",
    "binary_cross_entropy",
    "gaussian_nll",
    "heaviside",
    "l1_penalty",
    "l2_penalty",
    "mae",
    "mse",
    "perceptron_loss",
    "softmax_cross_entropy",
    "accuracy",
    "ACTIVATIONS",
    "KERNEL_INITS",
    "MLP",
    "BiGRU",
    "CNN1D",
    "GRUCell",
    "LinearRegression",
    "LogisticRegression",
    "Perceptron",
    "ShallowNet",
    "SmallCNN",
    "LeNet5",
    "AlexNet",
    "VGG",
    "InceptionModule",
    "InceptionNet",
    "BasicBlock",
    "ResNet",
    "resnet20",
    "resnet56",
    "batch_norm",
    "pool2d",
    "conv_output_size",
    "same_padding",
    "get_activation",
    "get_kernel_init",
    "least_squares",
    "TrainState",
    "create_train_state",
    "create_train_states",
    "make_eval_step",
    "make_train_step",
    "set_hyperparams",
    "param_count",
    "train_seeds",
]

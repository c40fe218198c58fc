"""Flax linen models. Every one maps ``[B, ...] -> [B, outputs]`` and takes ``train=``."""

from jaxdl.models.cnn import SmallCNN
from jaxdl.models.cnn1d import CNN1D
from jaxdl.models.components import ACTIVATIONS, KERNEL_INITS, get_activation, get_kernel_init
from jaxdl.models.linear import LinearRegression, LogisticRegression, Perceptron, least_squares
from jaxdl.models.mlp import MLP, ShallowNet
from jaxdl.models.rnn import BiGRU, GRUCell

__all__ = [
    "ACTIVATIONS",
    "KERNEL_INITS",
    "get_activation",
    "get_kernel_init",
    "LinearRegression",
    "LogisticRegression",
    "Perceptron",
    "least_squares",
    "MLP",
    "ShallowNet",
    "CNN1D",
    "SmallCNN",
    "BiGRU",
    "GRUCell",
]

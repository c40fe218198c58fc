"""Flax linen models. Every one maps ``[B, ...] -> [B, outputs]`` and takes ``train=``."""

from jaxdl.models._cnn import CONV_IMPLS, LENET5_CONV_IMPLS, VGG, AlexNet, Conv2D, LeNet5, SmallCNN, batch_norm, pool2d
from jaxdl.models._cnn1d import CNN1D
from jaxdl._arithmetic import conv_output_size, same_padding
from jaxdl.models._components import ACTIVATIONS, KERNEL_INITS, get_activation, get_kernel_init
from jaxdl.models._linear import LinearRegression, LogisticRegression, Perceptron, least_squares
from jaxdl.models._inception import InceptionModule, InceptionNet
from jaxdl.models._mlp import MLP, ShallowNet
from jaxdl.models._residual_mlp import ResidualMLP
from jaxdl.models._resnet import BasicBlock, ResNet, resnet20, resnet56
from jaxdl.models._rnn import BiGRU, GRUCell

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
    "ResidualMLP",
    "conv_output_size",
    "same_padding",
    "LENET5_CONV_IMPLS",
    "Conv2D",
    "CONV_IMPLS",
    "BiGRU",
    "GRUCell",
]

"""Flax linen models. Every one maps ``[B, ...] -> [B, outputs]`` and takes ``train=``."""

from jaxdl.models.cnn import CONV_IMPLS, LENET5_CONV_IMPLS, VGG, AlexNet, Conv2D, LeNet5, SmallCNN, batch_norm, pool2d
from jaxdl.models.cnn1d import CNN1D
from jaxdl.models.conv import (conv_output_size, depth_to_space, s2d_conv2d_maxpool, s2d_conv2d_windows, same_padding,
                               space_to_depth, toeplitz_conv2d, toeplitz_conv2d_maxpool)
from jaxdl.models.components import ACTIVATIONS, KERNEL_INITS, get_activation, get_kernel_init
from jaxdl.models.linear import LinearRegression, LogisticRegression, Perceptron, least_squares
from jaxdl.models.inception import InceptionModule, InceptionNet
from jaxdl.models.mlp import MLP, ShallowNet
from jaxdl.models.resnet import BasicBlock, ResNet, resnet20, resnet56
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
    "toeplitz_conv2d",
    "toeplitz_conv2d_maxpool",
    "space_to_depth",
    "depth_to_space",
    "s2d_conv2d_windows",
    "s2d_conv2d_maxpool",
    "LENET5_CONV_IMPLS",
    "Conv2D",
    "CONV_IMPLS",
    "BiGRU",
    "GRUCell",
]

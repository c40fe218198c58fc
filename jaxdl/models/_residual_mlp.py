"""A residual fully connected network (He et al. 2016; Prince, *Understanding Deep Learning*,
ch. 11): ``x_{k+1} = x_k + f_k(x_k)``."""

from __future__ import annotations

import functools
from typing import Callable

import flax.linen as nn
import jax

from jaxdl.models._components import get_activation, get_kernel_init

__all__ = ["ResidualMLP"]


class ResidualMLP(nn.Module):
    """``Dense(width) -> [block]^depth -> Dense(num_classes)``, each block
    ``x + Dense(a([BN](Dense(a([BN](x))))))`` (the pre-activation form of He et al. 2016b, UDL
    Fig. 11.7), or without the ``x +`` when ``skip=False`` (the plain network of the same
    depth and parameter count, for comparisons).

    Attributes:
      width: units of every hidden layer.
      depth: residual blocks (two layers each).
      num_classes: outputs.
      skip: add the block's input to its output (False: a plain deep network).
      batch_norm: batch norm before each activation (statistics in ``batch_stats``).
      activation, kernel_init: names (or callables) as in ``MLP``; He initialisation by default.
      bias_std: biases start as ``N(0, bias_std^2)`` instead of 0. With zero biases a ReLU
        network of a scalar input is positively homogeneous (``f(x) = a x`` for ``x > 0``, ``b x``
        below): one kink, at 0; random biases give the kinks a shattered-gradient measurement needs.

    Shapes: ``[B, D] -> [B, num_classes]``.
    Parameters: ``(D + 1) W + depth (2 W (W + 1) [+ 4 W with batch norm]) + (W + 1) C``.
    """

    width: int
    depth: int
    num_classes: int
    skip: bool = True
    batch_norm: bool = False
    activation: str | Callable = "relu"
    kernel_init: str | Callable = "he_normal"
    bias_std: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if self.width < 1 or self.depth < 0 or self.num_classes < 1:
            raise ValueError(f"ResidualMLP needs width >= 1, depth >= 0, num_classes >= 1; got {self.width}, "
                             f"{self.depth}, {self.num_classes}.")
        act, init = get_activation(self.activation), get_kernel_init(self.kernel_init)
        dense = functools.partial(nn.Dense, kernel_init=init, bias_init=nn.initializers.normal(self.bias_std)
                                  if self.bias_std else nn.initializers.zeros)
        h = dense(self.width, name="input")(x.reshape(x.shape[0], -1))
        for k in range(self.depth):
            f = h
            for j in range(2):
                if self.batch_norm:
                    f = nn.BatchNorm(use_running_average=not train, name=f"block_{k}_bn_{j}")(f)
                f = dense(self.width, name=f"block_{k}_dense_{j}")(act(f))
            h = h + f if self.skip else f
        return dense(self.num_classes, name="output")(act(h))

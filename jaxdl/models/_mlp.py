"""Fully connected networks: the shallow network and the deep multilayer perceptron."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax

from jaxdl.models._components import get_activation, get_kernel_init

__all__ = ["ShallowNet", "MLP"]


class ShallowNet(nn.Module):
    """One hidden layer of ``D`` units: ``f(x) = W_2 a(W_1 x + b_1) + b_2``.

    With ReLU and one input, ``f`` is piecewise linear with at most ``D + 1`` pieces; with
    enough units it approximates any continuous function on a compact set (universal
    approximation, Cybenko 1989 / Hornik 1991).

    Attributes:
      hidden: ``D``, the number of hidden units.
      num_outputs: ``D_o``.
      activation: a name from ``ACTIVATIONS`` or a callable.

    Shapes: ``[B, D_i] -> [B, D_o]``. Parameters: ``D (D_i + 1) + D_o (D + 1)``.
    """

    hidden: int
    num_outputs: int = 1
    activation: str | Callable = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        act = get_activation(self.activation)
        h = act(nn.Dense(self.hidden, name="hidden")(x))
        return nn.Dense(self.num_outputs, name="output")(h)


class MLP(nn.Module):
    """A deep fully connected network ``Dense -> a -> [dropout] -> ... -> Dense``.

    Attributes:
      features: widths of every layer, the last one being the output width; e.g.
        ``(100, 100, 10)`` is the MNIST-1D baseline ``40 -> 100 -> 100 -> 10``.
      activation: a name from ``ACTIVATIONS`` (linear, relu, leaky_relu, sigmoid, tanh) or a
        callable, applied after every layer but the last.
      dropout_rate: probability of zeroing a hidden unit in training (inverted dropout: kept
        units are scaled by ``1/(1-rate)`` so the expected activation is unchanged;
        Srivastava et al. 2014). Uses the ``"dropout"`` rng stream.
      kernel_init: a name from ``KERNEL_INITS`` (glorot_uniform, he_normal, lecun_normal,
        zeros) or an initialiser. Biases start at zero.

    Shapes: ``[B, D_in] -> [B, features[-1]]``.
    Parameters: ``sum_k (D_{k-1} + 1) D_k`` with ``D_0 = D_in`` (15,210 for the baseline).
    """

    features: Sequence[int]
    activation: str | Callable = "relu"
    dropout_rate: float = 0.0
    kernel_init: str | Callable = "glorot_uniform"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        if len(self.features) == 0 or any(int(f) < 1 for f in self.features):
            raise ValueError(f"MLP features must be a non-empty list of positive widths, got {self.features}.")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"MLP dropout_rate must be in [0, 1), got {self.dropout_rate}.")
        act = get_activation(self.activation)
        init = get_kernel_init(self.kernel_init)
        for i, width in enumerate(self.features):
            x = nn.Dense(int(width), kernel_init=init, name=f"dense_{i}")(x)
            if i < len(self.features) - 1:
                x = act(x)
                if self.dropout_rate > 0:
                    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return x

"""The activations and kernel initialisers a model can be built with, by name.

Two visible tables, so a config file or a command line can say ``"relu"`` or ``"he_normal"``;
library code passes the callables themselves.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax

__all__ = ["ACTIVATIONS", "KERNEL_INITS", "get_activation", "get_kernel_init"]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "linear": lambda x: x,
    "relu": nn.relu,
    "leaky_relu": nn.leaky_relu,  # slope 0.01 for x < 0
    "sigmoid": nn.sigmoid,
    "tanh": nn.tanh,
}

KERNEL_INITS: dict[str, nn.initializers.Initializer] = {
    # Glorot & Bengio 2010: Var[w] = 2 / (fan_in + fan_out), uniform; keeps tanh nets' variance.
    "glorot_uniform": nn.initializers.glorot_uniform(),
    # He et al. 2015: Var[w] = 2 / fan_in, truncated normal; compensates ReLU halving variance.
    "he_normal": nn.initializers.he_normal(),
    # LeCun 1998: Var[w] = 1 / fan_in; Flax's own Dense default.
    "lecun_normal": nn.initializers.lecun_normal(),
    # Every unit identical: the symmetry failure the lectures warn about.
    "zeros": nn.initializers.zeros_init(),
}


def _lookup(kind: str, table: dict, name):
    if callable(name):
        return name
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown {kind} {name!r}; choose one of {sorted(table)} or pass a callable."
        ) from None


def get_activation(name: str | Callable) -> Callable[[jax.Array], jax.Array]:
    """The activation function called ``name`` (or ``name`` itself if it is callable)."""
    return _lookup("activation", ACTIVATIONS, name)


def get_kernel_init(name: str | Callable) -> nn.initializers.Initializer:
    """The kernel initialiser called ``name`` (or ``name`` itself if it is callable)."""
    return _lookup("kernel initialiser", KERNEL_INITS, name)

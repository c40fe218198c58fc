"""Recurrent networks: a GRU cell and a bidirectional GRU classifier for MNIST-1D."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["GRUCell", "BiGRU"]


def _uniform(scale: float):
    """U(-scale, scale): PyTorch's initialisation of recurrent layers, 1/sqrt(hidden)."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -scale, scale)

    return init


class GRUCell(nn.Module):
    """Gated recurrent unit (Cho et al. 2014), in PyTorch's parametrisation (two bias vectors):

    ``r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)``, ``z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Parameters: ``3H (D + 1) + 3H (H + 1)``. Call: ``(h [B, H], x [B, D]) -> (h', h')``.
    """

    features: int

    @nn.compact
    def __call__(self, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        init = _uniform(self.features**-0.5)
        gi = nn.Dense(3 * self.features, kernel_init=init, bias_init=init, name="input")(x)
        gh = nn.Dense(3 * self.features, kernel_init=init, bias_init=init, name="hidden")(h)
        i_r, i_z, i_n = jnp.split(gi, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(gh, 3, axis=-1)
        r = nn.sigmoid(i_r + h_r)
        z = nn.sigmoid(i_z + h_z)
        n = jnp.tanh(i_n + r * h_n)
        h = (1 - z) * n + z * h
        return h, h


class BiGRU(nn.Module):
    """Bidirectional GRU over a 1D signal, all hidden states read out by one linear layer
    (the MNIST-1D paper's GRU: hidden 6, 5,134 parameters for length 40 and 10 classes).

    Shapes: ``[B, L] -> [B, num_classes]``; the read-out sees ``[B, L * 2H]``.
    Parameters: ``2 (3H (1 + 1) + 3H (H + 1)) + (2 H L + 1) num_classes``.
    """

    hidden: int = 6
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        del train
        if x.ndim != 2:
            raise ValueError(f"BiGRU expects [B, L] signals, got shape {x.shape}.")
        seq = x[..., None]  # [B, L, 1]
        scan = nn.scan(GRUCell, variable_broadcast="params", split_rngs={"params": False}, in_axes=1, out_axes=1)
        h0 = jnp.zeros((x.shape[0], self.hidden), x.dtype)
        _, forward = scan(self.hidden, name="forward")(h0, seq)
        _, backward = scan(self.hidden, name="backward")(h0, seq[:, ::-1])
        states = jnp.concatenate([forward, backward[:, ::-1]], axis=-1)  # [B, L, 2H]
        return nn.Dense(self.num_classes, name="linear")(states.reshape(x.shape[0], -1))

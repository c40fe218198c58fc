"""How initialisation shapes the signal through a deep net: activation and gradient variance
per layer (Glorot & Bengio 2010; He et al. 2015), and the symmetry of a constant start.

Glorot's ``Var[w] = 2 / (fan_in + fan_out)`` keeps the variance of tanh activations (and of
the back-propagated gradients) roughly constant from layer to layer; ReLU zeroes half its
inputs, so He's ``Var[w] = 2 / fan_in`` is needed there. A constant initialisation makes all
units of a layer compute the same function and receive the same gradient, forever.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl.analysis._regions import ordered_dense_params
from jaxdl.models import get_activation

__all__ = ["signal_propagation", "distinct_units"]


def signal_propagation(params: dict, x: jax.Array, y: jax.Array, *, activation: str | Callable,
                       loss: Callable) -> dict[str, np.ndarray]:
    """Per-layer statistics of a ``jaxdl.MLP``'s forward and backward pass on one batch.

    The net is recomputed here layer by layer from ``params`` (``dense_0 ... dense_L``), with
    a zero added to every pre-activation ``z_k``, so that ``jax.grad`` with respect to those
    zeros is ``dL/dz_k``: the back-propagated signal, without changing the function.

    Args:
      params: ``jaxdl.MLP`` parameters; x: ``[B, D_in]``; y: targets for ``loss``.
      activation: the MLP's activation; loss: per-example loss ``(outputs, y) -> [B]``.

    Returns:
      ``{"activation_var": [L-1], "preactivation_grad_var": [L], "kernel_grad_var": [L]}``,
      variances over the batch and units (layers in forward order).
    """
    act = get_activation(activation)
    layers = ordered_dense_params(params)

    def run(zeros, layers):
        h, hidden = x, []
        for i, ((w, b), e) in enumerate(zip(layers, zeros)):
            z = h @ w + b[None, :] + e
            if i < len(layers) - 1:
                h = act(z)
                hidden.append(h)
            else:
                h = z
        return loss(h, y).mean(), hidden

    zeros = [jnp.zeros((x.shape[0], w.shape[1]), x.dtype) for w, _ in layers]
    (dz, dlayers), hidden = jax.grad(run, argnums=(0, 1), has_aux=True)(zeros, layers)
    return {
        "activation_var": np.array([float(jnp.var(h)) for h in hidden]),
        "preactivation_grad_var": np.array([float(jnp.var(g)) for g in dz]),
        "kernel_grad_var": np.array([float(jnp.var(gw)) for gw, _ in dlayers]),
    }


def distinct_units(kernel: np.ndarray, *, atol: float = 1e-6) -> int:
    """How many different units a layer has: distinct columns of ``kernel: [D_in, D_out]``
    (to ``atol``). A layer that started constant stays at 1."""
    columns = np.round(np.asarray(kernel, np.float64).T / atol).astype(np.int64)
    return int(np.unique(columns, axis=0).shape[0])

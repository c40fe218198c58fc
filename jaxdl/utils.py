"""Small helpers on pytrees."""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["param_count", "near_zero_fraction"]


def param_count(params) -> int:
    """Total number of scalars in a parameter pytree (e.g. ``variables["params"]``)."""
    return int(sum(np.prod(np.shape(leaf), dtype=np.int64) for leaf in jax.tree_util.tree_leaves(params)))


def near_zero_fraction(params, *, threshold: float = 1e-3) -> float:
    """Fraction of the weights (``kernel`` leaves; biases excluded) with ``|w| < threshold``:
    how sparse an L1 penalty has made a network."""
    kernels = [np.abs(np.asarray(leaf)).ravel() for path, leaf in jax.tree_util.tree_leaves_with_path(params)
               if getattr(path[-1], "key", None) == "kernel"]
    if not kernels:
        raise ValueError("near_zero_fraction: the parameters have no 'kernel' leaves.")
    weights = np.concatenate(kernels)
    return float(np.mean(weights < threshold))

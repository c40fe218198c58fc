"""Small helpers on pytrees."""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["param_count", "kernel_leaves", "near_zero_fraction"]


def param_count(params) -> int:
    """Total number of scalars in a parameter pytree (e.g. ``variables["params"]``)."""
    return int(sum(np.prod(np.shape(leaf), dtype=np.int64) for leaf in jax.tree_util.tree_leaves(params)))


def kernel_leaves(params) -> list[jax.Array]:
    """The weight matrices / filters of a Flax parameter tree: the leaves named ``kernel``
    (what weight penalties and sparsity counts look at; biases and norm scales are not)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    kernels = [leaf for path, leaf in leaves if path and getattr(path[-1], "key", None) == "kernel"]
    if not kernels:
        # A penalty of 0 would silently regularise nothing (a tree whose weights have other
        # names, a bare array instead of the parameter tree).
        paths = [jax.tree_util.keystr(path) or "(the tree itself)" for path, _ in leaves[:4]]
        raise ValueError(f"no leaves named 'kernel' (Flax Dense / Conv weights) in the parameters; their leaves: "
                         f"{', '.join(paths) or 'none'}{' ...' if len(leaves) > 4 else ''}.")
    return kernels


def near_zero_fraction(params, *, threshold: float = 1e-3) -> float:
    """Fraction of the weights (``kernel`` leaves; biases excluded) with ``|w| < threshold``:
    how sparse an L1 penalty has made a network."""
    kernels = [np.abs(np.asarray(k)).ravel() for k in kernel_leaves(params)]
    weights = np.concatenate(kernels)
    return float(np.mean(weights < threshold))

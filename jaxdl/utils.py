"""Small helpers on pytrees."""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["param_count"]


def param_count(params) -> int:
    """Total number of scalars in a parameter pytree (e.g. ``variables["params"]``)."""
    return int(sum(np.prod(np.shape(leaf), dtype=np.int64) for leaf in jax.tree_util.tree_leaves(params)))

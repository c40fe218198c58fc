"""Label noise: a fraction of the training labels replaced by other classes (Zhang et al.
2017; the double-descent experiments of Nakkiran et al. 2020 and UDL Fig. 8.10)."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from jaxdl._checks import as_key
from jaxdl.data._container import Dataset

__all__ = ["with_label_noise"]


def with_label_noise(data: Dataset, fraction: float, *, key: jax.Array) -> Dataset:
    """``data`` with ``round(fraction * N)`` training labels, chosen at random, each replaced by
    a different class drawn uniformly from the other ``C - 1``; the test set is untouched.

    Every corrupted label is wrong (unlike drawing a fresh label, which keeps the true one
    with probability ``1 / C``), so ``fraction`` is exactly the fraction of wrong labels.
    ``info["label_noise"]`` records the fraction and the corrupted indices.
    """
    if data.num_classes is None or data.num_classes < 2:
        raise ValueError(f"with_label_noise: needs a classification set with >= 2 classes, got num_classes="
                         f"{data.num_classes}.")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"with_label_noise: fraction must be in [0, 1], got {fraction!r}.")
    seed = int(jax.random.randint(as_key(key), (), 0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    n = len(data.y_train)
    chosen = np.sort(rng.choice(n, size=int(round(float(fraction) * n)), replace=False))
    labels = np.array(data.y_train, copy=True)
    shift = rng.integers(1, data.num_classes, size=len(chosen))  # 1 .. C-1: never the same class
    labels[chosen] = (labels[chosen] + shift) % data.num_classes
    info = dict(data.info, label_noise={"fraction": float(fraction), "indices": chosen.tolist()})
    return dataclasses.replace(data, y_train=labels, info=info)

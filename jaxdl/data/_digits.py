"""scikit-learn's bundled 8x8 handwritten digits (UCI optdigits test set, 1,797 images)."""

from __future__ import annotations

import jax
import numpy as np

from jaxdl._checks import as_key
from jaxdl.data._container import Dataset

__all__ = ["digits"]


def digits(*, key: jax.Array, test_fraction: float = 0.2, flatten: bool = True) -> Dataset:
    """The 8x8 digits bundled with scikit-learn (no download), pixels scaled to ``[0, 1]``.

    Args:
      key: JAX key for the random train/test split.
      test_fraction: fraction of the 1,797 images held out for testing.
      flatten: ``x`` as ``[N, 64]`` if true, else ``[N, 8, 8, 1]`` images (NHWC).

    Returns:
      ``Dataset`` with ``y: [N]`` int32 in ``[0, 10)``.
    """
    from sklearn.datasets import load_digits

    key = as_key(key)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"digits: test_fraction must be in (0, 1), got {test_fraction}.")
    bunch = load_digits()
    x = bunch.images.astype(np.float32) / 16.0  # 4-bit intensities 0..16
    x = x.reshape(len(x), -1) if flatten else x[..., None]
    y = bunch.target.astype(np.int32)
    order = np.asarray(jax.random.permutation(key, len(x)))
    num_test = int(round(test_fraction * len(x)))
    test, train = order[:num_test], order[num_test:]
    return Dataset(x[train], y[train], x[test], y[test], num_classes=10, name="digits",
                   info={"source": "sklearn.datasets.load_digits", "test_fraction": test_fraction})

"""MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package."""

from __future__ import annotations

import random

import numpy as np

from jaxdl.data._container import Dataset

__all__ = ["mnist1d"]


def mnist1d(
    *, num_samples: int = 5000, train_split: float = 0.8, seed: int = 42, shuffle_seq: bool = False
) -> Dataset:
    """The MNIST-1D benchmark: 10 one-dimensional digit templates, padded, shifted, sheared,
    scaled and noised into length-40 signals (Greydanus, "Scaling down deep learning", 2020).

    Built by ``mnist1d.data.make_dataset``, never downloaded. That function seeds NumPy's and
    Python's *global* generators; their states are saved and restored here, so calling this
    does not change the randomness of the caller's program. With the defaults this is the
    paper's split: 4,000 training and 1,000 test examples, already centred and scaled to unit
    standard deviation over the whole set (the package's own normalisation).

    Args:
      num_samples: total number of examples (split by ``train_split``).
      train_split: fraction used for training.
      seed: the generator's seed (42 is the published dataset's).
      shuffle_seq: permute the 40 positions with one fixed permutation (the paper's
        "shuffled" variant that defeats convolutions).

    Returns:
      ``Dataset`` with ``x: [N, 40]`` float32 and ``y: [N]`` int32 in ``[0, 10)``.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    if num_samples < 20:
        raise ValueError(f"mnist1d: num_samples must be >= 20 (two per class), got {num_samples}.")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"mnist1d: train_split must be in (0, 1), got {train_split}.")
    args = get_dataset_args(as_dict=False)
    args.num_samples, args.train_split, args.seed, args.shuffle_seq = num_samples, train_split, seed, shuffle_seq
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        raw = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return Dataset(
        x_train=raw["x"], y_train=raw["y"], x_test=raw["x_test"], y_test=raw["y_test"],
        num_classes=10, name="mnist1d",
        info={"source": "mnist1d.data.make_dataset", "seed": seed, "shuffle_seq": shuffle_seq},
    )

"""The one dataset container used everywhere: train/test arrays plus metadata, validated."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["Dataset"]


def _first_bad_index(mask: np.ndarray) -> int:
    return int(np.argwhere(mask.reshape(mask.shape[0], -1).any(axis=1))[0, 0])


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test arrays of one supervised task, checked on construction.

    Attributes:
      x_train: ``[N, ...]`` inputs, stored as float32.
      y_train: ``[N]`` int32 class labels (classification) or ``[N, ...]`` float32 targets
        (regression).
      x_test: ``[M, ...]`` inputs with the same trailing shape as ``x_train``.
      y_test: ``[M]`` / ``[M, ...]`` like ``y_train``.
      num_classes: ``C`` for classification (labels must lie in ``[0, C)``); ``None`` for
        regression.
      name: a short name for logs and figures.
      info: free-form metadata (source, generator arguments, standardisation statistics).

    Raises:
      ValueError: empty splits, mismatched lengths or feature shapes, NaN/inf values, labels
        out of range. TypeError: non-numeric arrays or non-integer class labels.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int | None = None
    name: str = "dataset"
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.num_classes is not None and (
            isinstance(self.num_classes, bool) or not isinstance(self.num_classes, (int, np.integer))
            or self.num_classes < 1
        ):
            raise ValueError(f"{self.name}: num_classes must be a positive int or None, got {self.num_classes!r}.")
        for split in ("train", "test"):
            x = self._check_inputs(split, getattr(self, f"x_{split}"))
            y = self._check_targets(split, getattr(self, f"y_{split}"), len(x))
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"{self.name}: train inputs have feature shape {self.x_train.shape[1:]} but test "
                f"inputs have {self.x_test.shape[1:]}."
            )
        if self.y_train.shape[1:] != self.y_test.shape[1:]:
            raise ValueError(
                f"{self.name}: train targets have shape {self.y_train.shape[1:]} per example but "
                f"test targets have {self.y_test.shape[1:]}."
            )

    def _check_inputs(self, split: str, x) -> np.ndarray:
        x = np.asarray(x)
        where = f"{self.name}: x_{split}"
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"{where} must be numeric, got dtype {x.dtype}.")
        if np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"{where} must be real, got dtype {x.dtype} (pass x.real, or split real and "
                            f"imaginary parts into features).")
        if x.ndim < 2:
            raise ValueError(f"{where} must be [N, features...] (rank >= 2), got shape {x.shape}.")
        if x.shape[0] == 0:
            raise ValueError(f"{where} is empty: a dataset needs at least one example per split.")
        if x.size == 0:
            raise ValueError(f"{where} has no features: shape {x.shape}.")
        x = x.astype(np.float32)
        bad = ~np.isfinite(x)
        if bad.any():
            raise ValueError(
                f"{where} contains {int(bad.sum())} NaN/inf values (first in example "
                f"{_first_bad_index(bad)}); clean or impute them before training."
            )
        return x

    def _check_targets(self, split: str, y, n: int) -> np.ndarray:
        y = np.asarray(y)
        where = f"{self.name}: y_{split}"
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"{where} has shape {y.shape} but x_{split} has {n} examples.")
        if self.num_classes is None:  # regression
            if y.dtype == object or not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
                raise TypeError(f"{where} must be real numbers, got dtype {y.dtype}.")
            y = y.astype(np.float32)
            bad = ~np.isfinite(y)
            if bad.any():
                raise ValueError(f"{where} contains {int(bad.sum())} NaN/inf targets (first in example {_first_bad_index(bad)}).")
            return y
        if y.ndim != 1:
            raise ValueError(f"{where} must be [N] integer class labels, got shape {y.shape}.")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{where} must hold integer class labels, got dtype {y.dtype}.")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= self.num_classes:
            raise ValueError(
                f"{where} has labels in [{low}, {high}] but num_classes={self.num_classes} "
                f"allows only [0, {self.num_classes - 1}]."
            )
        return y.astype(np.int32)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input example, e.g. ``(40,)`` for MNIST-1D."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.x_test.shape[0])

    @property
    def is_classification(self) -> bool:
        return self.num_classes is not None

    def standardized(self) -> "Dataset":
        """Inputs shifted and scaled per feature by the *training* mean and std.

        ``x' = (x - mean_train) / std_train`` for both splits, so nothing about the test set
        leaks into training. Features that are constant on the training set keep scale 1.
        The statistics are stored in ``info["standardize"]``.
        """
        mean = self.x_train.mean(axis=0)
        std = self.x_train.std(axis=0)
        std = np.where(std < 1e-8, 1.0, std).astype(np.float32)
        info = dict(self.info, standardize={"mean": mean.tolist(), "std": std.tolist()})
        return dataclasses.replace(
            self,
            x_train=(self.x_train - mean) / std,
            x_test=(self.x_test - mean) / std,
            info=info,
        )

    def validation_split(self, fraction: float = 0.1, *, key) -> "Dataset":
        """A new ``Dataset`` that holds out a random ``fraction`` of the *training* examples as
        its test split (a validation set, for tuning without touching the real test set).

        Args:
          fraction: share of the training examples held out, in ``(0, 1)``.
          key: JAX key choosing which examples are held out.
        """
        import jax  # local: the container itself needs only NumPy

        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation fraction must be in (0, 1), got {fraction}.")
        held_out = max(1, int(round(fraction * self.num_train)))
        if held_out >= self.num_train:
            raise ValueError(f"{self.name}: {self.num_train} training examples are too few to hold out {fraction:.0%}.")
        order = np.asarray(jax.random.permutation(key, self.num_train))
        val, train = order[:held_out], order[held_out:]
        return dataclasses.replace(
            self, x_train=self.x_train[train], y_train=self.y_train[train],
            x_test=self.x_train[val], y_test=self.y_train[val], name=f"{self.name}-validation",
            info=dict(self.info, validation_fraction=fraction),
        )

    def __repr__(self) -> str:
        task = f"{self.num_classes} classes" if self.is_classification else "regression"
        return (
            f"Dataset({self.name!r}, train={self.num_train}, test={self.num_test}, "
            f"input_shape={self.input_shape}, {task})"
        )

"""Test problems for optimizer benchmarks: a model, its data, a loss, a step budget, a metric
and a target, as DeepOBS (Schneider, Balles & Hennig, ICLR 2019) defines a "test problem".

A problem is a frozen ``Problem``; ``PROBLEMS`` maps names to them and ``register_problem``
adds a user's::

    register_problem(Problem(
        name="moons_mlp", data=lambda data_dir, quick: jaxdl.data.moons(key=jax.random.key(0)),
        model=lambda data: jaxdl.MLP(features=(32, 2)), num_steps=500, batch_size=32,
        eval_every=50, target=0.95))

Data that is not on this machine (real MNIST without ``--data-dir``, a tfds set that was never
prepared) raises ``DataUnavailable`` with the way to get it; the suite skips that problem.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxdl import data as datasets
from jaxdl import models
from jaxdl._losses import softmax_cross_entropy
from jaxdl._metrics import accuracy
from jaxdl.data._container import Dataset

__all__ = ["Problem", "DataUnavailable", "PROBLEMS", "register_problem", "get_problem", "NoisyQuadratic",
           "quadratic_deep_hessian", "noisy_quadratic_data", "quadratic_loss", "DEFAULT_PROBLEMS"]


class DataUnavailable(RuntimeError):
    """A problem's data is not on this machine; the message says how to get it."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    Attributes:
      name: registry key, also the results folder's name.
      data: ``data(data_dir, quick) -> Dataset``; ``quick`` asks for a small version (tests).
        Raises ``DataUnavailable`` when the data is absent.
      model: ``model(dataset) -> flax.linen.Module`` (called with ``train=`` like jaxdl's).
      num_steps, batch_size, eval_every: the training budget (``num_steps`` a multiple of
        ``eval_every``).
      target: the ``metric`` value that counts as solved, for steps- and time-to-target.
      loss: per-example ``loss(outputs, targets) -> [B]``.
      metric: ``"loss"`` (lower is better) or a name in ``metrics`` (higher is better).
      metrics: ``{name: fn(outputs, targets) -> [B]}`` evaluated besides the loss.
      learning_rates: the DeepOBS protocol's log grid for this problem (default 1e-4 to 10 in
        half decades, 11 rates; DeepOBS's published baselines used a finer and wider grid).
      quick_steps: ``num_steps`` under ``--quick`` (``eval_every`` becomes half of it).
      device: ``"cpu"`` if it fits the default CPU suite, ``"gpu"`` if it is accelerator-sized.
      description: one line for the leaderboard.
    """

    name: str
    data: Callable[[str | None, bool], Dataset]
    model: Callable[[Dataset], nn.Module]
    num_steps: int
    batch_size: int
    eval_every: int
    target: float
    loss: Callable = softmax_cross_entropy
    metric: str = "accuracy"
    metrics: Mapping[str, Callable] = dataclasses.field(default_factory=lambda: {"accuracy": accuracy})
    learning_rates: tuple[float, ...] = tuple(float(r) for r in np.logspace(-4, 1, 11))
    quick_steps: int = 20
    device: str = "cpu"
    description: str = ""

    def __post_init__(self):
        if self.num_steps % self.eval_every:
            raise ValueError(f"problem {self.name!r}: num_steps={self.num_steps} is not a multiple of "
                             f"eval_every={self.eval_every}.")
        if self.metric != "loss" and self.metric not in self.metrics:
            raise ValueError(f"problem {self.name!r}: metric {self.metric!r} is neither 'loss' nor one of "
                             f"its metrics {sorted(self.metrics)}.")
        if self.device not in ("cpu", "gpu"):
            raise ValueError(f"problem {self.name!r}: device must be 'cpu' or 'gpu', got {self.device!r}.")

    @property
    def eval_metric(self) -> str:
        """The ``SweepResult`` key of the metric: ``eval_loss``, ``eval_accuracy``, ..."""
        return f"eval_{self.metric}"

    @property
    def mode(self) -> str:
        """``"min"`` for a loss, ``"max"`` for everything else."""
        return "min" if self.metric == "loss" else "max"

    def reached(self, values) -> np.ndarray:
        """Whether each value meets the target (NaN never does)."""
        values = np.asarray(values, np.float64)
        with np.errstate(invalid="ignore"):
            return values <= self.target if self.mode == "min" else values >= self.target

    def quick(self) -> "Problem":
        """The same problem with ``quick_steps`` steps (evaluated twice): for tests and ``--quick``."""
        return dataclasses.replace(self, num_steps=self.quick_steps, eval_every=max(1, self.quick_steps // 2))


PROBLEMS: dict[str, Problem] = {}


def register_problem(problem: Problem, *, overwrite: bool = False) -> Problem:
    """Add ``problem`` to ``PROBLEMS`` (a name taken raises unless ``overwrite``); returns it."""
    if not isinstance(problem, Problem):
        raise TypeError(f"register_problem expects a Problem, got {type(problem).__name__}.")
    if problem.name in PROBLEMS and not overwrite:
        raise ValueError(f"a problem named {problem.name!r} is already registered; pass overwrite=True.")
    PROBLEMS[problem.name] = problem
    return problem


def get_problem(name: str) -> Problem:
    """``PROBLEMS[name]``, or a ``KeyError`` that lists the known names."""
    if name not in PROBLEMS:
        raise KeyError(f"unknown problem {name!r}; known: {', '.join(sorted(PROBLEMS))}.")
    return PROBLEMS[name]


# --- the noisy quadratic (DeepOBS quadratic_deep) ---------------------------------------------

def quadratic_deep_hessian(dim: int = 100, seed: int = 42) -> np.ndarray:
    """DeepOBS's ``quadratic_deep`` Hessian: ``Q = R^T diag(lambda) R`` with 90% of the
    eigenvalues uniform in ``(0, 1)`` and 10% in ``(30, 60)`` (the spectrum Chaudhari et al.
    2017 report for deep nets) and ``R`` a random rotation. ``R`` here comes from the QR
    decomposition of a Gaussian matrix (Haar-distributed), not DeepOBS's subgroup algorithm, so
    the eigenvalues follow its recipe but the matrix is not bit-for-bit DeepOBS's. ``[dim, dim]``."""
    rng = np.random.RandomState(seed)
    small = int(round(0.9 * dim))
    eigenvalues = np.concatenate([rng.uniform(0.0, 1.0, small), rng.uniform(30.0, 60.0, dim - small)])
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    rotation = q * np.sign(np.diag(r))[None]  # sign fix: Haar measure
    return (rotation.T * eigenvalues[None]) @ rotation


def noisy_quadratic_data(dim: int = 100, num: int = 1000, noise: float = 0.6) -> Dataset:
    """DeepOBS's quadratic data set: ``num`` draws ``x ~ N(0, noise^2 I)`` for training (seed
    42) and ``num`` for testing (seed 43); targets are unused zeros ``[N, 1]``."""
    train = np.random.RandomState(42).normal(0.0, noise, (num, dim))
    test = np.random.RandomState(43).normal(0.0, noise, (num, dim))
    return Dataset(train, np.zeros((num, 1)), test, np.zeros((num, 1)), name="noisy_quadratic",
                   info={"source": f"DeepOBS quadratic data set (zero-mean normal, std {noise})"})


class NoisyQuadratic(nn.Module):
    """The parameter ``theta`` (``[dim]``, initialised to ones as in DeepOBS) minus each input:
    ``[B, dim] -> [B, dim]``; ``quadratic_loss`` turns ``z = theta - x`` into ``0.5 z^T Q z``."""

    dim: int = 100

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        theta = self.param("theta", nn.initializers.ones, (self.dim,))
        return theta[None] - x


def quadratic_loss(hessian: np.ndarray) -> Callable:
    """``loss(z, unused) = 0.5 z^T Q z`` per example, ``[B, dim] -> [B]``."""
    q = np.asarray(hessian, np.float32)

    def loss(z, targets):
        del targets
        return 0.5 * jnp.einsum("bi,ij,bj->b", z, q, z)

    return loss


# --- built-in problems ------------------------------------------------------------------------

def _mnist1d(data_dir, quick):
    return datasets.mnist1d(num_samples=1000 if quick else 5000)


def _digits(data_dir, quick):
    data = datasets.digits(key=jax.random.key(0))
    images = lambda x: x.reshape(-1, 8, 8, 1)  # noqa: E731
    return Dataset(images(data.x_train), data.y_train, images(data.x_test), data.y_test, num_classes=10,
                   name="digits_8x8", info=data.info)


def _mnist(data_dir, quick):
    if data_dir is None:
        raise DataUnavailable("real MNIST needs IDX files: pass --data-dir DIR (e.g. a folder holding "
                              "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte).")
    try:
        return datasets.mnist_idx(data_dir, train_count=8000)
    except (ValueError, FileNotFoundError) as error:
        raise DataUnavailable(f"real MNIST: {error}") from error


def _tfds(name):
    def load(data_dir, quick):
        try:
            return datasets.tfds_images(name, data_dir=data_dir)
        except Exception as error:  # tfds raises several kinds for "not prepared"
            raise DataUnavailable(f"{name} via tensorflow-datasets is not prepared here ({type(error).__name__}: "
                                  f"{str(error).splitlines()[0] if str(error) else ''}); prepare it with "
                                  f"`tfds build {name}` and pass --data-dir.") from error
    return load


def _builtins() -> list[Problem]:
    q = quadratic_deep_hessian()
    return [
        Problem("quadratic_deep", lambda d, quick: noisy_quadratic_data(), lambda data: NoisyQuadratic(),
                num_steps=700, batch_size=128, eval_every=70, target=86.0, loss=quadratic_loss(q), metric="loss",
                metrics={},
                description="DeepOBS noisy quadratic, 100-d, 100 epochs of 7 batches of 128"),
        Problem("mnist1d_mlp", _mnist1d, lambda data: models.MLP(features=(100, 100, 10)), num_steps=3000,
                batch_size=100, eval_every=300, target=0.60,
                description="MNIST-1D (Greydanus 2020), MLP 40-100-100-10"),
        Problem("mnist1d_cnn", _mnist1d, lambda data: models.CNN1D(channels=25, num_classes=10), num_steps=3000,
                batch_size=100, eval_every=300, target=0.85,
                description="MNIST-1D, 1D CNN of 3 conv layers (25 channels)"),
        Problem("digits_cnn", _digits, lambda data: models.SmallCNN(channels=(16, 32), hidden=64), num_steps=1000,
                batch_size=64, eval_every=100, target=0.95,
                description="scikit-learn digits 8x8, CNN c16-c32-d64"),
        # LeNet5()'s CPU convolutions are pixel-block matmuls, and vmapped they stay matmuls (XLA:CPU
        # turns vmapped convolutions into grouped ones, far slower: benchmarks/REPORT.md, section 15).
        Problem("mnist_lenet5", _mnist, lambda data: models.LeNet5(), num_steps=600,
                batch_size=128, eval_every=60, target=0.97,
                description="real MNIST (8,000 train / 2,000 test of t10k), LeNet-5, ~10 epochs"),
        Problem("fashion_mnist_cnn", _tfds("fashion_mnist"),
                lambda data: models.SmallCNN(channels=(32, 64), hidden=256), num_steps=6000, batch_size=128,
                eval_every=600, target=0.90, device="gpu", description="Fashion-MNIST, CNN c32-c64-d256"),
        Problem("cifar10_cnn", _tfds("cifar10"), lambda data: models.SmallCNN(channels=(64, 96, 128), hidden=512),
                num_steps=10000, batch_size=128, eval_every=1000, target=0.75, device="gpu",
                description="CIFAR-10, CNN c64-c96-c128-d512"),
        Problem("cifar10_resnet20", _tfds("cifar10"), lambda data: models.resnet20(), num_steps=20000,
                batch_size=128, eval_every=2000, target=0.88, device="gpu", description="CIFAR-10, ResNet-20"),
    ]


for _problem in _builtins():
    register_problem(_problem)

# What `python -m jaxdl.bench` runs without --problems: everything sized for a CPU.
DEFAULT_PROBLEMS = tuple(name for name, p in PROBLEMS.items() if p.device == "cpu")


def describe(problem: Problem) -> dict[str, Any]:
    """The problem's settings as JSON-ready values (for each run's JSON)."""
    return {"name": problem.name, "num_steps": problem.num_steps, "batch_size": problem.batch_size,
            "eval_every": problem.eval_every, "metric": problem.metric, "mode": problem.mode,
            "target": problem.target, "description": problem.description}



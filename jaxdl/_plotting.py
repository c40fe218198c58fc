"""Figures written by experiments (matplotlib, no display needed)."""

from __future__ import annotations

import os
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # experiments run headless: CI, servers, GPU machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["save_figure", "plot_decision_regions", "plot_history", "plot_bands", "plot_confusion_matrix", "plot_examples"]


def save_figure(fig, path: str | os.PathLike) -> str:
    """Lay out, write as PNG and close ``fig``; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return os.fspath(path)


def _band(ax, steps, values, label):
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    mean, std = values.mean(axis=1), values.std(axis=1)
    (line,) = ax.plot(steps, mean, label=label)
    if values.shape[1] > 1:
        # Clipped at the lowest seed so the band stays positive on a log-scaled loss axis.
        lower = np.maximum(mean - std, values.min(axis=1))
        ax.fill_between(steps, lower, mean + std, alpha=0.25, color=line.get_color())


def plot_history(history: Sequence[dict[str, Any]], path: str | os.PathLike, *, title: str = "") -> str:
    """Loss (train and test) and, when present, test accuracy against the step.

    Each record may hold scalars or per-seed lists (a stacked run); lists are drawn as
    mean +- one standard deviation across seeds.

    Returns:
      ``path``, after writing the PNG there.
    """
    records = [r for r in history if "eval_loss" in r or "train_loss" in r]
    steps = [r["step"] for r in records]
    has_accuracy = any("eval_accuracy" in r for r in records)
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(11 if has_accuracy else 5.5, 4), squeeze=False)
    ax = axes[0, 0]
    for name, label in (("train_loss", "train loss (epoch mean)"), ("eval_loss", "test loss")):
        pairs = [(r["step"], r[name]) for r in records if name in r]
        if pairs:
            _band(ax, [p[0] for p in pairs], [p[1] for p in pairs], label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    if has_accuracy:
        ax = axes[0, 1]
        _band(ax, steps, [r["eval_accuracy"] for r in records], "test accuracy")
        ax.set_xlabel("step")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_bands(
    series: dict[str, tuple[Sequence[float], Any]],
    path: str | os.PathLike,
    *,
    xlabel: str = "step",
    ylabel: str = "loss",
    title: str = "",
    logy: bool = True,
    hline: float | None = None,
) -> str:
    """One line per label: the mean over runs with a +- one standard deviation band.

    Args:
      series: ``{label: (x [S], values [K, S])}``, ``K`` runs (seeds) of ``S`` points each.
      hline: a dashed horizontal line there (a target), if given.

    Returns:
      ``path``, after writing the PNG there.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for label, (x, values) in series.items():
        _band(ax, x, np.asarray(values, dtype=np.float64).T, label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if hline is not None:
        ax.axhline(hline, color="gray", linestyle="--", linewidth=1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_confusion_matrix(matrix, path: str | os.PathLike, *, class_names: Sequence[str] | None = None,
                          title: str = "") -> str:
    """A ``[C, C]`` confusion matrix (rows: true class, columns: predicted) as a heat map with
    the counts written in the cells. Returns ``path``."""
    matrix = np.asarray(matrix)
    c = matrix.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(c)]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * c, 0.8 + 0.55 * c))
    # Row-normalised colours, so a rare class's errors are as visible as a common one's.
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(c):
        for j in range(c):
            if matrix[i, j]:
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks(range(c), names)
    ax.set_yticks(range(c), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_examples(images, labels, predictions, path: str | os.PathLike, *, max_images: int = 36,
                  title: str = "") -> str:
    """A grid of images ``[N, H, W, C]`` (C = 1 or 3), each titled ``true -> predicted``
    (e.g. the misclassified test examples). Returns ``path``."""
    images = np.asarray(images)[:max_images]
    n = max(len(images), 1)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.5 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            img = images[k]
            img = (img - img.min()) / max(float(img.max() - img.min()), 1e-8)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None)
            ax.set_title(f"{int(labels[k])} -> {int(predictions[k])}", fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_decision_regions(panels: Sequence[dict[str, Any]], path: str | os.PathLike, *, ncols: int = 3,
                          resolution: int = 200) -> str:
    """Decision regions of 2-input classifiers, one panel each, with the data on top.

    Each panel: ``{"title": str, "predict": [M, 2] -> [M, C] logits (or [M, 1] for binary),
    "x": [N, 2], "y": [N]}``. The background is the predicted class on a grid over the
    data's range (padded by 10%).

    Returns:
      ``path``, after writing the PNG there.
    """
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels):
        x, y = np.asarray(panel["x"]), np.asarray(panel["y"])
        lo, hi = x.min(axis=0), x.max(axis=0)
        pad = 0.1 * (hi - lo)
        xs, ys = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution), np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
        logits = np.asarray(panel["predict"](grid))
        classes = (logits[:, 0] > 0).astype(int) if logits.shape[1] == 1 else logits.argmax(axis=1)
        ax.contourf(xs, ys, classes.reshape(resolution, resolution), alpha=0.3, cmap="coolwarm",
                    levels=np.arange(classes.max() + 2) - 0.5)
        ax.scatter(x[:, 0], x[:, 1], c=y, s=6, cmap="coolwarm", edgecolors="none")
        ax.set_title(panel["title"], fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    return save_figure(fig, path)

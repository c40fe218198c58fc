"""Figures for adversarial examples: clean and attacked images side by side."""

from __future__ import annotations

import os

import numpy as np

from jaxdl._plotting import plt, save_figure


def plot_adversarial_examples(x, x_adv, labels, clean_predictions, adversarial_predictions,
                              path: str | os.PathLike, *, max_images: int = 8, title: str = "") -> str:
    """Three rows per image column: the clean image ``[N, H, W, 1]`` titled with its label and
    prediction, the adversarial image with its prediction, and the perturbation (grey = 0).
    Returns ``path``."""
    x, x_adv = np.asarray(x)[:max_images], np.asarray(x_adv)[:max_images]
    n = max(len(x), 1)
    fig, axes = plt.subplots(3, n, figsize=(1.4 * n, 4.6), squeeze=False)
    scale = max(float(np.abs(x_adv - x).max()), 1e-8) if len(x) else 1.0
    for k in range(n):
        for row in range(3):
            axes[row, k].axis("off")
        if k >= len(x):
            continue
        axes[0, k].imshow(x[k, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[0, k].set_title(f"{int(labels[k])}: {int(clean_predictions[k])}", fontsize=8)
        axes[1, k].imshow(x_adv[k, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[1, k].set_title(f"-> {int(adversarial_predictions[k])}", fontsize=8,
                             color="red" if adversarial_predictions[k] != labels[k] else "black")
        axes[2, k].imshow((x_adv - x)[k, ..., 0], cmap="RdBu", vmin=-scale, vmax=scale)
    axes[0, 0].text(-0.3, 0.5, "clean", transform=axes[0, 0].transAxes, rotation=90, va="center", ha="right")
    axes[1, 0].text(-0.3, 0.5, "attacked", transform=axes[1, 0].transAxes, rotation=90, va="center", ha="right")
    axes[2, 0].text(-0.3, 0.5, "change", transform=axes[2, 0].transAxes, rotation=90, va="center", ha="right")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)

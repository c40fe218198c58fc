"""Figures for feature visualisation and attribution: image grids, filters, attribution maps."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from jaxdl._plotting import plt, save_figure


def _normalised(img: np.ndarray) -> np.ndarray:
    return (img - img.min()) / max(float(img.max() - img.min()), 1e-8)


def plot_image_grid(images, path: str | os.PathLike, *, titles: Sequence[str] | None = None, ncols: int | None = None,
                    title: str = "", normalise: bool = True) -> str:
    """Images ``[N, H, W, C]`` (C = 1 or 3) in a grid, each optionally titled (e.g. visualised
    classes or channels). ``normalise`` stretches each image to its own range. Returns ``path``."""
    images = np.asarray(images, np.float32)
    n = max(len(images), 1)
    cols = ncols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.5 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            img = _normalised(images[k]) if normalise else np.clip(images[k], 0, 1)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                      vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_filters(kernel, path: str | os.PathLike, *, title: str = "") -> str:
    """The filters of a convolution kernel ``[h, w, in, out]`` (Flax's layout), one image per
    output channel (its input channels as colour when there are 3, else their mean)."""
    k = np.asarray(kernel, np.float32)
    filters = k.transpose(3, 0, 1, 2)
    if filters.shape[-1] != 3:
        filters = filters.mean(axis=-1, keepdims=True)
    return plot_image_grid(filters, path, titles=[str(i) for i in range(len(filters))], title=title)


def plot_attributions(images, maps: Mapping[str, np.ndarray], path: str | os.PathLike, *,
                      titles: Sequence[str] | None = None, title: str = "") -> str:
    """One column per image ``[N, H, W, C]``: the image, then one row per method of
    ``maps`` (``{name: [N, H, W] or [N, H, W, C]}``), shown as ``|attribution|`` (max over
    channels) in a heat colour map over the faded image."""
    images = np.asarray(images, np.float32)
    n, rows = len(images), 1 + len(maps)
    fig, axes = plt.subplots(rows, n, figsize=(1.5 * n, 1.6 * rows), squeeze=False)
    for j in range(n):
        grey = _normalised(images[j]).mean(axis=-1)
        axes[0, j].imshow(grey, cmap="gray", vmin=0, vmax=1)
        if titles is not None:
            axes[0, j].set_title(str(titles[j]), fontsize=8)
        for i, (name, values) in enumerate(maps.items(), start=1):
            m = np.abs(np.asarray(values[j], np.float32))
            m = m.max(axis=-1) if m.ndim == 3 else m
            axes[i, j].imshow(grey, cmap="gray", vmin=0, vmax=1, alpha=0.35)
            axes[i, j].imshow(_normalised(m), cmap="inferno", alpha=0.75)
            if j == 0:
                axes[i, j].set_ylabel(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)

"""Figures of loss landscapes and Hessian spectra (matplotlib, headless)."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from jaxdl._plotting import plt, save_figure

__all__ = ["plot_surface", "plot_curves", "plot_spectral_density"]


def _grid_losses(a, b, losses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    z = np.asarray(losses, np.float64).reshape(len(a), len(b))
    return a, b, z


def plot_surface(a, b, losses, path: str | os.PathLike, *, trajectory=None, title: str = "",
                 levels: int = 30, log: bool = True) -> str:
    """A 2D loss surface as a contour plot (with an optional optimiser path) and a 3D surface.

    Args:
      a, b: ``[A]`` and ``[B]`` coordinates along the two directions.
      losses: ``[A * B]`` or ``[A, B]`` losses, ``a`` varying slowest (the order of
        ``jnp.meshgrid(a, b, indexing="ij")``, as ``loss_surface`` was given it).
      trajectory: optional ``[T, 2]`` coordinates (``trajectory_pca(...).coords``) drawn on the
        contour, start marked with a circle, end with a star.
      log: contour ``log10`` of the loss (Li et al.'s plots span orders of magnitude).

    Returns:
      ``path``, after writing the PNG there.
    """
    a, b, z = _grid_losses(a, b, losses)
    shown = np.log10(np.maximum(z, 1e-12)) if log else z
    fig = plt.figure(figsize=(11, 4.5))
    ax = fig.add_subplot(1, 2, 1)
    contour = ax.contour(a, b, shown.T, levels=levels, cmap="viridis")
    fig.colorbar(contour, ax=ax, label="log10 loss" if log else "loss")
    if trajectory is not None:
        t = np.asarray(trajectory, np.float64)
        ax.plot(t[:, 0], t[:, 1], "-", color="crimson", lw=1.2, label="optimiser path")
        ax.plot(t[0, 0], t[0, 1], "o", color="crimson")
        ax.plot(t[-1, 0], t[-1, 1], "*", color="crimson", ms=12)
        ax.legend(loc="upper right")
    ax.plot(0, 0, "k+", ms=10)
    ax.set_xlabel("direction 1")
    ax.set_ylabel("direction 2")
    ax.set_title(title)
    ax3d = fig.add_subplot(1, 2, 2, projection="3d")
    aa, bb = np.meshgrid(a, b, indexing="ij")
    ax3d.plot_surface(aa, bb, z, cmap="viridis", linewidth=0, antialiased=True)
    ax3d.set_xlabel("direction 1")
    ax3d.set_ylabel("direction 2")
    ax3d.set_zlabel("loss")
    return save_figure(fig, path)


def plot_curves(x, curves: Mapping[str, Sequence[float]], path: str | os.PathLike, *, xlabel: str = "alpha",
                ylabel: str = "loss", title: str = "", log: bool = False) -> str:
    """One-dimensional curves (interpolations, 1D slices) against ``x``, one line per name."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(np.asarray(x), np.asarray(values), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_spectral_density(densities: Mapping[str, tuple], path: str | os.PathLike, *, title: str = "") -> str:
    """Eigenvalue densities ``{name: (grid, density)}`` (e.g. from ``hessian_density``), on a
    log scale: the bulk near zero and the few outliers both show (Ghorbani et al. 2019, Fig. 1)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (grid, density) in densities.items():
        ax.semilogy(np.asarray(grid), np.maximum(np.asarray(density), 1e-8), label=name)
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)

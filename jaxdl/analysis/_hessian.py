"""Curvature of a loss from Hessian-vector products: top eigenvalues, trace, spectral density.

Never a dense Hessian: ``H v`` is ``jax.jvp`` of ``jax.grad`` (forward-over-reverse; Pearlmutter
1994), about the cost of two gradients, and memory that of one. The three estimators are
PyHessian's (Yao, Gholami, Keutzer & Mahoney, *PyHessian: Neural Networks Through the Lens of
the Hessian*, 2020), as compiled JAX programs:

* ``hessian_eigenvalues``: the Lanczos iteration (Lanczos 1950) with full
  reorthogonalisation; the Ritz values of the ``m x m`` tridiagonal matrix converge to the
  extreme eigenvalues first (PyHessian uses power iteration with deflation, one eigenvalue at
  a time; Lanczos finds the top ``k`` together from the same products);
* ``hessian_trace``: Hutchinson's estimator ``E[z^T H z] = tr(H)`` with Rademacher probes
  ``z`` (Hutchinson 1990; Avron & Toledo 2011);
* ``hessian_density``: stochastic Lanczos quadrature (Golub & Welsch 1969; Lin, Saad & Yang
  2016; Ghorbani, Krishnan & Xiao, ICML 2019): ``m`` Lanczos steps from a random unit vector
  give nodes ``theta_j`` (Ritz values) and weights ``tau_j`` (squared first components of the
  Ritz vectors) with ``sum_j tau_j theta_j^p = v^T H^p v`` for ``p < 2m``; averaged over
  probes and smoothed by a Gaussian, they estimate the eigenvalue density.

``loss_fn(params) -> scalar`` is any twice-differentiable function (``dataset_loss`` builds one
from a model and a data set). Memory: the Lanczos basis is ``m x P`` floats for ``P``
parameters.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxdl._checks import as_key, positive_int

__all__ = ["hvp", "hessian_eigenvalues", "TraceEstimate", "hessian_trace", "SpectralDensity", "hessian_density"]


def hvp(loss_fn: Callable[[Any], jax.Array], params, v):
    """The Hessian-vector product ``H v = d/dt grad L(params + t v)`` at ``t = 0``, a pytree like
    ``params`` (``jax.jvp`` of ``jax.grad``: no dense Hessian)."""
    return jax.jvp(jax.grad(loss_fn), (params,), (v,))[1]


def _flat_matvec(loss_fn, params):
    flat, unravel = ravel_pytree(params)

    def matvec(v: jax.Array) -> jax.Array:
        return ravel_pytree(hvp(loss_fn, params, unravel(v.astype(flat.dtype))))[0].astype(jnp.float32)

    return matvec, flat.shape[0]


def _orthogonalise(w: jax.Array, basis: jax.Array, rows: jax.Array) -> jax.Array:
    """``w`` minus its projection on the ``rows``-masked rows of ``basis`` (twice: classical
    Gram-Schmidt applied twice is as stable as modified; Giraud et al. 2005)."""
    b = basis * rows[:, None]
    for _ in range(2):
        w = w - b.T @ (b @ w)
    return w


def _lanczos(matvec, n: int, m: int, key: jax.Array, v0: jax.Array | None = None):
    """``m`` Lanczos steps with full reorthogonalisation from ``v0`` (or a random unit vector).

    When the Krylov space is exhausted (``beta ~ 0``: fewer distinct eigenvalues than ``m``)
    the iteration restarts from a random vector orthogonal to the basis, with ``beta = 0``:
    the tridiagonal matrix splits into blocks whose eigenvalues are all eigenvalues of ``H``,
    and the quadrature weights of the first block are unchanged.

    Returns:
      ``(alphas [m], betas [m - 1], basis [m, n])``.
    """
    k0, key = jax.random.split(key)
    v0 = jax.random.normal(k0, (n,)) if v0 is None else v0
    basis = jnp.zeros((m, n), jnp.float32).at[0].set(v0 / jnp.linalg.norm(v0))

    def step(i, carry):
        basis, alphas, betas, scale = carry
        v = basis[i]
        w = matvec(v)
        alpha = jnp.vdot(v, w)
        w = _orthogonalise(w, basis, (jnp.arange(m) <= i).astype(jnp.float32))
        beta = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(alpha) + beta)
        broke = beta <= 1e-5 * scale
        fresh = _orthogonalise(jax.random.normal(jax.random.fold_in(key, i), (n,)), basis,
                               (jnp.arange(m) <= i).astype(jnp.float32))
        nxt = jnp.where(broke, fresh / jnp.linalg.norm(fresh), w / jnp.where(broke, 1.0, beta))
        basis = basis.at[jnp.minimum(i + 1, m - 1)].set(jnp.where(i + 1 < m, nxt, basis[m - 1]))
        return basis, alphas.at[i].set(alpha), betas.at[i].set(jnp.where(broke, 0.0, beta)), scale

    init = (basis, jnp.zeros(m, jnp.float32), jnp.zeros(m, jnp.float32), jnp.float32(0.0))
    basis, alphas, betas, _ = jax.lax.fori_loop(0, m, step, init)
    return alphas, betas[:-1], basis


@functools.lru_cache(maxsize=8)  # holds the loss (and the data it closes over): a few only
def _lanczos_program(loss_fn, n: int, m: int):
    """The compiled ``(params, key) -> (alphas [m], betas [m - 1])`` of ``loss_fn``'s Hessian,
    cached on the function: the eigenvalues and every probe of the density share one program."""
    @jax.jit
    def program(params, key):
        matvec, _ = _flat_matvec(loss_fn, params)
        alphas, betas, _ = _lanczos(matvec, n, m, key)
        return alphas, betas

    return program


def _tridiagonal(alphas: jax.Array, betas: jax.Array) -> jax.Array:
    return jnp.diag(alphas) + jnp.diag(betas, 1) + jnp.diag(betas, -1)


def _iterations(where: str, num_iters, n: int, k: int = 1) -> int:
    m = max(4 * k, 32) if num_iters is None else positive_int(f"{where}: num_iters", num_iters)
    if m < k:
        raise ValueError(f"{where}: num_iters={m} Lanczos steps cannot give k={k} eigenvalues.")
    return min(m, n)  # at most n orthogonal directions exist


def hessian_eigenvalues(loss_fn: Callable[[Any], jax.Array], params, *, k: int = 1, key: jax.Array,
                        num_iters: int | None = None) -> jax.Array:
    """The ``k`` largest eigenvalues of the Hessian of ``loss_fn`` at ``params``, descending.

    Args:
      loss_fn: ``params -> scalar``.
      params: where the Hessian is taken (a pytree; all leaves float).
      k: how many (the largest, algebraically: at a minimum, the sharpest directions).
      key: a JAX random key for the starting vector.
      num_iters: Lanczos steps ``m`` (Hessian-vector products); default ``max(4k, 32)``,
        capped at the number of parameters. The top Ritz values converge first; more steps,
        more accurate ``k``-th value.

    Returns:
      ``[k]`` float32 eigenvalues, largest first.
    """
    k = positive_int("hessian_eigenvalues: k", k)
    matvec, n = _flat_matvec(loss_fn, params)
    if k > n:
        raise ValueError(f"hessian_eigenvalues: k={k} exceeds the number of parameters, {n}.")
    m = _iterations("hessian_eigenvalues", num_iters, n, k)
    alphas, betas = _lanczos_program(loss_fn, n, m)(params, as_key(key))
    return jnp.linalg.eigvalsh(_tridiagonal(alphas, betas))[::-1][:k]


class TraceEstimate(NamedTuple):
    """Hutchinson's estimate of ``tr(H)``.

    Attributes:
      trace: the mean of ``z^T H z`` over the probes (a scalar).
      std_error: its standard error, ``std(samples) / sqrt(num_probes)``.
      samples: ``[num_probes]`` values of ``z^T H z``.
    """

    trace: jax.Array
    std_error: jax.Array
    samples: jax.Array


def hessian_trace(loss_fn: Callable[[Any], jax.Array], params, *, key: jax.Array, num_probes: int = 64,
                  chunk_size: int = 8) -> TraceEstimate:
    """Hutchinson's estimate of the Hessian's trace: ``mean_i z_i^T H z_i``, ``z_i`` Rademacher (+-1).

    Unbiased; each sample is exactly ``tr(H)`` when ``H`` is diagonal (``z_j^2 = 1``), and the
    variance is ``2 sum_{i != j} H_ij^2``. ``chunk_size`` probes run together under ``vmap``.

    Returns:
      ``TraceEstimate(trace, std_error, samples [num_probes])``.
    """
    num_probes = positive_int("hessian_trace: num_probes", num_probes)
    chunk_size = positive_int("hessian_trace: chunk_size", chunk_size)
    _, n = _flat_matvec(loss_fn, params)
    s = _hutchinson_program(loss_fn, n, num_probes, min(chunk_size, num_probes))(params, as_key(key))
    std_error = jnp.std(s, ddof=1) / jnp.sqrt(num_probes) if num_probes > 1 else jnp.float32(jnp.nan)
    return TraceEstimate(jnp.mean(s), std_error, s)


@functools.lru_cache(maxsize=8)  # holds the loss (and the data it closes over): a few only
def _hutchinson_program(loss_fn, n: int, num_probes: int, chunk_size: int):
    @jax.jit
    def samples(params, key):
        matvec, _ = _flat_matvec(loss_fn, params)

        def quadratic_form(probe_key):
            z = jax.random.rademacher(probe_key, (n,), jnp.float32)
            return jnp.vdot(z, matvec(z))

        return jax.lax.map(quadratic_form, jax.random.split(key, num_probes), batch_size=chunk_size)

    return samples


class SpectralDensity(NamedTuple):
    """An eigenvalue density by stochastic Lanczos quadrature.

    Attributes:
      grid: ``[G]`` eigenvalue axis.
      density: ``[G]`` the smoothed density on ``grid`` (integrates to ~1).
      nodes: ``[num_probes, m]`` Ritz values of each probe.
      weights: ``[num_probes, m]`` their quadrature weights (each row sums to 1).
    """

    grid: np.ndarray
    density: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray


def hessian_density(loss_fn: Callable[[Any], jax.Array], params, *, key: jax.Array, num_probes: int = 4,
                    num_iters: int | None = None, num_points: int = 512, sigma: float | None = None) -> SpectralDensity:
    """The Hessian's eigenvalue density by stochastic Lanczos quadrature (Ghorbani et al. 2019).

    ``phi(t) = mean_probes sum_j tau_j N(t; theta_j, sigma^2)``, with ``(theta_j, tau_j)`` the
    Gauss quadrature of the probe's spectral measure from ``m`` Lanczos steps. Probes are
    standard Gaussian vectors (normalised).

    Args:
      num_probes: independent starting vectors averaged.
      num_iters: Lanczos steps per probe; default 32 (capped at the number of parameters).
      num_points: size of the eigenvalue grid, which spans the nodes plus ``5 sigma``.
      sigma: Gaussian smoothing width; default 1% of the nodes' range.

    Returns:
      ``SpectralDensity(grid, density, nodes, weights)``.
    """
    num_probes = positive_int("hessian_density: num_probes", num_probes)
    num_points = positive_int("hessian_density: num_points", num_points)
    _, n = _flat_matvec(loss_fn, params)
    m = _iterations("hessian_density", num_iters, n)
    program, nodes, weights = _lanczos_program(loss_fn, n, m), [], []
    for probe_key in jax.random.split(as_key(key), num_probes):  # one compiled program, run per probe
        alphas, betas = program(params, probe_key)
        theta, vectors = np.linalg.eigh(np.asarray(_tridiagonal(alphas, betas), np.float64))
        nodes.append(theta)
        weights.append(vectors[0] ** 2)
    nodes, weights = np.stack(nodes), np.stack(weights)
    spread = float(nodes.max() - nodes.min())
    sigma = (0.01 * spread if spread > 0 else 1e-3) if sigma is None else float(sigma)
    if not sigma > 0:
        raise ValueError(f"hessian_density: sigma must be > 0, got {sigma}.")
    grid = np.linspace(nodes.min() - 5 * sigma, nodes.max() + 5 * sigma, num_points)
    gauss = np.exp(-0.5 * ((grid[None, None, :] - nodes[..., None]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    density = np.mean(np.sum(weights[..., None] * gauss, axis=1), axis=0)
    return SpectralDensity(grid.astype(np.float32), density.astype(np.float32), nodes.astype(np.float32),
                           weights.astype(np.float32))

"""Robust accuracy: the accuracy under attack for a whole list of budgets, as one program
vmapped over the budgets, in batches over a data set."""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxdl._checks import as_key, positive_int
from jaxdl.robust._attacks import LogitsFn, accepts_key, check_attack_inputs, fgsm, pgd

__all__ = ["ATTACKS", "robust_accuracy"]

ATTACKS: dict[str, Callable] = {"fgsm": fgsm, "pgd": pgd}


def _attack(attack) -> Callable:
    if callable(attack):
        return attack
    if attack not in ATTACKS:
        raise ValueError(f"robust_accuracy: unknown attack {attack!r}; choose one of {sorted(ATTACKS)} or pass a "
                         "function (logits_fn, x, y, *, eps, ...) -> x_adv.")
    return ATTACKS[attack]


def _budgets(eps) -> np.ndarray:
    e = np.asarray(eps, np.float64)
    if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)) or np.any(e < 0):
        raise ValueError(f"robust_accuracy: eps must be a non-empty list of finite numbers >= 0, got {eps!r}.")
    return e.astype(np.float32)


def _robust_counts(logits_fn: LogitsFn, attack: Callable, with_key: bool, kwargs: dict):
    """``(x [B, ...], y [B], mask [B], eps [E], key) -> [E]`` robust examples per budget.

    An example counts as robust at ``eps_i`` only if it is classified correctly clean and
    under the attack at every ``eps_j <= eps_i``: a perturbation found within a smaller ball
    lies in every larger one, so the accuracy never increases with ``eps``."""
    def counts(x, y, mask, eps, key):
        def correct_at(e, k):
            extra = {"key": k} if with_key else {}
            x_adv = attack(logits_fn, x, y, eps=e, **kwargs, **extra)
            return jnp.argmax(logits_fn(x_adv), axis=-1) == y

        correct = jax.vmap(correct_at)(eps, jax.random.split(key, eps.shape[0]))  # [E, B]
        clean = jnp.argmax(logits_fn(x), axis=-1) == y
        within = eps[None, :] <= eps[:, None]  # [E_i, E_j]: eps_j <= eps_i
        robust = clean[None] & jnp.all(jnp.where(within[:, :, None], correct[None], True), axis=1)
        return jnp.sum(robust * mask[None], axis=1)
    return jax.jit(counts)


@functools.lru_cache(maxsize=8)  # holds logits_fn (and the variables it closes over): a few only
def _cached_program(logits_fn, attack, with_key: bool, kwargs: tuple):
    # A second call with the same function and attack settings (other budgets of the same
    # count, other data of the same batch size) reuses the compiled program.
    return _robust_counts(logits_fn, attack, with_key, dict(kwargs))


def _program(logits_fn, attack, with_key: bool, kwargs: dict):
    try:
        return _cached_program(logits_fn, attack, with_key, tuple(sorted(kwargs.items())))
    except TypeError:  # an unhashable argument (e.g. an array): compile for this call only
        return _robust_counts(logits_fn, attack, with_key, kwargs)


def robust_accuracy(logits_fn: LogitsFn, x, y, *, eps: Sequence[float], attack="pgd", batch_size: int = 256,
                    key: jax.Array | None = None, progress: bool = False, **attack_kwargs) -> jax.Array:
    """Accuracy under ``attack`` for every budget in ``eps``, over a whole data set.

    Each batch runs one compiled program that attacks at all ``E`` budgets at once (``vmap``
    over ``eps``, so memory grows with ``E * batch_size``); the last batch is padded and
    masked, so one program serves every batch. An example is robust at ``eps_i`` when it is
    classified correctly clean and after the attack at every budget ``<= eps_i`` (a smaller
    ball's adversarial example is one of the larger ball's too), so the curve is
    non-increasing, and the ``eps = 0`` entry is the clean accuracy.

    Args:
      logits_fn: ``x [B, ...] -> logits [B, C]`` (jit-compatible).
      x: ``[N, ...]`` inputs; y: ``[N]`` true labels.
      eps: ``[E]`` budgets >= 0.
      attack: ``"pgd"``, ``"fgsm"``, or a function ``(logits_fn, x, y, *, eps, **kwargs) -> x_adv``.
      batch_size: examples per program call.
      key: random key, passed (folded per batch and budget) to attacks that take ``key``
        (PGD's random start).
      attack_kwargs: the attack's other arguments, e.g. ``steps=40, norm="l2"``.

    Returns:
      ``[E]`` float32 robust accuracies, in the order of ``eps``.
    """
    attack = _attack(attack)
    if attack_kwargs.get("targeted"):
        raise ValueError("robust_accuracy: measures untargeted robustness; targeted=True is not meaningful here.")
    budgets, batch_size = _budgets(eps), positive_int("robust_accuracy: batch_size", batch_size)
    x, y = jnp.asarray(x), jnp.asarray(y)
    check_attack_inputs("robust_accuracy", logits_fn, x, y, eps=0.0, norm=attack_kwargs.get("norm", "linf"),
                        clip=attack_kwargs.get("clip", (0.0, 1.0)))
    takes_key = accepts_key(attack)
    if takes_key and key is None and (attack is not pgd or attack_kwargs.get("random_start", True)):
        raise ValueError("robust_accuracy: this attack draws random numbers; pass key=jax.random.key(seed).")
    key = as_key(key) if key is not None else jax.random.key(0)
    program = _program(logits_fn, attack, takes_key, attack_kwargs)
    n, total = x.shape[0], jnp.zeros(budgets.shape, jnp.float32)
    for i, start in enumerate(tqdm(range(0, n, batch_size), disable=not progress, desc="robust accuracy")):
        rows = np.arange(start, start + batch_size)
        mask = jnp.asarray(rows < n, jnp.float32)
        rows = np.where(rows < n, rows, start)  # pad with a real row, masked out
        total = total + program(x[rows], y[rows], mask, jnp.asarray(budgets), jax.random.fold_in(key, i))
    return total / n

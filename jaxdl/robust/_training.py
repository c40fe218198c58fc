"""Adversarial training (Madry et al. 2018) as a wrapper of the engine's gradient function."""

from __future__ import annotations

from typing import Callable

import jax

from jaxdl._step import Gradients, GradientFn, apply_model
from jaxdl._state import TrainState
from jaxdl.robust._attacks import accepts_key

__all__ = ["adversarial"]


def adversarial(gradients: GradientFn, attack: Callable, *, eps=None) -> GradientFn:
    """``gradients`` of the loss at each batch's adversarial examples: Madry et al.'s
    (2018) ``min_theta E max_{||delta|| <= eps} L(f_theta(x + delta), y)``, the inner maximum
    approximated by ``attack``.

    The attack sees the model in inference mode (no dropout, running batch statistics) with
    the step's parameters; its result is a constant of the outer gradient (Danskin's
    theorem: the gradient at the maximiser). Composes like every other wrapper::

        attack = functools.partial(jaxdl.pgd, eps=0.3, steps=40, step_size=0.01)
        step = jaxdl.gradient_step(jaxdl.adversarial(jaxdl.loss_gradients(jaxdl.softmax_cross_entropy), attack))

    and under ``across_devices`` (each device attacks its shard, with its own key) or ``vmap``.

    Args:
      gradients: the gradient function to wrap, e.g. ``jaxdl.loss_gradients(loss)``.
      attack: ``(logits_fn, x, y[, *, key]) -> x_adv``, e.g. ``functools.partial(jaxdl.pgd, ...)``;
        an attack that takes ``key`` gets one drawn from the step's key, separate from dropout's.
      eps: optional budget passed to the attack as ``eps=``: a number, or an optax schedule
        ``step -> eps`` (e.g. ``optax.linear_schedule(0.0, 0.3, 2000)``). Ramping the budget up
        is how small networks are trained at large budgets, which from the first step
        otherwise stall at chance (Madry et al. 2018, Fig. 4: low capacity fails under PGD
        training; Gowal et al. 2018 ramp eps for the same reason).
    """
    extra_key = accepts_key(attack)

    def on_adversarial_examples(state: TrainState, batch: dict, rng: jax.Array, count: jax.Array) -> Gradients:
        attack_rng, rng = jax.random.split(rng)

        def logits_fn(x):
            return apply_model(state, state.params, x, train=False)[0]

        extra = {"key": attack_rng} if extra_key else {}
        if eps is not None:
            extra["eps"] = eps(state.step) if callable(eps) else eps
        x_adv = jax.lax.stop_gradient(attack(logits_fn, batch["x"], batch["y"], **extra))
        return gradients(state, {**batch, "x": x_adv}, rng, count)

    return on_adversarial_examples

"""Adversarial attacks on a classifier ``logits_fn(x [B, ...]) -> [B, C]``: the fast gradient
method (FGSM and its L2 form) and projected gradient descent, each one compiled program.

An attack looks for ``x' = x + delta`` with ``||delta|| <= eps`` (L-infinity or L2) inside the
input box ``clip`` that maximises an attack loss ``L(logits_fn(x'), y)`` (untargeted: move
away from the true class ``y``) or minimises it (targeted: ``y`` is the class to reach).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxdl._checks import as_key, positive_int
from jaxdl._losses import softmax_cross_entropy

__all__ = ["ATTACK_LOSSES", "NORMS", "accepts_key", "fgsm", "margin_loss", "pgd"]

LogitsFn = Callable[[jax.Array], jax.Array]
AttackLoss = Callable[[jax.Array, jax.Array], jax.Array]
NORMS = ("linf", "l2")


def margin_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Carlini & Wagner's (2017) margin ``max_{j != y} z_j - z_y`` per example, ``[B, C] -> [B]``.

    Positive exactly when the example is misclassified; unlike cross-entropy it does not
    saturate once the softmax is confident, which makes it the stronger loss against
    networks that push logits far apart (Carlini & Wagner 2017, objective f6 with kappa = 0).
    """
    label_logits = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    others = jnp.where(jax.nn.one_hot(labels, logits.shape[-1], dtype=bool), -jnp.inf, logits)
    return jnp.max(others, axis=-1) - label_logits


ATTACK_LOSSES: dict[str, AttackLoss] = {"cross_entropy": softmax_cross_entropy, "margin": margin_loss}


def _attack_loss(where: str, loss) -> AttackLoss:
    if callable(loss):
        return loss
    if loss not in ATTACK_LOSSES:
        raise ValueError(f"{where}: unknown loss {loss!r}; choose one of {sorted(ATTACK_LOSSES)} or pass a "
                         "function (logits [B, C], labels [B]) -> [B].")
    return ATTACK_LOSSES[loss]


def accepts_key(attack: Callable) -> bool:
    """Whether ``attack`` takes a ``key`` argument (PGD does, FGSM does not)."""
    import inspect
    return "key" in inspect.signature(attack).parameters


def _is_concrete(value) -> bool:
    return not isinstance(value, jax.core.Tracer)


def check_attack_inputs(where: str, logits_fn: LogitsFn, x, y, *, eps, norm: str, clip) -> None:
    """Named errors for the arguments every attack shares (checked where they are concrete)."""
    if norm not in NORMS:
        raise ValueError(f"{where}: unknown norm {norm!r}; choose one of {NORMS}.")
    if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
        raise ValueError(f"{where}: inputs must be floating point, got dtype {jnp.result_type(x)} (scale images "
                         "to [0, 1] floats first).")
    if _is_concrete(eps):
        e = np.asarray(eps, np.float64)
        if e.shape != () or not np.isfinite(e) or e < 0:
            raise ValueError(f"{where}: eps must be one finite number >= 0, got {eps!r}.")
    if clip is not None:
        if len(clip) != 2 or not float(clip[0]) < float(clip[1]):
            raise ValueError(f"{where}: clip must be None or (low, high) with low < high, got {clip!r}.")
        low, high = (float(np.asarray(x).min()), float(np.asarray(x).max())) if _is_concrete(x) and np.size(x) else clip
        if low < clip[0] or high > clip[1]:
            raise ValueError(f"{where}: inputs span [{low:.4g}, {high:.4g}], outside "
                             f"clip={tuple(clip)}; pass the inputs' own range, or clip=None for unbounded inputs.")
    if jnp.ndim(y) != 1 or jnp.shape(y)[0] != jnp.shape(x)[0]:
        raise ValueError(f"{where}: labels must have shape [B] = ({jnp.shape(x)[0]},) for inputs of shape "
                         f"{jnp.shape(x)}, got {jnp.shape(y)}.")
    if not jnp.issubdtype(jnp.result_type(y), jnp.integer):
        raise ValueError(f"{where}: labels must be integer classes, got dtype {jnp.result_type(y)}.")
    logits = jax.eval_shape(logits_fn, jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)))
    if logits.shape[:1] != jnp.shape(x)[:1] or len(logits.shape) != 2:
        raise ValueError(f"{where}: logits_fn must map inputs [B, ...] to logits [B, C]; for inputs of shape "
                         f"{jnp.shape(x)} it returned {logits.shape}.")
    if _is_concrete(y) and np.size(y):
        bad = (np.asarray(y) < 0) | (np.asarray(y) >= logits.shape[1])
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{where}: labels must be classes in [0, {logits.shape[1]}), but {int(bad.sum())} are "
                             f"not (the first, {int(np.asarray(y)[i])}, at index {i}).")


def _per_example(values: jax.Array, x: jax.Array) -> jax.Array:
    """``[B]`` values shaped to broadcast against ``x [B, ...]``."""
    return values.reshape(values.shape + (1,) * (x.ndim - 1))


def _l2_norms(v: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(jnp.square(v.reshape(v.shape[0], -1)), axis=1))


def _steepest_direction(g: jax.Array, norm: str) -> jax.Array:
    """The unit-norm ascent direction of a linear function with gradient ``g``: ``sign(g)``
    for L-infinity, ``g / ||g||_2`` per example for L2 (zero where ``g`` is zero)."""
    if norm == "linf":
        return jnp.sign(g)
    n = _l2_norms(g)
    return g / _per_example(jnp.where(n > 0, n, 1.0), g)


def project(x_adv: jax.Array, x: jax.Array, eps, norm: str, clip) -> jax.Array:
    """``x_adv`` moved back into the ``eps``-ball around ``x`` and then into the box ``clip``.

    Clipping after projecting stays inside the ball: ``x`` lies in the box, so clipping only
    shrinks each coordinate of ``x_adv - x``."""
    delta = x_adv - x
    if norm == "linf":
        delta = jnp.clip(delta, -eps, eps)
    else:
        n = _l2_norms(delta)
        delta = delta * _per_example(jnp.minimum(1.0, eps / jnp.where(n > 0, n, 1.0)), delta)
    out = x + delta
    return out if clip is None else jnp.clip(out, clip[0], clip[1])


def _objective(logits_fn: LogitsFn, loss: AttackLoss, targeted: bool):
    """``x -> (sum of the per-example values to maximise, (values [B], logits [B, C]))``."""
    def objective(x, y):
        logits = logits_fn(x)
        values = loss(logits, y).astype(jnp.float32)
        values = -values if targeted else values
        return jnp.sum(values), (values, logits)
    return objective


def fgsm(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, *, eps, norm: str = "linf", clip=(0.0, 1.0),
         loss="cross_entropy", targeted: bool = False) -> jax.Array:
    """The fast gradient method: one step of size ``eps`` along the steepest direction.

    ``x' = clip(x + eps * sign(grad_x L))`` for ``norm="linf"`` (FGSM, Goodfellow et al. 2015)
    and ``x' = clip(x + eps * g / ||g||_2)`` per example for ``norm="l2"`` (the fast gradient
    method; scaled by ``eps``, unlike cleverhans' JAX version). Targeted: the step goes down
    the loss of the target class ``y``.

    Args:
      logits_fn: ``x [B, ...] -> logits [B, C]``, e.g. ``lambda x: model.apply(variables, x)``.
      x: ``[B, ...]`` inputs inside ``clip``.
      y: ``[B]`` integer labels (true classes; target classes when ``targeted``).
      eps: the perturbation budget, a number >= 0 (may be traced, e.g. under ``vmap``).
      clip: the input box ``(low, high)``, or ``None`` for unbounded inputs.
      loss: ``"cross_entropy"``, ``"margin"`` (``margin_loss``) or ``(logits, y) -> [B]``.

    Returns:
      ``[B, ...]`` adversarial inputs, ``||x' - x|| <= eps`` and inside ``clip``.
    """
    check_attack_inputs("fgsm", logits_fn, x, y, eps=eps, norm=norm, clip=clip)
    objective = _objective(logits_fn, _attack_loss("fgsm", loss), targeted)
    g = jax.grad(lambda v: objective(v, y)[0])(x)
    return project(x + eps * _steepest_direction(g, norm), x, eps, norm, clip)


def _random_start(key: jax.Array, x: jax.Array, eps, norm: str) -> jax.Array:
    """A uniform draw from the ``eps``-ball around ``x`` (for L2: a Gaussian direction and a
    radius ``eps * u^(1/d)``, uniform in volume)."""
    if norm == "linf":
        return x + jax.random.uniform(key, x.shape, x.dtype, -1.0, 1.0) * eps
    k_dir, k_rad = jax.random.split(key)
    direction = _steepest_direction(jax.random.normal(k_dir, x.shape, x.dtype), "l2")
    d = int(np.prod(x.shape[1:]))
    radius = eps * jax.random.uniform(k_rad, x.shape[:1], x.dtype) ** (1.0 / d)
    return x + direction * _per_example(radius, x)


def _successful(logits: jax.Array, y: jax.Array, targeted: bool) -> jax.Array:
    hit = jnp.argmax(logits, axis=-1) == y
    return hit if targeted else ~hit


def _keep_worst(best, x_new, values, success):
    """Per example, the candidate that succeeds, or, as a tie-break, has the larger loss."""
    x_best, v_best, s_best = best
    better = (success & ~s_best) | ((success == s_best) & (values > v_best))
    return (jnp.where(_per_example(better, x_new), x_new, x_best), jnp.where(better, values, v_best),
            success | s_best)


def pgd(logits_fn: LogitsFn, x: jax.Array, y: jax.Array, *, eps, steps: int, step_size=None, norm: str = "linf",
        random_start: bool = True, restarts: int = 1, key: jax.Array | None = None, clip=(0.0, 1.0),
        loss="cross_entropy", targeted: bool = False) -> jax.Array:
    """Projected gradient descent (Madry et al. 2018), as one compiled loop.

    From a uniform random point of the ``eps``-ball (or ``x`` itself), ``steps`` times:
    ``x <- Proj_{ball, clip}(x + step_size * d(grad_x L))`` with ``d = sign`` for L-infinity and
    ``g / ||g||_2`` for L2. Every iterate is scored as it is evaluated, and each example keeps
    its worst case over all iterates and ``restarts``: an iterate that fools the model beats
    one that does not, then the larger loss wins. So PGD never returns a point weaker than
    its own start, and more steps or restarts never make it weaker.

    Args:
      logits_fn, x, y, clip, loss, targeted: as ``fgsm``.
      eps: the radius, a number >= 0 (may be traced).
      steps: gradient steps per restart (Madry et al.: 40 on MNIST, 7 on CIFAR-10).
      step_size: defaults to ``2.5 * eps / steps`` (Madry et al.'s rule: the walk can
        reach the ball's boundary from any start).
      random_start: start from a uniform point of the ball (needs ``key``).
      restarts: independent random starts; the worst case per example is kept.
      key: a JAX random key, required when ``random_start``.

    Returns:
      ``[B, ...]`` adversarial inputs, inside the ball and ``clip``.
    """
    check_attack_inputs("pgd", logits_fn, x, y, eps=eps, norm=norm, clip=clip)
    steps, restarts = positive_int("pgd: steps", steps), positive_int("pgd: restarts", restarts)
    if random_start:
        if key is None:
            raise ValueError("pgd: random_start=True needs key=jax.random.key(seed) (or random_start=False).")
        keys = jax.random.split(as_key(key), restarts)
    elif restarts > 1:
        raise ValueError(f"pgd: restarts={restarts} without random_start would repeat one deterministic walk.")
    else:
        keys = jnp.zeros((1,))
    alpha = 2.5 * eps / steps if step_size is None else step_size

    objective = _objective(logits_fn, _attack_loss("pgd", loss), targeted)
    value_and_grad = jax.value_and_grad(objective, has_aux=True)

    def scored(best, x_cur):
        (_, (values, logits)), g = value_and_grad(x_cur, y)
        return _keep_worst(best, x_cur, values, _successful(logits, y, targeted)), g

    def scored_last(best, x_cur):  # the last iterate: a forward pass, no gradient
        _, (values, logits) = objective(x_cur, y)
        return _keep_worst(best, x_cur, values, _successful(logits, y, targeted))

    def restart(best, k):
        x_cur = project(_random_start(k, x, eps, norm), x, eps, norm, clip) if random_start else x

        def step(_, carry):
            best, x_cur = carry
            best, g = scored(best, x_cur)
            return best, project(x_cur + alpha * _steepest_direction(g, norm), x, eps, norm, clip)

        best, x_cur = jax.lax.fori_loop(0, steps, step, (best, x_cur))
        return scored_last(best, x_cur), None

    start = (x, jnp.full(x.shape[:1], -jnp.inf, jnp.float32), jnp.zeros(x.shape[:1], bool))
    return jax.lax.scan(restart, start, keys)[0][0]

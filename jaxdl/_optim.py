"""The optimizers of the lectures, written as optax ``GradientTransformation``s.

Each named optimizer is one ``optax.chain`` of small building blocks, each a pair of pure
``init`` / ``update`` functions with a NamedTuple state named after it, exactly like optax's
own; so they work with ``optax.inject_hyperparams`` (a learning-rate grid is one more vmapped
axis), ``optax.chain``, schedules from ``optax.schedules``, and jaxdl's train step.

Where the lecture formulas and optax's conventions differ, the choice is a keyword that
defaults to the paper's form:

==============  ====================================  ==================================
optimizer       paper form (default)                  optax's form
==============  ====================================  ==================================
momentum        ``form="displacement"``: momentum on  ``form="velocity"``: momentum on
                parameter steps, the current          raw gradients, the whole velocity
                learning rate scales only ``g_t``     scaled by the current rate
adagrad         ``initial_accumulator_value=0``,      ``0.1``, ``eps_inside_sqrt=True``
                ``eps_inside_sqrt=False``
rmsprop         ``eps_inside_sqrt=False``             ``eps_inside_sqrt=True``
adam            ``eps_inside_sqrt=False``             (same; optax's ``eps_root`` is the
                                                      inside variant)
==============  ====================================  ==================================

With a constant learning rate both momentum forms give identical iterates; they differ
only under a schedule.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "ScaleByLearningRateState",
    "TraceState",
    "ScaleByRssState",
    "ScaleByRmsState",
    "ScaleByAdamState",
    "scale_by_learning_rate",
    "trace",
    "scale_by_rss",
    "scale_by_rms",
    "scale_by_adam",
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "ELEMENTWISE",
    "is_elementwise",
    "flattened",
]

ScalarOrSchedule = float | jax.Array | Callable[[jax.Array], jax.Array]


_INTERVALS = {
    # name: (test, text); each excludes what makes the update formula undefined or divergent
    "finite": (lambda v: True, "finite"),
    ">= 0": (lambda v: v >= 0, ">= 0"),
    "[0, 1]": (lambda v: (0 <= v) & (v <= 1), "in [0, 1]"),
    "[0, 1)": (lambda v: (0 <= v) & (v < 1), "in [0, 1)"),
}


def _check(name: str, value, interval: str, why: str = "") -> None:
    """Reject a hyperparameter given as a host number (or numpy array) outside ``interval``.

    Schedules and JAX arrays pass unchecked: under ``optax.inject_hyperparams`` the factory
    is called again at every update with the state's arrays, often traced, and reading a
    device array would synchronise each step. ``jaxdl._sweep.Sweep`` checks each member's
    values through the factory before compiling.
    """
    if callable(value) or isinstance(value, jax.Array):
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number, np.ndarray)):
        raise TypeError(f"{name} must be a number{' or a schedule' if name == 'learning_rate' else ''}, "
                        f"got {type(value).__name__} {value!r}.")
    v = np.asarray(value)
    if not np.issubdtype(v.dtype, np.number) or np.iscomplexobj(v):
        raise TypeError(f"{name} must be a real number, got {v.dtype} {value!r}.")
    test, text = _INTERVALS[interval]
    if not (np.isfinite(v).all() and np.all(test(v))):
        raise ValueError(f"{name} must be finite and {text}, got {value!r}{why}." if interval != "finite"
                         else f"{name} must be finite, got {value!r}.")


def _tree_zeros_like(params, initial: float = 0.0):
    return jax.tree.map(lambda p: jnp.full_like(p, initial), params)


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------


class ScaleByLearningRateState(NamedTuple):
    """Number of updates so far (the argument of a learning-rate schedule)."""

    count: jax.Array  # int32 []


def scale_by_learning_rate(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
    """``u_t = -alpha_t g_t``, with ``alpha_t = learning_rate(t)`` for a schedule, ``t = 0, 1, ...``.

    The minus sign makes the result an *update* to add to the parameters (optax's
    convention). The rate is cast to each update's dtype, so bfloat16 stays bfloat16. A
    negative rate (gradient ascent) is allowed; NaN and inf are not.
    """
    _check("learning_rate", learning_rate, "finite")

    def init(params):
        del params
        return ScaleByLearningRateState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None):
        del params
        rate = learning_rate(state.count) if callable(learning_rate) else learning_rate
        updates = jax.tree.map(lambda g: -jnp.asarray(rate, g.dtype) * g, updates)
        return updates, ScaleByLearningRateState(count=optax.safe_increment(state.count))

    return optax.GradientTransformation(init, update)


class TraceState(NamedTuple):
    """The accumulated trace ``d_{t-1}``, one leaf per parameter."""

    trace: Any


def trace(decay: float, nesterov: bool = False) -> optax.GradientTransformation:
    """Heavy-ball accumulation ``d_t = u_t + gamma d_{t-1}``; output ``d_t``, or with
    ``nesterov`` the look-ahead ``u_t + gamma d_t`` (Sutskever et al. 2013, in the
    reparametrisation of Bengio et al. 2013 that needs the gradient only at the stored point).

    Args:
      decay: ``gamma``, the momentum coefficient in ``[0, 1]`` (above 1 every step grows).
      nesterov: output the Nesterov look-ahead instead of the trace.
    """
    _check("momentum", decay, "[0, 1]", " (the fraction of the previous step carried into the next)")

    def init(params):
        return TraceState(trace=_tree_zeros_like(params))

    def update(updates, state, params=None):
        del params
        new_trace = jax.tree.map(lambda u, d: u + jnp.asarray(decay, d.dtype) * d, updates, state.trace)
        if nesterov:
            updates = jax.tree.map(lambda u, d: u + jnp.asarray(decay, d.dtype) * d, updates, new_trace)
        else:
            updates = new_trace
        return updates, TraceState(trace=new_trace)

    return optax.GradientTransformation(init, update)


class ScaleByRssState(NamedTuple):
    """AdaGrad's accumulated squared gradients ``G_t = G_0 + sum_s g_s^2``."""

    sum_of_squares: Any


def scale_by_rss(
    initial_accumulator_value: float = 0.0, eps: float = 1e-7, eps_inside_sqrt: bool = False
) -> optax.GradientTransformation:
    """AdaGrad's scaling (Duchi, Hazan & Singer 2011): ``G_t = G_{t-1} + g_t^2``, output
    ``g_t / (sqrt(G_t) + eps)`` (paper: ``delta I + diag(G_t)^{1/2}``), or with
    ``eps_inside_sqrt`` ``g_t / sqrt(G_t + eps)`` where ``G_t > 0`` and ``0`` elsewhere (optax).
    ``G_0`` and ``eps`` must be ``>= 0`` (a square root of a negative sum is NaN).
    """
    _check("initial_accumulator_value", initial_accumulator_value, ">= 0")
    _check("eps", eps, ">= 0")

    def init(params):
        return ScaleByRssState(sum_of_squares=_tree_zeros_like(params, initial_accumulator_value))

    def update(updates, state, params=None):
        del params
        sum_of_squares = jax.tree.map(lambda g, s: g * g + s, updates, state.sum_of_squares)
        if eps_inside_sqrt:
            scale = jax.tree.map(lambda s: jnp.where(s > 0, jax.lax.rsqrt(s + eps), 0.0).astype(s.dtype),
                                 sum_of_squares)
            updates = jax.tree.map(lambda k, g: (k * g).astype(g.dtype), scale, updates)
        else:
            updates = jax.tree.map(lambda g, s: (g / (jnp.sqrt(s) + eps)).astype(g.dtype), updates, sum_of_squares)
        return updates, ScaleByRssState(sum_of_squares=sum_of_squares)

    return optax.GradientTransformation(init, update)


class ScaleByRmsState(NamedTuple):
    """RMSProp's running mean of squared gradients ``v_t``."""

    nu: Any


def scale_by_rms(
    decay: float = 0.9, eps: float = 1e-8, eps_inside_sqrt: bool = False, initial_scale: float = 0.0
) -> optax.GradientTransformation:
    """RMSProp's scaling (Tieleman & Hinton 2012, lecture 6e): ``v_t = gamma v_{t-1} +
    (1 - gamma) g_t^2``, output ``g_t / (sqrt(v_t) + eps)``, or ``g_t / sqrt(v_t + eps)`` with
    ``eps_inside_sqrt`` (optax's default). ``gamma`` in ``[0, 1]`` (above 1, ``1 - gamma < 0``
    can make ``v_t`` negative), ``eps`` and ``v_0`` ``>= 0``.
    """
    _check("decay", decay, "[0, 1]", " (the weight of the running mean of squared gradients)")
    _check("eps", eps, ">= 0")
    _check("initial_scale", initial_scale, ">= 0")

    def init(params):
        return ScaleByRmsState(nu=_tree_zeros_like(params, initial_scale))

    def update(updates, state, params=None):
        del params
        # Python-float coefficients keep optax's rounding; the cast keeps a bfloat16 state
        # bfloat16 when the coefficients arrive as float32 arrays (inject_hyperparams).
        nu = jax.tree.map(lambda g, v: ((1 - decay) * (g**2) + decay * v).astype(v.dtype), updates, state.nu)
        if eps_inside_sqrt:
            updates = jax.tree.map(lambda g, v: (jax.lax.rsqrt(v + eps) * g).astype(g.dtype), updates, nu)
        else:
            updates = jax.tree.map(lambda g, v: ((1 / (jnp.sqrt(v) + eps)) * g).astype(g.dtype), updates, nu)
        return updates, ScaleByRmsState(nu=nu)

    return optax.GradientTransformation(init, update)


class ScaleByAdamState(NamedTuple):
    """Adam's step count and first and second moment estimates ``m_t``, ``v_t``."""

    count: jax.Array  # int32 []
    mu: Any
    nu: Any


def scale_by_adam(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, eps_inside_sqrt: bool = False
) -> optax.GradientTransformation:
    """Adam's scaling (Kingma & Ba 2015, Algorithm 1):
    ``m_t = b1 m_{t-1} + (1 - b1) g_t``, ``v_t = b2 v_{t-1} + (1 - b2) g_t^2``,
    ``m^_t = m_t / (1 - b1^t)``, ``v^_t = v_t / (1 - b2^t)``, output
    ``m^_t / (sqrt(v^_t) + eps)``, or ``m^_t / sqrt(v^_t + eps)`` with ``eps_inside_sqrt``.

    The bias corrections ``1 - b^t`` are computed in float32 and only then cast, so that a
    bfloat16 state does not round ``b2^t`` to 1 and divide by zero. ``b1, b2`` in ``[0, 1)``
    (at 1 the correction divides by zero), ``eps >= 0``.
    """
    for name, b in (("b1", b1), ("b2", b2)):
        _check(name, b, "[0, 1)", f" (a moment's decay rate; at 1 the bias correction 1 - {name}^t is 0)")
    _check("eps", eps, ">= 0")

    def init(params):
        return ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=_tree_zeros_like(params),
                                nu=_tree_zeros_like(params))

    def update(updates, state, params=None):
        del params
        mu = jax.tree.map(lambda g, m: ((1 - b1) * g + b1 * m).astype(m.dtype), updates, state.mu)
        nu = jax.tree.map(lambda g, v: ((1 - b2) * (g**2) + b2 * v).astype(v.dtype), updates, state.nu)
        count = optax.safe_increment(state.count)
        correction1 = 1 - jnp.asarray(b1, jnp.float32) ** count
        correction2 = 1 - jnp.asarray(b2, jnp.float32) ** count
        mu_hat = jax.tree.map(lambda m: m / correction1.astype(m.dtype), mu)
        nu_hat = jax.tree.map(lambda v: v / correction2.astype(v.dtype), nu)
        if eps_inside_sqrt:
            updates = jax.tree.map(lambda m, v: (m / jnp.sqrt(v + eps)).astype(m.dtype), mu_hat, nu_hat)
        else:
            updates = jax.tree.map(lambda m, v: (m / (jnp.sqrt(v) + eps)).astype(m.dtype), mu_hat, nu_hat)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


# ----------------------------------------------------------------------------------------------
# Named optimizers
# ----------------------------------------------------------------------------------------------


def sgd(learning_rate: ScalarOrSchedule) -> optax.GradientTransformation:
    """Plain (stochastic) gradient descent: ``theta_t = theta_{t-1} - alpha_t g_t`` (Robbins &
    Monro 1951; Cauchy 1847 for the full-batch case).

    Example::

        tx = jaxdl._optim.sgd(0.1)
        updates, opt_state = tx.update(grads, tx.init(params))
        params = optax.apply_updates(params, updates)
    """
    return optax.chain(scale_by_learning_rate(learning_rate))


MOMENTUM_FORMS = ("displacement", "velocity", "damped")


def _momentum(learning_rate, decay, form, nesterov):
    if form == "displacement":
        return optax.chain(scale_by_learning_rate(learning_rate), trace(decay, nesterov))
    if form == "velocity":
        return optax.chain(trace(decay, nesterov), scale_by_learning_rate(learning_rate))
    if form == "damped":  # the UDL book's m_t = beta m_{t-1} + (1 - beta) g_t
        _check("momentum", decay, "[0, 1]", " (the fraction of the previous step carried into the next)")
        return optax.chain(optax.scale(1.0 - decay), trace(decay, nesterov), scale_by_learning_rate(learning_rate))
    raise ValueError(f"unknown momentum form {form!r}; choose 'displacement' (lectures), 'velocity' (optax) or "
                     "'damped' (the UDL book).")


def momentum(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9, form: str = "displacement"
) -> optax.GradientTransformation:
    """Heavy-ball momentum (Polyak 1964), as in the lectures:

    ``theta_t = theta_{t-1} - alpha_t g_t + gamma (theta_{t-1} - theta_{t-2})``.

    Args:
      learning_rate: ``alpha`` (a float or an ``optax.schedules`` schedule).
      momentum: ``gamma``.
      form: ``"displacement"`` (default, the formula above: momentum on parameter steps),
        ``"velocity"`` (optax's ``sgd(momentum=)``: ``v_t = g_t + gamma v_{t-1}``,
        ``theta_t = theta_{t-1} - alpha_t v_t``; identical for a constant rate), or
        ``"damped"`` (Prince, *Understanding Deep Learning*, eq. 6.11:
        ``m_t = gamma m_{t-1} + (1 - gamma) g_t``, ``theta_t = theta_{t-1} - alpha_t m_t``, a
        moving average of the gradients: the steady step is ``alpha g``, not ``alpha g / (1 - gamma)``).
    """
    return _momentum(learning_rate, momentum, form, nesterov=False)


def nesterov(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9, form: str = "displacement"
) -> optax.GradientTransformation:
    """Nesterov's accelerated gradient (Nesterov 1983; Sutskever et al. 2013).

    The gradient is taken at the look-ahead point, which the update reaches by storing the
    look-ahead parameters (Bengio et al. 2013): with ``d_t = gamma d_{t-1} - alpha_t g_t``,
    ``theta_t = theta_{t-1} + gamma d_t - alpha_t g_t``. ``form`` as in ``momentum``
    (``"velocity"`` equals ``optax.sgd(momentum=, nesterov=True)``). ``"damped"`` is the UDL
    book's eq. 6.12, ``m_t = gamma m_{t-1} + (1 - gamma) grad L(phi_{t-1} - alpha gamma m_{t-1})``,
    ``phi_t = phi_{t-1} - alpha m_t``, in the same reparametrisation: the parameters stored are
    the look-ahead points ``phi_t - alpha gamma m_t``, whose step is
    ``-alpha (gamma m_t + (1 - gamma) g_t)``.
    """
    return _momentum(learning_rate, momentum, form, nesterov=True)


def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: float = 0.0,
    eps: float = 1e-7,
    eps_inside_sqrt: bool = False,
) -> optax.GradientTransformation:
    """AdaGrad (Duchi, Hazan & Singer 2011): ``G_t = G_{t-1} + g_t^2``,
    ``theta_t = theta_{t-1} - alpha g_t / (sqrt(G_t) + eps)``.

    ``initial_accumulator_value=0.1, eps_inside_sqrt=True`` is ``optax.adagrad``.
    """
    return optax.chain(scale_by_rss(initial_accumulator_value, eps, eps_inside_sqrt),
                       scale_by_learning_rate(learning_rate))


def rmsprop(
    learning_rate: ScalarOrSchedule, decay: float = 0.9, eps: float = 1e-8, eps_inside_sqrt: bool = False
) -> optax.GradientTransformation:
    """RMSProp (Tieleman & Hinton 2012): ``v_t = gamma v_{t-1} + (1 - gamma) g_t^2``,
    ``theta_t = theta_{t-1} - alpha g_t / (sqrt(v_t) + eps)``.

    ``eps_inside_sqrt=True`` is ``optax.rmsprop`` (``g_t / sqrt(v_t + eps)``).
    """
    return optax.chain(scale_by_rms(decay, eps, eps_inside_sqrt), scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_inside_sqrt: bool = False,
) -> optax.GradientTransformation:
    """Adam (Kingma & Ba 2015): bias-corrected first and second moments,
    ``theta_t = theta_{t-1} - alpha m^_t / (sqrt(v^_t) + eps)`` (see ``scale_by_adam``).

    The default equals ``optax.adam``; ``eps_inside_sqrt=True`` equals
    ``optax.adam(eps=0, eps_root=eps)``. The paper's ``alpha_t = alpha / sqrt(t)`` (its
    Figure 1) is ``learning_rate=lambda t: alpha / jnp.sqrt(t + 1)``.
    """
    return optax.chain(scale_by_adam(b1, b2, eps, eps_inside_sqrt), scale_by_learning_rate(learning_rate))


# ----------------------------------------------------------------------------------------------
# Element-wise optimizers, and running them on one flat vector.

# Factories whose update of each parameter entry depends only on that entry's own gradients
# (and on scalars: the step count, the hyperparameters). Not here, because they are not:
# LARS / LAMB / NovoGrad / Fromage (per-array norms), Adafactor (factored per matrix), SM3,
# noisy SGD (noise drawn per array), Shampoo-like preconditioners.
ELEMENTWISE: frozenset = frozenset({
    sgd, momentum, nesterov, adagrad, rmsprop, adam,
    optax.sgd, optax.adam, optax.adamw, optax.nadam, optax.nadamw, optax.adamax, optax.amsgrad, optax.radam,
    optax.adabelief, optax.yogi, optax.lion, optax.rmsprop, optax.adagrad, optax.adadelta,
})

_SCALAR_TYPES = (type(None), bool, int, float, str, np.generic)


def is_elementwise(factory: Callable[..., optax.GradientTransformation]) -> bool:
    """Whether ``factory`` is known to be element-wise: one of ``ELEMENTWISE``, or a
    ``functools.partial`` of one that binds only scalars (``partial(optax.sgd, momentum=0.9)``;
    not ``partial(optax.adamw, mask=...)``, whose mask is a tree of the parameters)."""
    bound: tuple = ()
    if isinstance(factory, functools.partial):
        bound = (*factory.args, *factory.keywords.values())
        factory = factory.func
    try:
        known = factory in ELEMENTWISE
    except TypeError:  # unhashable
        return False
    return known and all(isinstance(v, _SCALAR_TYPES) for v in bound)


def flattened(factory: Callable[..., optax.GradientTransformation]) -> Callable[..., optax.GradientTransformation]:
    """``factory`` whose transformation updates all parameters as one ``[P]`` vector
    (``optax.flatten``; ``P`` = the total number of parameters, its state leaves ``[P]`` too).

    For an element-wise optimizer (``is_elementwise``) this is the same arithmetic, up to
    float rounding (XLA compiles the two differently: Adam's first step differs by ~5e-7 of
    its size), in a few kernels instead of a few per parameter array, so a program with many
    small arrays compiles faster. Parameters of more than one dtype are left unflattened
    (one vector would promote them). The signature is ``factory``'s, so
    ``optax.inject_hyperparams`` accepts it.

    Example::

        tx = optax.inject_hyperparams(jaxdl._optim.flattened(optax.adam))(learning_rate=1e-3)
    """

    @functools.wraps(factory)
    def make(*args, **kwargs) -> optax.GradientTransformationExtraArgs:
        inner = optax.with_extra_args_support(factory(*args, **kwargs))
        flat = optax.flatten(inner)

        def chosen(tree):  # dtypes are static, so init and update always choose alike
            return flat if len({jnp.result_type(x) for x in jax.tree.leaves(tree)}) == 1 else inner

        def init(params):
            return chosen(params).init(params)

        def update(updates, state, params=None, **extra_args):
            return chosen(updates).update(updates, state, params, **extra_args)

        return optax.GradientTransformationExtraArgs(init, update)

    return make

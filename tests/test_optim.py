"""jaxdl.optim against optax (open and closed loop), on test functions, dtypes and compilation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl import optim

LR = 0.05
SCHEDULE = optax.schedules.exponential_decay(LR, transition_steps=20, decay_rate=0.5)

# (name, jaxdl optimizer, optax optimizer with matching settings)
PAIRS = [
    ("sgd", optim.sgd(LR), optax.sgd(LR)),
    ("momentum_displacement", optim.momentum(LR, 0.9), optax.sgd(LR, momentum=0.9)),
    ("momentum_velocity", optim.momentum(LR, 0.9, form="velocity"), optax.sgd(LR, momentum=0.9)),
    ("momentum_velocity_schedule", optim.momentum(SCHEDULE, 0.9, form="velocity"), optax.sgd(SCHEDULE, momentum=0.9)),
    ("nesterov_displacement", optim.nesterov(LR, 0.9), optax.sgd(LR, momentum=0.9, nesterov=True)),
    ("nesterov_velocity_schedule", optim.nesterov(SCHEDULE, 0.9, form="velocity"),
     optax.sgd(SCHEDULE, momentum=0.9, nesterov=True)),
    ("adagrad_optax_form", optim.adagrad(LR, initial_accumulator_value=0.1, eps_inside_sqrt=True), optax.adagrad(LR)),
    ("rmsprop_paper_form", optim.rmsprop(LR, 0.9), optax.rmsprop(LR, 0.9, eps_in_sqrt=False)),
    ("rmsprop_optax_form", optim.rmsprop(LR, 0.9, eps_inside_sqrt=True), optax.rmsprop(LR, 0.9)),
    ("adam", optim.adam(LR), optax.adam(LR)),
    ("adam_schedule", optim.adam(SCHEDULE), optax.adam(SCHEDULE)),
    ("adam_eps_inside", optim.adam(LR, eps=1e-3, eps_inside_sqrt=True), optax.adam(LR, eps=0.0, eps_root=1e-3)),
]
IDS = [p[0] for p in PAIRS]


def _params(key):
    k1, k2 = jax.random.split(key)
    return {"w": jax.random.normal(k1, (7, 5)), "b": jax.random.normal(k2, (5,))}


def _relative(a, b):
    num = jnp.sqrt(sum(jnp.sum((x - y) ** 2) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)))
    den = jnp.sqrt(sum(jnp.sum(y**2) for y in jax.tree.leaves(b)))
    return float(num / den)


def _run_open_loop(tx, params, grads_stream):
    def body(carry, grads):
        params, state = carry
        updates, state = tx.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(body, (params, tx.init(params)), grads_stream)
    return params


@pytest.mark.parametrize("name,ours,reference", PAIRS, ids=IDS)
def test_open_loop_equals_optax(name, ours, reference, key):
    params = _params(key)
    stream = jax.tree.map(lambda p: jax.random.normal(jax.random.key(1), (200, *p.shape)), params)
    a = jax.jit(functools.partial(_run_open_loop, ours))(params, stream)
    b = jax.jit(functools.partial(_run_open_loop, reference))(params, stream)
    assert _relative(a, params) > 1e-3  # the stream really moved the parameters
    assert _relative(a, b) <= 1e-6


@pytest.mark.parametrize("name,ours,reference", PAIRS, ids=IDS)
def test_closed_loop_mlp_equals_optax(name, ours, reference, key):
    data = jaxdl.data.spirals(key=key, num_train=64, num_test=8)
    model = jaxdl.MLP(features=(16, 16, 2), activation="tanh")
    step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy))
    batch = {"x": data.x_train, "y": data.y_train}
    a = jaxdl.create_train_state(model, ours, key=key, input_shape=(2,))
    b = jaxdl.create_train_state(model, reference, key=key, input_shape=(2,))
    start = a.params
    for _ in range(200):
        a, _ = step(a, batch, key)
        b, _ = step(b, batch, key)
    assert _relative(a.params, start) > 1e-2
    assert _relative(a.params, b.params) <= 1e-4


def _numpy_reference(name, params, grads_stream, lr, gamma=0.9, eps=1e-7):
    """The lecture formulas, literally, in float64 NumPy."""
    theta = {k: np.asarray(v, np.float64) for k, v in params.items()}
    prev = {k: v.copy() for k, v in theta.items()}
    acc = {k: np.zeros_like(v) for k, v in theta.items()}
    for t in range(grads_stream["w"].shape[0]):
        for k in theta:
            g = np.asarray(grads_stream[k][t], np.float64)
            rate = lr(t) if callable(lr) else lr
            if name == "momentum":  # theta_t = theta_{t-1} - a_t g_t + gamma (theta_{t-1} - theta_{t-2})
                new = theta[k] - rate * g + gamma * (theta[k] - prev[k])
                prev[k], theta[k] = theta[k], new
            elif name == "adagrad":  # G_t = G_{t-1} + g^2; theta -= a g / (sqrt(G_t) + eps)
                acc[k] += g * g
                theta[k] = theta[k] - rate * g / (np.sqrt(acc[k]) + eps)
    return theta


@pytest.mark.parametrize("name,tx,lr", [
    ("momentum", optim.momentum(SCHEDULE, 0.9), SCHEDULE),  # differs from optax's form under a schedule
    ("momentum", optim.momentum(LR, 0.9), LR),
    ("adagrad", optim.adagrad(LR), LR),  # paper form: G_0 = 0, eps outside the square root
])
def test_paper_forms_follow_the_lecture_formulas(name, tx, lr, key):
    params = _params(key)
    stream = jax.tree.map(lambda p: jax.random.normal(jax.random.key(2), (200, *p.shape)), params)
    ours = jax.jit(functools.partial(_run_open_loop, tx))(params, stream)
    expected = _numpy_reference(name, params, stream, lambda t: float(lr(t)) if callable(lr) else lr)
    assert _relative(ours, expected) <= 1e-5


def test_momentum_forms_differ_under_a_schedule(key):
    params = _params(key)
    stream = jax.tree.map(lambda p: jax.random.normal(jax.random.key(3), (100, *p.shape)), params)
    a = _run_open_loop(optim.momentum(SCHEDULE, 0.9), params, stream)
    b = _run_open_loop(optim.momentum(SCHEDULE, 0.9, form="velocity"), params, stream)
    assert _relative(a, b) > 1e-3


# (name, optimizer, steps) tuned so that every optimizer reaches the minimum
CONVERGENCE = [
    ("sgd", optim.sgd(0.1), optim.sgd(1e-3), 20_000),
    ("momentum", optim.momentum(0.05), optim.momentum(2e-4), 20_000),
    ("nesterov", optim.nesterov(0.05), optim.nesterov(2e-4), 20_000),
    ("adagrad", optim.adagrad(1.0), optim.adagrad(0.5), 20_000),
    ("rmsprop", optim.rmsprop(0.01), optim.rmsprop(1e-3), 20_000),
    ("adam", optim.adam(0.05), optim.adam(0.01), 20_000),
]


def _minimise(tx, fn, x0, steps):
    def body(carry, _):
        x, state = carry
        updates, state = tx.update(jax.grad(fn)(x), state, x)
        return (optax.apply_updates(x, updates), state), None

    (x, _), _ = jax.lax.scan(body, (x0, tx.init(x0)), None, length=steps)
    return x


def parabola(x):
    return 0.5 * jnp.sum(jnp.array([1.0, 4.0]) * (x - jnp.array([1.0, -2.0])) ** 2)


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("name,parabola_tx,rosenbrock_tx,steps", CONVERGENCE, ids=[c[0] for c in CONVERGENCE])
def test_converges_on_parabola_and_rosenbrock(name, parabola_tx, rosenbrock_tx, steps):
    x = jax.jit(functools.partial(_minimise, parabola_tx, parabola, steps=2000))(jnp.array([-3.0, 3.0]))
    np.testing.assert_allclose(x, [1.0, -2.0], atol=1e-2)
    x = jax.jit(functools.partial(_minimise, rosenbrock_tx, rosenbrock, steps=steps))(jnp.array([-1.2, 1.0]))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=5e-2)


ALL = [("sgd", optim.sgd(LR)), ("momentum", optim.momentum(LR)), ("nesterov", optim.nesterov(LR)),
       ("adagrad", optim.adagrad(LR)), ("rmsprop", optim.rmsprop(LR)), ("adam", optim.adam(LR)),
       ("adam_schedule", optim.adam(SCHEDULE))]


@pytest.mark.parametrize("name,tx", ALL, ids=[a[0] for a in ALL])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_dtype_is_preserved(name, tx, dtype, key):
    params = jax.tree.map(lambda p: p.astype(dtype), _params(key))
    state = tx.init(params)
    for _ in range(2):
        updates, state = tx.update(params, state, params)
    assert all(u.dtype == dtype for u in jax.tree.leaves(updates))
    floats = [leaf for leaf in jax.tree.leaves(state) if jnp.issubdtype(leaf.dtype, jnp.floating)]
    assert all(leaf.dtype == dtype for leaf in floats)
    assert all(bool(jnp.all(jnp.isfinite(u.astype(jnp.float32)))) for u in jax.tree.leaves(updates))


@pytest.mark.parametrize("name,tx", ALL, ids=[a[0] for a in ALL])
def test_second_update_does_not_recompile(name, tx, key):
    traces = []

    def update(grads, state, params):
        traces.append(1)
        return tx.update(grads, state, params)

    update = jax.jit(update)
    params = _params(key)
    state = tx.init(params)
    for i in range(3):
        grads = jax.tree.map(lambda p: p * (i + 1), params)
        _, state = update(grads, state, params)
    assert len(traces) == 1


def test_works_with_inject_hyperparams(key):
    tx = optax.inject_hyperparams(optim.adam)(learning_rate=LR)
    params = _params(key)
    state = tx.init(params)
    state = jaxdl.set_hyperparams(state, learning_rate=0.2)
    updates, _ = tx.update(params, state, params)
    ref_tx = optax.inject_hyperparams(optax.adam)(learning_rate=LR)  # also injects b1, b2, eps as float32
    ref_state = jaxdl.set_hyperparams(ref_tx.init(params), learning_rate=0.2)
    reference, _ = ref_tx.update(params, ref_state, params)
    assert _relative(updates, reference) <= 1e-6


def test_unknown_momentum_form():
    with pytest.raises(ValueError, match="unknown momentum form"):
        optim.momentum(0.1, form="heavy")


# (factory call, the argument the error must name): values where the update is undefined or
# every step diverges by construction.
BAD_HYPERPARAMETERS = [
    (lambda: optim.sgd(float("nan")), "learning_rate", ValueError),
    (lambda: optim.adam(float("inf")), "learning_rate", ValueError),
    (lambda: optim.sgd("0.1"), "learning_rate", TypeError),
    (lambda: optim.momentum(0.1, 1.5), "momentum", ValueError),
    (lambda: optim.nesterov(0.1, -0.1), "momentum", ValueError),
    (lambda: optim.adagrad(0.1, initial_accumulator_value=-1.0), "initial_accumulator_value", ValueError),
    (lambda: optim.adagrad(0.1, eps=-1e-7), "eps", ValueError),
    (lambda: optim.rmsprop(0.1, decay=2.0), "decay", ValueError),
    (lambda: optim.rmsprop(0.1, eps=float("nan")), "eps", ValueError),
    (lambda: optim.adam(0.1, b1=1.0), "b1", ValueError),
    (lambda: optim.adam(0.1, b2=-0.5), "b2", ValueError),
    (lambda: optim.adam(0.1, eps=-1e-8), "eps", ValueError),
    (lambda: optim.adam(0.1, b1=np.float32(1.0)), "b1", ValueError),
]


@pytest.mark.parametrize("make,argument,error", BAD_HYPERPARAMETERS,
                         ids=[f"{i}-{a}" for i, (_, a, _) in enumerate(BAD_HYPERPARAMETERS)])
def test_bad_hyperparameters_are_named(make, argument, error):
    with pytest.raises(error, match=argument):
        make()


def test_hyperparameter_bounds_are_accepted_and_traced_values_unchecked(key):
    params = _params(key)
    for tx in (optim.momentum(-0.1, 0.0), optim.momentum(0.1, 1.0), optim.rmsprop(0.1, decay=0.0, eps=0.0),
               optim.adagrad(0.1, eps=0.0), optim.adam(0.0, b1=0.0, b2=0.0, eps=0.0)):
        tx.update(params, tx.init(params), params)
    # Under jit (and inject_hyperparams) hyperparameters are traced: no check, no host sync.
    step = jax.jit(lambda b1, p: optim.adam(0.1, b1=b1).update(p, optim.adam(0.1, b1=b1).init(p), p)[0])
    assert np.isnan(np.asarray(step(1.0, params)["w"])).any()  # what the check prevents for host values


SCHEDULES = {
    "constant": optax.schedules.constant_schedule(0.05),
    "step_decay": optax.schedules.piecewise_constant_schedule(0.05, {50: 0.5, 120: 0.1}),
    "inverse_sqrt": lambda t: 0.05 / jnp.sqrt(t + 1.0),  # the Adam paper's alpha / sqrt(t), Figure 1
    "cosine": optax.schedules.cosine_decay_schedule(0.05, decay_steps=200),
    "warmup_cosine": optax.schedules.warmup_cosine_decay_schedule(0.0, 0.05, warmup_steps=20, decay_steps=200),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_optax_schedules_drive_the_learning_rate(name, key):
    schedule = SCHEDULES[name]
    params = _params(key)
    stream = jax.tree.map(lambda p: jax.random.normal(jax.random.key(4), (200, *p.shape)), params)
    ours = jax.jit(functools.partial(_run_open_loop, optim.adam(schedule)))(params, stream)
    reference = jax.jit(functools.partial(_run_open_loop, optax.adam(schedule)))(params, stream)
    assert _relative(ours, reference) <= 1e-6
    sgd = jax.jit(functools.partial(_run_open_loop, optim.sgd(schedule)))(params, stream)
    expected = jax.tree.map(lambda p, g: p - jnp.tensordot(jax.vmap(schedule)(jnp.arange(200)), g, axes=1), params, stream)
    assert _relative(sgd, expected) <= 1e-5


_NAMES = {id(v): f"{m.__name__.split('.')[-1]}.{k}" for m in (optax, optim) for k, v in vars(m).items()}
ELEMENTWISE = sorted(optim.ELEMENTWISE, key=lambda f: _NAMES[id(f)])


@pytest.mark.parametrize("factory", ELEMENTWISE, ids=[_NAMES[id(f)] for f in ELEMENTWISE])
def test_flattened_elementwise_optimizers_equal_their_per_array_form(factory, key):
    params = _params(key)
    stream = jax.tree.map(lambda p: jax.random.normal(jax.random.key(1), (200, *p.shape)), params)
    flat_tx = optim.flattened(factory)(LR)
    assert all(x.shape in {(), (40,)} for x in jax.tree.leaves(flat_tx.init(params)))  # one vector of 7*5 + 5
    a = jax.jit(functools.partial(_run_open_loop, flat_tx))(params, stream)
    b = jax.jit(functools.partial(_run_open_loop, factory(LR)))(params, stream)
    assert _relative(b, params) > 1e-3  # the stream really moved the parameters
    assert _relative(a, b) <= 1e-6


def test_flattening_changes_a_per_array_optimizer(key):
    # LAMB scales each array's step by its own trust ratio: one vector is another optimizer.
    assert not optim.is_elementwise(optax.lamb)
    params = _params(key)
    stream = jax.tree.map(lambda p: jax.random.normal(jax.random.key(1), (20, *p.shape)), params)
    a = jax.jit(functools.partial(_run_open_loop, optim.flattened(optax.lamb)(LR)))(params, stream)
    b = jax.jit(functools.partial(_run_open_loop, optax.lamb(LR)))(params, stream)
    assert _relative(a, b) > 1e-3


def test_is_elementwise_accepts_only_known_factories_and_scalar_partials():
    assert optim.is_elementwise(optax.adam) and optim.is_elementwise(optim.rmsprop)
    assert optim.is_elementwise(functools.partial(optax.sgd, momentum=0.9, nesterov=True))
    matrices_only = functools.partial(optax.adamw, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p))
    assert not optim.is_elementwise(matrices_only)
    assert not optim.is_elementwise(lambda learning_rate: optax.adam(learning_rate))  # unknown: not assumed
    assert not optim.is_elementwise(optax.adafactor)


def test_flattened_keeps_one_vector_only_for_one_dtype(key):
    params = _params(key)
    tx = optim.flattened(optax.adam)(LR)
    mu = tx.init(params)[0].mu
    assert mu.shape == (40,)
    mixed = {"w": params["w"], "b": params["b"].astype(jnp.bfloat16)}
    mu = tx.init(mixed)[0].mu
    assert mu["w"].dtype == jnp.float32 and mu["b"].dtype == jnp.bfloat16  # not promoted into one vector
    updates, _ = jax.jit(tx.update)(mixed, tx.init(mixed), mixed)
    reference, _ = optax.adam(LR).update(mixed, optax.adam(LR).init(mixed), mixed)
    assert jax.tree.map(lambda x: x.dtype, updates) == jax.tree.map(lambda x: x.dtype, reference)


def test_flattened_keeps_the_signature_for_inject_hyperparams(key):
    params = _params(key)
    updates = []
    for factory in (optim.flattened(optim.adam), optim.adam):
        tx = optax.inject_hyperparams(factory)(learning_rate=LR)  # b1, b2, eps injected too (float32)
        state = jaxdl.set_hyperparams(tx.init(params), learning_rate=0.2)
        updates.append(tx.update(params, state, params)[0])
    assert _relative(*updates) <= 1e-6 and _relative(updates[0], params) > 1e-3


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_damped_forms_follow_the_udl_book(nesterov):
    """Prince's eqs. 6.11-6.12 in float64 on a quadratic ``L = 1/2 phi^T A phi``, against the
    damped form (Nesterov's stores the look-ahead points ``phi_t - alpha beta m_t``)."""
    a = np.array([[3.0, 0.5], [0.5, 1.0]])
    grad = lambda p: a @ p
    alpha, beta = 0.1, 0.8
    phi, m = np.array([1.0, -2.0]), np.zeros(2)
    make = optim.nesterov if nesterov else optim.momentum
    tx = make(alpha, beta, form="damped")
    params = jnp.asarray(phi, jnp.float32)
    state = tx.init(params)
    for _ in range(30):
        m = beta * m + (1 - beta) * grad(phi - alpha * beta * m if nesterov else phi)  # eq. 6.12 / 6.11
        phi = phi - alpha * m
        updates, state = tx.update(grad(np.asarray(params, np.float64)).astype(np.float32), state, params)
        params = optax.apply_updates(params, updates)
        stored = phi - alpha * beta * m if nesterov else phi
        np.testing.assert_allclose(params, stored, rtol=2e-5, atol=2e-6)

"""Adversarial attacks, robust accuracy and adversarial training (jaxdl/robust): closed forms
on a linear classifier, the ball and the box on a network, named errors, and the step wrapper
against an independent computation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl

W, B = jnp.array([1.0, -2.0, 0.5, 0.0]), 0.1
DUAL = {"linf": float(jnp.abs(W).sum()), "l2": float(jnp.linalg.norm(W))}  # ||w||_1 and ||w||_2


def linear_logits(x):
    """Two classes with logit difference ``w . x + b``: the margin of class 1."""
    return jnp.stack([jnp.zeros(x.shape[0]), x @ W + B], axis=-1)


def _linear_data(n=64):
    x = jax.random.uniform(jax.random.key(3), (n, 4))
    return x, (x @ W + B > 0).astype(jnp.int32)


def _attacks(norm):
    return {"fgsm": functools.partial(jaxdl.fgsm, norm=norm, clip=None),
            "pgd": functools.partial(jaxdl.pgd, norm=norm, clip=None, steps=5, random_start=False)}


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_linear_worst_case_is_reached_exactly(name, norm):
    """For ``f = w . x + b`` the worst signed margin in the ball is ``s m - eps ||w||_*``
    (the dual norm: L1 for linf, L2 for l2), reached at ``x -+ eps sign(w)`` / ``eps w/||w||``."""
    x, y = _linear_data()
    eps, s = 0.05, 2.0 * y - 1.0
    x_adv = _attacks(norm)[name](linear_logits, x, y, eps=eps)
    np.testing.assert_allclose(s * (x_adv @ W + B), s * (x @ W + B) - eps * DUAL[norm], rtol=1e-5, atol=1e-5)
    step = -s[:, None] * (jnp.sign(W) if norm == "linf" else W / jnp.linalg.norm(W))[None] * eps
    np.testing.assert_allclose(x_adv - x, step, atol=1e-6)


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_robust_accuracy_of_a_linear_model_is_the_fraction_beyond_eps(attack, norm):
    x, y = _linear_data()
    eps = [0.0, 0.02, 0.05, 0.1, 0.2]
    distance = np.abs(np.asarray(x @ W + B)) / DUAL[norm]  # to the decision boundary, in the dual sense
    assert np.min(np.abs(distance[:, None] - np.array(eps)[None])) > 1e-4  # no example on a budget's edge
    expected = [np.mean(distance > e) for e in eps]
    # Random starts reach the linf corner exactly; in L2 they keep a component across w, so none there.
    kw = ({"steps": 5, "key": jax.random.key(1)} if norm == "linf" else {"steps": 5, "random_start": False}
          ) if attack == "pgd" else {}
    got = jaxdl.robust_accuracy(linear_logits, x, y, eps=eps, attack=attack, norm=norm, clip=None, batch_size=24, **kw)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got[0] == 1.0 and np.all(np.diff(np.asarray(got)) <= 0)


def _mlp():
    model = jaxdl.MLP(features=(32, 10))
    params = model.init(jax.random.key(0), jnp.zeros((1, 16)))
    return lambda x: model.apply(params, x)


@pytest.mark.parametrize(("name", "norm"), [("fgsm", "linf"), ("fgsm", "l2"), ("pgd", "linf"), ("pgd", "l2")])
def test_perturbations_stay_in_the_ball_and_the_box(name, norm):
    logits_fn, x = _mlp(), jax.random.uniform(jax.random.key(2), (32, 16))
    y = jnp.arange(32) % 10
    eps = 0.3 if norm == "linf" else 1.0
    kw = {"steps": 7, "restarts": 2, "key": jax.random.key(3)} if name == "pgd" else {}
    x_adv = getattr(jaxdl, name)(logits_fn, x, y, eps=eps, norm=norm, **kw)
    delta = (x_adv - x).reshape(32, -1)
    size = jnp.abs(delta).max(axis=1) if norm == "linf" else jnp.linalg.norm(delta, axis=1)
    assert float(size.max()) <= eps * (1 + 1e-5)
    assert float(size.max()) > 0.5 * eps  # it did move
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0


def test_pgd_keeps_the_worst_case_and_beats_its_start():
    """Every iterate is scored: PGD's loss is at least that of its random start, and more
    restarts keep at least as many examples broken as the first restart alone."""
    logits_fn, x = _mlp(), jax.random.uniform(jax.random.key(2), (64, 16))
    y = jnp.argmax(logits_fn(x), axis=-1)  # correct by construction
    loss = lambda v: jaxdl.softmax_cross_entropy(logits_fn(v), y)
    one = jaxdl.pgd(logits_fn, x, y, eps=0.05, steps=1, step_size=-0.05, key=jax.random.key(4))  # steps downhill
    start = jaxdl.pgd(logits_fn, x, y, eps=0.05, steps=1, step_size=0.0, key=jax.random.key(4))
    assert bool(jnp.all(loss(one) >= loss(start) - 1e-6))  # the start is kept where the step went down
    fooled = lambda v: int(jnp.sum(jnp.argmax(logits_fn(v), -1) != y))
    weak = jaxdl.pgd(logits_fn, x, y, eps=0.05, steps=3, key=jax.random.key(5))
    strong = jaxdl.pgd(logits_fn, x, y, eps=0.05, steps=20, restarts=3, key=jax.random.key(5))
    assert fooled(strong) >= fooled(weak) > 0


def test_margin_loss_closed_form_and_targeted_attacks():
    logits = jnp.array([[1.0, 3.0, -1.0], [2.0, 0.0, 0.5]])
    np.testing.assert_allclose(jaxdl.margin_loss(logits, jnp.array([1, 0])), [1.0 - 3.0, 0.5 - 2.0])
    x, y = _linear_data()
    target = 1 - y  # the other class; with eps beyond every distance, every example reaches it
    for loss in ("cross_entropy", "margin"):
        x_adv = jaxdl.pgd(linear_logits, x, target, eps=1.0, steps=10, clip=None, targeted=True, loss=loss,
                          key=jax.random.key(0))
        np.testing.assert_array_equal(jnp.argmax(linear_logits(x_adv), -1), target)


def test_a_custom_attack_loss_is_maximised():
    x, y = _linear_data(8)
    toward_class_0 = lambda logits, labels: logits[:, 0] - logits[:, 1]
    x_adv = jaxdl.fgsm(linear_logits, x, y, eps=0.1, clip=None, loss=toward_class_0)
    np.testing.assert_allclose(x_adv - x, jnp.broadcast_to(-0.1 * jnp.sign(W), x.shape), atol=1e-6)


def test_attacks_compile_and_vmap_over_eps():
    logits_fn, x = _mlp(), jax.random.uniform(jax.random.key(2), (8, 16))
    y = jnp.arange(8)
    attack = jax.jit(jax.vmap(lambda e: jaxdl.pgd(logits_fn, x, y, eps=e, steps=3, key=jax.random.key(0))))
    out = attack(jnp.array([0.0, 0.1, 0.2]))
    assert out.shape == (3, 8, 16)
    np.testing.assert_allclose(out[0], x)
    eager = jaxdl.pgd(logits_fn, x, y, eps=0.1, steps=3, key=jax.random.key(0))
    np.testing.assert_allclose(out[1], eager, atol=1e-6)


def test_robust_accuracy_does_not_depend_on_the_batch_size():
    logits_fn, x = _mlp(), jax.random.uniform(jax.random.key(6), (10, 16))
    y = jnp.argmax(logits_fn(x), -1).at[:3].set(0)
    results = [jaxdl.robust_accuracy(logits_fn, x, y, eps=[0.0, 0.02, 0.1], attack="fgsm", batch_size=b)
               for b in (3, 7, 100)]
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
    np.testing.assert_allclose(results[0][0], np.mean(np.asarray(jnp.argmax(logits_fn(x), -1) == y)))


LX, LY = _linear_data(8)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: jaxdl.fgsm(linear_logits, LX, LY, eps=-0.1), r"^fgsm: eps must be one finite number >= 0, got -0\.1\.$"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY, eps=float("nan")), r"eps must be one finite number >= 0, got nan"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY, eps=0.1, norm="l1"), r"^fgsm: unknown norm 'l1'; choose one of"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY, eps=0.1, loss="hinge"), r"^fgsm: unknown loss 'hinge'"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY.at[2].set(2), eps=0.1),
     r"^fgsm: labels must be classes in \[0, 2\), but 1 are not \(the first, 2, at index 2\)\.$"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY.astype(jnp.float32), eps=0.1), "labels must be integer classes"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY[:5], eps=0.1), r"labels must have shape \[B\] = \(8,\)"),
    (lambda: jaxdl.fgsm(linear_logits, LX, LY, eps=0.1, clip=(1.0, 0.0)), "clip must be None or"),
    (lambda: jaxdl.fgsm(linear_logits, LX * 3 - 1, LY, eps=0.1), r"outside clip=\(0\.0, 1\.0\).*clip=None"),
    (lambda: jaxdl.fgsm(linear_logits, (LX * 255).astype(jnp.uint8), LY, eps=0.1), "must be floating point"),
    (lambda: jaxdl.fgsm(lambda x: x @ W, LX, LY, eps=0.1), r"logits_fn must map inputs \[B, \.\.\.\] to logits"),
    (lambda: jaxdl.pgd(linear_logits, LX, LY, eps=0.1, steps=3), r"^pgd: random_start=True needs key="),
    (lambda: jaxdl.pgd(linear_logits, LX, LY, eps=0.1, steps=3, random_start=False, restarts=2),
     "would repeat one deterministic walk"),
    (lambda: jaxdl.pgd(linear_logits, LX, LY, eps=0.1, steps=0, key=jax.random.key(0)), "steps must be >= 1"),
    (lambda: jaxdl.robust_accuracy(linear_logits, LX, LY, eps=[0.1, -1.0]), "non-empty list of finite numbers >= 0"),
    (lambda: jaxdl.robust_accuracy(linear_logits, LX, LY, eps=[0.1], attack="deepfool"), "unknown attack 'deepfool'"),
    (lambda: jaxdl.robust_accuracy(linear_logits, LX, LY, eps=[0.1]), "this attack draws random numbers; pass key="),
    (lambda: jaxdl.robust_accuracy(linear_logits, LX, LY, eps=[0.1], attack="fgsm", targeted=True),
     "targeted=True is not meaningful"),
])
def test_bad_arguments_get_named_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# adversarial training

CE = jaxdl.softmax_cross_entropy


def _state(key=jax.random.key(0), tx=None):
    return jaxdl.create_train_state(jaxdl.MLP(features=(16, 3), dropout_rate=0.2), tx or optax.sgd(0.5), key=key,
                                    input_shape=(5,))


def _batch(n=8):
    kx, ky = jax.random.split(jax.random.key(7))
    return {"x": jax.random.uniform(kx, (n, 5)), "y": jax.random.randint(ky, (n,), 0, 3)}


def _max_diff(a, b):
    diffs = jax.tree.map(lambda u, v: jnp.max(jnp.abs(u - v)), a, b)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    return max(float(d) for d in jax.tree.leaves(diffs))


def test_adversarial_training_steps_on_the_attacked_batch():
    """The wrapped step equals the plain step on the attack's output, the attack seeing the
    model in inference mode with the step's parameters."""
    state, batch, key = _state(), _batch(), jax.random.key(1)

    def attack(logits_fn, x, y):  # moves each x by an amount its inference-mode logits decide
        return jnp.clip(x + 0.1 * jnp.tanh(logits_fn(x)).sum(-1, keepdims=True), 0.0, 1.0)

    step = jax.jit(jaxdl.gradient_step(jaxdl.adversarial(jaxdl.loss_gradients(CE), attack)))
    new, metrics = step(state, batch, key)
    x_adv = attack(lambda x: state.apply_fn({"params": state.params}, x, train=False), batch["x"], batch["y"])
    rng = jax.random.split(jax.random.fold_in(key, state.step))[1]  # the wrapper splits off the attack's key
    grads = jaxdl.loss_gradients(CE)(state, {**batch, "x": x_adv}, rng, jnp.float32(8))
    expected = state.apply_gradients(grads=grads.grads)
    assert _max_diff(new.params, expected.params) <= 1e-6
    np.testing.assert_allclose(metrics["train_loss"], grads.metrics["train_loss"], rtol=1e-6)


def test_the_training_budget_follows_its_schedule():
    """``eps=schedule`` hands the attack ``eps(state.step)``: at step 0 of a ramp from 0 the
    step is the plain step; at step 5 of 10 the attack moves by 0.5."""
    state, batch, key = _state(), _batch(), jax.random.key(1)
    attack = lambda logits_fn, x, y, *, eps: x + eps
    step = jax.jit(jaxdl.gradient_step(jaxdl.adversarial(jaxdl.loss_gradients(CE), attack,
                                                         eps=optax.linear_schedule(0.0, 1.0, 10))))
    for at, shift in ((0, 0.0), (5, 0.5)):
        s = state.replace(step=jnp.asarray(at, jnp.int32))
        rng = jax.random.split(jax.random.fold_in(key, at))[1]
        grads = jaxdl.loss_gradients(CE)(s, {**batch, "x": batch["x"] + shift}, rng, jnp.float32(8))
        assert _max_diff(step(s, batch, key)[0].params, s.apply_gradients(grads=grads.grads).params) <= 1e-6


def test_pgd_training_follows_the_gradient_at_the_pgd_examples():
    state, batch = _state(tx=optax.sgd(1.0)), _batch()
    attack = functools.partial(jaxdl.pgd, eps=0.2, steps=5, random_start=False)
    step = jax.jit(jaxdl.gradient_step(jaxdl.adversarial(jaxdl.loss_gradients(CE), attack)))
    new, _ = step(state, batch, jax.random.key(2))
    model = jaxdl.MLP(features=(16, 3), dropout_rate=0.2)
    x_adv = jaxdl.pgd(lambda x: model.apply({"params": state.params}, x), batch["x"], batch["y"], eps=0.2, steps=5,
                      random_start=False)
    assert float(jnp.abs(x_adv - batch["x"]).max()) > 0.1
    # Dropout stays on in the training pass: take the same mask by using the same key.
    rng = jax.random.split(jax.random.fold_in(jax.random.key(2), 0))[1]
    loss = lambda p: CE(model.apply({"params": p}, x_adv, train=True, rngs={"dropout": rng}), batch["y"]).mean()
    expected = jax.tree.map(lambda p, g: p - g, state.params, jax.grad(loss)(state.params))
    assert _max_diff(new.params, expected) <= 1e-5


def test_adversarial_training_over_a_device_axis_equals_the_full_batch():
    state, batch = _state(tx=optax.sgd(0.5)), _batch()
    state = state.replace(apply_fn=jaxdl.MLP(features=(16, 3)).apply)  # no dropout: a per-device mask would differ
    attack = functools.partial(jaxdl.pgd, eps=0.2, steps=3, random_start=False)
    full = jax.jit(jaxdl.gradient_step(jaxdl.adversarial(jaxdl.loss_gradients(CE), attack)))(state, batch,
                                                                                             jax.random.key(0))[0]
    step = jaxdl.gradient_step(jaxdl.across_devices(jaxdl.adversarial(jaxdl.loss_gradients(CE), attack), "data"))
    shards = jax.tree.map(lambda a: a.reshape(2, 4, *a.shape[1:]), batch)
    split = jax.jit(jax.vmap(step, in_axes=(None, 0, None), axis_name="data"))(state, shards, jax.random.key(0))[0]
    for i in range(2):
        assert _max_diff(jax.tree.map(lambda a: a[i], split.params), full.params) <= 1e-5


def test_adversarial_training_runs_in_fit_and_makes_the_model_more_robust():
    data = jaxdl.data.moons(key=jax.random.key(0), num_train=256, num_test=256)
    lo, hi = float(data.x_train.min()) - 1, float(data.x_train.max()) + 1
    attack = functools.partial(jaxdl.pgd, eps=0.3, steps=5, clip=(lo, hi))
    runs = {}
    for name, gradients in {"plain": jaxdl.loss_gradients(CE),
                            "adversarial": jaxdl.adversarial(jaxdl.loss_gradients(CE), attack)}.items():
        state = jaxdl.create_train_state(jaxdl.MLP(features=(32, 32, 2)), optax.adam(1e-2), key=jax.random.key(1),
                                         input_shape=(2,))
        state = jaxdl.fit(state, data, jaxdl.gradient_step(gradients), key=jax.random.key(2), num_steps=300,
                          batch_size=64, progress=False).state
        logits_fn = lambda x, s=state: s.apply_fn({"params": s.params}, x)
        runs[name] = jaxdl.robust_accuracy(logits_fn, data.x_test, data.y_test, eps=[0.0, 0.3], steps=10,
                                           clip=(lo, hi), key=jax.random.key(3))
    assert float(runs["plain"][0]) > 0.9
    assert float(runs["adversarial"][1]) > float(runs["plain"][1]) + 0.05


def test_robust_accuracy_reuses_its_compiled_program():
    traces = []

    def logits_fn(x):
        traces.append(1)  # runs only while tracing
        return linear_logits(x)

    x, y = _linear_data(16)
    first = jaxdl.robust_accuracy(logits_fn, x, y, eps=[0.0, 0.1], attack="fgsm", clip=None, batch_size=8)
    count = len(traces)
    second = jaxdl.robust_accuracy(logits_fn, x[::-1], y[::-1], eps=[0.05, 0.1], attack="fgsm", clip=None, batch_size=8)
    assert len(traces) == count  # other budgets, other data, same shapes: no new trace
    assert float(second[1]) == float(first[1]) and float(second[0]) >= float(first[1])

"""The pure train step (jaxdl/_step.py): learning, compilation, determinism, vmap stacks, named device
axes, micro-batches and penalties."""

import json
import os
import subprocess
import sys
import textwrap

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl

CE = jaxdl.softmax_cross_entropy


ACC = {"accuracy": jaxdl.accuracy}


def _batch(key, n=32, d=5, c=3):
    kx, ky = jax.random.split(key)
    return {"x": jax.random.normal(kx, (n, d)), "y": jax.random.randint(ky, (n,), 0, c)}


def _state(key, lr=1e-2, model=None, d=5, tx=None):
    model = model or jaxdl.MLP(features=(16, 3), dropout_rate=0.2)
    tx = tx or optax.inject_hyperparams(optax.adam)(learning_rate=lr)
    return jaxdl.create_train_state(model, tx, key=key, input_shape=(d,))


def _max_diff(a, b):
    """The largest absolute difference between two trees of the same structure (an error if not)."""
    return max(float(d) for d in jax.tree.leaves(jax.tree.map(lambda x, y: jnp.max(jnp.abs(x - y)), a, b)))


def test_loss_decreases(key):
    data = jaxdl.data.moons(key=key, num_train=128, num_test=8)
    state = jaxdl.create_train_state(jaxdl.MLP(features=(32, 32, 2)), optax.adam(1e-2), key=key, input_shape=(2,))
    step = jax.jit(jaxdl.make_train_step(CE, metrics=ACC), donate_argnums=0)
    batch = {"x": data.x_train, "y": data.y_train}
    losses = []
    for _ in range(150):
        state, metrics = step(state, batch, key)
        losses.append(float(metrics["train_loss"]))
    assert losses[-1] < 0.3 * losses[0]
    assert float(metrics["train_accuracy"]) > 0.95
    assert int(state.step) == 150
    assert set(metrics) == {"train_loss", "train_accuracy"}


def test_second_call_does_not_recompile(key):
    traces = []

    def counting_loss(outputs, labels):
        traces.append(1)  # runs only while tracing
        return CE(outputs, labels)

    step = jax.jit(jaxdl.make_train_step(counting_loss), donate_argnums=0)
    state = _state(key)
    for i in range(3):  # new batch values, new rng, new step: same shapes, one trace
        state, _ = step(state, _batch(jax.random.key(i)), jax.random.key(100 + i))
    assert len(traces) == 1


def test_same_seed_gives_bitwise_identical_params(key):
    def run(seed):
        state = _state(jax.random.key(seed))
        step = jax.jit(jaxdl.make_train_step(CE), donate_argnums=0)
        for i in range(5):
            state, _ = step(state, _batch(jax.random.key(i)), jax.random.key(seed))
        return jax.device_get(state.params)

    a, b, c = run(0), run(0), run(1)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert _max_diff(a, c) > 0


def test_vmapped_stack_equals_separate_runs(key):
    k, steps = 4, 10
    keys = jax.random.split(key, k)
    lrs = jnp.array([1e-3, 3e-3, 1e-2, 3e-2])
    model = jaxdl.MLP(features=(16, 3), dropout_rate=0.2)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)

    def make(kk, lr):
        return jaxdl.create_train_state(model, tx, key=kk, input_shape=(5,), learning_rate=lr)

    stack = jax.vmap(make)(keys, lrs)
    np.testing.assert_allclose(stack.opt_state.hyperparams["learning_rate"], lrs)
    train_step = jaxdl.make_train_step(CE, metrics=ACC)
    vstep = jax.jit(jax.vmap(train_step, in_axes=(0, None, 0)), donate_argnums=0)
    step = jax.jit(train_step, donate_argnums=0)
    batches = [_batch(jax.random.key(1000 + i)) for i in range(steps)]
    for b in batches:
        stack, stack_metrics = vstep(stack, b, keys)
    for i in range(k):
        single = make(keys[i], lrs[i])
        for b in batches:
            single, metrics = step(single, b, keys[i])
        member = jax.tree.map(lambda a: a[i], stack.params)
        assert _max_diff(member, single.params) <= 1e-6
        np.testing.assert_allclose(stack_metrics["train_loss"][i], metrics["train_loss"], atol=1e-6)
    assert _max_diff(jax.tree.map(lambda a: a[0], stack.params), jax.tree.map(lambda a: a[3], stack.params)) > 1e-3


@pytest.mark.parametrize("with_mask", [False, True])
def test_named_axis_equals_full_batch(key, with_mask):
    """A mapped axis (here jax.vmap with axis_name, same collectives as pmap) = one full-batch step.
    SGD, not Adam: Adam's first step is about ``lr * sign(g)``, blind to a gradient summed
    once too often (a device-count factor); SGD's step is proportional to the gradient."""
    model = jaxdl.MLP(features=(16, 3))  # no dropout: per-device masks would differ by design
    reg = lambda p: 1e-3 * jaxdl.l2_penalty(p)  # noqa: E731
    state = _state(key, model=model, tx=optax.sgd(0.5))
    batch = _batch(jax.random.key(7), n=8)
    if with_mask:  # shards with 4 and 1 real examples: the global count, not the local one, counts
        batch["mask"] = jnp.array([1, 1, 1, 1, 1, 0, 0, 0], jnp.float32)
    full_step = jax.jit(jaxdl.make_train_step(CE, regularizer=reg))
    split_step = jax.jit(jax.vmap(jaxdl.make_train_step(CE, regularizer=reg, axis_name="data"),
                                  in_axes=(None, 0, None), out_axes=(0, 0), axis_name="data"))
    full, full_metrics = full_step(state, batch, key)
    shards = jax.tree.map(lambda a: a.reshape(2, 4, *a.shape[1:]), batch)
    split, split_metrics = split_step(state, shards, key)
    for i in range(2):
        assert _max_diff(jax.tree.map(lambda a: a[i], split.params), full.params) <= 1e-6
    np.testing.assert_allclose(split_metrics["train_loss"][0], full_metrics["train_loss"], atol=1e-6)


PMAP_CHECK = textwrap.dedent("""
    import json, jax, jax.numpy as jnp, optax, jaxdl
    assert jax.local_device_count() == 2, jax.devices()
    key = jax.random.key(0)
    tx = optax.sgd(0.5)  # a step proportional to the gradient: a wrong device-count scale shows
    state = jaxdl.create_train_state(jaxdl.MLP(features=(16, 3)), tx, key=key, input_shape=(5,))
    kx, ky = jax.random.split(jax.random.key(1))
    batch = {"x": jax.random.normal(kx, (8, 5)), "y": jax.random.randint(ky, (8,), 0, 3)}
    full_step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy))
    pmap_step = jax.pmap(jaxdl.make_train_step(jaxdl.softmax_cross_entropy, axis_name="data"),
                         axis_name="data", in_axes=(0, 0, None))
    full = state
    replicated = jax.tree.map(lambda a: jnp.stack([a, a]), state)
    shards = jax.tree.map(lambda a: a.reshape(2, 4, *a.shape[1:]), batch)
    for _ in range(5):
        full, _ = full_step(full, batch, key)
        replicated, _ = pmap_step(replicated, shards, key)
    diffs = [float(jnp.max(jnp.abs(a[d] - b))) for d in range(2)
             for a, b in zip(jax.tree.leaves(replicated.params), jax.tree.leaves(full.params), strict=True)]
    print(json.dumps({"max_diff": max(diffs), "devices": jax.local_device_count()}))
""")


def test_pmap_on_two_cpu_devices_equals_full_batch():
    env = dict(os.environ, XLA_FLAGS=f"{os.environ['XLA_FLAGS']} --xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", PMAP_CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2
    assert result["max_diff"] <= 1e-6


MICROBATCH_MODELS = {
    "mlp": (jaxdl.MLP(features=(16, 3)), (5,)),
    "lenet5": (jaxdl.LeNet5(), (28, 28, 1)),
    "lenet5-s2d": (jaxdl.LeNet5(conv_impl="s2d"), (28, 28, 1)),
    "cnn1d": (jaxdl.CNN1D(), (40,)),
}


@pytest.mark.parametrize(("name", "microbatches", "with_mask"), [
    ("mlp", 2, False), ("mlp", 4, True), ("cnn1d", 2, True), ("cnn1d", 4, False),
    ("lenet5", 2, False), ("lenet5-s2d", 4, True)])
def test_microbatches_equal_one_full_batch_step(key, name, microbatches, with_mask):
    """Summed micro-batch gradients = the full batch's, with the mask's global count, the
    penalty counted once and every metric a full-batch mean."""
    model, shape = MICROBATCH_MODELS[name]
    kx, ky = jax.random.split(jax.random.key(3))
    batch = {"x": jax.random.normal(kx, (8, *shape)), "y": jax.random.randint(ky, (8,), 0, 3)}
    if with_mask:  # micro-batches with different numbers of real examples, one of them empty
        batch["mask"] = jnp.array([1, 1, 1, 1, 1, 0, 0, 0], jnp.float32)
    reg = lambda p: 1e-2 * jaxdl.l2_penalty(p)  # noqa: E731
    runs = {}
    for k in (1, microbatches):
        state = jaxdl.create_train_state(model, optax.adam(1e-2), key=key, input_shape=shape)
        step = jax.jit(jaxdl.make_train_step(CE, regularizer=reg, metrics=ACC, microbatches=k))
        for _ in range(3):
            state, metrics = step(state, batch, key)
        runs[k] = state, metrics
    (full, full_metrics), (micro, micro_metrics) = runs[1], runs[microbatches]
    assert _max_diff(micro.params, full.params) <= 1e-6
    assert set(micro_metrics) == set(full_metrics)
    for name_ in full_metrics:
        np.testing.assert_allclose(micro_metrics[name_], full_metrics[name_], rtol=1e-6, atol=1e-6)


def test_microbatches_compose_with_a_named_axis(key):
    model = jaxdl.MLP(features=(16, 3))
    state = _state(key, model=model, tx=optax.sgd(0.5))  # SGD: the gradient's scale shows
    batch = _batch(jax.random.key(7), n=8)
    batch["mask"] = jnp.array([1, 1, 1, 1, 1, 1, 0, 0], jnp.float32)
    full, full_metrics = jax.jit(jaxdl.make_train_step(CE, metrics=ACC))(state, batch, key)
    split_step = jax.jit(jax.vmap(jaxdl.make_train_step(CE, metrics=ACC, axis_name="data", microbatches=2),
                                  in_axes=(None, 0, None), out_axes=(0, 0), axis_name="data"))
    split, split_metrics = split_step(state, jax.tree.map(lambda a: a.reshape(2, 4, *a.shape[1:]), batch), key)
    for i in range(2):
        assert _max_diff(jax.tree.map(lambda a: a[i], split.params), full.params) <= 1e-6
    np.testing.assert_allclose(split_metrics["train_accuracy"][0], full_metrics["train_accuracy"], atol=1e-6)


def test_microbatches_draw_dropout_per_micro_batch(key):
    """Micro-batch ``i`` draws its dropout masks from ``fold_in(rng, i)``: the summed gradient is
    the two halves' gradients under those two keys, and not (the negative control) the gradient
    with one key shared by both halves, which holds the same examples."""
    state = _state(key, model=jaxdl.MLP(features=(64, 3), dropout_rate=0.5))
    half = _batch(jax.random.key(5), n=4)
    batch = jax.tree.map(lambda a: jnp.concatenate([a, a]), half)
    count = jnp.float32(8)
    one = jaxdl.loss_gradients(CE)
    micro = jax.jit(jaxdl.microbatched(one, 2))(state, batch, key, count)
    parts = [one(state, half, jax.random.fold_in(key, i), count).grads for i in range(2)]
    assert _max_diff(micro.grads, jax.tree.map(jnp.add, *parts)) <= 1e-6
    shared_key = jax.tree.map(lambda g: 2 * g, parts[0])
    assert _max_diff(micro.grads, shared_key) > 1e-3
    # and through the step: the step's key for this state is fold_in(key, state.step)
    new, _ = jax.jit(jaxdl.make_train_step(CE, microbatches=2))(state, batch, key)
    expected, _ = jax.jit(jaxdl.gradient_step(lambda s, b, r, c: jaxdl.Gradients(
        jax.tree.map(jnp.add, *[one(s, half, jax.random.fold_in(r, i), c).grads for i in range(2)]), {}, {})))(
        state, batch, key)
    assert _max_diff(new.params, expected.params) <= 1e-6


def test_microbatches_reject_bad_settings(key):
    with pytest.raises(ValueError, match="microbatches must be >= 1, got 0"):
        jaxdl.make_train_step(CE, microbatches=0)
    with pytest.raises(TypeError, match="microbatches must be an int"):
        jaxdl.make_train_step(CE, microbatches=2.0)
    step = jaxdl.make_train_step(CE, microbatches=3)
    with pytest.raises(ValueError, match="batch size divisible by 3, got a batch of 8"):
        step(_state(key), _batch(key, n=8), key)
    with pytest.raises(ValueError, match=r"keeps \['batch_stats'\]"):
        jaxdl.make_train_step(CE, microbatches=2)(_state(key, model=_BatchNormNet()), _batch(key, n=8), key)


def test_penalized_step_follows_the_gradient_of_the_penalised_objective(key):
    """One SGD step is ``params - lr * grad(objective)``, with the objective (softmax cross-entropy
    plus ``lam * sum of squared kernels``) written out here, independently of jaxdl."""
    lam, lr = 0.1, 0.5
    model = jaxdl.MLP(features=(8, 3))
    state = _state(key, model=model, tx=optax.sgd(lr))
    batch = _batch(key)

    def objective(p):
        log_probs = jax.nn.log_softmax(model.apply({"params": p}, batch["x"]))
        data = -jnp.mean(jnp.take_along_axis(log_probs, batch["y"][:, None], axis=1))
        return data + lam * sum(jnp.sum(layer["kernel"] ** 2) for layer in p.values())

    step = jax.jit(jaxdl.make_train_step(CE, regularizer=lambda p: lam * jaxdl.l2_penalty(p)))
    new, metrics = step(state, batch, key)
    expected = jax.tree.map(lambda p, g: p - lr * g, state.params, jax.grad(objective)(state.params))
    assert _max_diff(new.params, expected) <= 1e-6
    np.testing.assert_allclose(metrics["train_objective"], objective(state.params), rtol=1e-6)


def test_regularizer_enters_objective_and_gradient(key):
    lam = 0.1
    state = _state(key, model=jaxdl.MLP(features=(8, 3)))
    batch = _batch(key)
    plain, plain_metrics = jax.jit(jaxdl.make_train_step(CE, norms=True))(state, batch, key)
    reg, reg_metrics = jax.jit(jaxdl.make_train_step(CE, regularizer=lambda p: lam * jaxdl.l2_penalty(p)))(state, batch, key)
    np.testing.assert_allclose(reg_metrics["train_objective"] - reg_metrics["train_loss"],
                               lam * jaxdl.l2_penalty(state.params), rtol=1e-5)
    np.testing.assert_allclose(reg_metrics["train_loss"], plain_metrics["train_loss"], rtol=1e-6)
    manual = jax.grad(lambda p: CE(state.apply_fn({"params": p}, batch["x"]), batch["y"]).mean())(state.params)
    np.testing.assert_allclose(plain_metrics["train_grad_norm"], optax.tree.norm(manual), rtol=1e-5)
    np.testing.assert_allclose(plain_metrics["train_param_norm"], optax.tree.norm(plain.params), rtol=1e-6)
    # the norms are reported, not used: the step without them makes the same update
    quiet, quiet_metrics = jax.jit(jaxdl.make_train_step(CE))(state, batch, key)
    assert _max_diff(quiet.params, plain.params) == 0 and "train_grad_norm" not in quiet_metrics
    assert _max_diff(reg.params, plain.params) > 0
    # biases see no penalty: their update is the same with or without it
    np.testing.assert_allclose(reg.opt_state.inner_state[0].mu["dense_1"]["bias"],
                               plain.opt_state.inner_state[0].mu["dense_1"]["bias"], rtol=1e-6)


class _BatchNormNet(nn.Module):
    @nn.compact
    def __call__(self, x, *, train=False):
        x = nn.Dense(4)(x)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.5)(x)
        return nn.Dense(3)(nn.relu(x))


def test_batch_stats_are_carried_without_special_cases(key):
    state = _state(key, model=_BatchNormNet())
    assert "batch_stats" in state.model_state
    before = state.model_state["batch_stats"]["BatchNorm_0"]["mean"]
    state, _ = jax.jit(jaxdl.make_train_step(CE))(state, _batch(key), key)
    after = state.model_state["batch_stats"]["BatchNorm_0"]["mean"]
    assert float(jnp.abs(after - before).max()) > 0
    metrics = jax.jit(jaxdl.make_eval_step(CE))(state, _batch(key))
    assert np.isfinite(float(metrics["eval_loss"]))


def test_eval_step_mask_ignores_padding(key):
    state = _state(key)
    batch = _batch(key, n=8)
    eval_step = jax.jit(jaxdl.make_eval_step(CE, metrics=ACC))
    masked = eval_step(state, dict(batch, mask=jnp.array([1, 1, 1, 0, 0, 0, 0, 0], jnp.float32)))
    head = eval_step(state, jax.tree.map(lambda a: a[:3], batch))
    np.testing.assert_allclose(masked["eval_loss"], head["eval_loss"], rtol=1e-6)
    np.testing.assert_allclose(masked["eval_accuracy"], head["eval_accuracy"], rtol=1e-6)


def test_eval_step_is_the_masked_mean_in_inference_mode(key):
    state = _state(key)  # dropout 0.2: evaluation must not drop
    batch = _batch(key, n=8)
    per_example = CE(state.apply_fn({"params": state.params}, batch["x"], train=False), batch["y"])
    eval_step = jax.jit(jaxdl.make_eval_step(CE, metrics=ACC))
    np.testing.assert_allclose(eval_step(state, batch)["eval_loss"], per_example.mean(), rtol=1e-6)
    one = eval_step(state, dict(batch, mask=jnp.zeros(8, jnp.float32).at[2].set(1.0)))
    np.testing.assert_allclose(one["eval_loss"], per_example[2], rtol=1e-6)  # a count of 1 divides by 1
    empty = eval_step(state, dict(batch, mask=jnp.zeros(8, jnp.float32)))
    assert float(empty["eval_loss"]) == 0.0  # no examples: 0, not NaN


def test_eval_step_over_a_device_axis_equals_the_full_batch(key):
    """Shards holding 4 and 1 real examples: the mean divides by the global count of 5."""
    state = _state(key)
    batch = dict(_batch(key, n=8), mask=jnp.array([1, 1, 1, 1, 1, 0, 0, 0], jnp.float32))
    full = jax.jit(jaxdl.make_eval_step(CE, metrics=ACC))(state, batch)
    split = jax.jit(jax.vmap(jaxdl.make_eval_step(CE, metrics=ACC, axis_name="data"), in_axes=(None, 0),
                             axis_name="data"))(state, jax.tree.map(lambda a: a.reshape(2, 4, *a.shape[1:]), batch))
    for name in ("eval_loss", "eval_accuracy"):
        np.testing.assert_allclose(split[name], [full[name]] * 2, rtol=1e-6)


def test_batch_statistics_are_averaged_over_a_device_axis(key):
    """Each device normalises by its own shard's statistics; the carried running statistics
    are the mean of the devices' (``pmean``), the same on every device."""
    state = _state(key, model=_BatchNormNet(), tx=optax.sgd(0.1))
    batch = _batch(key, n=8)
    shards = jax.tree.map(lambda a: a.reshape(2, 4, *a.shape[1:]), batch)
    split, _ = jax.jit(jax.vmap(jaxdl.make_train_step(CE, axis_name="data"), in_axes=(None, 0, None),
                                axis_name="data"))(state, shards, key)
    one_step = jax.jit(jaxdl.make_train_step(CE))
    per_shard = [one_step(state, jax.tree.map(lambda a: a[i], shards), key)[0].model_state for i in range(2)]
    expected = jax.tree.map(lambda a, b: (a + b) / 2, *per_shard)
    assert _max_diff(per_shard[0], per_shard[1]) > 1e-3  # the shards' statistics do differ
    for i in range(2):
        assert _max_diff(jax.tree.map(lambda a: a[i], split.model_state), expected) <= 1e-6


def test_a_masked_batch_is_a_step_on_its_real_examples(key):
    """Padding rows (masked out, filled with other data) change nothing: the step on 5 real
    of 8 rows equals the step on those 5 rows alone, in parameters and in every metric; one
    real example is a batch of one (the count is clamped at 1 only when it is 0)."""
    state = _state(key, model=jaxdl.MLP(features=(16, 3)), tx=optax.sgd(0.5))
    batch = _batch(jax.random.key(9), n=8)
    step = jax.jit(jaxdl.make_train_step(CE, metrics=ACC))
    for real in (5, 1):
        mask = (jnp.arange(8) < real).astype(jnp.float32)
        padded, padded_metrics = step(state, dict(batch, mask=mask), key)
        alone, alone_metrics = step(state, jax.tree.map(lambda a: a[:real], batch), key)
        assert _max_diff(padded.params, alone.params) <= 1e-6
        for name in ("train_loss", "train_accuracy"):
            np.testing.assert_allclose(padded_metrics[name], alone_metrics[name], rtol=1e-6, atol=1e-7)


def test_the_composed_step_reports_no_norms_unless_asked(key):
    state, batch = _state(key), _batch(key)
    _, metrics = jax.jit(jaxdl.gradient_step(jaxdl.loss_gradients(CE)))(state, batch, key)
    assert set(metrics) == {"train_loss"}


def test_microbatched_names_its_argument_and_the_batch_norm_problem(key):
    with pytest.raises(ValueError, match="^microbatched: num must be >= 1, got 0"):
        jaxdl.microbatched(jaxdl.loss_gradients(CE), 0)
    step = jaxdl.gradient_step(jaxdl.microbatched(jaxdl.loss_gradients(CE), 2))
    with pytest.raises(ValueError, match=r"keeps \['batch_stats'\] \(e\.g\. batch statistics\), which each micro-batch "
                                         r"would compute on its own examples; use microbatches=1\.$"):
        step(_state(key, model=_BatchNormNet()), _batch(key, n=8), key)


def test_a_step_is_plain_sgd_on_the_mean_loss_with_the_mean_metrics(key):
    """Absolute, not relative: one SGD step on a batch (of 3, and a masked batch with 1 real
    example) moves the parameters by ``-lr * grad`` of the mean loss written out here, and the
    metrics are the means of the per-example values (a count of 1 divides by 1)."""
    lr, state = 0.5, _state(key, model=jaxdl.MLP(features=(16, 3)), tx=optax.sgd(0.5))
    batch = _batch(jax.random.key(4), n=4)
    step = jax.jit(jaxdl.make_train_step(CE, metrics=ACC))
    for real in (3, 1):
        rows = jax.tree.map(lambda a: a[:real], batch)

        def mean_loss(params):
            return jnp.mean(CE(state.apply_fn({"params": params}, rows["x"]), rows["y"]))

        expected = jax.tree.map(lambda p, g: p - lr * g, state.params, jax.grad(mean_loss)(state.params))
        for b in (rows, dict(batch, mask=(jnp.arange(4) < real).astype(jnp.float32))):
            new, metrics = step(state, b, key)
            assert _max_diff(new.params, expected) <= 1e-6
            logits = state.apply_fn({"params": state.params}, rows["x"])
            np.testing.assert_allclose(metrics["train_loss"], mean_loss(state.params), rtol=1e-6)
            np.testing.assert_allclose(metrics["train_accuracy"], jaxdl.accuracy(logits, rows["y"]).mean(), rtol=1e-6)


class _BatchNormDropoutNet(nn.Module):
    @nn.compact
    def __call__(self, x, *, train=False):
        x = nn.BatchNorm(use_running_average=not train, momentum=0.5)(nn.Dense(8)(x))
        return nn.Dense(3)(nn.Dropout(0.5, deterministic=not train)(nn.relu(x)))


def test_batch_norm_with_dropout_trains_on_the_step_key_and_evaluates_on_running_statistics(key):
    """Training mode gets both the mutable statistics and the dropout key (two keys, two
    updates); evaluation uses the running statistics, without dropout, and changes nothing."""
    state = _state(key, model=_BatchNormDropoutNet(), tx=optax.sgd(0.1), d=5)
    batch = _batch(key, n=8)
    step = jax.jit(jaxdl.make_train_step(CE))
    (a, _), (b, _) = step(state, batch, jax.random.key(1)), step(state, batch, jax.random.key(2))
    assert _max_diff(a.params, b.params) > 1e-4
    assert _max_diff(a.model_state, state.model_state) > 1e-4
    variables = {"params": a.params, **a.model_state}
    per_example = CE(a.apply_fn(variables, batch["x"], train=False), batch["y"])
    metrics = jax.jit(jaxdl.make_eval_step(CE))(a, batch)
    np.testing.assert_allclose(metrics["eval_loss"], per_example.mean(), rtol=1e-6)

"""The pure train step: learning, compilation, determinism, vmap stacks and named device axes."""

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


def _state(key, lr=1e-2, model=None, d=5):
    model = model or jaxdl.MLP(features=(16, 3), dropout_rate=0.2)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=lr)
    return jaxdl.create_train_state(model, tx, key=key, input_shape=(d,))


def _max_diff(a, b):
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


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
    assert {"train_loss", "train_accuracy", "train_grad_norm", "train_param_norm"} <= set(metrics)


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
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
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
    """A mapped axis (here jax.vmap with axis_name, same collectives as pmap) = one full-batch step."""
    model = jaxdl.MLP(features=(16, 3))  # no dropout: per-device masks would differ by design
    reg = lambda p: 1e-3 * jaxdl.l2_penalty(p)  # noqa: E731
    state = _state(key, model=model)
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
    tx = optax.adam(1e-2)
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
             for a, b in zip(jax.tree.leaves(replicated.params), jax.tree.leaves(full.params))]
    print(json.dumps({"max_diff": max(diffs), "devices": jax.local_device_count()}))
""")


def test_pmap_on_two_cpu_devices_equals_full_batch():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", PMAP_CHECK], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2
    assert result["max_diff"] <= 1e-6



MICROBATCH_MODELS = {
    "mlp": (jaxdl.MLP(features=(16, 3)), (5,)),
    "lenet5-banded": (jaxdl.LeNet5(conv_impl="toeplitz"), (28, 28, 1)),
    "lenet5-s2d": (jaxdl.LeNet5(conv_impl="s2d"), (28, 28, 1)),
    "cnn1d": (jaxdl.CNN1D(), (40,)),
}


@pytest.mark.parametrize(("name", "microbatches", "with_mask"), [
    ("mlp", 2, False), ("mlp", 4, True), ("cnn1d", 2, True), ("cnn1d", 4, False),
    ("lenet5-banded", 2, False), ("lenet5-s2d", 4, True)])
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
    state = _state(key, model=model)
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
    """Each micro-batch has its own dropout key: two micro-batches holding the same examples
    are masked differently, so their half-gradients differ."""
    state = _state(key, model=jaxdl.MLP(features=(64, 3), dropout_rate=0.5))
    half = _batch(jax.random.key(5), n=4)
    batch = jax.tree.map(lambda a: jnp.concatenate([a, a]), half)
    step = jax.jit(jaxdl.make_train_step(CE, microbatches=2))
    new, metrics = step(state, batch, key)
    assert np.isfinite(float(metrics["train_loss"]))
    assert _max_diff(new.params, state.params) > 0
    same_key = jax.jit(jaxdl.make_train_step(CE))  # one key for both copies: masks repeat
    twice, _ = same_key(state, batch, key)
    assert _max_diff(new.params, twice.params) > 1e-6


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


def test_regularizer_enters_objective_and_gradient(key):
    lam = 0.1
    state = _state(key, model=jaxdl.MLP(features=(8, 3)))
    batch = _batch(key)
    plain, plain_metrics = jax.jit(jaxdl.make_train_step(CE))(state, batch, key)
    reg, reg_metrics = jax.jit(jaxdl.make_train_step(CE, regularizer=lambda p: lam * jaxdl.l2_penalty(p)))(state, batch, key)
    np.testing.assert_allclose(reg_metrics["train_objective"] - reg_metrics["train_loss"],
                               lam * jaxdl.l2_penalty(state.params), rtol=1e-5)
    np.testing.assert_allclose(reg_metrics["train_loss"], plain_metrics["train_loss"], rtol=1e-6)
    manual = jax.grad(lambda p: CE(state.apply_fn({"params": p}, batch["x"]), batch["y"]).mean())(state.params)
    np.testing.assert_allclose(plain_metrics["train_grad_norm"], optax.tree.norm(manual), rtol=1e-5)
    np.testing.assert_allclose(plain_metrics["train_param_norm"], optax.tree.norm(plain.params), rtol=1e-6)
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


def test_set_hyperparams_needs_inject_hyperparams(key):
    with pytest.raises(ValueError, match="inject_hyperparams"):
        jaxdl.create_train_state(jaxdl.MLP(features=(3,)), optax.adam(1e-3), key=key, input_shape=(2,), learning_rate=0.1)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), np.float32(-np.inf)])
def test_set_hyperparams_refuses_non_finite_values(value, key):
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
    state = jaxdl.create_train_state(jaxdl.MLP(features=(3,)), tx, key=key, input_shape=(2,))
    with pytest.raises(ValueError, match="'learning_rate' must be finite"):
        jaxdl.set_hyperparams(state.opt_state, learning_rate=value)
    # Under vmap the value is a tracer: not checked, and a finite one goes through.
    stacked = jax.vmap(lambda lr: jaxdl.set_hyperparams(state.opt_state, learning_rate=lr))(jnp.array([0.1, 0.2]))
    np.testing.assert_allclose(stacked.hyperparams["learning_rate"], [0.1, 0.2])


@pytest.mark.parametrize("model", [jaxdl.MLP(features=(8, 3)), jaxdl.CNN1D(), jaxdl.BiGRU()], ids=lambda m: type(m).__name__)
def test_create_train_states_matches_one_at_a_time(model, key):
    # jit_once compiles the initialiser without LLVM optimisation: the same random bits, and
    # floats within the last bit of a default-level (eager) initialisation.
    tx = optax.adam(1e-3)
    keys = jax.random.split(key, 2)
    stacked = jaxdl.create_train_states(model, tx, keys=keys, input_shape=(40,))
    for i in range(2):
        one = jaxdl.create_train_state(model, tx, key=keys[i], input_shape=(40,))
        for a, b in zip(jax.tree.leaves(stacked.params), jax.tree.leaves(one.params)):
            np.testing.assert_allclose(a[i], b, rtol=1e-6, atol=1e-7)


def test_create_train_state_initialises_as_one_cached_program(key):
    from jaxdl._state import _initialiser

    model, shape = jaxdl.LeNet5(), (28, 28, 1)
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=key, input_shape=shape)
    # the same numbers as flax's op-by-op init with the same keys (jit_once: floats within the last bit)
    param_key, dropout_key = jax.random.split(key)
    eager = model.init({"params": param_key, "dropout": dropout_key}, jnp.zeros((1, *shape)), train=False)["params"]
    assert jax.tree.structure(eager) == jax.tree.structure(state.params)
    for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # an equal module (a new instance) reuses the compiled initialiser
    hits = _initialiser.cache_info().hits
    jaxdl.create_train_state(jaxdl.LeNet5(), optax.sgd(0.1), key=key, input_shape=shape)
    assert _initialiser.cache_info().hits == hits + 1
    # an unhashable module, and a call under jit and vmap, still initialise (op by op / inlined)
    listed = jaxdl.create_train_state(jaxdl.MLP(features=[8, 3]), optax.sgd(0.1), key=key, input_shape=(5,))
    tupled = jaxdl.create_train_state(jaxdl.MLP(features=(8, 3)), optax.sgd(0.1), key=key, input_shape=(5,))
    for a, b in zip(jax.tree.leaves(listed.params), jax.tree.leaves(tupled.params)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    jitted = jax.jit(lambda k: jaxdl.create_train_state(jaxdl.MLP(features=(8, 3)), optax.sgd(0.1), key=k,
                                                        input_shape=(5,)).params)(key)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(tupled.params)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_jit_once_gives_the_same_integers(key):
    perm = lambda k: jax.random.permutation(k, 1000)  # noqa: E731
    np.testing.assert_array_equal(jaxdl.cpu.jit_once(perm)(key), jax.jit(perm)(key))


@pytest.mark.parametrize(("options_fn", "impl"), [("legacy_emitters", "toeplitz"), ("matmul_conv_options", "s2d")])
def test_compile_options_give_the_same_step(key, options_fn, impl):
    # The older XLA:CPU loop emitters and XLA's own dots change how kernels are generated, not
    # what they compute.
    options = getattr(jaxdl.cpu, options_fn)()
    expected = {"xla_cpu_use_fusion_emitters": False}
    if options_fn == "matmul_conv_options":
        expected["xla_cpu_experimental_ynn_fusion_type"] = "LIBRARY_FUSION_TYPE_REDUCE"
    if jax.default_backend() == "cpu":
        assert options == expected
    else:
        assert options is None
    model = jaxdl.LeNet5(conv_impl=impl)
    batch = {"x": jax.random.normal(key, (8, 28, 28, 1)), "y": jnp.arange(8) % 10}
    results = []
    for opts in (None, options):
        # SGD, not Adam: Adam's normalisation would blow a near-zero gradient's rounding up to lr.
        state = jaxdl.create_train_state(model, optax.sgd(0.1), key=key, input_shape=(28, 28, 1))
        step = jax.jit(jaxdl.make_train_step(CE), donate_argnums=0, compiler_options=opts)
        for _ in range(3):
            state, metrics = step(state, batch, key)
        results.append((state.params, metrics))
    for a, b in zip(jax.tree.leaves(results[0]), jax.tree.leaves(results[1])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_matmul_conv_options_fall_back_when_an_option_is_gone(monkeypatch):
    from jaxdl.cpu import _compile as compile_module
    if jax.default_backend() != "cpu":
        assert jaxdl.cpu.matmul_conv_options() is None
        return
    monkeypatch.setattr(compile_module, "_XLA_DOTS", {"xla_cpu_no_such_option": "x"})
    compile_module._supported.cache_clear()
    try:
        assert jaxdl.cpu.matmul_conv_options() == jaxdl.cpu.legacy_emitters() == {"xla_cpu_use_fusion_emitters": False}
        monkeypatch.setattr(compile_module, "_LEGACY", {"xla_cpu_no_such_option": False})
        compile_module._supported.cache_clear()
        assert jaxdl.cpu.matmul_conv_options() is None
    finally:
        compile_module._supported.cache_clear()


def test_legacy_emitters_fall_back_when_the_option_is_gone(monkeypatch):
    from jaxdl.cpu import _compile as compile_module
    monkeypatch.setattr(compile_module, "_LEGACY", {"xla_cpu_no_such_option": False})
    compile_module._supported.cache_clear()
    try:
        assert jaxdl.cpu.legacy_emitters() is None  # a jaxlib without the option: compile as usual
        assert int(jaxdl.cpu.jit_once(lambda x: x + 1)(np.int32(1))) == 2
    finally:
        compile_module._supported.cache_clear()


def test_jit_once_falls_back_when_an_option_is_gone(monkeypatch, key):
    from jaxdl.cpu import _compile as compile_module
    if jax.default_backend() == "cpu":  # this jaxlib has them all: jit_once uses them
        assert compile_module._options_supported("cpu", compile_module._ONCE)
    monkeypatch.setattr(compile_module, "_ONCE", {**compile_module._ONCE, "xla_cpu_no_such_option": 1})
    compile_module._supported.cache_clear()
    try:
        perm = lambda k: jax.random.permutation(k, 100)  # noqa: E731
        np.testing.assert_array_equal(jaxdl.cpu.jit_once(perm)(key), jax.jit(perm)(key))
    finally:
        compile_module._supported.cache_clear()


def test_create_train_states_equals_vmapped_create(key):
    model = jaxdl.MLP(features=(16, 3), dropout_rate=0.2)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
    keys, lrs = jax.random.split(key, 3), jnp.array([1e-3, 1e-2, 1e-1])
    stacked = jaxdl.create_train_states(model, tx, keys=keys, input_shape=(5,), learning_rate=lrs)
    vmapped = jax.vmap(lambda k, lr: jaxdl.create_train_state(model, tx, key=k, input_shape=(5,), learning_rate=lr))(keys, lrs)
    assert jax.tree.structure(stacked) == jax.tree.structure(vmapped)
    for a, b in zip(jax.tree.leaves(stacked), jax.tree.leaves(vmapped)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="needs 3 values"):
        jaxdl.create_train_states(model, tx, keys=keys, input_shape=(5,), learning_rate=lrs[:2])


def test_predict_matches_apply_and_confusion_matrix_counts(key):
    model = jaxdl.MLP(features=(8, 3))
    state = jaxdl.create_train_state(model, optax.sgd(0.1), key=key, input_shape=(4,))
    x = np.asarray(jax.random.normal(key, (23, 4)))
    logits = jaxdl.predict(state, x, batch_size=10)  # 3 batches, the last padded
    np.testing.assert_allclose(logits, model.apply({"params": state.params}, x), rtol=1e-5, atol=1e-6)
    labels = np.arange(23) % 3
    cm = np.asarray(jaxdl.confusion_matrix(labels, logits.argmax(-1), 3))
    assert cm.sum() == 23 and np.array_equal(cm.sum(axis=1), np.bincount(labels, minlength=3))
    assert np.trace(cm) == int((logits.argmax(-1) == labels).sum())
    with pytest.raises(ValueError, match="confusion_matrix needs"):
        jaxdl.confusion_matrix(labels, labels[:5], 3)


def test_confusion_matrix_never_counts_an_out_of_range_pair_in_another_cell():
    labels, predictions = np.array([0, 1, 2, 0]), np.array([0, 1, 1, 2])
    # Flattened, (1, 3) would be 1 * 3 + 3 = 6, the cell (2, 0); -1 would be dropped silently.
    with pytest.raises(ValueError, match=r"predictions must lie in \[0, 3\), got 3 at index 1"):
        jaxdl.confusion_matrix(labels, np.array([0, 3, 1, 2]), 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got -1 at index 2"):
        jaxdl.confusion_matrix(np.array([0, 1, -1, 0]), predictions, 3)
    with pytest.raises(TypeError, match="labels must be integer classes"):
        jaxdl.confusion_matrix(labels.astype(np.float32), predictions, 3)
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        jaxdl.confusion_matrix(labels, predictions, 0)
    # Under jit the values are not visible: the bad pairs are left out, nothing else moves.
    counted = jax.jit(jaxdl.confusion_matrix, static_argnums=2)
    cm = np.asarray(counted(np.array([0, 1, -1, 0]), np.array([0, 3, 1, 2]), 3))
    np.testing.assert_array_equal(cm, [[1, 0, 1], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(counted(labels, predictions, 3), jaxdl.confusion_matrix(labels, predictions, 3))

"""Convolution arithmetic against Flax's shapes, batch norm through the engine, skip switch."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl

# (N, F, P, S, M): the lectures' examples first.
TILING = [(32, 5, 0, 1, 28), (32, 5, 0, 3, 10), (32, 5, 2, 1, 32), (32, 3, 1, 1, 32), (7, 3, 0, 2, 3),
          (28, 2, 0, 2, 14), (5, 5, 0, 1, 1), (227, 11, 0, 4, 55), (16, 1, 0, 1, 16), (9, 3, 1, 2, 5)]


@pytest.mark.parametrize("n,f,p,s,m", TILING)
def test_conv_output_size_matches_flax(n, f, p, s, m, key):
    assert jaxdl.conv_output_size(n, f, padding=p, stride=s) == m
    conv = nn.Conv(2, (f, f), strides=(s, s), padding=((p, p), (p, p)))
    out = jax.eval_shape(lambda x: conv.init_with_output(key, x)[0], jax.ShapeDtypeStruct((1, n, n, 1), jnp.float32))
    assert out.shape == (1, m, m, 2)


@pytest.mark.parametrize("n,f,p,s", [(32, 3, 1, 2), (28, 5, 0, 2), (10, 4, 0, 4)])
def test_conv_output_size_rejects_what_does_not_tile(n, f, p, s, key):
    with pytest.raises(ValueError, match="is not an integer"):
        jaxdl.conv_output_size(n, f, padding=p, stride=s)
    floored = jaxdl.conv_output_size(n, f, padding=p, stride=s, exact=False)
    conv = nn.Conv(1, (f, f), strides=(s, s), padding=((p, p), (p, p)))
    out = jax.eval_shape(lambda x: conv.init_with_output(key, x)[0], jax.ShapeDtypeStruct((1, n, n, 1), jnp.float32))
    assert out.shape[1] == floored  # what Flax (and XLA) silently compute


@pytest.mark.parametrize("kwargs,message", [
    (dict(n=0, f=3), "input size N"), (dict(n=5, f=0), "filter size F"), (dict(n=5, f=3, stride=0), "stride S"),
    (dict(n=5, f=3, padding=-1), "padding P"), (dict(n=3, f=5), "larger than the padded input"),
    (dict(n=5.0, f=3), "input size N"),
])
def test_conv_output_size_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jaxdl.conv_output_size(**kwargs)


@pytest.mark.parametrize("f", [1, 3, 5, 7])
def test_same_padding_keeps_the_size(f):
    assert jaxdl.conv_output_size(32, f, padding=jaxdl.same_padding(f)) == 32


def test_same_padding_needs_an_odd_filter():
    with pytest.raises(ValueError, match="odd filter size"):
        jaxdl.same_padding(4)


@pytest.mark.parametrize("model,shape,message", [
    (jaxdl.LeNet5(), (2, 30, 30, 1), "is not an integer"),  # 30 -> 30 -> 15 -> 11 -> pool 2 does not tile
    (jaxdl.LeNet5(), (2, 28, 28), "expects images"),
    (jaxdl.ResNet(depth=9), (2, 32, 32, 3), "6n \\+ 2"),
    (jaxdl.AlexNet(channels=(4, 4)), (2, 32, 32, 3), "five convolutions"),
    (jaxdl.InceptionModule((4, 4, 4)), (2, 8, 8, 3), "six widths"),
])
def test_models_reject_bad_input(model, shape, message, key):
    with pytest.raises(ValueError, match=message):
        model.init(key, jnp.zeros(shape))


def test_pool2d_unknown_kind():
    with pytest.raises(ValueError, match="unknown pooling"):
        jaxdl.pool2d(jnp.zeros((1, 4, 4, 1)), "median", 2)


def _images(key, n=16, size=8, channels=3, classes=4):
    kx, ky = jax.random.split(key)
    return jax.random.normal(kx, (n, size, size, channels)), jax.random.randint(ky, (n,), 0, classes)


def test_batch_norm_state_is_carried_by_the_engine_and_used_in_eval(key):
    model = jaxdl.ResNet(depth=8, width=4, num_classes=4)
    x, y = _images(key)
    state = jaxdl.create_train_state(model, optax.adam(1e-2), key=key, input_shape=x.shape[1:])
    assert set(state.model_state) == {"batch_stats"}
    before = state.model_state
    step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy))
    for _ in range(3):
        state, _ = step(state, {"x": x + 3.0, "y": y}, key)  # shifted inputs: the running mean must move
    mean_before = before["batch_stats"]["stem_bn"]["mean"]
    mean_after = state.model_state["batch_stats"]["stem_bn"]["mean"]
    assert float(jnp.abs(mean_after - mean_before).max()) > 1e-3
    # Evaluation normalises with the running averages, not the batch: the output for one
    # example does not depend on the rest of the batch.
    eval_out = state.apply_fn({"params": state.params, **state.model_state}, x, train=False)
    alone = state.apply_fn({"params": state.params, **state.model_state}, x[:1], train=False)
    np.testing.assert_allclose(eval_out[:1], alone, rtol=1e-5, atol=1e-5)
    train_out, _ = state.apply_fn({"params": state.params, **state.model_state}, x, train=True, mutable=["batch_stats"])
    assert float(jnp.abs(train_out - eval_out).max()) > 1e-4
    metrics = jax.jit(jaxdl.make_eval_step(jaxdl.softmax_cross_entropy))(state, {"x": x, "y": y})
    np.testing.assert_allclose(metrics["eval_loss"], jaxdl.softmax_cross_entropy(eval_out, y).mean(), rtol=1e-5)


def test_batch_norm_over_a_device_axis_equals_the_full_batch(key):
    # Two shards with bn_axis_name: batch statistics over both shards, so one step equals
    # the single-device step on the full batch.
    x, y = _images(key)
    full_model = jaxdl.ResNet(depth=8, width=4, num_classes=4)
    sharded_model = jaxdl.ResNet(depth=8, width=4, num_classes=4, bn_axis_name="data")
    tx = optax.sgd(0.1)
    state = jaxdl.create_train_state(full_model, tx, key=key, input_shape=x.shape[1:])
    sharded_state = state.replace(apply_fn=sharded_model.apply)
    full, _ = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy))(state, {"x": x, "y": y}, key)
    step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy, axis_name="data")
    stack = jax.tree.map(lambda a: jnp.stack([a, a]), sharded_state)
    shards = {"x": x.reshape(2, 8, *x.shape[1:]), "y": y.reshape(2, 8)}
    split, _ = jax.jit(jax.vmap(step, in_axes=(0, 0, None), axis_name="data"))(stack, shards, key)
    for a, b in zip(jax.tree.leaves((full.params, full.model_state)), jax.tree.leaves((split.params, split.model_state)), strict=True):
        np.testing.assert_allclose(b[0], a, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(b[1], a, rtol=2e-5, atol=2e-6)


def test_skip_switch_changes_the_function_not_the_parameters(key):
    x, _ = _images(key, size=32)
    with_skip = jaxdl.ResNet(depth=8, width=4)
    variables = with_skip.init(key, x)
    plain = jaxdl.ResNet(depth=8, width=4, skip=False)
    assert jax.tree.structure(plain.init(key, x)) == jax.tree.structure(variables)
    assert float(jnp.abs(with_skip.apply(variables, x) - plain.apply(variables, x)).max()) > 1e-4


def test_option_a_shortcut_is_subsample_and_zero_pad(key):
    block = jaxdl.BasicBlock(8, stride=2)
    x = jax.random.normal(key, (2, 8, 8, 4))
    variables = block.init(key, x)
    # Zero the residual branch (BN scale 0, offset 0): the block is then relu(shortcut(x)).
    zeroed = jax.tree_util.tree_map_with_path(
        lambda p, v: jnp.zeros_like(v) if "bn_1" in jax.tree_util.keystr(p) and "batch_stats" not in jax.tree_util.keystr(p) else v,
        variables)
    out = block.apply(zeroed, x)
    expected = jax.nn.relu(jnp.pad(x[:, ::2, ::2, :], ((0, 0), (0, 0), (0, 0), (2, 2))))
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_dropout_uses_its_own_rng_stream(key):
    model = jaxdl.AlexNet(channels=(4, 4, 4, 4, 4), hidden=(16, 16), num_classes=3)
    x, _ = _images(key, n=4, size=8)
    variables = model.init(key, x)
    a = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(1)})
    b = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(2)})
    assert float(jnp.abs(a - b).max()) > 1e-6
    np.testing.assert_array_equal(model.apply(variables, x), model.apply(variables, x))


def test_lenet5_rejects_an_unknown_conv_impl(key):
    with pytest.raises(ValueError, match="unknown convolution impl 'winograd'"):
        jaxdl.LeNet5(conv_impl="winograd").init(key, jnp.zeros((1, 28, 28, 1)))
    with pytest.raises(ValueError, match="unknown convolution impl 'toeplitz'"):
        jaxdl.Conv2D(4, 3, impl="toeplitz").init(key, jnp.zeros((1, 8, 8, 1)))


@pytest.mark.parametrize("activation,pooling", [("relu", "max"), ("tanh", "avg"), ("sigmoid", "max"),
                                                (jax.nn.gelu, "max"), ("relu", "avg")])
def test_lenet5_s2d_equals_xla_with_gradients(activation, pooling, key):
    """conv_impl="s2d" is the same function of the same parameters, value and gradient, for
    the fused pool (max after a non-decreasing activation) and the general path."""
    kx, ky = jax.random.split(key)
    x, y = jax.random.normal(kx, (4, 28, 28, 1)), jax.random.randint(ky, (4,), 0, 10)
    xla = jaxdl.LeNet5(activation=activation, pooling=pooling)
    fast = jaxdl.LeNet5(activation=activation, pooling=pooling, conv_impl="s2d")
    variables = xla.init(key, x)
    assert jax.tree.structure(fast.init(key, x)) == jax.tree.structure(variables)
    loss = lambda m: lambda p: jaxdl.softmax_cross_entropy(m.apply({"params": p}, x), y).mean()  # noqa: E731
    (la, ga), (lb, gb) = (jax.value_and_grad(loss(m))(variables["params"]) for m in (fast, xla))
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(ga), jax.tree.leaves(gb), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_lenet5_s2d_initialises_like_the_other_impls_and_checks_the_size(key):
    x = jax.random.normal(key, (2, 28, 28, 1))
    for a, b in zip(jax.tree.leaves(jaxdl.LeNet5(conv_impl="s2d").init(key, x)), jax.tree.leaves(jaxdl.LeNet5().init(key, x)), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"its size 30x30 \(input 26x26 \+ 2 \* padding 2\) must be multiples of 4"):
        jaxdl.LeNet5(conv_impl="s2d").init(key, jnp.zeros((1, 26, 26, 1)))
    with pytest.raises(ValueError, match="unknown pooling 'median'"):
        jaxdl.LeNet5(conv_impl="s2d", pooling="median").init(key, x)


def test_conv2d_initialises_like_flax_conv(key):
    x = jax.random.normal(key, (2, 8, 8, 3))
    ours = jaxdl.Conv2D(5, 3, padding=1).init(key, x)
    flax_conv = nn.Conv(5, (3, 3), padding=((1, 1), (1, 1))).init(key, x)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(flax_conv), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(jaxdl.Conv2D(5, 3, padding=1, stride=2, exact=False).apply(ours, x),
                               nn.Conv(5, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1))).apply(flax_conv, x),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind,window", [("max", 2), ("avg", 2), ("max", 3), ("avg", 4)])
def test_pool2d_equals_flax_pooling(kind, window, key):
    x = jax.random.normal(key, (2, 12, 12, 3))
    ref = (nn.max_pool if kind == "max" else nn.avg_pool)(x, (window, window), strides=(window, window))
    np.testing.assert_allclose(jaxdl.pool2d(x, kind, window), ref, rtol=1e-6, atol=1e-6)
    # away from ties, the gradients agree too
    g_ours = jax.grad(lambda x: jnp.sum(jaxdl.pool2d(x, kind, window) ** 2))(x)
    g_ref = jax.grad(lambda x: jnp.sum((nn.max_pool if kind == "max" else nn.avg_pool)(
        x, (window, window), strides=(window, window)) ** 2))(x)
    np.testing.assert_allclose(g_ours, g_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["s2d", "blocked", "auto"])
def test_lenet5_blocked_equals_xla_with_gradients(impl, key):
    """Every conv_impl (the default "auto", "blocked": jaxdl.cpu.blocked_conv2d in every
    Conv2D, "s2d") is the same function of the same parameters as XLA's convolutions, value
    and gradient."""
    kx, ky = jax.random.split(key)
    x, y = jax.random.normal(kx, (4, 28, 28, 1)), jax.random.randint(ky, (4,), 0, 10)
    xla, fast = jaxdl.LeNet5(conv_impl="xla"), jaxdl.LeNet5(conv_impl=impl)
    variables = xla.init(key, x)
    for a, b in zip(jax.tree.leaves(fast.init(key, x)), jax.tree.leaves(variables), strict=True):
        np.testing.assert_array_equal(a, b)  # same parameters, same initialisation
    loss = lambda m: lambda p: jaxdl.softmax_cross_entropy(m.apply({"params": p}, x), y).mean()  # noqa: E731
    (la, ga), (lb, gb) = (jax.value_and_grad(loss(m))(variables["params"]) for m in (fast, xla))
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(ga), jax.tree.leaves(gb), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("size,padding,stride,dilation", [(3, 1, 1, 1), (3, 1, 2, 1), (1, 0, 2, 1), (5, 2, 1, 1),
                                                          (3, 2, 1, 2)])
def test_conv2d_blocked_equals_xla(size, padding, stride, dilation, key):
    x = jax.random.normal(key, (2, 12, 12, 3))
    xla = jaxdl.Conv2D(5, size, padding, stride, dilation=dilation, exact=False)
    fast = jaxdl.Conv2D(5, size, padding, stride, dilation=dilation, exact=False, impl="blocked")
    variables = xla.init(key, x)
    np.testing.assert_allclose(fast.apply(variables, x), xla.apply(variables, x), rtol=1e-5, atol=1e-5)

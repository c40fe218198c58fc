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
    for a, b in zip(jax.tree.leaves((full.params, full.model_state)), jax.tree.leaves((split.params, split.model_state))):
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


def _assert_same_function_and_gradients(fast, ref, x, kernel, key):
    """``fast(x, kernel)`` equals ``ref(x, kernel)``, and so do their gradients in both arguments
    along a random output direction."""
    out = ref(x, kernel)
    assert fast(x, kernel).shape == out.shape
    np.testing.assert_allclose(fast(x, kernel), out, rtol=1e-4, atol=1e-4)
    g = jax.random.normal(key, out.shape)
    for a, b in zip(jax.grad(lambda x, k: jnp.vdot(fast(x, k), g), argnums=(0, 1))(x, kernel),
                    jax.grad(lambda x, k: jnp.vdot(ref(x, k), g), argnums=(0, 1))(x, kernel)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("x_shape,k_shape,padding,tile", [
    ((3, 28, 28, 1), (5, 5, 1, 6), 2, None), ((3, 28, 28, 1), (5, 5, 1, 6), 2, 4), ((3, 28, 28, 1), (5, 5, 1, 6), 2, 7),
    ((2, 14, 14, 6), (5, 5, 6, 16), 0, None), ((2, 14, 14, 6), (5, 5, 6, 16), 0, 2),
    ((2, 9, 7, 3), (3, 3, 3, 4), 1, None), ((2, 9, 7, 3), (3, 3, 3, 4), 1, 1), ((1, 5, 5, 2), (1, 1, 2, 3), 0, None)])
def test_toeplitz_conv_equals_xla_conv_and_its_gradients(x_shape, k_shape, padding, tile, key):
    kx, kk, kg = jax.random.split(key, 3)
    x, kernel = jax.random.normal(kx, x_shape), jax.random.normal(kk, k_shape)
    ref = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), ((padding, padding),) * 2,  # noqa: E731
                                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))
    fast = lambda x, k: jaxdl.cpu.toeplitz_conv2d(x, k, padding, tile=tile)  # noqa: E731
    _assert_same_function_and_gradients(fast, ref, x, kernel, kg)


@pytest.mark.parametrize("x_shape,k_shape,padding,tile", [
    ((3, 28, 28, 1), (5, 5, 1, 6), 2, None), ((3, 28, 28, 1), (5, 5, 1, 6), 2, 4), ((3, 28, 28, 1), (5, 5, 1, 6), 2, 14),
    ((2, 14, 14, 6), (5, 5, 6, 16), 0, None), ((2, 14, 14, 6), (5, 5, 6, 16), 0, 2),
    ((2, 10, 6, 3), (3, 3, 3, 4), 1, None), ((2, 10, 6, 3), (3, 3, 3, 4), 1, 2)])
def test_toeplitz_conv_maxpool_equals_conv_then_pool_and_its_gradients(x_shape, k_shape, padding, tile, key):
    kx, kk, kg = jax.random.split(key, 3)
    x, kernel = jax.random.normal(kx, x_shape), jax.random.normal(kk, k_shape)
    ref = lambda x, k: jaxdl.pool2d(jax.lax.conv_general_dilated(  # noqa: E731
        x, k, (1, 1), ((padding, padding),) * 2, dimension_numbers=("NHWC", "HWIO", "NHWC")), "max", 2)
    fast = lambda x, k: jaxdl.cpu.toeplitz_conv2d_maxpool(x, k, padding, tile=tile)  # noqa: E731
    _assert_same_function_and_gradients(fast, ref, x, kernel, kg)


@pytest.mark.parametrize("tile", [None, 2])
def test_toeplitz_conv_maxpool_shares_the_gradient_at_ties(tile, key):
    """A constant image makes every window's four outputs equal: each gets a quarter of the
    window's gradient, as jnp.max's rule gives (the fused pool has its own JVP)."""
    kk, kg = jax.random.split(key)
    x = jnp.concatenate([jnp.ones((1, 8, 8, 2)), jax.random.normal(key, (1, 8, 8, 2))])  # one tied, one not
    kernel = jax.random.normal(kk, (3, 3, 2, 4))

    def ref(x, k):
        y = jax.lax.conv_general_dilated(x, k, (1, 1), ((1, 1),) * 2, dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jnp.max(y.reshape(2, 4, 2, 4, 2, 4), axis=(2, 4))

    fast = lambda x, k: jaxdl.cpu.toeplitz_conv2d_maxpool(x, k, 1, tile=tile)  # noqa: E731
    g = jax.random.normal(kg, (2, 4, 4, 4))
    for a, b in zip(jax.grad(lambda x, k: jnp.vdot(fast(x, k), g), argnums=(0, 1))(x, kernel),
                    jax.grad(lambda x, k: jnp.vdot(ref(x, k), g), argnums=(0, 1))(x, kernel)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # the window max itself: four equal members get a quarter each, two of four a half
    y = jnp.ones((3, 2, 2, 5)).at[1, 0, 0].set(0.0).at[1, 1, 1].set(0.0)
    gy = jax.grad(lambda y: jnp.sum(jaxdl.cpu._conv._window_max(y)))(y)
    np.testing.assert_allclose(gy[0], np.full((2, 2, 5), 0.25))
    np.testing.assert_allclose(gy[1], np.array([[0.0, 0.5], [0.5, 0.0]])[:, :, None] * np.ones(5))


def test_toeplitz_conv_maxpool_rejects_odd_output_and_bad_shapes(key):
    with pytest.raises(ValueError, match="output size 27 .* is odd"):
        jaxdl.cpu.toeplitz_conv2d_maxpool(jnp.zeros((1, 28, 28, 1)), jnp.zeros((2, 2, 1, 3)))
    with pytest.raises(ValueError, match=r"square kernel \[F, F, C, O\]"):
        jaxdl.cpu.toeplitz_conv2d_maxpool(jnp.zeros((1, 28, 28, 2)), jnp.zeros((5, 5, 1, 3)))


def test_toeplitz_tiles_must_fit_the_output_width():
    x, kernel = jnp.zeros((1, 28, 28, 1)), jnp.zeros((5, 5, 1, 6))
    with pytest.raises(ValueError, match="tile=3 must divide the convolution's output width 28"):
        jaxdl.cpu.toeplitz_conv2d(x, kernel, 2, tile=3)
    with pytest.raises(ValueError, match="tile=7 must be even"):
        jaxdl.cpu.toeplitz_conv2d_maxpool(x, kernel, 2, tile=7)
    with pytest.raises(ValueError, match="tile=4 applies to impl='toeplitz' only"):
        jaxdl.Conv2D(6, 5, padding=2, tile=4).init(jax.random.key(0), x)


@pytest.mark.parametrize("activation,pooling", [("relu", "max"), ("tanh", "max"), ("tanh", "avg")])
def test_lenet5_toeplitz_equals_xla_with_gradients(activation, pooling, key):
    """The banded LeNet-5 (pool fused into the matmul when pooling is max) is the same
    function of the same parameters as the XLA-convolution one, value and gradient."""
    kx, ky = jax.random.split(key)
    x, y = jax.random.normal(kx, (4, 28, 28, 1)), jax.random.randint(ky, (4,), 0, 10)
    xla = jaxdl.LeNet5(activation=activation, pooling=pooling)
    fast = jaxdl.LeNet5(activation=activation, pooling=pooling, conv_impl="toeplitz")
    params = xla.init(key, x)["params"]
    loss = lambda m: lambda p: jaxdl.softmax_cross_entropy(m.apply({"params": p}, x), y).mean()  # noqa: E731
    (la, ga), (lb, gb) = jax.value_and_grad(loss(fast))(params), jax.value_and_grad(loss(xla))(params)
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(ga), jax.tree.leaves(gb)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_conv2d_max_pool_is_the_same_for_both_impls(key):
    x = jax.random.normal(key, (2, 12, 10, 3))
    variables = jaxdl.Conv2D(4, 3, padding=1, max_pool=True).init(key, x)
    out = jaxdl.Conv2D(4, 3, padding=1, max_pool=True).apply(variables, x)
    assert out.shape == (2, 6, 5, 4)
    np.testing.assert_allclose(jaxdl.Conv2D(4, 3, padding=1, max_pool=True, impl="toeplitz").apply(variables, x),
                               out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("tiles", [(4, 2), (None, None), (14, 10), (3, 5)])
def test_lenet5_conv_impls_share_parameters_and_function(tiles, key):
    """Any tiles give the same function; ones that do not fit (3 does not divide 28, 5 is odd
    for a fused pool) fall back to the whole width."""
    x = jax.random.normal(key, (4, 28, 28, 1))
    variables = jaxdl.LeNet5().init(key, x)
    fast = jaxdl.LeNet5(conv_impl="toeplitz", conv_tiles=tiles)
    assert jax.tree.structure(fast.init(key, x)) == jax.tree.structure(variables)
    np.testing.assert_allclose(fast.apply(variables, x), jaxdl.LeNet5().apply(variables, x), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="unknown convolution impl"):
        jaxdl.LeNet5(conv_impl="winograd").init(key, x)


def test_space_to_depth_layout_and_inverse():
    x = jnp.arange(2 * 4 * 6 * 3, dtype=jnp.float32).reshape(2, 4, 6, 3)
    blocked = jaxdl.cpu.space_to_depth(x, 2)
    assert blocked.shape == (2, 2, 3, 12)
    # pixel (1, 2) of the image is block (0, 1), in-block (row 1, column 0): channels 6..8
    np.testing.assert_array_equal(blocked[0, 0, 1, 6:9], x[0, 1, 2])
    np.testing.assert_array_equal(blocked[1, 1, 2], x[1, 2:4, 4:6].reshape(-1))
    np.testing.assert_array_equal(jaxdl.cpu.depth_to_space(blocked, 2), x)
    with pytest.raises(ValueError, match="block 4 must divide the image size 4x6"):
        jaxdl.cpu.space_to_depth(x, 4)
    with pytest.raises(ValueError, match="not a multiple of block"):
        jaxdl.cpu.depth_to_space(x, 2)
    with pytest.raises(ValueError, match="block must be an int >= 1"):
        jaxdl.cpu.space_to_depth(x, 0)


def _conv_pool_ref(x, k, pool="max"):
    y = jax.lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jaxdl.pool2d(y, pool, 2)


@pytest.mark.parametrize("x_shape,k_shape,block", [
    ((3, 32, 32, 1), (5, 5, 1, 6), 4), ((3, 32, 32, 1), (5, 5, 1, 6), 2), ((2, 14, 14, 6), (5, 5, 6, 16), 2),
    ((2, 12, 16, 3), (3, 3, 3, 4), 2), ((2, 28, 20, 2), (5, 5, 2, 3), 4), ((1, 10, 6, 2), (5, 5, 2, 3), 2)])
def test_s2d_conv_maxpool_equals_conv_then_pool_and_its_gradients(x_shape, k_shape, block, key):
    """space_to_depth -> s2d_conv2d_maxpool -> depth_to_space is the VALID convolution and 2x2
    max pool, value and gradients; mean over the windows is the average pool."""
    kx, kk, kg = jax.random.split(key, 3)
    x, kernel = jax.random.normal(kx, x_shape), jax.random.normal(kk, k_shape)
    s = block

    def fast(x, k):
        return jaxdl.cpu.depth_to_space(jaxdl.cpu.s2d_conv2d_maxpool(jaxdl.cpu.space_to_depth(x, s), k, s), s // 2)

    _assert_same_function_and_gradients(fast, _conv_pool_ref, x, kernel, kg)
    windows = jaxdl.cpu.s2d_conv2d_windows(jaxdl.cpu.space_to_depth(x, s), kernel, s)
    assert windows.shape[3:5] == (2, 2)
    np.testing.assert_allclose(jaxdl.cpu.depth_to_space(windows.mean(axis=(3, 4)), s // 2),
                               _conv_pool_ref(x, kernel, "avg"), rtol=1e-4, atol=1e-4)


def test_s2d_conv_maxpool_shares_the_gradient_at_ties(key):
    """A constant image ties every window's four outputs: a quarter of the gradient each.
    Integer kernels keep the sums exact, so the ties survive any order of summation."""
    kk, kg = jax.random.split(key)
    x = jnp.concatenate([jnp.ones((1, 10, 10, 2)), jax.random.normal(key, (1, 10, 10, 2))])
    kernel = jax.random.randint(kk, (3, 3, 2, 4), -3, 4).astype(jnp.float32)

    def ref(x, k):
        y = jax.lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jnp.max(y.reshape(2, 4, 2, 4, 2, 4), axis=(2, 4))

    fast = lambda x, k: jaxdl.cpu.depth_to_space(jaxdl.cpu.s2d_conv2d_maxpool(jaxdl.cpu.space_to_depth(x, 2), k, 2), 1)  # noqa: E731
    g = jax.random.normal(kg, (2, 4, 4, 4))
    for a, b in zip(jax.grad(lambda x, k: jnp.vdot(fast(x, k), g), argnums=(0, 1))(x, kernel),
                    jax.grad(lambda x, k: jnp.vdot(ref(x, k), g), argnums=(0, 1))(x, kernel)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xb_shape,k_shape,block,message", [
    ((1, 8, 8, 9), (5, 5, 1, 6), 3, "block 3 must be even"),
    ((1, 4, 4, 64), (5, 5, 4, 6), 8, r"divide F - 1 = 4 .* one of \[2, 4\]"),
    ((1, 4, 4, 16), (4, 4, 1, 6), 2, r"divide F - 1 = 3 .* none: use toeplitz_conv2d"),
    ((1, 8, 8, 16), (5, 5, 2, 6), 4, "xb has 16 channels; space_to_depth with block 4 of 2 input channels"),
    ((1, 8, 8, 16), (5, 3, 1, 6), 4, "square kernel"),
    ((1, 1, 4, 16), (5, 5, 1, 6), 4, "smaller than the filter 5x5"),
    ((8, 8, 16), (5, 5, 1, 6), 4, r"needs x \[B, H, W, C\]"),
])
def test_s2d_conv_rejects_what_does_not_block(xb_shape, k_shape, block, message):
    with pytest.raises(ValueError, match=message):
        jaxdl.cpu.s2d_conv2d_maxpool(jnp.zeros(xb_shape), jnp.zeros(k_shape), block)


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
    for a, b in zip(jax.tree.leaves(ga), jax.tree.leaves(gb)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_lenet5_s2d_initialises_like_the_other_impls_and_checks_the_size(key):
    x = jax.random.normal(key, (2, 28, 28, 1))
    for a, b in zip(jax.tree.leaves(jaxdl.LeNet5(conv_impl="s2d").init(key, x)), jax.tree.leaves(jaxdl.LeNet5().init(key, x))):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"its size 30x30 \(input 26x26 \+ 2 \* padding 2\) must be multiples of 4"):
        jaxdl.LeNet5(conv_impl="s2d").init(key, jnp.zeros((1, 26, 26, 1)))
    with pytest.raises(ValueError, match="unknown pooling 'median'"):
        jaxdl.LeNet5(conv_impl="s2d", pooling="median").init(key, x)


def test_conv2d_initialises_like_flax_conv(key):
    x = jax.random.normal(key, (2, 8, 8, 3))
    ours = jaxdl.Conv2D(5, 3, padding=1).init(key, x)
    flax_conv = nn.Conv(5, (3, 3), padding=((1, 1), (1, 1))).init(key, x)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(flax_conv)):
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

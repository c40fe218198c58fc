"""XLA:CPU machinery (jaxdl/cpu): the pixel-block convolutions and the CPU formulation rule
against XLA's convolution, programs compiled once, loop emitters, dot emitters, fallbacks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from conftest import FUSION_EMITTERS
from jaxdl.cpu import blocked_conv2d

CE = jaxdl.softmax_cross_entropy


def test_jit_once_gives_the_same_integers(key):
    perm = lambda k: jax.random.permutation(k, 1000)  # noqa: E731
    np.testing.assert_array_equal(jaxdl.cpu.jit_once(perm)(key), jax.jit(perm)(key))


@pytest.mark.parametrize(("options_fn", "impl"), [("legacy_emitters", "s2d"), ("matmul_conv_options", "s2d")])
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
    for opts in (FUSION_EMITTERS, options):  # the library's default emitters, named (conftest.py)
        # SGD, not Adam: Adam's normalisation would blow a near-zero gradient's rounding up to lr.
        state = jaxdl.create_train_state(model, optax.sgd(0.1), key=key, input_shape=(28, 28, 1))
        step = jax.jit(jaxdl.make_train_step(CE), donate_argnums=0, compiler_options=opts)
        for _ in range(3):
            state, metrics = step(state, batch, key)
        results.append((state.params, metrics))
    for a, b in zip(jax.tree.leaves(results[0]), jax.tree.leaves(results[1]), strict=True):
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


# The kernels: banded (Toeplitz) and space-to-depth convolutions, against XLA's, value and gradient.

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


def test_window_max_shares_the_gradient_at_ties():
    """The fused pools' window maximum (its own JVP): four equal members get a quarter of the
    gradient each, two maxima of four a half, as jnp.max's rule gives."""
    y = jnp.ones((3, 2, 2, 5)).at[1, 0, 0].set(0.0).at[1, 1, 1].set(0.0)
    gy = jax.grad(lambda y: jnp.sum(jaxdl.cpu._conv._window_max(y)))(y)
    np.testing.assert_allclose(gy[0], np.full((2, 2, 5), 0.25))
    np.testing.assert_allclose(gy[1], np.array([[0.0, 0.5], [0.5, 0.0]])[:, :, None] * np.ones(5))


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
    ((1, 4, 4, 16), (4, 4, 1, 6), 2, r"divide F - 1 = 3 .* none: use blocked_conv2d"),
    ((1, 8, 8, 16), (5, 5, 2, 6), 4, "xb has 16 channels; space_to_depth with block 4 of 2 input channels"),
    ((1, 8, 8, 16), (5, 3, 1, 6), 4, "square kernel"),
    ((1, 1, 4, 16), (5, 5, 1, 6), 4, "smaller than the filter 5x5"),
    ((8, 8, 16), (5, 5, 1, 6), 4, r"needs x \[B, H, W, C\]"),
])
def test_s2d_conv_rejects_what_does_not_block(xb_shape, k_shape, block, message):
    with pytest.raises(ValueError, match=message):
        jaxdl.cpu.s2d_conv2d_maxpool(jnp.zeros(xb_shape), jnp.zeros(k_shape), block)


# (H, C, O, F, stride, padding, dilation, block): ResNet's 3x3 same / stride-2 and 1x1
# shortcut, LeNet's 5x5, odd sizes, dilation, blocks of 1, 2 and 4.
BLOCKED = [(8, 3, 5, 3, 1, 1, 1, 2), (9, 2, 4, 3, 2, 1, 1, 2), (10, 3, 2, 5, 1, 2, 1, 2), (11, 2, 3, 3, 1, 0, 2, 2),
           (8, 4, 6, 1, 2, 0, 1, 2), (12, 1, 6, 5, 1, 2, 1, 4), (7, 2, 3, 3, 1, 1, 1, 1), (8, 3, 4, 3, 2, 1, 1, 4),
           (13, 2, 3, 3, 2, 0, 1, 2), (6, 5, 2, 1, 1, 0, 1, 2)]


@pytest.mark.parametrize("h,c,o,f,stride,padding,dilation,block", BLOCKED)
def test_blocked_conv_equals_xla_conv_and_its_gradients(h, c, o, f, stride, padding, dilation, block, key):
    kx, kk, ky = jax.random.split(key, 3)
    x = jax.random.normal(kx, (2, h, h + 1, c))  # non-square on purpose
    kernel = jax.random.normal(kk, (f, f, c, o))

    def xla(x, kernel):
        return jax.lax.conv_general_dilated(x, kernel, (stride, stride), ((padding, padding),) * 2,
                                            rhs_dilation=(dilation, dilation),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def mine(x, kernel):
        return blocked_conv2d(x, kernel, stride=stride, padding=padding, dilation=dilation, block=block)

    expected = xla(x, kernel)
    np.testing.assert_allclose(mine(x, kernel), expected, rtol=1e-5, atol=1e-4)
    cotangent = jax.random.normal(ky, expected.shape)
    grads = [jax.grad(lambda x, k, fn=fn: jnp.vdot(fn(x, k), cotangent), (0, 1))(x, kernel) for fn in (mine, xla)]
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_blocked_conv_names_a_block_that_the_stride_does_not_divide(key):
    with pytest.raises(ValueError, match=r"block \(3\) must be a positive multiple of stride \(2\)"):
        blocked_conv2d(jnp.zeros((1, 8, 8, 1)), jnp.zeros((3, 3, 1, 1)), stride=2, block=3)

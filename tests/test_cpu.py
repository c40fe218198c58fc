"""XLA:CPU machinery (jaxdl/cpu): programs compiled once, loop emitters, dot emitters, fallbacks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from conftest import FUSION_EMITTERS

CE = jaxdl.softmax_cross_entropy


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
    for opts in (FUSION_EMITTERS, options):  # the library's default emitters, named (conftest.py)
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

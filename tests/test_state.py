"""Train states (jaxdl/_state.py): creation as one program, stacks, injected hyperparameters."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl

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
        for a, b in zip(jax.tree.leaves(stacked.params), jax.tree.leaves(one.params), strict=True):
            np.testing.assert_allclose(a[i], b, rtol=1e-6, atol=1e-7)


def test_create_train_state_initialises_as_one_cached_program(key):
    from jaxdl._state import _initialiser

    model, shape = jaxdl.LeNet5(), (28, 28, 1)
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=key, input_shape=shape)
    # the same numbers as flax's op-by-op init with the same keys (jit_once: floats within the last bit)
    param_key, dropout_key = jax.random.split(key)
    eager = model.init({"params": param_key, "dropout": dropout_key}, jnp.zeros((1, *shape)), train=False)["params"]
    assert jax.tree.structure(eager) == jax.tree.structure(state.params)
    for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(eager), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # an equal module (a new instance) reuses the compiled initialiser
    hits = _initialiser.cache_info().hits
    jaxdl.create_train_state(jaxdl.LeNet5(), optax.sgd(0.1), key=key, input_shape=shape)
    assert _initialiser.cache_info().hits == hits + 1
    # an unhashable module, and a call under jit and vmap, still initialise (op by op / inlined)
    listed = jaxdl.create_train_state(jaxdl.MLP(features=[8, 3]), optax.sgd(0.1), key=key, input_shape=(5,))
    tupled = jaxdl.create_train_state(jaxdl.MLP(features=(8, 3)), optax.sgd(0.1), key=key, input_shape=(5,))
    for a, b in zip(jax.tree.leaves(listed.params), jax.tree.leaves(tupled.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    jitted = jax.jit(lambda k: jaxdl.create_train_state(jaxdl.MLP(features=(8, 3)), optax.sgd(0.1), key=k,
                                                        input_shape=(5,)).params)(key)
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(tupled.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_create_train_states_equals_vmapped_create(key):
    model = jaxdl.MLP(features=(16, 3), dropout_rate=0.2)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
    keys, lrs = jax.random.split(key, 3), jnp.array([1e-3, 1e-2, 1e-1])
    stacked = jaxdl.create_train_states(model, tx, keys=keys, input_shape=(5,), learning_rate=lrs)
    vmapped = jax.vmap(lambda k, lr: jaxdl.create_train_state(model, tx, key=k, input_shape=(5,), learning_rate=lr))(keys, lrs)
    assert jax.tree.structure(stacked) == jax.tree.structure(vmapped)
    for a, b in zip(jax.tree.leaves(stacked), jax.tree.leaves(vmapped), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="needs 3 values"):
        jaxdl.create_train_states(model, tx, keys=keys, input_shape=(5,), learning_rate=lrs[:2])

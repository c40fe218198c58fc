"""The host (numpy) data orders equal jax.random's bit for bit, and fit / Sweep train on the
same batches whichever way the order is computed."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl import host_random, loop, sweep

SEEDS = [0, 1, 12345, 2**31 - 1, 2**32 - 1]
# 1625 / 1626: the largest size with one sort round and the smallest with two.
SIZES = [1, 2, 3, 10, 1625, 1626, 4000]


def _jax_key(seed):
    return jax.random.key(np.uint32(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_keys_equal_jax(seed):
    raw = host_random.seed_key(seed)
    np.testing.assert_array_equal(raw, jax.random.key_data(_jax_key(seed)))
    for data in [0, 1, 7, 2**31 + 5]:
        np.testing.assert_array_equal(host_random.fold_in(raw, data),
                                      jax.random.key_data(jax.random.fold_in(_jax_key(seed), np.uint32(data))))
    np.testing.assert_array_equal(host_random.split(raw, 5), jax.random.key_data(jax.random.split(_jax_key(seed), 5)))
    np.testing.assert_array_equal(host_random.random_bits(raw, 1001),
                                  jax.random.bits(_jax_key(seed), (1001,), jnp.uint32))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("seed", SEEDS[:3])
def test_permutation_and_epoch_order_equal_jax(seed, n):
    raw, key = host_random.seed_key(seed), _jax_key(seed)
    np.testing.assert_array_equal(host_random.permutation(raw, n), jax.random.permutation(key, n))
    for padded in (n + 3, max(n - 1, 1)):  # padded with index 0, and cut
        host = host_random.epoch_orders(raw, [0, 4], n, padded)
        assert host.shape == (2, padded) and host.dtype == np.int32
        for row, epoch in zip(host, [0, 4]):
            np.testing.assert_array_equal(row, loop.epoch_order(key, epoch, n, padded))


def test_ties_between_sort_keys_keep_their_order():
    # Seed 23 draws equal 32-bit sort keys among 60,000 in both sort rounds: only a stable sort
    # (lax.sort_key_val's) gives jax.random's permutation.
    raw = host_random.seed_key(23)
    _, subkey = host_random.split(raw)  # the first round's
    assert len(np.unique(host_random.random_bits(subkey, 60000))) < 60000
    np.testing.assert_array_equal(host_random.permutation(raw, 60000), jax.random.permutation(_jax_key(23), 60000))


def test_availability_follows_the_prng_configuration(monkeypatch):
    assert host_random.available() and host_random.available(jax.random.key(0)), (
        f"jax {jax.__version__} is not in host_random.CHECKED_JAX: if the equality tests in this "
        f"file pass, add it there")
    assert not host_random.available(jax.random.key(0, impl="rbg"))
    with jax.threefry_partitionable(False):
        assert not host_random.available()
    with pytest.raises(ValueError, match="seed"):
        host_random.seed_key(-1)
    monkeypatch.setattr(host_random, "CHECKED_JAX", ())
    assert not host_random.available()  # an unchecked jax release: jax.random itself


def test_host_orders_respects_the_limit():
    assert loop.host_orders(4000, 5)
    assert not loop.host_orders(loop.HOST_ORDER_LIMIT + 1, 1)
    assert not loop.host_orders(10, 1, jax.random.key(0, impl="rbg"))


@pytest.mark.parametrize("stacked", [False, True])
def test_fit_trains_on_the_same_batches_either_way(key, monkeypatch, stacked):
    data = jaxdl.data.blobs(key=key, num_train=45, num_test=10)
    model = jaxdl.MLP(features=(8, 3), dropout_rate=0.1)
    tx = optax.adam(1e-2)
    keys = jax.random.split(key, 2) if stacked else key

    def make(k):
        return jaxdl.create_train_state(model, tx, key=k, input_shape=(2,))

    def run():
        state = jax.vmap(make)(keys) if stacked else make(keys)
        # 7 steps of 16: three epochs, the last batch of each padded and masked
        return jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=keys,
                         num_steps=7, batch_size=16, stacked=stacked, progress=False)

    host = run()
    monkeypatch.setattr(loop, "HOST_ORDER_LIMIT", 0)  # every order compiled, as jax.random
    compiled = run()
    for x, y in zip(jax.tree.leaves(host.state.params), jax.tree.leaves(compiled.state.params)):
        np.testing.assert_array_equal(x, y)


def test_sweep_plan_is_the_same_either_way(key, monkeypatch):
    data = jaxdl.data.blobs(key=key, num_train=50, num_test=20)

    def run():
        s = sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=16,
                        eval_every=6)
        return [s.run(data, hyperparams={"learning_rate": [1e-2, 3e-2]}, seeds=[0, 1], num_steps=12,
                      data_seed=seed).train_loss for seed in (3, 4)]

    host = run()
    monkeypatch.setattr(loop, "HOST_ORDER_LIMIT", 0)
    compiled = run()
    for a, b in zip(host, compiled):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(host[0], host[1])  # the data seed matters

"""The one batching path (jaxdl/_batching.py): layouts, orders, masks; fit and Sweep use it."""

import jax
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl._batching import epoch_layout, epoch_order, epoch_orders

CE = jaxdl.softmax_cross_entropy


@pytest.mark.parametrize("n, b, drop_last, steps, padded", [
    (10, 3, False, 4, 12), (10, 3, True, 3, 9), (9, 3, False, 3, 9), (9, 3, True, 3, 9), (1, 1, False, 1, 1)])
def test_epoch_layout_closed_form(n, b, drop_last, steps, padded):
    layout = epoch_layout(n, b, drop_last=drop_last)
    assert (layout.steps_per_epoch, layout.padded) == (steps, padded)
    assert layout.mask().sum() == min(n, padded) and layout.mask().shape == (padded,)
    assert layout.mask().dtype == np.float32
    assert layout.epochs(steps * 2 + 1) == 3


@pytest.mark.parametrize("n, padded", [(7, 9), (7, 6), (7, 7)])
def test_epoch_order_is_a_permutation_padded_with_zero_or_cut(key, n, padded):
    order = np.asarray(epoch_order(key, 3, n, padded))
    assert order.shape == (padded,) and order.dtype == np.int32
    np.testing.assert_array_equal(order[:n], np.asarray(jax.random.permutation(jax.random.fold_in(key, 3), n))[:padded])
    if padded > n:
        np.testing.assert_array_equal(order[n:], 0)
    else:
        assert len(set(order.tolist())) == padded
    assert not np.array_equal(order, np.asarray(epoch_order(key, 4, n, padded)))  # every epoch its own order


@pytest.mark.parametrize("call,message", [
    (lambda: epoch_layout(0, 3), "^num_examples must be >= 1, got 0"),
    (lambda: epoch_layout(5, 0), "^batch_size must be >= 1, got 0"),
    (lambda: jaxdl.batch_schedule(jax.random.key(0), 0, 4, 7), "^batch_schedule: num_examples must be >= 1"),
    (lambda: jaxdl.batch_schedule(jax.random.key(0), 10, -1, 7), "^batch_schedule: batch_size must be >= 1"),
    (lambda: jaxdl.batch_schedule(jax.random.key(0), 10, 4, 0), "^batch_schedule: num_steps must be >= 1"),
])
def test_bad_sizes_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_iterate_batches_drop_last_skips_the_partial_batch(key):
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10)
    batches = list(jaxdl.iterate_batches(x, y, key=key, batch_size=4, num_steps=4, drop_last=True))
    assert all(b["mask"].sum() == 4 for b in batches)  # 2 full batches per epoch, no padding
    first_epoch = np.concatenate([b["y"] for b in batches[:2]])
    assert len(set(first_epoch.tolist())) == 8
    np.testing.assert_array_equal(first_epoch, np.asarray(epoch_order(key, 0, 10, 8)))


def test_stacked_orders_are_each_members_own(key):
    layout = epoch_layout(11, 4)
    keys = jax.random.split(key, 3)
    stacked = np.asarray(epoch_orders(layout, True)(keys, 2))
    for k, row in zip(keys, stacked):
        np.testing.assert_array_equal(row, epoch_orders(layout)(k, 2))


def test_batch_schedule_and_iterate_batches_agree(key):
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10)
    indices, mask = jaxdl.batch_schedule(key, 10, 4, 7)
    assert indices.shape == mask.shape == (7, 4)
    assert indices.dtype == np.int32 and mask.dtype == np.float32  # what a step's gather and mask take
    # every example exactly once per epoch (3 steps of 4, the last with two padded rows)
    for e in range(2):
        rows = indices[3 * e:3 * e + 3].ravel()[mask[3 * e:3 * e + 3].ravel() == 1]
        assert sorted(rows.tolist()) == list(range(10))
    batches = list(jaxdl.iterate_batches(x, y, key=key, batch_size=4, num_steps=7))
    assert len(batches) == 7
    for i, batch in enumerate(batches):
        np.testing.assert_array_equal(batch["y"], indices[i])
        np.testing.assert_array_equal(batch["x"][:, 0], indices[i].astype(np.float32))
        np.testing.assert_array_equal(batch["mask"], mask[i])
    resumed = list(jaxdl.iterate_batches(x, y, key=key, batch_size=4, num_steps=7, start=5))
    np.testing.assert_array_equal(resumed[0]["y"], batches[5]["y"])


@pytest.mark.parametrize("stacked", [False, True])
def test_fit_on_an_iterator_of_its_own_batches_equals_fit_on_the_dataset(key, stacked):
    """One batching path: a Dataset and the iterator of its batches train the same (bitwise for
    one state; a stack gathers its members' batches inside the vmapped program, another
    program, so to float rounding)."""
    data = jaxdl.data.blobs(key=key, num_train=45, num_test=10)
    model, tx = jaxdl.MLP(features=(8, 3), dropout_rate=0.1), optax.adam(1e-2)
    step = jaxdl.make_train_step(CE)
    run_key = key if not stacked else jax.random.split(key, 1)
    make = lambda: (jaxdl.create_train_states(model, tx, keys=run_key, input_shape=(2,)) if stacked  # noqa: E731
                    else jaxdl.create_train_state(model, tx, key=key, input_shape=(2,)))
    on_data = jaxdl.fit(make(), data, step, key=run_key, num_steps=7, batch_size=16, stacked=stacked, progress=False)
    # fit splits its key into (data order, step rng); the iterator takes the data-order half.
    data_key = (jax.random.split(run_key[0]) if stacked else jax.random.split(key))[0]
    batches = jaxdl.iterate_batches(data.x_train, data.y_train, key=data_key, batch_size=16, num_steps=7)
    on_iter = jaxdl.fit(make(), batches, step, key=run_key, num_steps=7, stacked=stacked, progress=False,
                        eval_step=jaxdl.make_eval_step(CE), eval_data=(data.x_test, data.y_test))
    for a, b in zip(jax.tree.leaves(on_data.state.params), jax.tree.leaves(on_iter.state.params), strict=True):
        if stacked:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        else:
            np.testing.assert_array_equal(a, b)
    assert on_iter.history[-1]["step"] == 7 and "eval_loss" in on_iter.history[-1]


def test_fit_names_a_short_iterator_and_a_bad_batch(key):
    data = jaxdl.data.blobs(key=key, num_train=20, num_test=10)
    state = lambda: jaxdl.create_train_state(jaxdl.MLP(features=(8, 3)), optax.sgd(0.1), key=key,  # noqa: E731
                                             input_shape=(2,))
    step = jaxdl.make_train_step(CE)
    two = jaxdl.iterate_batches(data.x_train, data.y_train, key=key, batch_size=5, num_steps=2)
    with pytest.raises(ValueError, match="iterator ended before step 3"):
        jaxdl.fit(state(), two, step, key=key, num_steps=3, progress=False)
    with pytest.raises(TypeError, match="'x' and 'y'"):
        jaxdl.fit(state(), iter([(data.x_train, data.y_train)]), step, key=key, num_steps=1, progress=False)


def test_sweep_data_seed_sets_the_order(key):
    data = jaxdl.data.blobs(key=key, num_train=50, num_test=20)
    s = jaxdl.sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=CE, batch_size=16, eval_every=6)
    runs = [s.run(data, hyperparams={"learning_rate": [1e-2, 3e-2]}, seeds=[0, 1], num_steps=12,
                  data_seed=seed).train_loss for seed in (3, 4, 3)]
    assert not np.array_equal(runs[0], runs[1])
    np.testing.assert_array_equal(runs[0], runs[2])

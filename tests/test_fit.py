"""fit: data order, evaluation history, checkpoints and exact resume, stacked training."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from conftest import FUSION_EMITTERS

CE = jaxdl.softmax_cross_entropy
HERE = os.path.dirname(os.path.abspath(__file__))


def _counting_setup(n):
    """A 'model' whose train step only counts how often each example index is seen."""
    x = np.arange(n, dtype=np.float32)[:, None]
    data = jaxdl.Dataset(x, np.zeros(n, np.int32), x[:2], np.zeros(2, np.int32), num_classes=1, name="index")
    state = jaxdl.TrainState.create(apply_fn=lambda v, x, train=False: x, params={}, tx=optax.identity(),
                                    model_state={"counts": jnp.zeros(n)}, input_shape=(1,))

    def counting_step(state, batch, rng):
        counts = state.model_state["counts"].at[batch["x"][:, 0].astype(jnp.int32)].add(batch["mask"])
        return state.replace(step=state.step + 1, model_state={"counts": counts}), {"train_loss": jnp.zeros(())}

    return data, state, counting_step


@pytest.mark.parametrize("n,batch_size,epochs", [(10, 3, 1), (10, 3, 3), (12, 4, 2), (7, 7, 2)])
def test_every_example_seen_once_per_epoch(n, batch_size, epochs, key):
    data, state, step = _counting_setup(n)
    steps_per_epoch = -(-n // batch_size)
    result = jaxdl.fit(state, data, step, key=key, num_steps=epochs * steps_per_epoch,
                       batch_size=batch_size, progress=False)
    np.testing.assert_array_equal(result.state.model_state["counts"], np.full(n, epochs))


def test_drop_last_skips_the_partial_batch(key):
    data, state, step = _counting_setup(10)
    result = jaxdl.fit(state, data, step, key=key, num_steps=3, batch_size=3, drop_last=True, progress=False)
    counts = np.asarray(result.state.model_state["counts"])
    assert counts.sum() == 9 and counts.max() == 1


def test_epochs_are_shuffled_differently(key):
    data, state, step = _counting_setup(12)
    first = jaxdl.fit(state, data, step, key=key, num_steps=1, batch_size=4, progress=False).state
    data, state, step = _counting_setup(12)
    third_batch_of_epoch_2 = jaxdl.fit(state, data, step, key=key, num_steps=4, batch_size=4, progress=False).state
    seen_first = set(np.flatnonzero(first.model_state["counts"]))
    seen_epoch2_first = set(np.flatnonzero(third_batch_of_epoch_2.model_state["counts"] == 2))
    assert seen_first != seen_epoch2_first


def _classifier(key, data, hidden=16, dropout=0.0):
    model = jaxdl.MLP(features=(hidden, data.num_classes), dropout_rate=dropout)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
    return jaxdl.create_train_state(model, tx, key=key, input_shape=data.input_shape)


def test_history_records_each_epoch(tmp_path, key):
    data = jaxdl.data.blobs(key=key, num_train=60, num_test=30)
    state = _classifier(key, data)
    acc = {"accuracy": jaxdl.accuracy}
    result = jaxdl.fit(state, data, jaxdl.make_train_step(CE, metrics=acc), key=key, num_steps=30, batch_size=20,
                       eval_step=jaxdl.make_eval_step(CE, metrics=acc), workdir=tmp_path, progress=False)
    assert [r["step"] for r in result.history] == list(range(3, 31, 3))
    assert result.history == jaxdl.read_history(tmp_path)
    assert result.history[-1]["eval_accuracy"] > 0.9
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    with open(tmp_path / "history.jsonl") as f:
        assert len([json.loads(line) for line in f]) == 10
    assert (tmp_path / "checkpoints" / "30").is_dir()


def test_resume_refuses_a_different_run(tmp_path, key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    step = jaxdl.make_train_step(CE)
    jaxdl.fit(_classifier(key, data), data, step, key=key, num_steps=4, batch_size=10,
              workdir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="different settings"):
        jaxdl.fit(_classifier(key, data), data, step, key=jax.random.key(99), num_steps=8, batch_size=10,
                  workdir=tmp_path, progress=False)


def test_finished_run_is_not_retrained(tmp_path, key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    step = jaxdl.make_train_step(CE)
    done = jaxdl.fit(_classifier(key, data), data, step, key=key, num_steps=4, batch_size=10,
                     workdir=tmp_path, progress=False)
    again = jaxdl.fit(_classifier(key, data), data, step, key=key, num_steps=4, batch_size=10,
                      workdir=tmp_path, progress=False)
    assert int(again.state.step) == 4
    for x, y in zip(jax.tree.leaves(done.state.params), jax.tree.leaves(again.state.params), strict=True):
        np.testing.assert_array_equal(x, y)


def test_stacked_fit_equals_separate_fits(key):
    k = 3
    data = jaxdl.data.spirals(key=key, num_train=50, num_test=20)
    init_keys, run_keys = jax.random.split(key, k), jax.random.split(jax.random.key(5), k)
    lrs = jnp.array([3e-3, 1e-2, 3e-2])
    model = jaxdl.MLP(features=(16, 2), dropout_rate=0.2)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)

    def make(kk, lr):
        return jaxdl.create_train_state(model, tx, key=kk, input_shape=(2,), learning_rate=lr)

    step, ev = jaxdl.make_train_step(CE), jaxdl.make_eval_step(CE, metrics={"accuracy": jaxdl.accuracy})
    stacked = jaxdl.fit(jax.vmap(make)(init_keys, lrs), data, step, key=run_keys, num_steps=12, batch_size=16,
                        eval_step=ev, stacked=True, progress=False)
    assert len(stacked.history[-1]["eval_accuracy"]) == k
    for i in range(k):
        single = jaxdl.fit(make(init_keys[i], lrs[i]), data, step, key=run_keys[i], num_steps=12, batch_size=16,
                           eval_step=ev, progress=False)
        for x, y in zip(jax.tree.leaves(stacked.state.params), jax.tree.leaves(single.state.params), strict=True):
            np.testing.assert_allclose(x[i], y, atol=1e-6)
        np.testing.assert_allclose(stacked.history[-1]["eval_loss"][i], single.history[-1]["eval_loss"], atol=1e-5)


def test_nan_loss_stops_training(key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    nan_loss = lambda outputs, labels: CE(outputs, labels) * jnp.nan  # noqa: E731
    with pytest.raises(FloatingPointError, match="at step"):
        jaxdl.fit(_classifier(key, data), data, jaxdl.make_train_step(nan_loss), key=key, num_steps=10,
                  batch_size=10, log_every=2, progress=False)


def test_divergence_names_the_first_bad_step_between_checks(tmp_path, key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    good = jaxdl.make_train_step(CE)

    def step(state, batch, rng):  # from the 7th update on, the loss is inf
        new_state, metrics = good(state, batch, rng)
        return new_state, dict(metrics, train_loss=jnp.where(state.step >= 6, jnp.inf, metrics["train_loss"]))

    with pytest.raises(FloatingPointError, match=r"^train_loss became NaN or inf at step 7 \(noticed at step 10\)"):
        jaxdl.fit(_classifier(key, data), data, step, key=key, num_steps=30, batch_size=10, log_every=10,
                  eval_every=100, progress=False)


def test_debug_nans_points_at_the_operation(key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    log_loss = lambda outputs, labels: jnp.log(outputs[:, 0] - 1e6)  # noqa: E731  (log of a negative: NaN)
    with pytest.raises(FloatingPointError, match="invalid value \\(nan\\) encountered in log"):
        jaxdl.fit(_classifier(key, data), data, jaxdl.make_train_step(log_loss), key=key, num_steps=5,
                  batch_size=10, progress=False, debug_nans=True)


def test_evaluate_counts_every_example_once(key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=37)
    state = _classifier(key, data)
    ev = jax.jit(jaxdl.make_eval_step(CE))
    whole = jaxdl.evaluate(ev, state, data.x_test, data.y_test, batch_size=37)
    chunked = jaxdl.evaluate(ev, state, data.x_test, data.y_test, batch_size=10)
    np.testing.assert_allclose(chunked["eval_loss"], whole["eval_loss"], rtol=1e-5)


def test_diverged_state_is_never_checkpointed(tmp_path, key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    good = jaxdl.make_train_step(CE)

    def step(state, batch, rng):  # the 4th update writes NaN into the parameters; its loss is still finite
        new_state, metrics = good(state, batch, rng)
        poisoned = jax.tree.map(lambda p: jnp.where(state.step >= 3, jnp.nan, p), new_state.params)
        new_state = new_state.replace(params=poisoned)
        return new_state, dict(metrics, train_param_norm=optax.tree.norm(poisoned))

    with pytest.raises(FloatingPointError, match=r"train_param_norm became NaN or inf at step 4 .*last good checkpoint \(step 2\)"):
        jaxdl.fit(_classifier(key, data), data, step, key=key, num_steps=10, batch_size=10, workdir=tmp_path,
                  checkpoint_every=2, log_every=100, progress=False)
    steps = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())
    assert steps == [2]
    restored, _ = jaxdl.Checkpointer(tmp_path / "checkpoints").restore(_classifier(key, data))
    assert all(bool(jnp.all(jnp.isfinite(p))) for p in jax.tree.leaves(restored.params))


def test_fit_compiles_its_step_once_and_reuses_it(tmp_path, key):
    """Evaluations reset the on-device loss sum and a resumed call starts a new loop: neither
    may change the step's jit cache key (a committed vs uncommitted input is a new key)."""
    from jaxdl._fit import compiled_steps

    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    step, eval_step = jaxdl.make_train_step(CE), jaxdl.make_eval_step(CE)
    model, tx = jaxdl.MLP(features=(16, 3)), optax.adam(1e-2)  # the state's static fields: one model, one tx
    for num_steps in (8, 16):  # the second call resumes from the workdir and reuses the program
        state = jaxdl.create_train_state(model, tx, key=key, input_shape=data.input_shape)
        jaxdl.fit(state, data, step, key=key, num_steps=num_steps, batch_size=10,
                  eval_step=eval_step, eval_every=2, workdir=tmp_path, progress=False)
    train_fn, eval_fn = compiled_steps(step, eval_step, 10, False, None, False, ())  # as fit calls it
    assert train_fn._cache_size() == 1
    assert eval_fn._cache_size() == 1


def test_fit_passes_compiler_options_to_its_steps(key):
    from jaxdl._fit import compiled_steps

    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    step, eval_step = jaxdl.make_train_step(CE), jaxdl.make_eval_step(CE)
    runs = {}
    # the fusion emitters named explicitly: the tests' own XLA_FLAGS select the legacy ones (conftest.py)
    for name, options in (("default", FUSION_EMITTERS), ("legacy", jaxdl.cpu.legacy_emitters())):
        state = _classifier(key, data)
        runs[name] = jaxdl.fit(state, data, step, key=key, num_steps=8, batch_size=10, eval_step=eval_step,
                               eval_every=4, progress=False, compiler_options=options)
    for a, b in zip(jax.tree.leaves(runs["default"].state.params), jax.tree.leaves(runs["legacy"].state.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The options are part of the cached programs' key: the two runs compiled separately.
    options = tuple(sorted((jaxdl.cpu.legacy_emitters() or {}).items()))
    if options:
        legacy_fn = compiled_steps(step, eval_step, 10, False, None, False, options)[0]
        default_fn = compiled_steps(step, eval_step, 10, False, None, False, tuple(FUSION_EMITTERS.items()))[0]
        assert legacy_fn is not default_fn and legacy_fn._cache_size() == 1 and default_fn._cache_size() == 1
    with pytest.raises(Exception, match="xla_cpu_no_such_option"):
        jaxdl.fit(_classifier(key, data), data, step, key=key, num_steps=2, batch_size=10, progress=False,
                  compiler_options={"xla_cpu_no_such_option": True})

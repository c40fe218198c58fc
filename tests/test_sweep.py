"""Sweeps in one program: shapes, equality with separate runs, the DeepOBS protocol."""

import json

import jax
import numpy as np
import optax
import pytest

import jaxdl
from conftest import FUSION_EMITTERS
from jaxdl import sweep

CE = jaxdl.softmax_cross_entropy
ACC = {"accuracy": jaxdl.accuracy}


def test_grid_is_the_cartesian_product():
    g = sweep.grid(learning_rate=[0.1, 0.01], seed=[0, 1, 2])
    assert g["learning_rate"].tolist() == [0.1, 0.1, 0.1, 0.01, 0.01, 0.01]
    assert g["seed"].tolist() == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("axes,match", [
    ({}, "at least one axis"),
    ({"learning_rate": []}, "'learning_rate' must be a non-empty list of numbers"),
    ({"learning_rate": ["1e-3"]}, "'learning_rate' must be a non-empty list of numbers"),
    ({"learning_rate": [[0.1, 0.2]]}, "'learning_rate' must be a non-empty list of numbers"),
    ({"learning_rate": [0.1], "seed": [0, np.inf]}, "'seed' holds NaN or inf"),
])
def test_bad_grids_are_named(axes, match):
    with pytest.raises(ValueError, match=match):
        sweep.grid(**axes)


@pytest.mark.parametrize("sizes,error,match", [
    ((10, 0, 5), ValueError, "batch_size must be >= 1, got 0"),
    ((0, 4, 5), ValueError, "num_examples must be >= 1"),
    ((10, 4, -1), ValueError, "num_steps must be >= 1"),
    ((10, 4.0, 5), TypeError, "batch_size must be an int"),
])
def test_batch_schedule_rejects_bad_sizes(sizes, error, match, key):
    with pytest.raises(error, match=match):
        sweep.batch_schedule(key, *sizes)


def test_batch_schedule_visits_every_example_once_per_epoch(key):
    idx, mask = sweep.batch_schedule(key, 10, 4, 6)  # 3 steps per epoch, 2 epochs
    assert idx.shape == (6, 4) and mask.shape == (6, 4)
    for epoch in range(2):
        seen = idx[3 * epoch:3 * epoch + 3][mask[3 * epoch:3 * epoch + 3] > 0]
        assert sorted(seen.tolist()) == list(range(10))
    assert not np.array_equal(idx[:3], idx[3:])


def test_sweep_members_equal_separate_runs(key):
    data = jaxdl.data.blobs(key=key, num_train=50, num_test=20)
    model = jaxdl.MLP(features=(16, 3), dropout_rate=0.1)
    hp = sweep.grid(learning_rate=[3e-3, 3e-2], seed=[0, 1])
    result = sweep.run_sweep(model, optax.adam, data, loss=CE, hyperparams={"learning_rate": hp["learning_rate"]},
                             seeds=hp["seed"], num_steps=12, batch_size=16, eval_every=4, metrics=ACC)
    assert result.train_loss.shape == (4, 12)
    assert result.eval_metrics["eval_accuracy"].shape == (4, 3)
    assert result.eval_steps.tolist() == [4, 8, 12]
    # member 3 (lr 3e-2, seed 1) by hand: same batches, same keys, the ordinary jitted step
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=3e-3)
    state = jaxdl.create_train_state(model, tx, key=jax.random.key(1), input_shape=(2,), learning_rate=3e-2)
    step = jax.jit(jaxdl.make_train_step(CE, metrics=ACC))
    idx, mask = sweep.batch_schedule(jax.random.key(0), data.num_train, 16, 12)
    step_key = jax.random.fold_in(jax.random.key(1), 1)
    losses = []
    for i in range(12):
        state, m = step(state, {"x": data.x_train[idx[i]], "y": data.y_train[idx[i]], "mask": mask[i]}, step_key)
        losses.append(float(m["train_loss"]))
    np.testing.assert_allclose(result.train_loss[3], losses, rtol=1e-5, atol=1e-6)
    final = jax.jit(jaxdl.make_eval_step(CE, metrics=ACC))(state, {"x": data.x_test, "y": data.y_test})
    np.testing.assert_allclose(result.eval_metrics["eval_accuracy"][3, -1], final["eval_accuracy"], atol=1e-6)
    assert not np.allclose(result.train_loss[0], result.train_loss[2])  # the learning rates differ


def test_sweep_rejects_mismatched_grid(key):
    data = jaxdl.data.blobs(key=key, num_train=20, num_test=5)
    with pytest.raises(ValueError, match="one per member"):
        sweep.run_sweep(jaxdl.MLP(features=(3,)), optax.sgd, data, loss=CE, hyperparams={"learning_rate": [0.1]},
                        seeds=[0, 1], num_steps=4, batch_size=5, eval_every=2)
    with pytest.raises(ValueError, match="multiple of eval_every"):
        sweep.run_sweep(jaxdl.MLP(features=(3,)), optax.sgd, data, loss=CE, hyperparams={"learning_rate": [0.1]},
                        seeds=[0], num_steps=5, batch_size=5, eval_every=2)


# (name, Sweep arguments changed, run arguments changed, error, message): each caught before
# anything compiles, with a message that names the problem.
BAD_SWEEPS = [
    ("built_optimizer", dict(optimizer=optax.adam(0.1)), {}, TypeError, "needs an optimizer factory"),
    ("loss_by_name", dict(loss="ce"), {}, TypeError, "loss must be a per-example loss"),
    ("zero_eval_every", dict(eval_every=0), {}, ValueError, "Sweep: eval_every must be >= 1, got 0"),
    ("float_batch", dict(batch_size=2.5), {}, TypeError, "Sweep: batch_size must be an int, got float 2.5"),
    ("unknown_hyperparameter", {}, dict(hyperparams={"lr": [0.1, 0.2]}), ValueError,
     r"'lr' is not an argument of the optimizer factory 'adam'; its arguments: b1, b2, .*learning_rate"),
    ("nan_hyperparameter", {}, dict(hyperparams={"learning_rate": [0.1, np.nan]}), ValueError,
     "'learning_rate' is NaN or inf for member 1"),
    ("no_members", {}, dict(hyperparams={"learning_rate": []}, seeds=[]), ValueError, "non-empty list of int seeds"),
    ("float_seeds", {}, dict(seeds=[0.5, 1.5]), ValueError, "non-empty list of int seeds"),
    # jaxdl's factories check host values; inside the sweep they are traced, so the sweep asks
    # the factory about each member first.
    ("adam_b1_of_one", dict(optimizer=jaxdl.optim.adam), dict(hyperparams={"learning_rate": [0.1, 0.1],
                                                                           "b1": [0.9, 1.0]}),
     ValueError, r"member 1 \(learning_rate=0.1, b1=1\): b1 must be finite and in \[0, 1\)"),
    ("negative_momentum", dict(optimizer=jaxdl.optim.momentum), dict(hyperparams={"learning_rate": [0.1, 0.1],
                                                                                  "momentum": [-0.5, 0.9]}),
     ValueError, r"member 0 .*momentum must be finite and in \[0, 1\]"),
]


@pytest.mark.parametrize("name,make,run,error,match", BAD_SWEEPS, ids=[b[0] for b in BAD_SWEEPS])
def test_bad_sweeps_are_rejected_with_a_message(name, make, run, error, match, key, monkeypatch):
    data = jaxdl.data.blobs(key=key, num_train=20, num_test=5)
    compiled = []
    monkeypatch.setattr(sweep.Sweep, "_compile", lambda *a, **k: compiled.append(1))
    with pytest.raises(error, match=match):
        s = sweep.Sweep(jaxdl.MLP(features=(3,)), **{"optimizer": optax.adam, "loss": CE, "batch_size": 5,
                                                     "eval_every": 2, **make})
        s.run(data, **{"hyperparams": {"learning_rate": [0.1, 0.2]}, "seeds": [0, 1], "num_steps": 4, **run})
    assert not compiled


def test_sweep_hyperparameters_may_be_any_argument_of_the_factory(key):
    # functools.partial keeps the factory's signature; b1 is an argument of adam's.
    import functools
    data = jaxdl.data.blobs(key=key, num_train=20, num_test=5)
    result = sweep.run_sweep(jaxdl.MLP(features=(3,)), functools.partial(optax.adam, 0.1), data, loss=CE,
                             hyperparams={"b1": [0.5, 0.9]}, seeds=[0, 0], num_steps=4, batch_size=5, eval_every=2)
    # Adam's first update does not depend on b1 (bias correction), so neither do the first two
    # losses; the last one does.
    assert np.isfinite(result.train_loss).all() and result.train_loss[0, -1] != result.train_loss[1, -1]


def test_deepobs_protocol_picks_the_best_finite_rate(key, tmp_path):
    data = jaxdl.data.moons(key=key, num_train=200, num_test=100)
    model = jaxdl.MLP(features=(32, 2))

    def run(d, learning_rates, seeds):
        return sweep.run_sweep(model, jaxdl.optim.sgd, d, loss=CE, hyperparams={"learning_rate": learning_rates},
                               seeds=seeds, num_steps=60, batch_size=50, eval_every=20, metrics=ACC)

    report = sweep.deepobs_protocol(run, data, learning_rates=[1e-4, 0.5, 1e6], num_seeds=3)
    assert report["best_learning_rate"] == pytest.approx(0.5)
    assert len(report["test_eval_accuracy_per_seed"]) == 3
    assert report["test_eval_accuracy_mean"] > 0.75
    assert len(report["train_loss_mean"]) == 60
    json.dumps(report)  # JSON-ready
    result = run(data, np.array([0.1, 0.1, 0.2, 0.2]), np.array([0, 1, 0, 1]))
    saved = json.loads(open(sweep.save_sweep(result, tmp_path / "s.json")).read())
    assert np.asarray(saved["train_loss"]).shape == (4, 60)
    assert (tmp_path / "s.png").exists() is False
    sweep.plot_sweep(result, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000


def _optimizer_leaf_shapes(s: sweep.Sweep) -> set:
    (states, *_), = s._executables.values()  # the compiled program's abstract member states
    return {x.shape for x in jax.tree.leaves(states.opt_state)}


def test_sweep_flattens_elementwise_optimizers_only(key):
    data = jaxdl.data.blobs(key=key, num_train=50, num_test=20)
    model = jaxdl.MLP(features=(16, 3))  # 2*16 + 16 + 16*3 + 3 = 99 parameters
    kw = dict(loss=CE, batch_size=16, eval_every=4)
    run = dict(hyperparams={"learning_rate": [3e-3, 3e-2]}, seeds=[0, 1], num_steps=12)
    auto, off = sweep.Sweep(model, optax.adam, **kw), sweep.Sweep(model, optax.adam, flatten_optimizer=False, **kw)
    lamb = sweep.Sweep(model, optax.lamb, **kw)
    assert (auto.flatten_optimizer, off.flatten_optimizer, lamb.flatten_optimizer) == (True, False, False)
    results = [s.run(data, **run) for s in (auto, off, lamb)]
    assert (2, 99) in _optimizer_leaf_shapes(auto)  # Adam's moments: one vector per member
    assert (2, 99) not in _optimizer_leaf_shapes(off) and (2, 2, 16) in _optimizer_leaf_shapes(off)
    assert (2, 2, 16) in _optimizer_leaf_shapes(lamb)
    np.testing.assert_allclose(results[0].train_loss, results[1].train_loss, rtol=1e-5, atol=1e-6)


def test_a_second_run_reuses_the_compiled_program(key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    traces = []

    def counting_loss(outputs, labels):
        traces.append(1)
        return CE(outputs, labels)

    s = sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=counting_loss, batch_size=10, eval_every=4)
    first = s.run(data, hyperparams={"learning_rate": [1e-2, 1e-1]}, seeds=[0, 1], num_steps=8)
    n = len(traces)
    second = s.run(data, hyperparams={"learning_rate": [1e-2, 1e-1]}, seeds=[0, 1], num_steps=8)
    assert len(traces) == n  # no retrace, no recompile
    np.testing.assert_array_equal(first.train_loss, second.train_loss)


def test_a_second_run_checks_the_new_data_and_recompiles_for_new_shapes(key):
    s = sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=CE, batch_size=10, eval_every=4)
    kw = dict(hyperparams={"learning_rate": [1e-2, 1e-1]}, seeds=[0, 1])
    s.run(jaxdl.data.blobs(key=key, num_train=40, num_test=10), num_steps=8, **kw)
    # Same shapes, more classes than the model has outputs: the compiled programs would run.
    five = jaxdl.data.blobs(key=key, num_train=40, num_test=10, num_classes=5)
    with pytest.raises(ValueError, match="outputs only 3 logits"):
        s.run(five, num_steps=8, **kw)
    longer = s.run(jaxdl.data.blobs(key=key, num_train=40, num_test=10), num_steps=12, **kw)
    assert longer.train_loss.shape == (2, 12) and len(s._executables) == 2


def test_the_kept_batch_plan_follows_the_data_seed(key):
    s = sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.sgd, loss=CE, batch_size=10, eval_every=4)
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    run = lambda seed: s.run(data, hyperparams={"learning_rate": [0.1]}, seeds=[0], num_steps=8,  # noqa: E731
                             data_seed=seed).train_loss
    first, other, again = run(0), run(1), run(0)
    assert not np.allclose(first, other)  # another seed, another order
    np.testing.assert_array_equal(first, again)


def test_a_sweep_traces_under_the_callers_jax_config(key):
    # The programs compile partly in a worker thread; tracing must stay in the caller's
    # thread, where its jax.config contexts (thread-local) apply.
    seen = []

    def loss(outputs, labels):
        seen.append(jax.config.jax_numpy_rank_promotion)
        return CE(outputs, labels)

    s = sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=loss, batch_size=10, eval_every=4)
    with jax.numpy_rank_promotion("warn"):
        s.run(jaxdl.data.blobs(key=key, num_train=40, num_test=10), hyperparams={"learning_rate": [1e-2]},
              seeds=[0], num_steps=4)
    assert seen and set(seen) == {"warn"}


def test_sweep_passes_compiler_options(key):
    data = jaxdl.data.blobs(key=key, num_train=40, num_test=10)
    kw = dict(hyperparams={"learning_rate": [1e-2, 1e-1]}, seeds=[0, 1], num_steps=8)
    make = lambda options: sweep.Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=CE, batch_size=10,  # noqa: E731
                                       eval_every=4, compiler_options=options)
    # the fusion emitters named explicitly: the tests' own XLA_FLAGS select the legacy ones (conftest.py)
    default, legacy = make(FUSION_EMITTERS).run(data, **kw), make(jaxdl.cpu.legacy_emitters()).run(data, **kw)
    np.testing.assert_allclose(default.train_loss, legacy.train_loss, rtol=1e-5, atol=1e-6)
    with pytest.raises(Exception, match="xla_cpu_no_such_option"):
        make({"xla_cpu_no_such_option": True}).run(data, **kw)


SHARDED = """
import json, jax, numpy as np, optax, jaxdl
from jaxdl.sweep import Sweep
assert jax.device_count() == 2
data = jaxdl.data.blobs(key=jax.random.key(0), num_train=40, num_test=10)
make = lambda devices: Sweep(jaxdl.MLP(features=(8, 3)), optax.adam, loss=jaxdl.softmax_cross_entropy,
                             batch_size=10, eval_every=5, devices=devices)
kw = dict(hyperparams={"learning_rate": [1e-3, 3e-3, 1e-2, 3e-2]}, seeds=[0, 1, 2, 3], num_steps=10)
one, two = make(None).run(data, **kw), make(jax.devices()).run(data, **kw)
print(json.dumps({"diff": float(np.max(np.abs(one.train_loss - two.train_loss))),
                  "eval_diff": float(np.max(np.abs(one.eval_metrics["eval_loss"] - two.eval_metrics["eval_loss"])))}))
"""


def test_members_sharded_over_two_devices_give_the_same_result():
    import os
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS=f"{os.environ['XLA_FLAGS']} --xla_force_host_platform_device_count=2",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["diff"] <= 1e-5 and result["eval_diff"] <= 1e-5


def test_best_index_counts_a_diverged_run_as_worst():
    from jaxdl.sweep import best_index

    assert best_index([0.3, np.nan, 0.9, np.inf], "max") == 2  # inf is a diverged run, not the best
    assert best_index([0.3, np.nan, 0.1, -np.inf], "min") == 2
    assert best_index([np.nan, np.nan], "max") == 0
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        best_index([1.0], "best")


def test_concatenate_results_joins_members_in_order():
    from jaxdl.sweep import SweepResult, concatenate_results

    def part(k, value):
        return SweepResult(train_loss=np.full((k, 4), value), eval_steps=np.array([2, 4]),
                           eval_metrics={"eval_loss": np.full((k, 2), value)},
                           hyperparams={"learning_rate": np.full(k, value), "seed": np.arange(k)}, seconds=value)

    joined = concatenate_results([part(1, 1.0), part(2, 2.0)])
    np.testing.assert_array_equal(joined.train_loss[:, 0], [1.0, 2.0, 2.0])
    np.testing.assert_array_equal(joined.eval_metrics["eval_loss"][:, -1], [1.0, 2.0, 2.0])
    np.testing.assert_array_equal(joined.hyperparams["seed"], [0, 0, 1])
    np.testing.assert_array_equal(joined.eval_steps, [2, 4])
    assert joined.seconds == 3.0 and joined.stopped_at is None

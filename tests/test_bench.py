"""The optimizer benchmark suite (jaxdl.bench): problems, optimizers by name, protocols, one
JSON per run in Crowded Valley's layout, resume after a crash, leaderboard and profiles."""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl import bench
from jaxdl.bench import _suite

# A problem small enough for tests: two moons, a 16-unit MLP, 20 steps.
MOONS = bench.Problem(
    "test_moons", lambda data_dir, quick: jaxdl.data.moons(key=jax.random.key(0), num_train=200, num_test=100),
    lambda data: jaxdl.MLP(features=(16, 2)), num_steps=20, batch_size=20, eval_every=10, target=0.8,
    learning_rates=(0.01, 0.1, 1.0), quick_steps=20)


@pytest.fixture(autouse=True)
def _registered():
    bench.register_problem(MOONS, overwrite=True)
    yield
    bench.PROBLEMS.pop("test_moons", None)


# --- problems ---------------------------------------------------------------------------------

def test_the_quadratic_has_deepobs_spectrum_and_its_closed_form_gradient_and_minimum():
    q = bench.quadratic_deep_hessian()
    eigenvalues = np.sort(np.linalg.eigvalsh(q))
    np.testing.assert_allclose(q, q.T, atol=1e-12)
    assert ((eigenvalues[:90] > 0) & (eigenvalues[:90] < 1)).all()
    assert ((eigenvalues[90:] > 30) & (eigenvalues[90:] < 60)).all()
    data = bench.noisy_quadratic_data()
    assert data.x_train.shape == data.x_test.shape == (1000, 100)
    assert abs(data.x_train.std() - 0.6) < 0.01
    model, loss = bench.NoisyQuadratic(), bench.quadratic_loss(q)
    params = model.init(jax.random.key(0), data.x_train[:2])
    np.testing.assert_array_equal(params["params"]["theta"], np.ones(100))  # DeepOBS's initialisation

    def mean_loss(theta, x):
        return loss(model.apply({"params": {"theta": theta}}, x), None).mean()

    theta = jnp.linspace(-1, 1, 100)
    x = jnp.asarray(data.x_train)
    # grad of mean_b 0.5 (theta - x_b)^T Q (theta - x_b) is Q (theta - mean x)
    np.testing.assert_allclose(jax.grad(mean_loss)(theta, x), q @ (np.asarray(theta) - data.x_train.mean(0)),
                               rtol=1e-4, atol=1e-4)
    # the minimiser is the mean, where the loss is 0.5 mean_b (x_b - mean)^T Q (x_b - mean)
    centred = data.x_train - data.x_train.mean(0)
    minimum = 0.5 * np.einsum("bi,ij,bj->b", centred, q, centred).mean()
    np.testing.assert_allclose(mean_loss(jnp.asarray(data.x_train.mean(0)), x), minimum, rtol=1e-4)


@pytest.mark.parametrize("name", [n for n in bench.DEFAULT_PROBLEMS if n != "mnist_lenet5"])
def test_every_cpu_problem_builds_and_its_model_fits_its_data(name):
    problem = bench.get_problem(name).quick()
    data = problem.data(None, True)
    model = problem.model(data)
    variables = model.init(jax.random.key(0), data.x_train[:2])
    out = model.apply(variables, data.x_train[:3])
    expected = (3, data.num_classes) if data.is_classification else (3, 100)
    assert out.shape == expected
    assert problem.loss(out, data.y_train[:3]).shape == (3,)
    assert problem.num_steps % problem.eval_every == 0


def test_absent_data_is_a_named_skip_not_a_crash(tmp_path):
    with pytest.raises(bench.DataUnavailable, match="--data-dir"):
        bench.get_problem("mnist_lenet5").data(None, False)
    with pytest.raises(bench.DataUnavailable, match="not prepared"):
        bench.get_problem("cifar10_cnn").data(str(tmp_path), False)


def test_problem_registry_rejects_bad_definitions():
    with pytest.raises(ValueError, match="already registered"):
        bench.register_problem(MOONS)
    with pytest.raises(ValueError, match="not a multiple"):
        dataclasses.replace(MOONS, num_steps=25)
    with pytest.raises(ValueError, match="metric 'top5'"):
        dataclasses.replace(MOONS, metric="top5")
    with pytest.raises(KeyError, match="unknown problem 'nope'.*quadratic_deep"):
        bench.get_problem("nope")


# --- optimizers -------------------------------------------------------------------------------

def test_optimizers_by_name_optax_and_import_path():
    assert bench.get_optimizer("adam").defaults == {"learning_rate": 1e-3, "b1": 0.9, "b2": 0.999}
    adamw = bench.get_optimizer("optax:adamw")
    assert adamw.factory is optax.adamw and set(adamw.space) == {"learning_rate"}
    mine = bench.get_optimizer("jaxdl.optim:nesterov")
    assert mine.factory is jaxdl.optim.nesterov
    with pytest.raises(KeyError, match="unknown optimizer 'adamm'.*optax:NAME"):
        bench.get_optimizer("adamm")
    with pytest.raises(KeyError, match="optax has no optimizer 'nope'"):
        bench.get_optimizer("optax:nope")
    with pytest.raises(ImportError, match="cannot import"):
        bench.get_optimizer("no_such_module:f")
    with pytest.raises(ValueError, match="no 'learning_rate'"):
        bench.get_optimizer("optax:scale_by_adam")


def test_cosine_schedule_is_optax_cosine_decay_and_keeps_the_signature():
    import inspect

    scheduled = bench.with_schedule(jaxdl.optim.momentum, "cosine", 10)
    assert inspect.signature(scheduled) == inspect.signature(jaxdl.optim.momentum)
    reference = jaxdl.optim.momentum(optax.cosine_decay_schedule(0.5, 10), momentum=0.9)
    params, grads = jnp.ones(3), jnp.array([1.0, -2.0, 3.0])
    mine, theirs = scheduled(learning_rate=0.5, momentum=0.9), reference
    s1, s2 = mine.init(params), theirs.init(params)
    for _ in range(12):
        u1, s1 = mine.update(grads, s1, params)
        u2, s2 = theirs.update(grads, s2, params)
        np.testing.assert_allclose(u1, u2, rtol=1e-6)
    assert bench.with_schedule(optax.sgd, "constant", 10) is optax.sgd
    with pytest.raises(ValueError, match="unknown schedule"):
        bench.with_schedule(optax.sgd, "linear", 10)


def test_random_search_is_seeded_and_inside_its_space():
    space = {"learning_rate": ("log", 1e-4, 1.0), "momentum": ("uniform", 0.0, 0.99)}
    a, b = bench.sample_space(space, 200, seed=3), bench.sample_space(space, 200, seed=3)
    assert a == b and a != bench.sample_space(space, 200, seed=4)
    lrs = np.array([d["learning_rate"] for d in a])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1.0
    assert 0.3 < np.mean(np.log10(lrs) < -2) < 0.7  # log-uniform: half the draws below 1e-2
    assert all(0 <= d["momentum"] <= 0.99 for d in a)


def test_protocol_candidates():
    adam = bench.get_optimizer("adam")
    grid = bench.get_protocol("deepobs").candidates(MOONS, adam)
    assert [c["learning_rate"] for c in grid] == list(MOONS.learning_rates) and all(c["b1"] == 0.9 for c in grid)
    assert bench.get_protocol("defaults").candidates(MOONS, adam) == [adam.defaults]
    assert len(bench.get_protocol("small").candidates(MOONS, adam)) == 25
    assert len(bench.get_protocol("large").candidates(MOONS, adam)) == 50
    assert bench.get_protocol("small", schedule="cosine").tag == "small_cosine"
    quick = bench.get_protocol("deepobs").quick().candidates(bench.get_problem("quadratic_deep"), adam)
    assert [c["learning_rate"] for c in quick] == pytest.approx([1e-4, 10 ** -1.5, 10.0])  # ends and middle


# --- the plan: layout, selection, resume ------------------------------------------------------

def _plan(out, optimizers=("sgd", "adam"), protocol="deepobs", **kwargs):
    return bench.run_plan([MOONS], [bench.get_optimizer(o) for o in optimizers],
                          bench.get_protocol(protocol, num_seeds=2), str(out), progress=False, **kwargs)


def test_runs_are_one_json_each_in_crowded_valleys_layout_and_the_best_rate_is_rerun(tmp_path):
    result = _plan(tmp_path)
    assert result["programs_run"] == 4  # (grid, seeds) x 2 optimizers
    root = tmp_path / "deepobs"
    files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
    assert len(files) == 2 * (3 + 2)
    assert "tuning/test_moons/sgd/learning_rate__0.1/random_seed__0.json" in files
    for optimizer in ("sgd", "adam"):
        tuning = [r for r in result["tuning"] if r["optimizer_name"] == optimizer]
        best = max(tuning, key=lambda r: r["final_metric"])["optimizer_hyperparams"]
        finals = [r for r in result["final"] if r["optimizer_name"] == optimizer]
        assert [r["optimizer_hyperparams"] for r in finals] == [best, best]
        assert [r["random_seed"] for r in finals] == [0, 1]
        folder = bench.get_optimizer(optimizer).name
        assert os.path.exists(root / "runs" / "test_moons" / folder /
                              "__".join(f"{n}__{v:.6g}" for n, v in sorted(best.items())) / "random_seed__1.json")
    record = result["final"][0]
    assert len(record["test_accuracies"]) == len(record["test_losses"]) == len(record["eval_steps"]) == 2
    assert len(record["minibatch_train_losses"]) == 20
    assert record["final_metric"] == record["test_accuracies"][-1]
    assert "valid_accuracies" in result["tuning"][0]


def test_a_crashed_plan_resumes_without_redoing_finished_runs(tmp_path, monkeypatch):
    reference = _plan(tmp_path / "reference")
    calls, real = [], _suite.run_unit

    def crash_on_the_third(unit, *args, **kwargs):
        calls.append(unit.phase)
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return real(unit, *args, **kwargs)

    monkeypatch.setattr(_suite, "run_unit", crash_on_the_third)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _plan(tmp_path / "crashed")
    monkeypatch.setattr(_suite, "run_unit", real)
    resumed = _plan(tmp_path / "crashed")
    assert resumed["programs_run"] == 2  # the two units the crash left undone, not the two before it
    key = lambda r: (r["optimizer_name"], r["random_seed"])  # noqa: E731
    for a, b in zip(sorted(reference["final"], key=key), sorted(resumed["final"], key=key)):
        assert a["optimizer_hyperparams"] == b["optimizer_hyperparams"]
        assert a["test_accuracies"] == b["test_accuracies"]
        assert a["minibatch_train_losses"] == b["minibatch_train_losses"]
    again = _plan(tmp_path / "crashed")
    assert again["programs_run"] == 0


def test_one_by_one_trains_the_same_runs_as_the_vmapped_program(tmp_path):
    vmapped = _plan(tmp_path / "a", optimizers=("momentum",))
    single = _plan(tmp_path / "b", optimizers=("momentum",), one_by_one=True)
    for a, b in zip(vmapped["tuning"] + vmapped["final"], single["tuning"] + single["final"]):
        np.testing.assert_allclose(a["minibatch_train_losses"], b["minibatch_train_losses"], rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(a["test_losses" if "test_losses" in a else "valid_losses"],
                                   b["test_losses" if "test_losses" in b else "valid_losses"], rtol=2e-5, atol=1e-6)


# --- reports ----------------------------------------------------------------------------------

def _row(problem, optimizer, steps):
    return {"problem": problem, "optimizer": optimizer, "steps_to_target": steps}


def test_performance_profile_by_hand():
    rows = [_row("p1", "a", 100), _row("p1", "b", 200), _row("p2", "a", 300), _row("p2", "b", 100),
            _row("p3", "a", None), _row("p3", "b", 50), _row("p4", "a", None), _row("p4", "b", None)]
    profile = bench.performance_profile(rows, taus=[1.0, 2.0, 3.0, 100.0])
    assert profile["problems"] == ["p1", "p2", "p3"]  # p4: nobody solved it
    # ratios: a = (1, 3, inf), b = (2, 1, 1)
    assert profile["rho"]["a"] == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert profile["rho"]["b"] == pytest.approx([2 / 3, 1.0, 1.0, 1.0])


def test_leaderboard_sorts_by_the_problems_direction_and_marks_unreached_targets():
    def record(problem, optimizer, metric, final, steps, seed):
        return {"testproblem": problem, "optimizer_name": optimizer, "protocol": "deepobs", "schedule": "constant",
                "metric": metric, "problem": {"target": 1.0}, "final_metric": final, "steps_to_target": steps,
                "seconds_to_target": None if steps is None else steps / 100, "program_seconds": 2.0,
                "optimizer_hyperparams": {"learning_rate": 0.1}, "random_seed": seed}

    records = [record("q", "a", "loss", 3.0, 10, 0), record("q", "a", "loss", 5.0, None, 1),
               record("q", "b", "loss", 2.0, 20, 0), record("q", "b", "loss", 2.0, 30, 1),
               record("c", "a", "accuracy", 0.9, 5, 0), record("c", "b", "accuracy", 0.8, None, 0)]
    rows = bench.leaderboard(records)
    assert [(r["problem"], r["optimizer"]) for r in rows] == [("c", "a"), ("c", "b"), ("q", "b"), ("q", "a")]
    qa = rows[3]
    assert qa["final_mean"] == 4.0 and qa["final_std"] == 1.0 and qa["reached"] == 1
    assert qa["steps_to_target"] is None  # the median of (10, never) is "never"
    assert rows[2]["steps_to_target"] == 25.0
    assert "| q | a | loss 4 +- 1 | 1/2 | - |" in bench.leaderboard_markdown(rows)


def test_the_command_line_writes_everything_and_it_loads_in_pandas(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    summary = bench.main(["--problems", "test_moons", "quadratic_deep", "--optimizers", "sgd", "optax:adamw",
                          "--quick", "--out", str(tmp_path), "--no-progress"])
    stdout = capsys.readouterr().out
    root = tmp_path / "deepobs"
    assert f"output directory: {root}" in stdout and "| quadratic_deep |" in stdout
    table = pd.read_csv(root / "leaderboard.csv")
    assert len(table) == 4 and set(table["optimizer"]) == {"sgd", "optax:adamw"}
    runs = pd.DataFrame(bench.load_runs(str(root)))
    assert len(runs) == 8 and set(runs["random_seed"]) == {0, 1}
    assert (root / "performance_profile.png").stat().st_size > 5000
    assert (root / "curves_quadratic_deep.png").exists() and (root / "curves_test_moons.png").exists()
    assert json.loads((root / "summary.json").read_text())["programs_run"] == summary["programs_run"] == 8


def test_the_command_line_names_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--optimizers", "adamm", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "unknown optimizer 'adamm'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--problems", "nope", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "unknown problem 'nope'" in capsys.readouterr().err

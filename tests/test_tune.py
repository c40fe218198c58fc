"""Tuning with Optuna (jaxdl/tune): search spaces, K trials per sweep program, and the kill -9
drill: a study killed mid-batch and restarted completes exactly N trials."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import jaxdl  # noqa: E402
from jaxdl.tune import distributions, open_study, recover_interrupted, tune  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent('''
    import os, signal, sys
    import optax, jaxdl
    from jaxdl.sweep import Sweep
    from jaxdl.tune import open_study, tune

    class Killed(Sweep):
        calls = 0
        def run(self, *args, **kwargs):
            Killed.calls += 1
            if Killed.calls == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)  # mid-batch: its trials are RUNNING
            return super().run(*args, **kwargs)

    data = jaxdl.data.mnist1d(num_samples=300)
    sweep = Killed(jaxdl.MLP(features=(8, 10)), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=40,
                   eval_every=5, metrics={"accuracy": jaxdl.accuracy})
    study = open_study(sys.argv[1], "drill", seed=0, pruner="none")
    tune(sweep, data, {"learning_rate": ("log", 1e-3, 1e-1)}, study=study, trials=7, batch=3, num_steps=10)
''')


def _run(tmp_path, storage, kill_at):
    script = tmp_path / "drill.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, str(script), storage, str(kill_at)], env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_study_killed_mid_batch_completes_exactly_n_trials(tmp_path):
    storage = f"sqlite:///{tmp_path}/study.db"
    first = _run(tmp_path, storage, kill_at=2)  # batch 1 (3 trials) told, batch 2 killed while running
    assert first.returncode == -signal.SIGKILL, first.stderr
    study = optuna.load_study(study_name="drill", storage=storage)
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 3 and states.count(optuna.trial.TrialState.RUNNING) == 3
    killed_params = [t.params for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    second = _run(tmp_path, storage, kill_at=0)  # never killed
    assert second.returncode == 0, second.stderr
    study = optuna.load_study(study_name="drill", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(complete) == 7 and len(failed) == 3
    assert len({t.number for t in complete}) == 7
    retried = [t for t in complete if "retry_of" in t.user_attrs]
    assert sorted(t.user_attrs["retry_of"] for t in retried) == sorted(t.number for t in failed)
    assert sorted(p["learning_rate"] for p in killed_params) == sorted(t.params["learning_rate"] for t in retried)


def test_batched_trials_report_every_evaluation_and_tell_the_final_value(tmp_path):
    import optax
    from jaxdl.sweep import Sweep

    data = jaxdl.data.mnist1d(num_samples=300)
    sweep = Sweep(jaxdl.MLP(features=(8, 10)), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=40,
                  eval_every=5, metrics={"accuracy": jaxdl.accuracy})
    study = open_study(f"sqlite:///{tmp_path}/s.db", "report", seed=1)
    result = tune(sweep, data, {"learning_rate": ("log", 1e-3, 1e-1)}, study=study, trials=5, batch=4, num_steps=15)
    assert result.batches == 2 and result.trials_run == 5  # 4 + 1
    for trial in study.trials:
        assert sorted(trial.intermediate_values) == [5, 10, 15]
        assert trial.value == trial.intermediate_values[15]
        assert 1e-3 <= trial.params["learning_rate"] <= 1e-1
    assert result.best_value == max(t.value for t in study.trials)
    # the same trial alone gives the same value: a member of a batch is an ordinary run
    best = study.best_trial
    alone = sweep.run(data, hyperparams={"learning_rate": [best.params["learning_rate"]]}, seeds=[best.number],
                      num_steps=15)
    np.testing.assert_allclose(alone.final("eval_accuracy")[0], best.value, atol=1e-6)
    assert recover_interrupted(study) == 0


@pytest.mark.parametrize("space,message", [
    ({"lr": ("log", 0.0, 1.0)}, "low < high and low > 0"),
    ({"lr": ("uniform", 1.0, 0.5)}, "low < high"),
    ({"lr": ("beta", 1, 2)}, "unknown kind 'beta'"),
    ({"lr": ("categorical", [])}, "non-empty list"),
    ({"lr": 0.1}, r"expected \(kind, \.\.\.\)"),
])
def test_bad_search_spaces_are_named(space, message):
    with pytest.raises(ValueError, match=message):
        distributions(space)


def test_search_space_kinds():
    d = distributions({"a": ("log", 1e-4, 1e-1), "b": ("uniform", 0, 0.9), "c": ("int", 1, 4), "d": ("categorical", [8, 16])})
    assert d["a"].log and not d["b"].log and d["c"].high == 4 and d["d"].choices == (8, 16)


def test_a_pruner_stops_members_mid_sweep_while_the_others_go_on(tmp_path):
    """ThresholdPruner(lower=0.15) at step 5: members below 15% test accuracy are pruned there,
    their states frozen (their metrics do not move again); the others run to step 20."""
    import optax
    from jaxdl.sweep import Sweep

    data = jaxdl.data.mnist1d(num_samples=400)
    sweep = Sweep(jaxdl.MLP(features=(16, 10)), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=40,
                  eval_every=5, metrics={"accuracy": jaxdl.accuracy})
    pruner = optuna.pruners.ThresholdPruner(lower=0.15, n_warmup_steps=0)
    study = open_study(f"sqlite:///{tmp_path}/p.db", "prune", seed=3, pruner=pruner)
    study.enqueue_trial({"learning_rate": 1e-5})  # learns nothing in 5 steps: pruned
    study.enqueue_trial({"learning_rate": 3e-2})  # learns: goes on
    result = tune(sweep, data, {"learning_rate": ("log", 1e-5, 1e-1)}, study=study, trials=6, batch=6, num_steps=20)
    assert result.batches == 1
    states = {t.number: t.state for t in study.trials}
    assert states[0] == optuna.trial.TrialState.PRUNED and states[1] == optuna.trial.TrialState.COMPLETE
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    for t in pruned:
        assert max(t.intermediate_values) < 20 and min(t.intermediate_values.values()) < 0.15
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert sorted(t.intermediate_values) == [5, 10, 15, 20]
    # frozen: a member stopped at step 5 reports the same metrics at every later evaluation
    hp = {"learning_rate": [1e-5, 3e-2]}
    frozen = sweep.run(data, hyperparams=hp, seeds=[0, 1], num_steps=20, report=lambda s, m: np.array([True, False]))
    assert frozen.stopped_at.tolist() == [5, 20]
    assert np.all(frozen.eval_metrics["eval_loss"][0] == frozen.eval_metrics["eval_loss"][0, 0])
    plain = sweep.run(data, hyperparams=hp, seeds=[0, 1], num_steps=20)
    np.testing.assert_array_equal(frozen.eval_metrics["eval_loss"][1], plain.eval_metrics["eval_loss"][1])


def test_unknown_pruner_is_named():
    from jaxdl.tune import make_pruner

    with pytest.raises(ValueError, match="unknown pruner 'asha'"):
        make_pruner("asha")


def test_a_define_by_run_space(tmp_path):
    import optax
    from jaxdl.sweep import Sweep

    def space(trial):
        return {"learning_rate": trial.suggest_float("lr", 1e-3, 1e-1, log=True),
                "b1": trial.suggest_categorical("b1", [0.8, 0.9])}

    data = jaxdl.data.mnist1d(num_samples=300)
    sweep = Sweep(jaxdl.MLP(features=(8, 10)), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=40,
                  eval_every=5, metrics={"accuracy": jaxdl.accuracy})
    study = open_study(f"sqlite:///{tmp_path}/d.db", "dbr", seed=0, pruner="none")
    result = tune(sweep, data, space, study=study, trials=3, batch=3, num_steps=5)
    assert result.trials_run == 3 and set(result.best_params) == {"lr", "b1"}
    assert all(t.params["b1"] in (0.8, 0.9) for t in study.trials)


def test_model_shaping_parameters_split_a_batch_into_one_program_per_model(tmp_path):
    import optax
    from jaxdl.sweep import Sweep

    built = []

    def sweep_for(width, dropout):
        built.append((width, dropout))
        return Sweep(jaxdl.MLP(features=(width, 10), dropout_rate=dropout), optax.adam,
                     loss=jaxdl.softmax_cross_entropy, batch_size=40, eval_every=5, metrics={"accuracy": jaxdl.accuracy})

    data = jaxdl.data.mnist1d(num_samples=300)
    study = open_study(f"sqlite:///{tmp_path}/m.db", "model", seed=0, pruner="none")
    space = {"learning_rate": ("log", 1e-3, 1e-1), "width": ("categorical", [4, 8]), "dropout": ("categorical", [0.0, 0.2])}
    result = tune(sweep_for, data, space, study=study, trials=8, batch=8, num_steps=5, model_params=("width", "dropout"))
    combos = {(t.params["width"], t.params["dropout"]) for t in study.trials}
    assert sorted(built) == sorted(combos)  # one sweep built per distinct model, once
    assert result.batches == len(combos) and result.trials_run == 8
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)

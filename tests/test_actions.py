"""The periodic actions of fit and the on-device divergence watch (jaxdl/_actions.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxdl._actions import LoopState, RecordEvaluation, check_divergence, new_watch, watch_step


def _fake_step(values):
    """A step whose metrics at step i are values[i] (train_loss) and 1.0 (train_other)."""
    def step(state, i):
        return state + 1, {"train_loss": jnp.asarray(values)[i], "train_other": jnp.float32(1.0)}
    return jax.jit(watch_step(step))


def test_watch_sums_losses_and_keeps_the_first_bad_step():
    step = _fake_step([1.0, 2.0, np.nan, 4.0, np.inf])
    state, watch = 0, new_watch()
    for i in range(5):
        state, watch, _ = step(state, watch, i, i)
    assert int(watch["first_bad_step"]) == 3  # the step count after the step that went bad
    assert int(watch["bad_metrics"]) == 1  # bit 0: train_loss, the first in sorted order
    assert np.isnan(float(watch["loss_sum"]))


def test_check_divergence_names_the_metric_and_syncs_once_per_step():
    watch = {"first_bad_step": jnp.int32(3), "bad_metrics": jnp.int32(2), "loss_sum": jnp.float32(0)}
    loop = LoopState(state=None, watch=watch, metrics={"train_loss": 0, "train_other": 0})
    with pytest.raises(FloatingPointError, match=r"train_other became NaN or inf at step 3 \(noticed at step 5\)"):
        check_divergence(loop, 5)
    check_divergence(loop, 5)  # already read at this step: no second sync, no second error
    loop.watch = new_watch()
    check_divergence(loop, 6)


def test_periodic_actions_fire_on_multiples_and_at_the_end():
    action = RecordEvaluation(3, history=[], steps_per_epoch=2, eval_fn=None, eval_data=None, eval_batch_size=1,
                              workdir=None, place=lambda t: t, bar=None)
    assert [d for d in range(1, 8) if action.due(d, 7)] == [3, 6, 7]
    assert [d for d in range(1, 8) if RecordEvaluation.due(type("A", (), {"every": None})(), d, 7)] == [7]


def test_record_evaluation_means_the_loss_since_the_last_record_and_resets_it(tmp_path):
    history = []
    action = RecordEvaluation(2, history=history, steps_per_epoch=4, eval_fn=None, eval_data=None,
                              eval_batch_size=1, workdir=str(tmp_path), place=lambda t: t, bar=None)
    watch = {**new_watch(), "loss_sum": jnp.float32(6.0)}
    loop = LoopState(state=None, watch=watch, metrics={"train_loss": 0}, steps_since_record=3)
    action(loop, 2)
    assert history[0]["step"] == 2 and history[0]["epoch"] == 0.5 and history[0]["train_loss"] == 2.0
    assert float(loop.watch["loss_sum"]) == 0.0 and loop.steps_since_record == 0
    assert (tmp_path / "history.jsonl").read_text().count("\n") == 1

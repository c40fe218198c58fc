"""Restoring a run from its work directory (jaxdl/_resume.py): settings check, history trim."""

import json

import jax
import optax
import pytest

import jaxdl
from jaxdl._resume import HISTORY_FILE, append_history, read_history, restore_run


def _state(key):
    return jaxdl.create_train_state(jaxdl.MLP(features=(4, 2)), optax.sgd(0.1), key=key, input_shape=(3,))


def test_no_workdir_keeps_nothing(key):
    state = _state(key)
    restored = restore_run(None, state, {"key": 1})
    assert restored.state is state and restored.checkpointer is None and restored.history == []


def test_fresh_workdir_drops_a_history_without_a_checkpoint(tmp_path, key):
    append_history(tmp_path, {"step": 3, "train_loss": 1.0})  # a run that died before its first checkpoint
    restored = restore_run(tmp_path, _state(key), {"key": 1})
    try:
        assert restored.history == [] and read_history(tmp_path) == []
    finally:
        restored.checkpointer.close()


def test_restores_the_latest_checkpoint_and_trims_later_records(tmp_path, key):
    settings = {"key": [0, 1], "batch_size": 4}
    first = restore_run(tmp_path, _state(key), settings)
    saved = _state(jax.random.key(7)).replace(step=5)
    first.checkpointer.save(5, saved, settings)
    first.checkpointer.close()
    for step in (5, 8):  # the record at 8 describes steps that will run again
        append_history(tmp_path, {"step": step, "seconds": float(step)})
    again = restore_run(tmp_path, _state(key), settings)
    try:
        assert int(again.state.step) == 5
        for a, b in zip(jax.tree.leaves(again.state.params), jax.tree.leaves(saved.params), strict=True):
            assert (a == b).all()
        assert [r["step"] for r in again.history] == [5]
        with open(tmp_path / HISTORY_FILE) as f:
            assert [json.loads(line)["step"] for line in f] == [5]  # rewritten on disk too
    finally:
        again.checkpointer.close()


def test_refuses_other_settings_and_closes_its_checkpointer(tmp_path, key):
    first = restore_run(tmp_path, _state(key), {"key": [0, 1]})
    first.checkpointer.save(1, _state(key).replace(step=1), {"key": [0, 1]})
    first.checkpointer.close()
    with pytest.raises(ValueError, match="different settings"):
        restore_run(tmp_path, _state(key), {"key": [0, 2]})

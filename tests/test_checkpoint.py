"""Checkpoint faults: damaged or unfinished checkpoints are skipped with a warning and the run
resumes exactly from the previous complete one; a checkpoint of another model is refused with
the leaf named; nothing is unpickled."""

import gc
import glob
import os
import re
import shutil

import jax
import numpy as np
import optax
import pytest

import jaxdl

CE = jaxdl.softmax_cross_entropy
# tensorstore's reader may leave an asyncio callback behind after a failed read of a damaged
# file; that is its cleanup, not ours.
READ_ERROR_NOISE = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
pytestmark = READ_ERROR_NOISE


@pytest.fixture(autouse=True)
def _collect_garbage():
    # Collect here, so that noise is reported (and filtered) in this module, not in whichever
    # test runs next in the worker.
    yield
    gc.collect()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(workdir, num_steps, features=(16, 3)):
    data = jaxdl.data.blobs(key=jax.random.key(0), num_train=60, num_test=12)
    model = jaxdl.MLP(features=features, dropout_rate=0.2)
    state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(1), input_shape=data.input_shape)
    return jaxdl.fit(state, data, jaxdl.make_train_step(CE), key=jax.random.key(2), num_steps=num_steps,
                     batch_size=16, workdir=workdir, checkpoint_every=4, progress=False)


def _truncate(paths, keep=0.5):
    assert paths, "nothing to damage: the checkpoint layout changed"
    for path in paths:
        with open(path, "r+b") as f:
            f.truncate(int(os.path.getsize(path) * keep))


def _damage(step_dir, how):
    if how == "array files truncated":
        _truncate([p for p in glob.glob(os.path.join(step_dir, "state", "**", "d", "*"), recursive=True)])
    elif how == "metadata truncated":
        _truncate([os.path.join(step_dir, "state", "_METADATA")], keep=0.1)
    elif how == "manifest truncated":
        _truncate(glob.glob(os.path.join(step_dir, "state", "**", "manifest.ocdbt"), recursive=True), keep=0.05)
    elif how == "state directory missing":
        shutil.rmtree(os.path.join(step_dir, "state"))
    else:
        raise AssertionError(how)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _run(None, 20).state


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


@READ_ERROR_NOISE
@pytest.mark.parametrize("how", ["array files truncated", "metadata truncated", "manifest truncated",
                                 "state directory missing"])
def test_damaged_latest_checkpoint_is_skipped(tmp_path, how, uninterrupted):
    _run(tmp_path, 12)  # checkpoints 4, 8, 12
    _damage(str(tmp_path / "checkpoints" / "12"), how)
    with pytest.warns(UserWarning, match=r"checkpoint 12 .* cannot be read.*falling back"):
        resumed = _run(tmp_path, 20)
    _assert_same(resumed.state, uninterrupted)
    # the damaged one is kept aside for inspection, not deleted, and a good 12 was rewritten
    assert os.path.isdir(tmp_path / "checkpoints.corrupt" / "12")
    assert [r["step"] for r in resumed.history] == [4, 8, 12, 16, 20]


def test_unfinished_write_left_by_a_crash_is_ignored(tmp_path, uninterrupted):
    _run(tmp_path, 12)
    # what a crash mid-save leaves: orbax's temporary directory, never renamed to "16"
    shutil.copytree(tmp_path / "checkpoints" / "12", tmp_path / "checkpoints" / "16.orbax-checkpoint-tmp-1700000000")
    with pytest.warns(UserWarning, match="unfinished checkpoint write"):
        resumed = _run(tmp_path, 20)
    _assert_same(resumed.state, uninterrupted)
    assert not glob.glob(str(tmp_path / "checkpoints" / "*tmp*"))


@READ_ERROR_NOISE
def test_every_checkpoint_damaged_starts_over(tmp_path, uninterrupted):
    _run(tmp_path, 8)  # checkpoints 4, 8
    for step in (4, 8):
        _damage(str(tmp_path / "checkpoints" / str(step)), "array files truncated")
    with pytest.warns(UserWarning, match="cannot be read"):
        resumed = _run(tmp_path, 20)
    _assert_same(resumed.state, uninterrupted)


def test_checkpoint_of_another_model_names_the_leaf(tmp_path):
    _run(tmp_path, 4, features=(16, 3))
    with pytest.raises(ValueError, match=r"params/dense_0/kernel has shape \(2, 16\).*\(2, 32\)"):
        _run(tmp_path, 8, features=(32, 3))
    assert os.path.isdir(tmp_path / "checkpoints" / "4")  # refused, not set aside as damaged


def test_checkpoint_with_missing_leaves_is_refused(tmp_path):
    _run(tmp_path, 4, features=(16, 3))
    with pytest.raises(ValueError, match=r"missing from the checkpoint: .*params/dense_2"):
        _run(tmp_path, 8, features=(16, 16, 3))


@READ_ERROR_NOISE
def test_explicit_step_that_cannot_be_read_is_an_error(tmp_path):
    _run(tmp_path, 8)
    _damage(str(tmp_path / "checkpoints" / "8"), "array files truncated")
    ckpt = jaxdl.Checkpointer(tmp_path / "checkpoints")
    state = _run(None, 0).state
    with pytest.raises(ValueError, match="checkpoint 8 .* cannot be read"):
        ckpt.restore(state, step=8)
    with pytest.raises(ValueError, match="no checkpoint for step 5"):
        ckpt.restore(state, step=5)
    ckpt.close()


# `import pickle`, `import pickle as p`, `from pickle import loads`, `from dill import load`, an
# `allow_pickle=True` anywhere, torch.load.
PICKLE_USE = (r"\b(import|from)\s+(c?pickle|_pickle|dill|cloudpickle|joblib|shelve)\b|allow_pickle\s*=\s*True"
              r"|torch\.load\(")


@pytest.mark.parametrize("line", ["import pickle", "import _pickle as p", "from pickle import loads",
                                  "from dill import load", "import joblib", "np.load(f, allow_pickle=True)",
                                  "torch.load(path)", "from _pickle import loads"])
def test_the_pickle_scan_sees_every_spelling(line):
    assert re.search(PICKLE_USE, f"x = 1\n{line}\n")


def test_nothing_loads_pickle():
    """Untrusted files: no pickle, no np.load that allows it, anywhere in the library or scripts."""
    offenders = []
    for folder in ("jaxdl", "experiments", "benchmarks"):
        for path in glob.glob(os.path.join(ROOT, folder, "**", "*.py"), recursive=True):
            with open(path) as f:
                text = f.read()
            if re.search(PICKLE_USE, text):
                offenders.append(os.path.relpath(path, ROOT))
            for call in re.findall(r"np\.load\(([^)]*)\)", text):
                if "allow_pickle=False" not in call:
                    offenders.append(f"{os.path.relpath(path, ROOT)}: np.load({call})")
    assert not offenders, offenders


@pytest.mark.parametrize("value,error", [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_max_to_keep_must_keep_something(tmp_path, value, error):
    # orbax reads 0 as "keep none" and deleted every checkpoint right after writing it.
    with pytest.raises(error, match="Checkpointer: max_to_keep"):
        jaxdl.Checkpointer(tmp_path / "ck", max_to_keep=value)

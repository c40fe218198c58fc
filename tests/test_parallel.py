"""Data parallelism on 1, 2 and 8 fake CPU devices: every path equals one device on the
full batch after 20 steps (see data_parallel_job.py, run in its own process because the
device count is fixed when jax starts)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)
PATHS = ["jit_mesh", "shard_map_check_vma_True", "shard_map_check_vma_False", "pmap"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("data_parallel")
    out = workdir / "results.json"
    env = dict(os.environ)  # the tests' compile flags (conftest.py); the job adds its fake devices
    proc = subprocess.run([sys.executable, os.path.join(HERE, "data_parallel_job.py"), str(out), str(workdir)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def test_eight_fake_devices_are_present(results):
    assert results["devices"] == 8


@pytest.mark.parametrize("n", [1, 2, 8])
@pytest.mark.parametrize("path", PATHS)
def test_data_parallel_step_equals_full_batch(results, path, n):
    # shard_map with check_vma=True is where a second psum of already-summed gradients hides.
    assert results["diffs"][f"{path}/{n}"] <= 1e-5


@pytest.mark.parametrize("n", [2, 8])
def test_jit_over_a_mesh_really_splits_the_batch(results, n):
    assert results[f"jit_mesh_all_reduce/{n}"], "no all-reduce: the step was not partitioned"


@pytest.mark.parametrize("name", ["fit/2", "fit/8", "fit/default", "fit_stacked/8"])
def test_fit_is_data_parallel_and_equals_one_device(results, name):
    assert results["diffs"][name] <= 1e-5


def test_fit_uses_every_device_by_default(results):
    assert results["fit_default_devices"] == 8


def test_multi_device_checkpoints_resume_exactly(results):
    assert results["resume_8_devices_equal"]
    assert results["resume_8_devices_sharding"] == "P()"


def test_sharded_state_restores_into_its_sharding(results):
    assert results["sharded_restore_equal"]
    assert results["sharded_restore_spec"] == "P(None, 'data')"
    assert results["sharded_restore_shard_shapes"] == [[4, 2]]  # 16 columns over 8 devices


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one(tmp_path):
    """jax.distributed over 127.0.0.1: two processes, one CPU device each, each feeding half
    of every global batch (make_array_from_process_local_data) = one process, full batch."""
    port = _free_port()
    env = dict(os.environ)  # the tests' compile flags (conftest.py), no fake devices
    outs = [tmp_path / f"process{i}.json" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "multihost_job.py"), str(i), "2", str(port), str(out)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i, out in enumerate(outs)]
    try:
        logs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    results = [json.loads(out.read_text()) for out in outs]
    for i, r in enumerate(results):
        assert (r["process_id"], r["process_count"], r["device_count"], r["local_device_count"]) == (i, 2, 2, 1)
        assert r["step_diff"] <= 1e-5
        assert r["fit_diff"] <= 1e-5
    assert results[0]["final_train_loss"] == results[1]["final_train_loss"]
    assert results[0]["fit_eval_accuracy"] == results[1]["fit_eval_accuracy"]
    _only_process_zero_wrote_tensorboard(tmp_path, results)


def _only_process_zero_wrote_tensorboard(tmp_path, results):
    """fit(log_dir=) and write_figures on both processes: process 0's folder holds the
    history, process 1 created nothing."""
    if importlib.util.find_spec("tensorboardX") is None:
        return  # the job ran without the extra: nothing was asked of it
    from tensorboard.backend.event_processing import event_accumulator as ea

    assert not (tmp_path / "tb_1").exists() and results[1]["figure_tags"] == []
    assert results[0]["figure_tags"] == ["curves_0"]
    acc = ea.EventAccumulator(str(tmp_path / "tb_0"), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    history = results[0]["fit_history"]
    assert [(e.step, e.value) for e in acc.Scalars("eval_accuracy")] == [
        (int(r["step"]), pytest.approx(r["eval_accuracy"])) for r in history]

"""Crash safety and exact resume across processes: a run stopped (cleanly, or by SIGKILL at a
random step, mid-write or between writes) and started again in a fresh process ends with
parameters bitwise equal to an uninterrupted run (CPU). Every process runs tests/resume_job.py;
the uninterrupted reference is computed once for the module."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import jaxdl

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 30  # 6 epochs of 5 steps
ENV = dict(os.environ, JAX_PLATFORMS="cpu")


def _job(workdir, steps, out, checkpoint_every):
    return [sys.executable, os.path.join(HERE, "resume_job.py"), str(workdir), str(steps), str(out),
            str(checkpoint_every)]


def _run(*args):
    done = subprocess.run(_job(*args), env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(args[2])


def _assert_equal(result, reference, where):
    assert int(result["step"]) == STEPS
    assert sorted(result.files) == sorted(reference.files)
    for name in reference.files:
        np.testing.assert_array_equal(result[name], reference[name], err_msg=f"{name} {where}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """``(parameters, history)`` of the uninterrupted run (checkpoint cadence does not change them)."""
    workdir = tmp_path_factory.mktemp("straight")
    return _run(workdir, STEPS, workdir / "straight.npz", 1), jaxdl.read_history(workdir)


def test_stop_and_resume_in_a_fresh_process_is_bitwise_identical(tmp_path, reference):
    n = 13  # mid-epoch (5 steps each) and not a multiple of checkpoint_every=7: resume mid-epoch
    half = _run(tmp_path, n, tmp_path / "half.npz", 7)
    assert int(half["step"]) == n
    _assert_equal(_run(tmp_path, STEPS, tmp_path / "resumed.npz", 7), reference[0], "after a stop at step 13")
    assert any(not np.array_equal(reference[0][f], half[f]) for f in half.files if f != "step")
    # the same evaluations, plus the one the interrupted run made when it ended at step n
    history = jaxdl.read_history(tmp_path)
    assert [r["step"] for r in history] == sorted({r["step"] for r in reference[1]} | {n})


def _latest_checkpoint(workdir) -> int:
    directory = os.path.join(workdir, "checkpoints")
    if not os.path.isdir(directory):
        return -1
    return max((int(name) for name in os.listdir(directory) if name.isdigit()), default=-1)


def test_sigkill_at_three_random_steps_then_resume_is_bitwise_identical(tmp_path, reference):
    rng = random.Random()
    kill_steps = sorted(rng.sample(range(3, STEPS - 5), 3))
    report = []
    for trial, kill_step in enumerate(kill_steps):
        workdir, out = tmp_path / f"killed{trial}", tmp_path / f"killed{trial}.npz"
        # a checkpoint after every step, so a kill can land mid-write
        proc = subprocess.Popen(_job(workdir, STEPS, out, 1), env=ENV, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 240
        while _latest_checkpoint(workdir) < kill_step and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.03))  # anywhere inside the following step or checkpoint write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, (
            f"the run was not killed mid-training (exit {proc.returncode}); kill step {kill_step}")
        assert not out.exists()
        survived = _latest_checkpoint(workdir)
        assert 0 < survived < STEPS
        mid_write = any("tmp" in name for name in os.listdir(workdir / "checkpoints"))
        report.append((kill_step, survived, "mid-write" if mid_write else "between writes"))
        _assert_equal(_run(workdir, STEPS, out, 1), reference[0], f"after a kill at step {kill_step}")
    print("kill step, last complete checkpoint, state of the writer:", report)

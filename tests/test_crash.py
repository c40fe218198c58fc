"""Crash safety: a training run killed with SIGKILL at a random step and resumed ends with
parameters bitwise equal to an uninterrupted run (CPU), at 3 random kill points."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 60  # 12 epochs of 5 steps; checkpoint after every step, so a kill can land mid-write
ENV = dict(os.environ, JAX_PLATFORMS="cpu")


def _job(workdir, out):
    return [sys.executable, os.path.join(HERE, "resume_job.py"), str(workdir), str(STEPS), str(out), "1"]


def _latest_checkpoint(workdir) -> int:
    directory = os.path.join(workdir, "checkpoints")
    if not os.path.isdir(directory):
        return -1
    return max((int(name) for name in os.listdir(directory) if name.isdigit()), default=-1)


def test_sigkill_at_three_random_steps_then_resume_is_bitwise_identical(tmp_path):
    done = subprocess.run(_job(tmp_path / "straight", tmp_path / "straight.npz"), env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    reference = np.load(tmp_path / "straight.npz")

    rng = random.Random()
    kill_steps = sorted(rng.sample(range(3, STEPS - 5), 3))
    report = []
    for trial, kill_step in enumerate(kill_steps):
        workdir, out = tmp_path / f"killed{trial}", tmp_path / f"killed{trial}.npz"
        proc = subprocess.Popen(_job(workdir, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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

        resumed = subprocess.run(_job(workdir, out), env=ENV, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        result = np.load(out)
        assert int(result["step"]) == STEPS
        assert sorted(result.files) == sorted(reference.files)
        for name in reference.files:
            np.testing.assert_array_equal(result[name], reference[name],
                                          err_msg=f"{name} after a kill at step {kill_step}")
    print("kill step, last complete checkpoint, state of the writer:", report)

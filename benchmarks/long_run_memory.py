"""Resident memory over a long training run: does anything grow with the step count?

    python benchmarks/long_run_memory.py            # 20,000 steps (the check: growth < 5%)
    python benchmarks/long_run_memory.py --quick    # 2,000 steps, for tests

The MNIST-1D MLP (40-100-100-10, Adam, batch 100) trains through ``jaxdl.fit`` with everything
a long run does: evaluation every 1,000 steps (history in memory and on disk), checkpoints
every 2,000 steps, the progress bookkeeping. A warm-up run of 2,000 steps compiles everything
(``fit`` caches its compiled step, so the resumed run reuses it); then the same work directory
is resumed for the long run while a thread samples the process's resident set size (psutil)
every 0.2 s. Growth = (RSS at the end - RSS 10% into the run) / RSS 10% into the run.

Why not from before the run: resident memory jumps by 20-35 MiB in the first 1-2 s of every
``fit`` call and stays there (up to ``log_every`` dispatched steps are in flight between host
syncs, each holding its buffers; the allocator keeps what it got). Measured here over 100,000
steps: without checkpoints flat after that jump (519 -> 520 MiB); with a checkpoint every
2,000 steps a slow creep that levels off (531 -> 541 MiB over 50 orbax saves). Writes
OUT/long_run_memory.json and OUT/long_run_memory.png.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

import jax
import optax
import psutil

import jaxdl
from common import output_dir, save_json

WARMUP = 2_000


class RssSampler(threading.Thread):
    """Samples this process's resident set size every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.samples, self._halt = interval, [], threading.Event()
        self._process, self._t0 = psutil.Process(), time.perf_counter()

    def sample(self) -> int:
        rss = self._process.memory_info().rss
        self.samples.append((time.perf_counter() - self._t0, rss))
        return rss

    def run(self):
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.sample()


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--quick", action="store_true", help="2,000 steps")
    p.add_argument("--out", default="runs/benchmarks")
    args = p.parse_args(argv)
    steps = 2_000 if args.quick else args.steps
    out = output_dir(args.out)

    data = jaxdl.data.mnist1d()
    model = jaxdl.MLP(features=(100, 100, 10))
    train_step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy, metrics={"accuracy": jaxdl.accuracy})
    eval_step = jaxdl.make_eval_step(jaxdl.softmax_cross_entropy, metrics={"accuracy": jaxdl.accuracy})

    def run(num_steps, workdir):
        state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(0), input_shape=data.input_shape)
        return jaxdl.fit(state, data, train_step, key=jax.random.key(1), num_steps=num_steps, batch_size=100,
                         eval_step=eval_step, eval_every=1000, workdir=workdir, checkpoint_every=2000,
                         progress=False)

    with tempfile.TemporaryDirectory() as workdir:
        run(WARMUP, workdir)  # compile the step, evaluation and checkpointer; fill the runtime pools
        sampler = RssSampler()
        before = sampler.sample()
        sampler.start()
        t = time.perf_counter()
        result = run(WARMUP + steps, workdir)
        seconds = time.perf_counter() - t
        after = sampler.stop()
        history_records = len(jaxdl.read_history(workdir))

    # The jump at the start of a fit call is not growth with the step count (see above), so
    # the run's start is the sample 10% of the way in; idle sizes are reported as well.
    running = [rss for t_, rss in sampler.samples[1:-1]]
    start = running[max(len(running) // 10, 0)] if running else before
    end = running[-1] if running else after
    peak = max(rss for _, rss in sampler.samples)
    growth = (end - start) / start
    report = {
        "steps": steps,
        "rss_idle_before_mib": before / 2**20,
        "rss_start_mib": start / 2**20,
        "rss_end_mib": end / 2**20,
        "rss_idle_after_mib": after / 2**20,
        "rss_peak_mib": peak / 2**20,
        "growth": growth,
        "idle_growth": (after - before) / before,
        "growth_below_5_percent": bool(growth < 0.05),
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "history_records": history_records,
        "final_eval_accuracy": result.history[-1]["eval_accuracy"],
        "samples": len(sampler.samples),
        "device": jax.devices()[0].device_kind,
    }
    print(f"{steps} steps in {seconds:.1f} s ({steps / seconds:.0f} steps/s); resident memory while "
          f"training {report['rss_start_mib']:.1f} MiB 10% in, {report['rss_end_mib']:.1f} MiB at the end: "
          f"growth {100 * growth:+.2f}% ({'below' if growth < 0.05 else 'NOT below'} 5%); idle "
          f"{report['rss_idle_before_mib']:.1f} MiB before, {report['rss_idle_after_mib']:.1f} MiB after "
          f"({100 * report['idle_growth']:+.2f}%), peak {report['rss_peak_mib']:.1f} MiB")
    save_json(report, out, "long_run_memory.json")
    _plot(sampler.samples, start, os.path.join(out, "long_run_memory.png"), steps)
    return report


def _plot(samples, start, path, steps):
    import matplotlib.pyplot as plt

    from jaxdl.plotting import save_figure

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([t for t, _ in samples], [r / 2**20 for _, r in samples], lw=1)
    ax.axhline(start / 2**20 * 1.05, color="red", ls="--", lw=0.8, label="start + 5%")
    ax.set(xlabel="seconds into the run", ylabel="resident set size (MiB)", title=f"{steps} training steps")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    main()

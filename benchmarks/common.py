"""What every benchmark script shares: its output directory, its JSON file, and timing of train steps."""

from __future__ import annotations

import time

import jax
import numpy as np

from jaxdl.experiment import output_dir, save_json  # noqa: F401  (re-exported for the scripts)


def time_steps(step, state, batch, key, *, steps: int, rounds: int) -> tuple[float, object]:
    """Median seconds per step over ``rounds`` rounds of ``steps`` back-to-back donated steps."""
    state, _ = step(state, batch, key)  # compile
    jax.block_until_ready(state)
    per_step = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(steps):
            state, metrics = step(state, batch, key)
        jax.block_until_ready((state, metrics))
        per_step.append((time.perf_counter() - t) / steps)
    return float(np.median(per_step)), state


def interleaved_rates(runners: dict, *, steps: int, rounds: int) -> dict[str, float]:
    """Median steps/s of each runner, timed in alternating rounds.

    ``runners`` maps a name to ``run(n)``, which does ``n`` steps and returns when they are
    finished (its first call compiles or warms up and is not timed). Round ``r`` times every
    runner once before round ``r + 1`` starts, so a slow spell of a shared machine hits all
    of them, not whichever happened to run then: the ratios between them are what is
    compared.
    """
    for run in runners.values():
        run(1)
    seconds = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            t = time.perf_counter()
            run(steps)
            seconds[name].append((time.perf_counter() - t) / steps)
    return {name: float(1.0 / np.median(s)) for name, s in seconds.items()}

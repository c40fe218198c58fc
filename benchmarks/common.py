"""What every benchmark script shares: its output directory, its JSON file, and timing of train steps."""

from __future__ import annotations

import time

import jax
import numpy as np

from jaxdl.outputs import output_dir, save_json  # noqa: F401  (re-exported for the scripts)


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

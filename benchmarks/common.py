"""What every benchmark script shares: its output directory, its JSON file, and timing of train steps."""

from __future__ import annotations

import json
import os
import time

import jax
import numpy as np


def output_dir(path: str) -> str:
    """Create ``path`` and print it (every script says where its numbers go)."""
    os.makedirs(path, exist_ok=True)
    print(f"output directory: {os.path.abspath(path)}")
    return path


def save_json(result, out: str, name: str) -> str:
    """Write ``result`` to ``out/name`` atomically and print the path."""
    path = os.path.join(out, name)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")
    return path


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

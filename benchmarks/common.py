"""What every benchmark script shares: its output directory, its JSON file, timing in alternating
rounds, and the PyTorch LeNet-5 the CPU comparisons run against."""

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


def interleaved_seconds(runners: dict, *, rounds: int, warm_up: bool = True) -> dict[str, float]:
    """Median seconds of each runner's ``run()`` (until its result is ready), timed in
    alternating rounds as ``interleaved_rates``; ``warm_up=False`` when the caller already ran
    each once (e.g. to compare their results)."""
    if warm_up:
        for run in runners.values():
            jax.block_until_ready(run())
    seconds = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            t = time.perf_counter()
            jax.block_until_ready(run())
            seconds[name].append(time.perf_counter() - t)
    return {name: float(np.median(s)) for name, s in seconds.items()}


def torch_lenet5():
    """PyTorch's LeNet-5 as ``jaxdl.LeNet5()`` computes it (C1 padded by 2, ReLU, max pools;
    NCHW). Needs torch."""
    import torch

    F = torch.nn.functional

    class LeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c3 = torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Conv2d(6, 16, 5)
            self.f5, self.f6, self.out = torch.nn.Linear(400, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(torch.relu(self.c1(x)), 2)
            x = F.max_pool2d(torch.relu(self.c3(x)), 2).flatten(1)
            return self.out(torch.relu(self.f6(torch.relu(self.f5(x)))))

    return LeNet()


def torch_train_runner(model, x, y, *, fused: bool = True, autocast: bool = False):
    """``run(n)``: ``n`` eager PyTorch steps of ``model`` on ``(x, y)``: cross-entropy, backward
    and Adam (1e-3; ``fused``: PyTorch's fused kernel), under ``torch.autocast("cpu",
    bfloat16)`` when ``autocast``. Needs torch."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)

    def run(n):
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    return run

"""Sweep speed: 16 MLPs (40-100-100-10, Adam, 16 learning rates) x 200 steps on MNIST-1D.

    python benchmarks/sweep_speed.py            # full measurement
    python benchmarks/sweep_speed.py --quick    # tiny, for tests

Compares, in one process and on the same batches:
  * jaxdl: the 16 runs as one compiled program (``jaxdl.sweep.Sweep``: jit(vmap(scan))), on one
    device, and with the members sharded over one host device per CPU core (the script sets
    ``--xla_force_host_platform_device_count`` before JAX starts),
  * the sharded sweep compiled with ``jaxdl.cpu.legacy_emitters()`` (XLA:CPU's older loop emitters:
    a shorter compile, a slower run),
  * sequential JAX: the same program for one run, called 16 times,
  * when PyTorch is importable: 16 eager PyTorch runs one after another, and the 16 runs as one
    ``torch.func.vmap`` step compiled with ``torch.compile``.
"cold" includes compilation (a fresh program), "warm" reuses it: the median of ``--warm-rounds``
alternating rounds, each round running every compiled variant (PyTorch's included) once, so a
slow spell of a shared machine hits them all rather than whichever ran then (PyTorch eager,
not a target: the median of 3 runs). Cold times are also measured in fresh processes
(``--cold-runs`` rounds, the variants alternating; the ratios use their medians), because a
later program in one process finds JAX's caches warm and one cold run on a shared machine is
noisy. Prints the ratios and writes OUT/sweep_speed.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    # One host device per core, so that sharded sweep members run in parallel threads.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_force_host_platform_device_count={os.cpu_count() or 1}").strip()

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import jaxdl  # noqa: E402
from common import interleaved_rates, output_dir, save_json  # noqa: E402
from jaxdl.sweep import Sweep, batch_schedule  # noqa: E402

WIDTHS = (40, 100, 100, 10)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _median_time(fn, repeats: int) -> float:
    return float(np.median([_timed(fn)[0] for _ in range(repeats)]))


def make_sweep(batch_size: int, steps: int, devices=None, options=None) -> Sweep:
    """The benchmark's sweep program: the MLP, Adam, one evaluation at the end."""
    return Sweep(jaxdl.MLP(features=WIDTHS[1:]), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=batch_size,
                 eval_every=steps, devices=devices, compiler_options=options)


def jax_timings(data, rates, steps, batch_size) -> tuple[dict, dict]:
    """In-process cold timings, and ``{name: run}`` to time warm (``warm_timings``)."""
    k = len(rates)
    sweep = functools.partial(make_sweep, batch_size, steps)

    def run_all(s):
        return s.run(data, hyperparams={"learning_rate": rates}, seeds=np.arange(k), num_steps=steps)

    # The sharded program goes first: its "cold" is the honest first-in-process time. The
    # later programs' "cold" find JAX's tracing caches warm (fresh processes: cold_timings).
    sharded = sweep(jax.devices())
    sharded_cold, result = _timed(lambda: run_all(sharded))
    legacy = sweep(jax.devices(), jaxdl.cpu.legacy_emitters())
    legacy_cold, _ = _timed(lambda: run_all(legacy))
    together = sweep()
    cold, _ = _timed(lambda: run_all(together))
    one = sweep()
    run_each = lambda: [one.run(data, hyperparams={"learning_rate": rates[i:i + 1]}, seeds=[i], num_steps=steps)  # noqa: E731
                        for i in range(k)]
    seq_cold, _ = _timed(run_each)
    runners = {"jaxdl_sharded": lambda: run_all(sharded), "jaxdl_sharded_legacy": lambda: run_all(legacy),
               "jaxdl": lambda: run_all(together), "sequential_jax": run_each}
    return {"jaxdl_cold": cold, "host_devices": jax.device_count(), "jaxdl_sharded_cold": sharded_cold,
            "jaxdl_sharded_legacy_cold": legacy_cold, "sequential_jax_cold": seq_cold,
            "final_loss": result.train_loss[:, -1].tolist()}, runners


def warm_timings(runners: dict, rounds: int) -> dict:
    """``{name}_warm``: median seconds of one run, in ``rounds`` alternating rounds."""
    rates = interleaved_rates({name: lambda n, run=run: [run() for _ in range(n)] for name, run in runners.items()},
                              steps=1, rounds=rounds)
    return {f"{name}_warm": 1.0 / rate for name, rate in rates.items()}


COLD_VARIANTS = ("jaxdl_sharded", "jaxdl_sharded_legacy", "torch_func_compile")


def cold_probe(variant: str, data, rates, steps, batch_size) -> float | None:
    """The cold time of one variant, measured in this (fresh) process: compile + run, after
    the imports and the data, as the in-process "cold" times."""
    if variant == "torch_func_compile":
        out = torch_timings(data, rates, steps, batch_size, eager=False)
        return None if out is None else out[0]["torch_func_compile_cold"]
    options = jaxdl.cpu.legacy_emitters() if variant == "jaxdl_sharded_legacy" else None
    s = make_sweep(batch_size, steps, jax.devices(), options)
    seconds, _ = _timed(lambda: s.run(data, hyperparams={"learning_rate": rates}, seeds=np.arange(len(rates)),
                                      num_steps=steps))
    return seconds


def cold_timings(args, variants, runs: int) -> dict:
    """Cold times in fresh processes, the variants alternating (so a slow spell of a shared
    machine hits them alike), ``runs`` rounds; medians and every run."""
    times = {v: [] for v in variants}
    for _ in range(runs):
        for v in variants:
            cmd = [sys.executable, os.path.abspath(__file__), "--cold-probe", v, "--steps", str(args.steps),
                   "--models", str(args.models), "--batch-size", str(args.batch_size),
                   "--num-samples", str(args.num_samples)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            value = json.loads(out.strip().splitlines()[-1])["cold"]
            if value is not None:
                times[v].append(value)
    return {f"{v}_cold_fresh": float(np.median(t)) for v, t in times.items() if t} | \
        {f"{v}_cold_fresh_runs": t for v, t in times.items() if t}


def torch_timings(data, rates, steps, batch_size, eager: bool = True) -> tuple[dict, dict] | None:
    """PyTorch's eager time and cold compile, and ``{"torch_func_compile": run}`` to time warm."""
    import tempfile

    # A fresh inductor cache, so that "cold" means compiling, as it does for JAX here (JAX's
    # persistent compilation cache is off by default).
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-")
    try:
        import torch
        from torch.func import functional_call, grad, stack_module_state, vmap
    except ImportError:
        return None
    torch.manual_seed(0)
    k = len(rates)
    x = torch.tensor(data.x_train)
    y = torch.tensor(data.y_train, dtype=torch.long)
    idx, _ = batch_schedule(jax.random.key(0), data.num_train, batch_size, steps)
    idx = torch.tensor(idx, dtype=torch.long)

    def mlp():
        return torch.nn.Sequential(torch.nn.Linear(40, 100), torch.nn.ReLU(), torch.nn.Linear(100, 100),
                                   torch.nn.ReLU(), torch.nn.Linear(100, 10))

    def run_eager():
        for i in range(k):
            model = mlp()
            opt = torch.optim.Adam(model.parameters(), lr=float(rates[i]))
            for s in range(steps):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(x[idx[s]]), y[idx[s]])
                loss.backward()
                opt.step()
        return float(loss.detach())

    models = [mlp() for _ in range(k)]
    base = mlp().to("meta")
    lr = torch.tensor(rates, dtype=torch.float32)

    def loss_one(params, xb, yb):
        return torch.nn.functional.cross_entropy(functional_call(base, params, (xb,)), yb)

    grads_all = vmap(grad(loss_one), in_dims=(0, None, None))

    def step(params, mu, nu, t, xb, yb):  # Adam (Kingma & Ba 2015) on the stacked parameters
        g = grads_all(params, xb, yb)
        out_p, out_m, out_v = {}, {}, {}
        for name in params:
            m = 0.9 * mu[name] + 0.1 * g[name]
            v = 0.999 * nu[name] + 0.001 * g[name] * g[name]
            m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
            scale = lr.view(-1, *([1] * (params[name].dim() - 1)))
            out_p[name] = params[name] - scale * m_hat / (v_hat.sqrt() + 1e-8)
            out_m[name], out_v[name] = m, v
        return out_p, out_m, out_v

    compiled = torch.compile(step)

    def vmapped():
        params, _ = stack_module_state(models)
        params = {n: p.detach() for n, p in params.items()}
        mu = {n: torch.zeros_like(p) for n, p in params.items()}
        nu = {n: torch.zeros_like(p) for n, p in params.items()}
        for s in range(steps):
            # The step count as a tensor: a Python float would be specialised by dynamo and
            # compile the step twice (t == 1, then t dynamic), inflating "cold".
            params, mu, nu = compiled(params, mu, nu, torch.tensor(float(s + 1)), x[idx[s]], y[idx[s]])
        return params

    eager_s = _median_time(run_eager, 3) if eager else None
    cold, _ = _timed(vmapped)
    return ({"torch_version": torch.__version__, "torch_eager": eager_s, "torch_func_compile_cold": cold},
            {"torch_func_compile": vmapped})


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--models", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--num-samples", type=int, default=5000, help="MNIST-1D examples (train + test)")
    p.add_argument("--cold-runs", type=int, default=3, help="rounds of fresh-process cold timings (0: none)")
    p.add_argument("--warm-rounds", type=int, default=7, help="alternating rounds of warm timings")
    p.add_argument("--cold-probe", choices=COLD_VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.models, args.num_samples, args.cold_runs, args.warm_rounds, args.no_torch = 10, 2, 1000, 1, 2, True
    data = jaxdl.data.mnist1d(num_samples=args.num_samples)
    rates = np.logspace(-4, -1, args.models).astype(np.float32)
    if args.cold_probe:  # a child of cold_timings: one number, as JSON on the last line
        print(json.dumps({"cold": cold_probe(args.cold_probe, data, rates, args.steps, args.batch_size)}))
        return {}
    output_dir(args.out)
    jax_result, runners = jax_timings(data, rates, args.steps, args.batch_size)
    result = {"device": jax.devices()[0].device_kind, "models": args.models, "steps": args.steps, **jax_result}
    if not args.no_torch:
        torch_result = torch_timings(data, rates, args.steps, args.batch_size)
        if torch_result is None:
            print("PyTorch is not importable: JAX timings only.")
        else:
            result.update(torch_result[0])
            runners.update(torch_result[1])
    result.update(warm_timings(runners, args.warm_rounds))
    result["warm_rounds"] = args.warm_rounds
    variants = [v for v in COLD_VARIANTS if v.startswith("jaxdl") or "torch_func_compile_cold" in result]
    result.update(cold_timings(args, variants, args.cold_runs))
    print(f"{args.models} MLPs 40-100-100-10 x {args.steps} steps, Adam, batch {args.batch_size}, on {result['device']}")
    for name in ("jaxdl_sharded_warm", "jaxdl_sharded_cold", "jaxdl_sharded_legacy_warm", "jaxdl_sharded_legacy_cold",
                 "jaxdl_warm", "jaxdl_cold", "sequential_jax_warm", "sequential_jax_cold", "torch_eager",
                 "torch_func_compile_warm", "torch_func_compile_cold", *(f"{v}_cold_fresh" for v in COLD_VARIANTS)):
        if result.get(name) is not None:
            print(f"  {name:34s} {result[name]:8.3f} s")
    best_warm = min(result["jaxdl_warm"], result["jaxdl_sharded_warm"], result["jaxdl_sharded_legacy_warm"])
    ratios = {"sequential_jax_warm / jaxdl_warm": result["sequential_jax_warm"] / result["jaxdl_warm"],
              "jaxdl_warm / jaxdl_sharded_warm": result["jaxdl_warm"] / result["jaxdl_sharded_warm"]}
    if "torch_func_compile_warm" in result:
        ratios["torch_eager / best jaxdl warm"] = result["torch_eager"] / best_warm
        # What a user gets without XLA_FLAGS: the sweep on one device (the default Sweep()).
        ratios["torch_func_compile_warm / jaxdl_warm (one device, the default)"] = \
            result["torch_func_compile_warm"] / result["jaxdl_warm"]
        # Cold: fresh-process medians where measured, else the first compilation in this process.
        cold = lambda v: result.get(f"{v}_cold_fresh", result.get(f"{v}_cold"))  # noqa: E731
        for config in ("jaxdl_sharded", "jaxdl_sharded_legacy"):
            ratios[f"torch_func_compile_warm / {config}_warm"] = result["torch_func_compile_warm"] / result[f"{config}_warm"]
            ratios[f"torch_func_compile_cold / {config}_cold"] = cold("torch_func_compile") / cold(config)
    for name, value in ratios.items():
        print(f"  {name:52s} {value:6.2f}x")
    result["ratios"] = ratios
    save_json(result, args.out, "sweep_speed.json")
    return result


if __name__ == "__main__":
    main()

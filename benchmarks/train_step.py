"""Throughput of jaxdl's default train step against a bare one: MLP 784-1000-1000-10, batch 128, Adam.

    python benchmarks/train_step.py            # full measurement
    python benchmarks/train_step.py --quick    # a few iterations, for tests

The bare step is ``jax.jit(value_and_grad + optax update)`` with donated parameters and
optimizer state, written here without jaxdl; jaxdl's is ``jax.jit(jaxdl.make_train_step(...),
donate_argnums=0)`` (the default step: masks and the loss metric), and the same step built
with ``norms=True`` (gradient and parameter norms) a third. All are timed in alternating
rounds in one process, and jaxdl's rates are reported as ratios of the bare step's (the
redesign's budget for the default step: >= 0.95). Mixed precision: jaxdl's step in float32
and with ``precision="bf16"``, against PyTorch's eager step in float32 and under
``torch.autocast(bfloat16)``, alternating rounds. Also reports the step's matmul GFLOP/s as a fraction
of one 2048^3 float32 matmul's in the same process (the machine's practical matmul peak), and
writes the numbers to OUT/train_step.json.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxdl
from common import interleaved_rates, output_dir, save_json, time_steps, torch_train_runner

WIDTHS = (784, 1000, 1000, 10)


def step_matmul_flops(batch: int, widths=WIDTHS) -> int:
    """Matmul FLOPs of one train step of an MLP: forward ``2 B sum(in*out)``; backward the same
    for the weight gradients plus ``2 B in*out`` for every input gradient but the first layer's."""
    pairs = list(zip(widths[:-1], widths[1:]))
    forward = sum(2 * batch * i * o for i, o in pairs)
    input_grads = sum(2 * batch * i * o for i, o in pairs[1:])
    return 2 * forward + input_grads


def time_call(fn, *args, repeats: int, warmup: int = 2) -> float:
    """Median seconds of ``fn(*args)`` (blocking on the result), after ``warmup`` calls."""
    for _ in range(warmup):
        jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def compare_with_bare_step(model, batch, *, steps: int, rounds: int) -> dict[str, float]:
    """Steps/s of jaxdl's default step and of a bare ``jit(value_and_grad + optax update)`` on
    the same model, batch and optimizer, timed in alternating rounds (``interleaved_rates``)."""
    key, tx = jax.random.key(0), optax.adam(1e-3)
    state = jaxdl.create_train_state(model, tx, key=key, input_shape=batch["x"].shape[1:])
    params = jax.tree.map(jnp.copy, state.params)
    opt_state = tx.init(params)

    def bare(params, opt_state, x, y):
        def loss(p):
            return optax.softmax_cross_entropy_with_integer_labels(model.apply({"params": p}, x), y).mean()

        value, grads = jax.value_and_grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    bare_step = jax.jit(bare, donate_argnums=(0, 1))
    steps_of = {"jaxdl": jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy), donate_argnums=0),
                "jaxdl_norms": jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy, norms=True),
                                       donate_argnums=0)}
    carry = {"bare": (params, opt_state), "jaxdl": state,
             "jaxdl_norms": jax.tree.map(jnp.copy, state)}

    def run_bare(n):
        p, o = carry["bare"]
        for _ in range(n):
            p, o, value = bare_step(p, o, batch["x"], batch["y"])
        carry["bare"] = jax.block_until_ready((p, o))

    def runner(name):
        def run(n):
            s = carry[name]
            for _ in range(n):
                s, metrics = steps_of[name](s, batch, key)
            carry[name] = jax.block_until_ready(s)
        return run

    return interleaved_rates({"bare": run_bare, **{name: runner(name) for name in steps_of}},
                             steps=steps, rounds=rounds)


def precision_rates(batch, *, steps: int, rounds: int, torch_too: bool = True) -> dict[str, float]:
    """Steps/s of the MLP step in float32 and in bf16 (``precision="bf16"``: bf16 x bf16 ->
    float32 matmuls), and of PyTorch's eager step in float32 and under
    ``torch.autocast("cpu", bfloat16)`` when PyTorch is importable, in alternating rounds."""
    key, runners = jax.random.key(0), {}
    model = jaxdl.MLP(features=WIDTHS[1:])
    step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy), donate_argnums=0)
    for precision in ("float32", "bf16"):
        carry = {"state": jaxdl.create_train_state(model, optax.adam(1e-3), key=key, input_shape=(WIDTHS[0],),
                                                   precision=precision)}

        def run(n, carry=carry):
            s = carry["state"]
            for _ in range(n):
                s, metrics = step(s, batch, key)
            carry["state"] = jax.block_until_ready(s)

        runners[f"jaxdl_{precision}"] = run
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch_too:
        x = torch.from_numpy(np.array(batch["x"]))
        y = torch.from_numpy(np.array(batch["y"])).long()

        def net():
            layers = [torch.nn.Linear(i, o) for i, o in zip(WIDTHS[:-1], WIDTHS[1:])]
            return torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])

        runners["torch_float32"] = torch_train_runner(net(), x, y)
        runners["torch_autocast_bf16"] = torch_train_runner(net(), x, y, autocast=True)
    return interleaved_rates(runners, steps=steps, rounds=rounds)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=100, help="steps per timing round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 5, 2
    output_dir(args.out)

    key = jax.random.key(0)
    n = 2048
    a = jax.random.normal(key, (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    matmul = jax.jit(jnp.matmul)
    matmul_s = time_call(matmul, a, b, repeats=3 if args.quick else 20)
    matmul_gflops = 2 * n**3 / matmul_s / 1e9

    model = jaxdl.MLP(features=WIDTHS[1:])
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=key, input_shape=(WIDTHS[0],))
    kx, ky = jax.random.split(key)
    batch = {"x": jax.random.normal(kx, (args.batch_size, WIDTHS[0])),
             "y": jax.random.randint(ky, (args.batch_size,), 0, WIDTHS[-1])}
    train_step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy)
    step = jax.jit(train_step, donate_argnums=0)
    xla_flops = jax.jit(train_step).lower(state, batch, key).compile().cost_analysis()
    xla_flops = xla_flops[0] if isinstance(xla_flops, (list, tuple)) else xla_flops
    step_s, state = time_steps(step, state, batch, key, steps=args.steps, rounds=args.rounds)

    # Where the time goes: the same step's gradient alone, and the Adam update alone.
    def loss(params):
        outputs = state.apply_fn({"params": params}, batch["x"])
        return jaxdl.softmax_cross_entropy(outputs, batch["y"]).mean()

    grad = jax.jit(jax.grad(loss))
    grads = grad(state.params)
    repeats = 3 if args.quick else 50
    grad_s = time_call(grad, state.params, repeats=repeats)
    update = jax.jit(lambda s, g: s.apply_gradients(grads=g), donate_argnums=0)
    update_s, state = time_steps(lambda s, b, k: (update(s, grads), {}), state, batch, key,
                                 steps=args.steps, rounds=args.rounds)

    rates = compare_with_bare_step(model, batch, steps=args.steps, rounds=args.rounds)
    precision = precision_rates(batch, steps=args.steps, rounds=args.rounds, torch_too=not args.quick)

    flops = step_matmul_flops(args.batch_size)
    step_gflops = flops / step_s / 1e9
    result = {
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
        "batch_size": args.batch_size,
        "steps_per_second": 1 / step_s,
        "step_ms": 1e3 * step_s,
        "step_matmul_gflop": flops / 1e9,
        "xla_cost_analysis_gflop": float(xla_flops.get("flops", float("nan"))) / 1e9,
        "step_gflops_per_s": step_gflops,
        "matmul_2048_gflops_per_s": matmul_gflops,
        "fraction_of_matmul": step_gflops / matmul_gflops,
        "gradient_only_ms": 1e3 * grad_s,
        "gradient_only_gflops_per_s": flops / grad_s / 1e9,
        "adam_update_only_ms": 1e3 * update_s,
        "bare_steps_per_second": rates["bare"],
        "jaxdl_steps_per_second": rates["jaxdl"],
        "jaxdl_over_bare": rates["jaxdl"] / rates["bare"],
        "jaxdl_norms_steps_per_second": rates["jaxdl_norms"],
        "jaxdl_norms_over_bare": rates["jaxdl_norms"] / rates["bare"],
        "quick": args.quick,
        "precision_steps_per_second": precision,
    }
    print(f"MLP 784-1000-1000-10, batch {args.batch_size}, Adam on {result['device']}:")
    print(f"  {result['steps_per_second']:.1f} steps/s ({result['step_ms']:.2f} ms/step), "
          f"{step_gflops:.1f} GFLOP/s of matmul work ({flops / 1e9:.3f} GFLOP/step)")
    print(f"  alternating rounds: jaxdl {rates['jaxdl']:.1f} steps/s, bare jit(value_and_grad + optax update) "
          f"{rates['bare']:.1f} steps/s: ratio jaxdl / bare {result['jaxdl_over_bare']:.3f}")
    print(f"  with norms=True (gradient and parameter norms): {rates['jaxdl_norms']:.1f} steps/s, "
          f"ratio to bare {result['jaxdl_norms_over_bare']:.3f}")
    print(f"  2048^3 float32 matmul: {matmul_gflops:.1f} GFLOP/s")
    print(f"  ratio train step / matmul: {result['fraction_of_matmul']:.2f}")
    print(f"  breakdown: gradient alone {1e3 * grad_s:.2f} ms ({flops / grad_s / 1e9:.1f} GFLOP/s), "
          f"Adam update alone {1e3 * update_s:.2f} ms")
    print("  precision (alternating rounds): " + ", ".join(f"{n} {r:.1f} steps/s" for n, r in precision.items()))
    if "torch_autocast_bf16" in precision:
        result["jaxdl_bf16_over_torch_autocast"] = precision["jaxdl_bf16"] / precision["torch_autocast_bf16"]
        print(f"  jaxdl bf16 / PyTorch autocast bf16: {result['jaxdl_bf16_over_torch_autocast']:.2f}x")
    save_json(result, args.out, "train_step.json")
    return result


if __name__ == "__main__":
    main()

"""How much the optimizer suite gains from training a grid as one vmapped program.

    python benchmarks/bench_suite.py                 # 4 CPU problems, Adam's 11-rate DeepOBS grid
    python benchmarks/bench_suite.py --quick         # for tests

For each problem: the DeepOBS tuning unit of one optimizer (its learning-rate grid, one seed
each) trained (a) as one ``Sweep`` program of K members and (b) member by member through the
same compiled one-member program, which is what running the grid one run at a time costs.
Both are warm (compiled before timing), timed in alternating rounds, median reported; the
ratio is (b) / (a). The steps are the problem's own unless ``--steps`` caps them. Writes
``OUT/bench_suite.json``. The whole suite's wall time is in ``summary.json`` of
``python -m jaxdl.bench``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools

import jax

from common import interleaved_seconds, output_dir, save_json
from jaxdl import bench


def measure(problem, optimizer, protocol, *, data_dir, rounds: int) -> dict:
    data = problem.data(data_dir, False)
    validation = data.validation_split(0.1, key=jax.random.key(0))
    settings = protocol.candidates(problem, optimizer)
    unit = bench.Unit(problem, optimizer, "tuning", tuple(settings), (0,) * len(settings))
    run = functools.partial(bench.run_unit, unit, validation, protocol,
                            sweep=bench.make_sweep(problem, data, optimizer.factory))
    seconds = interleaved_seconds({"vmapped": lambda: run(one_by_one=False),
                                   "one_by_one": lambda: run(one_by_one=True)}, rounds=rounds)
    row = {"members": len(settings), "num_steps": problem.num_steps, **seconds,
           "speedup": seconds["one_by_one"] / seconds["vmapped"]}
    print(f"{problem.name:16s} {optimizer.name:8s} K={len(settings)} x {problem.num_steps} steps: vmapped "
          f"{seconds['vmapped']:.2f} s, one by one {seconds['one_by_one']:.2f} s -> {row['speedup']:.2f}x", flush=True)
    return row


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--problems", nargs="+", default=["quadratic_deep", "mnist1d_mlp", "mnist1d_cnn", "digits_cnn"])
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--steps", type=int, default=None, help="cap each problem's steps (a multiple of eval_every)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    out = output_dir(args.out)
    protocol = bench.get_protocol("deepobs")
    protocol = protocol.quick() if args.quick else protocol
    rows = {}
    for name in args.problems:
        problem = bench.get_problem(name)
        if args.quick:
            problem = problem.quick()
        elif args.steps:
            problem = dataclasses.replace(problem, num_steps=args.steps, eval_every=args.steps)
        rows[name] = measure(problem, bench.get_optimizer(args.optimizer), protocol, data_dir=args.data_dir,
                             rounds=1 if args.quick else args.rounds)
    result = {"optimizer": args.optimizer, "rounds": args.rounds, "device": jax.devices()[0].device_kind,
              "rows": rows}
    save_json(result, out, "bench_suite.json")
    return result


if __name__ == "__main__":
    main()

"""The benchmark suite's command line: plan, run (or resume), report.

    python -m jaxdl.bench [--problems P ...] [--optimizers O ...] [--protocol deepobs]
                          [--schedule constant] [--seeds 10] [--data-dir DIR] [--out runs/bench]
                          [--quick] [--one-by-one] [--no-progress]

Writes under ``OUT/<protocol>/``: the runs (``runs/``, ``tuning/``), ``leaderboard.md`` and
``.csv``, ``curves_<problem>.png``, ``performance_profile.png`` and ``summary.json``; prints
the leaderboard. Run the same command again after a crash: finished runs are loaded, the rest
run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Sequence

from jaxdl.bench._optimizers import OPTIMIZERS, get_optimizer
from jaxdl.bench._problems import DEFAULT_PROBLEMS, PROBLEMS, get_problem
from jaxdl.bench._report import (leaderboard, leaderboard_markdown, performance_profile, plot_learning_curves,
                                 plot_performance_profile, write_leaderboard)
from jaxdl.bench._suite import PROTOCOLS, get_protocol, run_plan
from jaxdl.experiment import save_json

__all__ = ["main", "parse_args", "report"]

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m jaxdl.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--problems", nargs="+", default=list(DEFAULT_PROBLEMS),
                   help=f"problems (known: {', '.join(PROBLEMS)})")
    p.add_argument("--optimizers", nargs="+", default=list(DEFAULT_OPTIMIZERS),
                   help=f"{', '.join(OPTIMIZERS)}, optax:NAME or pkg.module:factory")
    p.add_argument("--protocol", default="deepobs", choices=list(PROTOCOLS))
    p.add_argument("--schedule", default="constant", choices=["constant", "cosine"])
    p.add_argument("--precision", default="float32", choices=["float32", "bf16"],
                   help="bf16: matmuls and convolutions in bfloat16 with float32 accumulation")
    p.add_argument("--seeds", type=int, default=None, help="seeds of the final runs (default: the protocol's 10)")
    p.add_argument("--data-dir", default=None, help="real MNIST IDX files, or the tfds data directory")
    p.add_argument("--out", default=os.path.join("runs", "bench"))
    p.add_argument("--quick", action="store_true", help="tiny budgets, 2 seeds, 3 settings (for tests)")
    p.add_argument("--one-by-one", action="store_true",
                   help="train each run as its own program (the baseline of the vmapped speed-up)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    args = p.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        p.error(f"--seeds must be >= 1, got {args.seeds}")
    return args


def _resolve(args):
    try:
        problems = [get_problem(name) for name in args.problems]
        optimizers = [get_optimizer(name) for name in args.optimizers]
    except (KeyError, ImportError, ValueError) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from error
    protocol = get_protocol(args.protocol, schedule=args.schedule)
    protocol = protocol.quick() if args.quick else protocol
    if args.seeds is not None:
        protocol = dataclasses.replace(protocol, num_seeds=args.seeds)
    protocol = dataclasses.replace(protocol, precision=args.precision)
    return problems, optimizers, protocol


def report(result: dict) -> dict:
    """Leaderboard, curves, profile and ``summary.json`` for a ``run_plan`` result, in its root."""
    root, finals = result["root"], result["final"]
    rows = leaderboard(finals)
    md, table = write_leaderboard(rows, root)
    curves = [plot_learning_curves(finals, p, os.path.join(root, f"curves_{p}.png"))
              for p in sorted({r["testproblem"] for r in finals})]
    profile = performance_profile(rows)
    figure = plot_performance_profile(profile, os.path.join(root, "performance_profile.png")) if rows else None
    summary = {"leaderboard": rows, "performance_profile": profile, "skipped": result["skipped"],
               "programs_run": result["programs_run"], "seconds": result["seconds"],
               "files": {"leaderboard_md": md, "leaderboard_csv": table, "curves": curves, "profile": figure}}
    save_json(summary, root, "summary.json")
    return summary


def main(argv: Sequence[str] | None = None) -> dict:
    """Run the command line ``argv``; returns the summary (also in ``OUT/<protocol>/summary.json``)."""
    args = parse_args(argv)
    problems, optimizers, protocol = _resolve(args)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    print(f"output directory: {os.path.join(out, protocol.tag)}", flush=True)
    result = run_plan(problems, optimizers, protocol, out, data_dir=args.data_dir, quick=args.quick,
                      one_by_one=args.one_by_one, progress=args.progress)
    for name, why in result["skipped"].items():
        print(f"skipped {name}: {why}")
    summary = report(result)
    print(leaderboard_markdown(summary["leaderboard"]))
    print(f"{result['programs_run']} programs run, the rest loaded; {result['seconds']:.1f} s. "
          f"Wrote {summary['files']['leaderboard_md']}")
    return summary

"""The MNIST-1D benchmark table (Greydanus 2020, Table 1), reproduced with jaxdl.

    python benchmarks/mnist1d_table.py            # 4 models x 5 seeds x 6,000 steps
    python benchmarks/mnist1d_table.py --quick    # for tests

Logistic regression (410 parameters), MLP 40-100-100-10 (15,210), 1D CNN (5,210) and a
bidirectional GRU with hidden size 6 (5,134), each trained with Adam lr 1e-2, batch 100,
6,000 steps, 5 seeds (trained together as one vmapped program). Prints the table next to the
published accuracies and writes OUT/mnist1d_table.json.
"""

from __future__ import annotations

import argparse

import jax
import optax

import jaxdl
from common import output_dir, save_json

PUBLISHED = {"logistic": 32.0, "mlp": 68.0, "cnn": 94.0, "gru": 91.0}  # test accuracy, %
MODELS = {
    "logistic": lambda: jaxdl.LogisticRegression(num_classes=10),
    "mlp": lambda: jaxdl.MLP(features=(100, 100, 10)),
    "cnn": lambda: jaxdl.CNN1D(channels=25, num_classes=10),
    "gru": lambda: jaxdl.BiGRU(hidden=6, num_classes=10),
}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true", help="100 steps, 2 seeds, 1,000 examples")
    args = p.parse_args(argv)
    num_samples = 5000
    if args.quick:
        args.steps, args.seeds, num_samples = 100, 2, 1000
    output_dir(args.out)
    data = jaxdl.data.mnist1d(num_samples=num_samples)
    rows = {}
    for name in args.models:
        run = jaxdl.train_seeds(
            MODELS[name](), optax.adam(args.lr), data, loss=jaxdl.softmax_cross_entropy,
            metrics={"accuracy": jaxdl.accuracy}, seeds=range(args.seeds), num_steps=args.steps,
            batch_size=args.batch_size, eval_every=args.steps, progress=False, description=name,
        )
        rows[name] = {
            "params": run["param_count"],
            "test_accuracy_mean": 100 * run["test_accuracy"],
            "test_accuracy_std": 100 * run["test_accuracy_std"],
            "per_seed": [100 * r["test_accuracy"] for r in run["per_seed"]],
            "published": PUBLISHED[name],
            "difference": 100 * run["test_accuracy"] - PUBLISHED[name],
            "seconds": run["seconds"],
        }
        print(f"  {name}: {rows[name]['test_accuracy_mean']:.1f}% in {run['seconds']:.1f} s", flush=True)
    header = f"{'model':10s} {'params':>7s} {'jaxdl (mean ± std)':>20s} {'published':>10s} {'diff':>7s} {'seconds':>8s}"
    print(f"\nMNIST-1D test accuracy, Adam lr {args.lr:g}, batch {args.batch_size}, {args.steps} steps, "
          f"{args.seeds} seeds, on {jax.devices()[0].device_kind}")
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(f"{name:10s} {r['params']:7d} {r['test_accuracy_mean']:12.1f} ± {r['test_accuracy_std']:4.1f}  "
              f"{r['published']:9.0f}% {r['difference']:+7.1f} {r['seconds']:8.1f}")
    save_json({"config": vars(args), "device": jax.devices()[0].device_kind, "rows": rows}, args.out, "mnist1d_table.json")
    return rows


if __name__ == "__main__":
    main()

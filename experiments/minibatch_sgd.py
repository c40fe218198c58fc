"""Code example 4: mini-batch SGD, the loss per step and per epoch.

    python experiments/minibatch_sgd.py [--quick] [--out DIR]

The MNIST-1D MLP (40-100-100-10) trained with plain SGD for the same number of epochs at
several batch sizes, from full-batch gradient descent down to small mini-batches. Each batch
size runs its seeds as one compiled program (``jaxdl.sweep.Sweep``), which records the loss
of every step; the per-epoch loss is the mean over the epoch's steps. Smaller batches take
more (noisier) steps per epoch and reach a lower loss per epoch. Writes ``minibatch_sgd.png``
and ``minibatch_sgd.json``.
"""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxdl
from jaxdl.outputs import output_dir, save_json, run_script
from jaxdl.plotting import save_figure
from jaxdl.sweep import Sweep


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[4000, 500, 100, 20], help="4000 = the whole training set")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default="runs/minibatch_sgd")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    data = jaxdl.data.mnist1d()
    if args.quick:
        data = jaxdl.data.mnist1d(num_samples=1000)
        args.batch_sizes, args.epochs, args.seeds = [800, 100], 2, 2
    out = output_dir(args.out)
    model = jaxdl.MLP(features=(100, 100, 10))
    fig, (ax_step, ax_epoch) = plt.subplots(1, 2, figsize=(11, 4))
    result = {"epochs": args.epochs, "learning_rate": args.lr, "runs": {}}
    for batch_size in args.batch_sizes:
        steps_per_epoch = -(-data.num_train // batch_size)
        steps = steps_per_epoch * args.epochs
        sweep = Sweep(model, optax.sgd, loss=jaxdl.softmax_cross_entropy, batch_size=batch_size, eval_every=steps,
                      metrics={"accuracy": jaxdl.accuracy})
        run = sweep.run(data, hyperparams={"learning_rate": np.full(args.seeds, args.lr)}, seeds=np.arange(args.seeds),
                        num_steps=steps)
        per_epoch = run.train_loss.reshape(args.seeds, args.epochs, steps_per_epoch).mean(axis=2)
        label = "full batch (GD)" if batch_size >= data.num_train else f"batch {batch_size}"
        mean = run.train_loss.mean(axis=0)
        ax_step.plot(np.arange(1, steps + 1), mean, label=label, lw=0.8)
        ax_epoch.plot(np.arange(1, args.epochs + 1), per_epoch.mean(axis=0), "o-", ms=3, label=label)
        result["runs"][label] = {"batch_size": batch_size, "steps": steps, "loss_per_epoch": per_epoch.mean(axis=0).tolist(),
                                 "final_test_accuracy": float(run.final("eval_accuracy").mean()),
                                 "final_test_accuracy_std": float(run.final("eval_accuracy").std())}
        print(f"{label:16s} {steps:6d} steps: last-epoch train loss {per_epoch[:, -1].mean():.3f}, "
              f"test accuracy {run.final('eval_accuracy').mean():.3f}")
    ax_step.set_xscale("log"), ax_step.set_xlabel("step"), ax_step.set_ylabel("training loss (batch)")
    ax_epoch.set_xlabel("epoch"), ax_epoch.set_ylabel("training loss (mean over the epoch)")
    for ax in (ax_step, ax_epoch):
        ax.legend(fontsize=8)
    fig.suptitle(f"SGD lr {args.lr}, {args.epochs} epochs, mean of {args.seeds} seeds")
    save_figure(fig, f"{out}/minibatch_sgd.png")
    save_json(result, out, "minibatch_sgd.json")
    return result


if __name__ == "__main__":
    run_script(main)

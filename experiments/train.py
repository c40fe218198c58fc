"""Train a model on a dataset with an optimizer, all chosen on the command line.

    python experiments/train.py                       # MNIST-1D MLP baseline, 5 seeds at once
    python experiments/train.py --dataset moons --model shallow --hidden 16 --optimizer sgd --lr 0.5 --seeds 3
    python experiments/train.py --quick               # a few hundred steps, for tests

The defaults reproduce the MNIST-1D MLP baseline of Greydanus (2020): 40 -> 100 -> 100 -> 10
ReLU, Adam lr 1e-2, batch 100, 6,000 steps (published 68% test accuracy). With ``--seeds N``
the N seeds train together as one vmapped program. Writes ``OUT/metrics.json``,
``OUT/curves.png``, ``OUT/history.jsonl`` and checkpoints in ``OUT/checkpoints`` (a rerun with
the same ``--out`` resumes from them).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.outputs import run_script
from jaxdl import data as datasets
from jaxdl.plotting import plot_history

# name -> (key -> Dataset). Generated sets use --data-seed, so every seed sees the same data.
DATASETS = {
    "mnist1d": lambda key: datasets.mnist1d(),
    "digits": lambda key: datasets.digits(key=key),
    "moons": lambda key: datasets.moons(key=key),
    "circles": lambda key: datasets.circles(key=key),
    "xor": lambda key: datasets.xor(key=key),
    "spirals": lambda key: datasets.spirals(key=key),
    "blobs": lambda key: datasets.blobs(key=key),
    "sine_1d": lambda key: datasets.sine_1d(key=key),
    "linear_1d": lambda key: datasets.linear_1d(key=key),
}

# name -> (args, number of outputs) -> linen module
MODELS = {
    "linear": lambda a, out: jaxdl.LinearRegression(num_outputs=out),
    "logistic": lambda a, out: jaxdl.LogisticRegression(num_classes=out),
    "perceptron": lambda a, out: jaxdl.Perceptron(),
    "shallow": lambda a, out: jaxdl.ShallowNet(hidden=a.hidden[0], num_outputs=out, activation=a.activation),
    "mlp": lambda a, out: jaxdl.MLP(features=(*a.hidden, out), activation=a.activation,
                                    dropout_rate=a.dropout, kernel_init=a.init),
    "cnn1d": lambda a, out: jaxdl.CNN1D(num_classes=out),
    "gru": lambda a, out: jaxdl.BiGRU(num_classes=out),
}

# name -> optax optimizer factory taking learning_rate (wrapped in inject_hyperparams below)
OPTIMIZERS = {
    "sgd": optax.sgd,
    "momentum": functools.partial(optax.sgd, momentum=0.9),
    "nesterov": functools.partial(optax.sgd, momentum=0.9, nesterov=True),
    "adagrad": optax.adagrad,
    "rmsprop": optax.rmsprop,
    "adam": optax.adam,
}

# name -> (per-example loss, number of model outputs given the dataset)
LOSSES = {
    "cross_entropy": (jaxdl.softmax_cross_entropy, lambda d: d.num_classes),
    "binary_cross_entropy": (jaxdl.binary_cross_entropy, lambda d: 1),
    "perceptron": (jaxdl.perceptron_loss, lambda d: 1),
    "mse": (jaxdl.mse, lambda d: int(np.prod(d.y_train.shape[1:]))),
    "mae": (jaxdl.mae, lambda d: int(np.prod(d.y_train.shape[1:]))),
    "gaussian_nll": (jaxdl.gaussian_nll, lambda d: 2 * int(np.prod(d.y_train.shape[1:]))),
}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=sorted(DATASETS), default="mnist1d")
    p.add_argument("--model", choices=sorted(MODELS), default="mlp")
    p.add_argument("--hidden", type=int, nargs="+", default=[100, 100], help="hidden widths (mlp), or D (shallow)")
    p.add_argument("--activation", choices=sorted(jaxdl.ACTIVATIONS), default="relu")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout rate after each hidden layer (mlp)")
    p.add_argument("--init", choices=sorted(jaxdl.KERNEL_INITS), default="glorot_uniform", help="kernel init (mlp)")
    p.add_argument("--loss", choices=sorted(LOSSES), default=None,
                   help="default: cross_entropy for classification (perceptron for --model perceptron), mse for regression")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    p.add_argument("--lr", type=float, default=1e-2, help="learning rate")
    p.add_argument("--l2", type=float, default=0.0, help="lambda of lambda * sum(w^2) over kernels")
    p.add_argument("--l1", type=float, default=0.0, help="lambda of lambda * sum(|w|) over kernels")
    p.add_argument("--steps", type=int, default=6000, help="training steps (mini-batches)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seed", type=int, default=0, help="first seed; seeds are seed, seed+1, ...")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds trained at once (vmapped)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of generated datasets and splits")
    p.add_argument("--standardize", action="store_true", help="standardise inputs with training statistics")
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--out", default=None, help="output directory (default runs/DATASET-MODEL-OPTIMIZER)")
    p.add_argument("--quick", action="store_true", help="tiny run for smoke tests: 200 steps, 2 seeds")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.seeds = min(args.steps, 200), min(args.seeds, 2)
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    if args.steps < 1:
        p.error("--steps must be >= 1")
    for name in ("lr", "l1", "l2", "dropout"):
        if not math.isfinite(getattr(args, name)):
            p.error(f"--{name} must be a finite number, got {getattr(args, name)}")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = os.path.abspath(args.out or os.path.join("runs", f"{args.dataset}-{args.model}-{args.optimizer}"))
    os.makedirs(out, exist_ok=True)
    print(f"output directory: {out}", flush=True)

    data = DATASETS[args.dataset](jax.random.key(args.data_seed))
    if args.standardize:
        data = data.standardized()
    loss_name = args.loss or ("perceptron" if args.model == "perceptron" else
                              "cross_entropy" if data.is_classification else "mse")
    loss, num_outputs = LOSSES[loss_name]
    model = MODELS[args.model](args, num_outputs(data))
    tx = optax.inject_hyperparams(OPTIMIZERS[args.optimizer])(learning_rate=args.lr)
    metrics = {"accuracy": jaxdl.accuracy} if data.is_classification else {}
    regularizer = None
    if args.l1 or args.l2:
        regularizer = lambda p: args.l2 * jaxdl.l2_penalty(p) + args.l1 * jaxdl.l1_penalty(p)  # noqa: E731

    seeds = list(range(args.seed, args.seed + args.seeds))
    run = jaxdl.train_seeds(
        model, tx, data, loss=loss, seeds=seeds, num_steps=args.steps, batch_size=args.batch_size,
        metrics=metrics, regularizer=regularizer, workdir=out, checkpoint_every=args.checkpoint_every,
        progress=not args.no_progress, description=f"{args.dataset}/{args.model}/{args.optimizer} x{args.seeds}",
    )
    history, per_seed = run.pop("history"), run["per_seed"]
    del run["state"]
    report = {
        **run,
        "config": dict(vars(args), loss=loss_name, out=out),
        "dataset": repr(data),
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
    }
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(report, f, indent=2)
    title = f"{args.dataset}: {args.model} / {args.optimizer} lr={args.lr:g}, {args.seeds} seeds"
    plot_history(history, os.path.join(out, "curves.png"), title=title)

    for row in per_seed:
        line = f"seed {row['seed']}: test loss {row['test_loss']:.4f}"
        if data.is_classification:
            line += f", test accuracy {100 * row['test_accuracy']:.2f}%"
        print(line)
    if data.is_classification:
        print(f"test accuracy: {100 * run['test_accuracy']:.2f}% +- {100 * run['test_accuracy_std']:.2f}% "
              f"(mean +- std over {args.seeds} seeds)")
    print(f"test loss: {run['test_loss']:.4f} +- {run['test_loss_std']:.4f}; "
          f"training took {report['seconds']:.1f} s for {report['steps']} steps")
    print(f"wrote {os.path.join(out, 'metrics.json')} and {os.path.join(out, 'curves.png')}")
    return report


if __name__ == "__main__":
    run_script(main)

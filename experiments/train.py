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

import functools
import os

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
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


CONFIG = {
    "dataset": Param("mnist1d", "the data set", choices=sorted(DATASETS)),
    "model": Param("mlp", "the model", choices=sorted(MODELS)),
    "hidden": Param([100, 100], "hidden widths (mlp), or D (shallow)", minimum=1),
    "activation": Param("relu", "hidden activation", choices=sorted(jaxdl.ACTIVATIONS)),
    "dropout": Param(0.0, "dropout rate after each hidden layer (mlp)", minimum=0.0),
    "init": Param("glorot_uniform", "kernel initialiser (mlp)", choices=sorted(jaxdl.KERNEL_INITS)),
    "loss": Param(None, "default: cross_entropy for classification (perceptron for --model perceptron), mse for "
                        "regression", choices=sorted(LOSSES)),
    "optimizer": Param("adam", "the optimizer", choices=sorted(OPTIMIZERS)),
    "lr": Param(1e-2, "learning rate", minimum=0.0),
    "l2": Param(0.0, "lambda of lambda * sum(w^2) over kernels", minimum=0.0),
    "l1": Param(0.0, "lambda of lambda * sum(|w|) over kernels", minimum=0.0),
    "steps": Param(6000, "training steps (mini-batches)", minimum=1),
    "batch_size": Param(100, "examples per step", minimum=1),
    "seed": Param(0, "first seed; seeds are seed, seed+1, ...", minimum=0),
    "seeds": Param(5, "number of seeds trained at once (vmapped)", minimum=1),
    "data_seed": Param(0, "seed of generated datasets and splits", minimum=0),
    "standardize": Param(False, "standardise inputs with training statistics"),
    "checkpoint_every": Param(1000, "steps between checkpoints", minimum=1),
    "precision": Param("float32", "bf16: matmuls in bfloat16 with float32 accumulation (parameters, optimizer "
                                  "state and losses stay float32)", choices=list(jaxdl.PRECISIONS)),
}
QUICK = {"steps": 200, "seeds": 2}  # a tiny run for smoke tests


def run(args, out: str) -> dict:
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
    trained = jaxdl.train_seeds(
        model, tx, data, loss=loss, seeds=seeds, num_steps=args.steps, batch_size=args.batch_size,
        metrics=metrics, regularizer=regularizer, workdir=out, checkpoint_every=args.checkpoint_every,
        progress=args.progress, description=f"{args.dataset}/{args.model}/{args.optimizer} x{args.seeds}",
        log_dir=args.log_dir, precision=args.precision,
    )
    history, per_seed = trained.pop("history"), trained["per_seed"]
    del trained["state"]
    report = {
        **trained,
        "config": dict(vars(args), loss=loss_name, out=out),
        "dataset": repr(data),
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
    }
    title = f"{args.dataset}: {args.model} / {args.optimizer} lr={args.lr:g}, {args.seeds} seeds"
    plot_history(history, os.path.join(out, "curves.png"), title=title)

    for row in per_seed:
        line = f"seed {row['seed']}: test loss {row['test_loss']:.4f}"
        if data.is_classification:
            line += f", test accuracy {100 * row['test_accuracy']:.2f}%"
        print(line)
    if data.is_classification:
        print(f"test accuracy: {100 * trained['test_accuracy']:.2f}% +- {100 * trained['test_accuracy_std']:.2f}% "
              f"(mean +- std over {args.seeds} seeds)")
    print(f"test loss: {trained['test_loss']:.4f} +- {trained['test_loss_std']:.4f}; "
          f"training took {report['seconds']:.1f} s for {report['steps']} steps")
    return report


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__, result_file="metrics.json",
         default_out=lambda c: os.path.join("runs", f"{c.dataset}-{c.model}-{c.optimizer}"))

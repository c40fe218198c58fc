"""The optimizer comparisons of the Adam paper (Kingma & Ba 2015, section 6), on offline data.

    python benchmarks/adam_paper.py                          # MNIST-1D and digits
    python benchmarks/adam_paper.py --mnist-dir DIR          # also real MNIST from IDX files
    python benchmarks/adam_paper.py --quick                  # for tests

Three experiments, as in the paper, each optimizer getting its best learning rate from a log
grid (lowest mean training loss over the last tenth of training), batch 128, seed bands:

  logreg: logistic regression with L2 (1e-4 sum w^2) and alpha_t = alpha / sqrt(t):
          Adam vs SGD-Nesterov vs AdaGrad (paper, Fig. 1: Adam ~ SGD-Nesterov, both faster
          than AdaGrad on dense MNIST features).
  mlp:    two hidden layers of 1000 ReLU units with dropout 0.5: AdaGrad, RMSProp,
          SGD-Nesterov, AdaDelta (optax), Adam (paper, Fig. 2: Adam makes the fastest progress).
  cnn:    a small CNN with and without dropout: AdaGrad, SGD-Nesterov, Adam (paper, Fig. 3:
          Adam and SGD-Nesterov converge faster than AdaGrad).

Every (optimizer, learning rate, seed) of one experiment trains in one compiled program
(jaxdl.sweep). Writes OUT/adam_paper.json and one PNG per experiment and dataset.
"""

from __future__ import annotations

import argparse
import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxdl
from common import output_dir
from jaxdl.plotting import plot_bands
from jaxdl.sweep import Sweep, concatenate_results, grid

CE = jaxdl.softmax_cross_entropy


def inverse_sqrt(factory):
    """``factory`` with the paper's decay alpha_t = alpha / sqrt(t + 1) (its Figure 1)."""
    return lambda learning_rate: factory(lambda t: learning_rate / jnp.sqrt(t + 1.0))


OPTIMIZERS = {
    "adam": jaxdl.optim.adam,
    "sgd_nesterov": functools.partial(jaxdl.optim.nesterov, momentum=0.9),
    "adagrad": jaxdl.optim.adagrad,
    "rmsprop": jaxdl.optim.rmsprop,
    "adadelta": optax.adadelta,
}
# (optimizers, learning-rate grid) per experiment
EXPERIMENTS = {
    "logreg": (["adam", "sgd_nesterov", "adagrad"], np.logspace(-3, 1, 9)),  # alpha/sqrt(t) wants large alpha
    "mlp": (["adagrad", "rmsprop", "sgd_nesterov", "adadelta", "adam"], np.logspace(-4, -1, 4)),
    "cnn": (["adagrad", "sgd_nesterov", "adam"], np.logspace(-4, -1, 4)),
}


def smooth(curves: np.ndarray, window: int) -> np.ndarray:
    """Moving average along the last axis (valid part only): ``[..., S] -> [..., S - w + 1]``."""
    kernel = np.ones(window) / window
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), -1, curves)


def compare(name, data, model, optimizers, rates, *, steps, seeds, batch_size, regularizer=None, schedule=None,
            one_by_one=False):
    """Sweep every optimizer over ``rates x seeds``; keep each optimizer's best rate.

    ``one_by_one`` runs the members one after another through the same compiled program
    instead of vmapping them: XLA:CPU turns vmapped convolutions into grouped convolutions,
    which measured ~2x slower per member than separate ones here.
    """
    window = max(1, steps // 20)
    out = {}
    for opt in optimizers:
        factory = OPTIMIZERS[opt] if schedule is None else schedule(OPTIMIZERS[opt])
        hp = grid(learning_rate=rates, seed=range(seeds))
        sweep = Sweep(model, factory, loss=CE, batch_size=batch_size, eval_every=steps,
                      metrics={"accuracy": jaxdl.accuracy}, regularizer=regularizer)
        if one_by_one:
            parts = [sweep.run(data, hyperparams={"learning_rate": [lr]}, seeds=[seed], num_steps=steps)
                     for lr, seed in zip(hp["learning_rate"], hp["seed"])]
            result = concatenate_results(parts)
        else:
            result = sweep.run(data, hyperparams={"learning_rate": hp["learning_rate"]}, seeds=hp["seed"], num_steps=steps)
        curves = smooth(result.train_loss, window).reshape(len(rates), seeds, -1)  # [rates, seeds, S']
        tail = curves[..., -max(1, curves.shape[-1] // 10):].mean(axis=(1, 2))
        tail = np.where(np.isfinite(tail), tail, np.inf)
        best = int(np.argmin(tail))
        best_curves = curves[best]
        accuracy = result.final("eval_accuracy").reshape(len(rates), seeds)[best]
        out[opt] = {
            "learning_rate": float(rates[best]),
            "final_train_loss": float(tail[best]),
            "mean_train_loss": float(best_curves.mean()),  # area under the curve / steps: speed
            "test_accuracy_mean": float(accuracy.mean()),
            "test_accuracy_std": float(accuracy.std()),
            "tail_loss_per_rate": {f"{r:.2g}": float(t) for r, t in zip(rates, tail)},
            "curve_mean": best_curves.mean(axis=0).tolist(),
            "curve_std": best_curves.std(axis=0).tolist(),
            "seconds": result.seconds,
            "_curves": best_curves,  # [seeds, S'], for the figure; not saved
        }
        print(f"  {name:28s} {opt:13s} best lr {rates[best]:.1e}  final train loss {tail[best]:.4f}  "
              f"test acc {100 * accuracy.mean():.1f}%  ({result.seconds:.1f} s)", flush=True)
    return out


def findings(experiment: str, rows: dict) -> dict:
    """Does the paper's qualitative finding hold? Speed = mean smoothed training loss (lower is faster)."""
    speed = {k: v["mean_train_loss"] for k, v in rows.items()}
    if experiment == "logreg":
        held = speed["adam"] < speed["adagrad"] and speed["sgd_nesterov"] < speed["adagrad"] and (
            abs(speed["adam"] / speed["sgd_nesterov"] - 1) < 0.25)
        claim = "Adam converges about as fast as SGD-Nesterov (within 25%), both faster than AdaGrad"
    elif experiment == "mlp":
        held = min(speed, key=speed.get) == "adam"
        claim = "Adam makes the fastest progress of AdaGrad, RMSProp, SGD-Nesterov, AdaDelta, Adam"
    else:
        held = speed["adam"] < speed["adagrad"] and speed["sgd_nesterov"] < speed["adagrad"]
        claim = "Adam and SGD-Nesterov converge faster than AdaGrad"
    return {"claim": claim, "held": bool(held), "ranking_fastest_first": sorted(speed, key=speed.get)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["mnist1d", "digits"], choices=["mnist1d", "digits", "mnist"])
    p.add_argument("--mnist-dir", default=None, help="directory with the MNIST IDX files (adds 'mnist')")
    p.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true", help="20 steps, 1 seed, digits, small models")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.seeds, args.datasets = 20, 1, ["digits"]
    if args.mnist_dir and "mnist" not in args.datasets:
        args.datasets.append("mnist")
    output_dir(args.out)

    def load(name, images: bool):
        if name == "mnist1d":
            return None if images else jaxdl.data.mnist1d()
        if name == "digits":
            return jaxdl.data.digits(key=jax.random.key(0), flatten=not images)
        if args.mnist_dir is None:
            raise SystemExit("--datasets mnist needs --mnist-dir")
        return jaxdl.data.mnist_idx(args.mnist_dir, train_count=8000, flatten=not images)

    report = {"config": vars(args), "device": jax.devices()[0].device_kind, "results": {}}
    path = os.path.join(args.out, "adam_paper.json")
    previous = {}
    if os.path.exists(path) and not args.quick:  # a rerun of some experiments updates those entries only
        with open(path) as f:
            previous = json.load(f).get("results", {})

    def save(report):
        with open(path + ".tmp", "w") as f:
            json.dump({**report, "results": {**previous, **report["results"]}}, f)
        os.replace(path + ".tmp", path)

    for experiment in args.experiments:
        optimizers, rates = EXPERIMENTS[experiment]
        if args.quick:
            rates = rates[::3]
        for dataset in args.datasets:
            data = load(dataset, images=experiment == "cnn")
            if data is None:
                continue  # MNIST-1D has no images for the CNN experiment
            variants = {"": {}}
            if experiment == "logreg":
                variants = {"": dict(model=jaxdl.LogisticRegression(num_classes=10), schedule=inverse_sqrt,
                                     regularizer=lambda p: 1e-4 * jaxdl.l2_penalty(p))}
            elif experiment == "mlp":
                width = 32 if args.quick else 1000
                variants = {"": dict(model=jaxdl.MLP(features=(width, width, 10), dropout_rate=0.5))}
            else:
                channels, hidden = ((4, 8), 16) if args.quick else ((16, 32), 128)
                variants = {f"dropout={d}": dict(model=jaxdl.SmallCNN(channels=channels, hidden=hidden, dropout_rate=d),
                                                 one_by_one=True) for d in (0.0, 0.5)}
            for variant, kwargs in variants.items():
                key = "/".join(filter(None, [experiment, dataset, variant]))
                rows = compare(key, data, kwargs["model"], optimizers, rates, steps=args.steps, seeds=args.seeds,
                               batch_size=args.batch_size, regularizer=kwargs.get("regularizer"),
                               schedule=kwargs.get("schedule"), one_by_one=kwargs.get("one_by_one", False))
                verdict = findings(experiment, rows)
                report["results"][key] = {"optimizers": rows, "finding": verdict, "steps": args.steps,
                                          "seeds": args.seeds, "learning_rates": np.asarray(rates).tolist()}
                print(f"  -> {verdict['claim']}: {'held' if verdict['held'] else 'did NOT hold'} "
                      f"(fastest first: {', '.join(verdict['ranking_fastest_first'])})", flush=True)
                window = max(1, args.steps // 20)
                x = np.arange(window, args.steps + 1)
                series = {f"{o} (lr {r['learning_rate']:.1e})": (x, r.pop("_curves")) for o, r in rows.items()}
                png = os.path.join(args.out, f"adam_paper_{key.replace('/', '_').replace('=', '')}.png")
                plot_bands(series, png, ylabel="training loss (smoothed)", title=f"{key}: best learning rate each, {args.seeds} seeds")
                save(report)  # after every experiment, so a long run that is stopped keeps what it measured
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()

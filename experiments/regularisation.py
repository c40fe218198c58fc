"""Regularisation on MNIST-1D: none, L2, L1 and inverted dropout on the baseline MLP.

    python experiments/regularisation.py [--quick] [--out DIR]

The MNIST-1D MLP (40-100-100-10, Adam 1e-2, batch 100) overfits: near-perfect training
accuracy, ~67% test. Four variants, seeds as one vmapped program each:
  * none;
  * L2: ``+ lambda_2 sum w^2`` (a Gaussian prior on the weights; biases not penalised);
  * L1: ``+ lambda_1 sum |w|`` (a Laplace prior): reports the fraction of weights with
    ``|w| < 1e-3`` and ``< 1e-2``, against the same fractions for the others;
  * inverted dropout (rate p): kept units are scaled by ``1/(1-p)``; the script checks that
    the mean of a hidden layer's output over many dropout masks equals its evaluation-mode
    output (the expectation is unchanged).
Writes ``regularisation.png`` (train vs test accuracy) and ``regularisation.json``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure


def dropout_expectation_ratio(model, params, x, *, num_masks: int) -> float:
    """Mean over ``num_masks`` dropout masks of the first dropout layer's output, divided by
    its evaluation-mode output (summed over the batch and units): 1 when the expectation is kept."""
    def first_dropout(rng):
        _, inter = model.apply({"params": params}, x, train=True, rngs={"dropout": rng}, capture_intermediates=True)
        return inter["intermediates"]["Dropout_0"]["__call__"][0]

    masked = jax.vmap(first_dropout)(jax.random.split(jax.random.key(1), num_masks)).mean(axis=0)
    _, inter = model.apply({"params": params}, x, capture_intermediates=True)
    return float(jnp.sum(masked) / jnp.sum(inter["intermediates"]["Dropout_0"]["__call__"][0]))


CONFIG = {
    "steps": Param(6000, "Adam steps per configuration", minimum=1),
    "seeds": Param(3, "seeds per configuration, trained as one vmapped program", minimum=1),
    "l2": Param(1e-3, "lambda of the L2 penalty lambda * sum(w^2)", minimum=0.0),
    "l1": Param(1e-4, "lambda of the L1 penalty lambda * sum(|w|)", minimum=0.0),
    "dropout": Param(0.3, "dropout rate after each hidden layer", minimum=0.0),
    "num_samples": Param(5000, "MNIST-1D examples (80% for training)", minimum=10),
    "num_masks": Param(2000, "dropout masks averaged for the Monte Carlo estimate", minimum=1),
}
QUICK = {"steps": 200, "seeds": 2, "num_samples": 1000, "num_masks": 64}


def run(config, out: str) -> dict:
    data = jaxdl.data.mnist1d(num_samples=config.num_samples)
    variants = {
        "none": (jaxdl.MLP(features=(100, 100, 10)), None),
        f"L2 ({config.l2:g})": (jaxdl.MLP(features=(100, 100, 10)), lambda p: config.l2 * jaxdl.l2_penalty(p)),
        f"L1 ({config.l1:g})": (jaxdl.MLP(features=(100, 100, 10)), lambda p: config.l1 * jaxdl.l1_penalty(p)),
        f"dropout ({config.dropout:g})": (jaxdl.MLP(features=(100, 100, 10), dropout_rate=config.dropout), None),
    }
    result = {"steps": config.steps, "seeds": config.seeds, "variants": {}}
    for name, (model, regularizer) in variants.items():
        run = jaxdl.train_seeds(model, optax.adam(1e-2), data, loss=jaxdl.softmax_cross_entropy,
                                metrics={"accuracy": jaxdl.accuracy}, regularizer=regularizer,
                                seeds=range(config.seeds), num_steps=config.steps, batch_size=100, progress=False)
        members = [jax.tree.map(lambda a: a[i], run["state"].params) for i in range(config.seeds)]
        row = {k: run[k] for k in ("train_accuracy", "train_accuracy_std", "test_accuracy", "test_accuracy_std")}
        # Adam's steps are ~lr in size, so an L1-penalised weight jitters around zero at that scale
        # rather than sitting at exactly zero: report both thresholds.
        for threshold in (1e-3, 1e-2):
            row[f"fraction_abs_w_below_{threshold:g}"] = float(np.mean([jaxdl.near_zero_fraction(m, threshold=threshold)
                                                                      for m in members]))
        if model.dropout_rate > 0:
            params = jax.tree.map(lambda a: a[0], run["state"].params)
            row["dropout_expectation_ratio"] = dropout_expectation_ratio(model, params, data.x_test[:256],
                                                                         num_masks=config.num_masks)
        result["variants"][name] = row
        print(f"{name:16s} train {row['train_accuracy']:.3f}  test {row['test_accuracy']:.3f} +- {row['test_accuracy_std']:.3f}"
              f"  |w| < 1e-3: {row['fraction_abs_w_below_0.001']:.1%}, < 1e-2: {row['fraction_abs_w_below_0.01']:.1%}"
              + (f"  E[dropout out] / eval out = {row['dropout_expectation_ratio']:.4f}" if "dropout_expectation_ratio" in row else ""))
    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(result["variants"])
    pos = np.arange(len(names))
    for offset, split in ((-0.2, "train"), (0.2, "test")):
        ax.bar(pos + offset, [result["variants"][n][f"{split}_accuracy"] for n in names], 0.4,
               yerr=[result["variants"][n][f"{split}_accuracy_std"] for n in names], label=split)
    ax.set_xticks(pos, names), ax.set_ylabel("accuracy"), ax.set_ylim(0, 1.1), ax.legend(loc="upper right", ncols=2)
    ax.set_title(f"MNIST-1D MLP, {config.steps} steps, {config.seeds} seeds")
    save_figure(fig, f"{out}/regularisation.png")
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

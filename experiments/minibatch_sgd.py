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

import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure
from jaxdl.sweep import Sweep


CONFIG = {
    "batch_sizes": Param([4000, 500, 100, 20], "batch sizes compared (4000 = the whole training set)", minimum=1),
    "epochs": Param(20, "epochs per batch size", minimum=1),
    "lr": Param(0.1, "SGD learning rate", minimum=0.0),
    "seeds": Param(3, "seeds per batch size", minimum=1),
    "num_samples": Param(5000, "MNIST-1D examples (80% for training)", minimum=10),
}
QUICK = {"batch_sizes": [800, 100], "epochs": 2, "seeds": 2, "num_samples": 1000}


def run(config, out: str) -> dict:
    data = jaxdl.data.mnist1d(num_samples=config.num_samples)
    model = jaxdl.MLP(features=(100, 100, 10))
    fig, (ax_step, ax_epoch) = plt.subplots(1, 2, figsize=(11, 4))
    result = {"epochs": config.epochs, "learning_rate": config.lr, "runs": {}}
    for batch_size in config.batch_sizes:
        steps_per_epoch = -(-data.num_train // batch_size)
        steps = steps_per_epoch * config.epochs
        sweep = Sweep(model, optax.sgd, loss=jaxdl.softmax_cross_entropy, batch_size=batch_size, eval_every=steps,
                      metrics={"accuracy": jaxdl.accuracy})
        run = sweep.run(data, hyperparams={"learning_rate": np.full(config.seeds, config.lr)}, seeds=np.arange(config.seeds),
                        num_steps=steps)
        per_epoch = run.train_loss.reshape(config.seeds, config.epochs, steps_per_epoch).mean(axis=2)
        label = "full batch (GD)" if batch_size >= data.num_train else f"batch {batch_size}"
        mean = run.train_loss.mean(axis=0)
        ax_step.plot(np.arange(1, steps + 1), mean, label=label, lw=0.8)
        ax_epoch.plot(np.arange(1, config.epochs + 1), per_epoch.mean(axis=0), "o-", ms=3, label=label)
        result["runs"][label] = {"batch_size": batch_size, "steps": steps, "loss_per_epoch": per_epoch.mean(axis=0).tolist(),
                                 "final_test_accuracy": float(run.final("eval_accuracy").mean()),
                                 "final_test_accuracy_std": float(run.final("eval_accuracy").std())}
        print(f"{label:16s} {steps:6d} steps: last-epoch train loss {per_epoch[:, -1].mean():.3f}, "
              f"test accuracy {run.final('eval_accuracy').mean():.3f}")
    ax_step.set_xscale("log"), ax_step.set_xlabel("step"), ax_step.set_ylabel("training loss (batch)")
    ax_epoch.set_xlabel("epoch"), ax_epoch.set_ylabel("training loss (mean over the epoch)")
    for ax in (ax_step, ax_epoch):
        ax.legend(fontsize=8)
    fig.suptitle(f"SGD lr {config.lr}, {config.epochs} epochs, mean of {config.seeds} seeds")
    save_figure(fig, f"{out}/minibatch_sgd.png")
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

"""Residual networks on MNIST-1D (Prince, *Understanding Deep Learning*, ch. 11): plain and
residual MLPs (with batch norm) of growing depth, trained the same way.

    python experiments/residual_mlp.py [--quick] [--out DIR]

Each network ``40 -> width -> [block]^depth -> 10`` (``jaxdl.ResidualMLP``, two layers and two
batch norms per block) trains with Adam from ``--seeds`` seeds as one vmapped program. The
plain network of the same depth has the same parameters, without the ``x +``. Writes
``residual_mlp.png`` (test accuracy against depth) and ``residual_mlp.json``.
"""

from __future__ import annotations

import os

import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_curves

CONFIG = {
    "depths": Param("1,4,16", "residual blocks, comma-separated"),
    "width": Param(64, "hidden units", minimum=1),
    "steps": Param(3000, "Adam steps", minimum=1),
    "batch_size": Param(100, "examples per step", minimum=1),
    "lr": Param(1e-3, "Adam learning rate", minimum=0.0),
    "seeds": Param(3, "seeds (vmapped)", minimum=1),
}
QUICK = {"depths": "1,2", "width": 8, "steps": 10, "seeds": 2}


def run(config, out: str) -> dict:
    data = jaxdl.data.mnist1d()
    depths = [int(d) for d in str(config.depths).split(",")]
    rows, curves = [], {}
    for skip in (False, True):
        name = "residual" if skip else "plain"
        for depth in depths:
            model = jaxdl.ResidualMLP(width=config.width, depth=depth, num_classes=10, skip=skip, batch_norm=True)
            r = jaxdl.train_seeds(model, optax.adam(config.lr), data, loss=jaxdl.softmax_cross_entropy,
                                  metrics={"accuracy": jaxdl.accuracy}, seeds=list(range(config.seeds)),
                                  num_steps=config.steps, batch_size=config.batch_size, progress=config.progress,
                                  description=f"{name} depth {depth}")
            rows.append({"skip": skip, "depth": depth, "params": r["param_count"], "test_accuracy": r["test_accuracy"],
                         "test_accuracy_std": r["test_accuracy_std"], "train_accuracy": r["train_accuracy"]})
            print(f"{name:8s} depth {depth:3d} ({r['param_count']:7,d} params): test accuracy "
                  f"{r['test_accuracy']:.3f} +- {r['test_accuracy_std']:.3f}, train {r['train_accuracy']:.3f}")
        curves[name] = [row["test_accuracy"] for row in rows if row["skip"] == skip]
    plot_curves(depths, curves, os.path.join(out, "residual_mlp.png"), xlabel="blocks (2 layers each)",
                ylabel="test accuracy", title=f"MNIST-1D, width {config.width}, batch norm")
    return {"rows": rows}


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

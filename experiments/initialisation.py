"""Initialisation: the symmetry failure of a constant start, and signal propagation through
a 20-layer net under Glorot and He initialisation, for tanh and ReLU.

    python experiments/initialisation.py [--quick] [--out DIR]

1. Symmetry: an MLP 40-32-32-10 (tanh) on MNIST-1D started from all-zero weights, and from
   all weights 0.1, then trained with Adam. Every unit of a hidden layer computes the same
   function and gets the same gradient, so they stay identical: ``distinct_units`` counts
   the different columns of each hidden kernel (1 of 32). Zero weights do not even move
   (no gradient reaches them). A Glorot start is the control.
2. Signal propagation at initialisation, through 20 hidden layers of 100 units, on a batch
   of MNIST-1D: the variance of each layer's activations (forward) and of the loss gradient
   with respect to each pre-activation (backward). Glorot (Var = 2/(fan_in+fan_out)) keeps
   tanh nets' signal; ReLU halves it per layer unless He's Var = 2/fan_in compensates.
Writes ``signal_propagation.png`` and ``initialisation.json`` (both parts' numbers).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxdl
from jaxdl.analysis import distinct_units, signal_propagation
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure

STARTS = {"zeros": "zeros", "constant 0.1": nn.initializers.constant(0.1), "glorot_uniform": "glorot_uniform"}


CONFIG = {
    "steps": Param(2000, "Adam steps per initialiser", minimum=1),
    "depth": Param(20, "hidden layers of the deep net", minimum=1),
    "width": Param(100, "units per hidden layer", minimum=1),
    "num_samples": Param(5000, "MNIST-1D examples (80% for training)", minimum=10),
}
QUICK = {"steps": 100, "depth": 6, "width": 32, "num_samples": 1000}


def run(config, out: str) -> dict:
    data = jaxdl.data.mnist1d(num_samples=config.num_samples)

    symmetry = {}
    for name, init in STARTS.items():
        model = jaxdl.MLP(features=(32, 32, 10), activation="tanh", kernel_init=init)
        run = jaxdl.train_seeds(model, optax.adam(1e-2), data, loss=jaxdl.softmax_cross_entropy,
                                metrics={"accuracy": jaxdl.accuracy}, seeds=[0], num_steps=config.steps,
                                batch_size=100, progress=False)
        params = jax.tree.map(lambda a: a[0], run["state"].params)
        symmetry[name] = {"distinct_units": [distinct_units(params[f"dense_{i}"]["kernel"]) for i in range(2)],
                          "max_abs_hidden_weight": float(jnp.abs(params["dense_0"]["kernel"]).max()),
                          "test_accuracy": run["test_accuracy"]}
        print(f"start {name:15s}: distinct units per hidden layer {symmetry[name]['distinct_units']} of 32, "
              f"test accuracy {run['test_accuracy']:.3f}")

    x, y = jnp.asarray(data.x_train[:512]), jnp.asarray(data.y_train[:512])
    stats = {}
    fig, (ax_fwd, ax_bwd) = plt.subplots(1, 2, figsize=(11, 4))
    for activation in ("tanh", "relu"):
        for init in ("glorot_uniform", "he_normal"):
            model = jaxdl.MLP(features=(*[config.width] * config.depth, 10), activation=activation, kernel_init=init)
            params = model.init(jax.random.key(0), x)["params"]
            s = signal_propagation(params, x, y, activation=activation, loss=jaxdl.softmax_cross_entropy)
            label = f"{activation}, {init}"
            stats[label] = {k: v.tolist() for k, v in s.items()}
            ax_fwd.plot(np.arange(1, config.depth + 1), s["activation_var"], "o-", ms=3, label=label)
            ax_bwd.plot(np.arange(1, config.depth + 2), s["preactivation_grad_var"], "o-", ms=3, label=label)
            print(f"{label:22s} activation variance layer 1 {s['activation_var'][0]:.2e} -> layer {config.depth} "
                  f"{s['activation_var'][-1]:.2e}; gradient variance layer 1 {s['preactivation_grad_var'][0]:.2e}, "
                  f"last {s['preactivation_grad_var'][-1]:.2e}")
    for ax, title in ((ax_fwd, "forward: Var[activations]"), (ax_bwd, "backward: Var[dL/dz]")):
        ax.set_yscale("log"), ax.set_xlabel("layer"), ax.set_title(title), ax.legend(fontsize=8)
    save_figure(fig, f"{out}/signal_propagation.png")
    result = {"symmetry": symmetry, "signal": stats, "depth": config.depth, "width": config.width}
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

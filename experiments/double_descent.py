"""Double descent (Belkin et al. 2019; Nakkiran et al. 2020; Prince, *Understanding Deep
Learning*, §8.4, Fig. 8.10): the test error of MNIST-1D MLPs against their width, through the
interpolation threshold, without and with label noise.

    python experiments/double_descent.py [--quick] [--out DIR]

For each width ``w``: an MLP ``40 -> w -> w -> 10`` trained full-batch with Adam long enough
to fit its training set, from ``--seeds`` seeds as one vmapped program (``jaxdl.train_seeds``),
on ``--train`` MNIST-1D examples with 0% and ``--noise`` of the training labels corrupted
(``jaxdl.data.with_label_noise``). Writes ``double_descent.png`` (test and train error against
the parameter count, one curve per noise level) and ``double_descent.json``.
"""

from __future__ import annotations

import os

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_curves

CONFIG = {
    "train": Param(1000, "training examples", minimum=10),
    "widths": Param("2,4,6,8,12,16,24,32,48,64,128,256", "hidden widths, comma-separated"),
    "noise": Param(0.15, "fraction of corrupted training labels in the noisy run", minimum=0.0),
    "steps": Param(4000, "full-batch Adam steps", minimum=1),
    "lr": Param(3e-3, "Adam learning rate", minimum=0.0),
    "seeds": Param(3, "seeds per width (vmapped)", minimum=1),
}
QUICK = {"train": 100, "widths": "4,32", "steps": 20, "seeds": 2}


def run(config, out: str) -> dict:
    base = jaxdl.data.mnist1d(num_samples=config.train + 1000)
    base = jaxdl.Dataset(base.x_train[:config.train], base.y_train[:config.train], base.x_test, base.y_test,
                         base.num_classes, base.name, base.info)
    widths = [int(w) for w in str(config.widths).split(",")]
    results, curves = {}, {}
    for noise in (0.0, config.noise):
        data = jaxdl.data.with_label_noise(base, noise, key=jax.random.key(1)) if noise else base
        rows = []
        for w in widths:
            r = jaxdl.train_seeds(jaxdl.MLP(features=(w, w, 10)), optax.adam(config.lr), data,
                                  loss=jaxdl.softmax_cross_entropy, metrics={"accuracy": jaxdl.accuracy},
                                  seeds=list(range(config.seeds)), num_steps=config.steps, batch_size=data.num_train,
                                  progress=config.progress, description=f"width {w}, noise {noise:.0%}")
            rows.append({"width": w, "params": r["param_count"], "test_error": 1 - r["test_accuracy"],
                         "test_error_std": r["test_accuracy_std"], "train_error": 1 - r["train_accuracy"]})
            print(f"noise {noise:4.0%} width {w:4d} ({r['param_count']:6,d} params): test error "
                  f"{rows[-1]['test_error']:.3f} +- {rows[-1]['test_error_std']:.3f}, train error {rows[-1]['train_error']:.3f}")
        key = f"noise {noise:.0%}"
        results[key] = rows
        curves[f"test, {key}"] = [r["test_error"] for r in rows]
        curves[f"train, {key}"] = [r["train_error"] for r in rows]
    params = [r["params"] for r in results["noise 0%"]]
    plot_curves(np.log10(params), curves, os.path.join(out, "double_descent.png"), xlabel="log10 parameters",
                ylabel="error", title=f"MNIST-1D, {config.train} training examples")
    summary = {}
    for key, rows in results.items():
        errors = [r["test_error"] for r in rows]
        # The second peak: the highest interior local maximum of the test error (None if the curve has none).
        peaks = [i for i in range(1, len(rows) - 1) if errors[i - 1] < errors[i] >= errors[i + 1]]
        peak = rows[max(peaks, key=lambda i: errors[i])] if peaks else None
        fitted = next((r for r in rows if r["train_error"] == 0.0), None)
        summary[key] = {"peak_width": peak and peak["width"], "peak_params": peak and peak["params"],
                        "peak_test_error": peak and peak["test_error"],
                        "first_width_fitting_train": fitted["width"] if fitted else None,
                        "widest_test_error": rows[-1]["test_error"]}
        print(f"{key}: first width that fits the training set {summary[key]['first_width_fitting_train']}; "
              f"test-error peak at width {summary[key]['peak_width']} ({summary[key]['peak_test_error']}), "
              f"widest {rows[-1]['test_error']:.3f}")
    return {"train": config.train, "results": results, "summary": summary}


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

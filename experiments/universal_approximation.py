"""Universal approximation: shallow ReLU nets of width 1 ... 1024 fitting a continuous 1D target.

    python experiments/universal_approximation.py [--quick] [--out DIR]

For each width ``D`` two shallow nets approximate ``f(x) = sin(2 pi x) + 0.5 sin(6 pi x) e^{-x}`` on
[0, 1]: the *constructed* one (``jaxdl.analysis.relu_interpolant``: the piecewise-linear
interpolant at ``D + 1`` equally spaced knots, error ``O(1/D^2)``), which shows what ``D``
units can do, and a *trained* one (full-batch Adam on 512 points), which shows what gradient
descent finds. Errors are measured on 10,000 points (max and root-mean-square). Writes
``universal_approximation.png`` (error against width, fits for a few widths) and
``universal_approximation.json``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import optax

from jaxdl.analysis import evaluate_layers, fit_shallow, regions_along_line, relu_interpolant
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure


def target(x):
    return np.sin(2 * np.pi * x) + 0.5 * np.sin(6 * np.pi * x) * np.exp(-x)


CONFIG = {
    "max_width": Param(1024, "widest shallow net (widths double from 1)", minimum=1),
    "steps": Param(5000, "Adam steps per trained net", minimum=1),
}
QUICK = {"max_width": 8, "steps": 200}


def run(config, out: str) -> dict:
    widths = [2 ** i for i in range(int(np.log2(config.max_width)) + 1)]
    x_train = np.linspace(0, 1, 512, dtype=np.float32)[:, None]
    x_eval = np.linspace(0, 1, 10_000)[:, None]
    f_eval = target(x_eval[:, 0])
    rows, fits = [], {}
    for width in widths:
        knots = np.linspace(0, 1, width + 1)
        built = relu_interpolant(knots, target(knots))
        built_err = evaluate_layers(built, x_eval)[:, 0] - f_eval
        # A decaying step lets the wide nets settle (a constant 1e-2 leaves them oscillating).
        params, predict = fit_shallow(width, x_train, target(x_train), steps=config.steps,
                                      learning_rate=optax.cosine_decay_schedule(1e-2, config.steps))
        trained_err = np.asarray(predict(x_eval.astype(np.float32)), np.float64)[:, 0] - f_eval
        rows.append({"width": width, "constructed_max_error": float(np.abs(built_err).max()),
                     "constructed_rms_error": float(np.sqrt(np.mean(built_err ** 2))),
                     "trained_max_error": float(np.abs(trained_err).max()),
                     "trained_rms_error": float(np.sqrt(np.mean(trained_err ** 2))),
                     "trained_regions_on_[0,1]": regions_along_line(params, [0.0], [1.0]).num_regions})
        fits[width] = f_eval + trained_err
        print(f"width {width:5d}: constructed max error {rows[-1]['constructed_max_error']:.2e}, "
              f"trained max {rows[-1]['trained_max_error']:.2e} rms {rows[-1]['trained_rms_error']:.2e}, "
              f"{rows[-1]['trained_regions_on_[0,1]']} regions")
    fig, (ax_err, ax_fit) = plt.subplots(1, 2, figsize=(11, 4))
    w = np.array(widths)
    for key, style in (("constructed_max_error", "s-"), ("trained_max_error", "o-"), ("trained_rms_error", "o--")):
        ax_err.plot(w, [r[key] for r in rows], style, label=key.replace("_", " "))
    ax_err.plot(w, rows[-1]["constructed_max_error"] * (w / w[-1]) ** -2.0, "k:", label="slope -2 (O(1/D^2))")
    ax_err.set_xscale("log", base=2), ax_err.set_yscale("log")
    ax_err.set_xlabel("hidden units D"), ax_err.set_ylabel("error on [0, 1]"), ax_err.legend(fontsize=8)
    ax_fit.plot(x_eval, f_eval, "k", lw=2, label="target")
    for width in widths[1::max(1, len(widths) // 4)]:
        ax_fit.plot(x_eval, fits[width], lw=1, label=f"trained, D = {width}")
    ax_fit.legend(fontsize=8), ax_fit.set_xlabel("x")
    save_figure(fig, f"{out}/universal_approximation.png")
    result = {"target": "sin(2 pi x) + 0.5 sin(6 pi x) exp(-x) on [0, 1]", "steps": config.steps, "rows": rows}
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

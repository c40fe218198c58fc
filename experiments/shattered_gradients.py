"""Shattered gradients (Balduzzi et al. 2017; Prince, *Understanding Deep Learning*, §11.1.2):
the gradient of a network's output with respect to a 1D input, along a line of inputs, turns
into white noise with depth in a plain network and stays correlated in a residual one.

    python experiments/shattered_gradients.py [--quick] [--out DIR]

Networks ``1 -> width -> [block]^depth -> 1`` (``jaxdl.ResidualMLP``, He initialisation, two
layers per block, with and without the skip connections), at initialisation, for each depth;
``--points`` inputs on ``[-2, 2]`` (Balduzzi et al.'s setting: 256 points), biases drawn
from ``N(0, 0.5^2)`` (zero biases would leave a scalar-input ReLU network one kink, at 0). Reports each
gradient sequence's autocorrelation and its correlation length (the first lag below 1/e),
averaged over ``--seeds`` initialisations. Writes ``gradients.png`` (the normalised gradients
along the line), ``autocorrelation.png`` and ``shattered_gradients.json``.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

import jaxdl
from jaxdl.analysis import autocorrelation, correlation_length, input_gradients
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_curves

CONFIG = {
    "depths": Param("1,8,32", "residual blocks (two layers each), comma-separated"),
    "width": Param(200, "hidden units (Balduzzi et al.: 200)", minimum=1),
    "points": Param(256, "inputs on [-2, 2]", minimum=8),
    "seeds": Param(10, "initialisations averaged", minimum=1),
    "bias_std": Param(0.5, "biases start N(0, std^2): with zero biases a scalar-input ReLU net has one kink", minimum=0.0),
    "max_lag": Param(64, "largest lag of the autocorrelation", minimum=1),
}
QUICK = {"depths": "1,4", "width": 16, "points": 32, "seeds": 2, "max_lag": 8}


def run(config, out: str) -> dict:
    xs = jnp.linspace(-2.0, 2.0, config.points)
    depths = [int(d) for d in str(config.depths).split(",")]
    lags = list(range(config.max_lag + 1))
    rows, auto_curves, grad_curves = [], {}, {}
    for skip in (False, True):
        for depth in depths:
            model = jaxdl.ResidualMLP(width=config.width, depth=depth, num_classes=1, skip=skip, bias_std=config.bias_std)
            curves, lengths = [], []
            for seed in range(config.seeds):
                variables = model.init(jax.random.key(seed), xs[:1, None])
                g = np.asarray(input_gradients(lambda v: model.apply(variables, v)[:, 0], xs))
                r = autocorrelation(g, config.max_lag)
                curves.append(r)
                lengths.append(correlation_length(r))
                if seed == 0:
                    grad_curves[f"{'residual' if skip else 'plain'}, depth {depth}"] = (g / max(np.abs(g).max(), 1e-30)).tolist()
            name = f"{'residual' if skip else 'plain'}, depth {depth}"
            auto_curves[name] = np.mean(curves, axis=0).tolist()
            rows.append({"skip": skip, "depth": depth, "correlation_length_mean": float(np.mean(lengths)),
                         "correlation_length_std": float(np.std(lengths)), "lag1_autocorrelation": float(np.mean(curves, axis=0)[1])})
            print(f"{name:20s}: correlation length {np.mean(lengths):6.1f} +- {np.std(lengths):.1f} lags, "
                  f"r(1) = {rows[-1]['lag1_autocorrelation']:.3f}")
    plot_curves(lags, auto_curves, os.path.join(out, "autocorrelation.png"), xlabel="lag (inputs apart)",
                ylabel="gradient autocorrelation", title=f"mean over {config.seeds} initialisations")
    plot_curves(np.asarray(xs), grad_curves, os.path.join(out, "gradients.png"), xlabel="input x",
                ylabel="d output / dx (normalised)", title="gradients along the input line")
    return {"rows": rows, "points": config.points, "width": config.width}


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

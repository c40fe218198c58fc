"""Code example 1: a shallow network 1 -> 3 -> 1 with ReLU, unit by unit.

    python experiments/shallow_net.py [--out DIR]

The weights are set by hand (those of Prince's notebook 3.1): hidden unit d computes
``h_d = relu(theta_d0 + theta_d1 x)``, the output ``y = phi_0 + sum_d phi_d h_d``. Prints the
input and output shapes and values, counts the linear regions on ``[0, 1]`` exactly, and
draws the lecture's figure: the three pre-activations, the activations, the weighted
activations and their sum, the piecewise-linear output. Writes ``shallow_net.png`` and
``shallow_net.json``. (``--quick`` is accepted; this script is quick anyway.)
"""

from __future__ import annotations

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import jaxdl
from jaxdl.analysis import regions_along_line, shallow_units
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure

THETA = np.array([[0.3, -1.0], [-1.0, 2.0], [-0.5, 0.65]])  # (bias, slope) of each hidden unit
PHI = np.array([-0.3, 2.0, -1.0, 7.0])  # output bias, then one weight per hidden unit


CONFIG: dict[str, Param] = {}  # the weights are the notebook's: nothing to choose
QUICK: dict = {}


def run(config, out: str) -> dict:

    model = jaxdl.ShallowNet(hidden=3)
    params = {"hidden": {"kernel": jnp.asarray(THETA[None, :, 1], jnp.float32), "bias": jnp.asarray(THETA[:, 0], jnp.float32)},
              "output": {"kernel": jnp.asarray(PHI[1:, None], jnp.float32), "bias": jnp.asarray(PHI[:1], jnp.float32)}}
    x = np.linspace(0.0, 1.0, 501, dtype=np.float32)[:, None]
    y = np.asarray(model.apply({"params": params}, x))
    print(f"input shape {x.shape}, output shape {y.shape}; f(0.5) = {float(y[250, 0]):.4f}")
    units = shallow_units(params, x)
    np.testing.assert_allclose(units["output"], y[:, 0], rtol=1e-5, atol=1e-5)  # the figure is the model
    regions = regions_along_line(params, [0.0], [1.0])
    print(f"{regions.num_regions} linear regions on [0, 1] (at most D + 1 = 4); breakpoints at x = "
          + ", ".join(f"{b:.4f}" for b in regions.breakpoints))

    fig, axes = plt.subplots(3, 3, figsize=(9, 7), sharex=True)
    for d in range(3):
        axes[0, d].plot(x, units["pre_activations"][:, d])
        axes[0, d].set_title(f"pre-activation {THETA[d, 0]:+.2f} {THETA[d, 1]:+.2f} x", fontsize=9)
        axes[1, d].plot(x, units["activations"][:, d])
        axes[1, d].set_title(f"h_{d + 1} = relu(...)", fontsize=9)
        axes[2, d].plot(x, units["weighted"][:, d])
        axes[2, d].set_title(f"phi_{d + 1} h_{d + 1}, phi_{d + 1} = {PHI[d + 1]:+.1f}", fontsize=9)
        for ax in axes[:, d]:
            ax.axhline(0, color="grey", lw=0.5)
    save_figure(fig, f"{out}/shallow_net_units.png")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(x, y, label="y = phi_0 + sum phi_d h_d")
    for b in regions.breakpoints:
        ax.axvline(b, color="grey", ls=":", lw=1)
    ax.set_xlabel("x"), ax.set_ylabel("y"), ax.legend(fontsize=8)
    ax.set_title(f"{regions.num_regions} linear regions")
    save_figure(fig, f"{out}/shallow_net.png")
    result = {"input_shape": list(x.shape), "output_shape": list(y.shape), "f(0.5)": float(y[250, 0]),
              "num_regions": regions.num_regions, "breakpoints": regions.breakpoints.tolist(),
              "param_count": jaxdl.param_count(params), "theta": THETA.tolist(), "phi": PHI.tolist()}
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

"""Code example 2: deep networks fold their input, and count more linear regions.

    python experiments/deep_net_regions.py [--quick] [--out DIR]

1. Folding: a first shallow net (3 units) folds [0, 1] onto itself three times; a second
   shallow net is applied to its output. Their composition (one deep net with two hidden
   layers, ``jaxdl.analysis.compose``) repeats the second net's pieces in every fold.
2. Region count against depth at a fixed width, counted exactly along [-3, 3] (breakpoints
   from the weights, not sampling): random He-initialised nets (mean +- std over seeds), the
   hand-built zigzag net (``width ** depth`` regions), and the bounds: the upper bound
   ``(D + 1)^K`` (Montúfar 2017 / Serra et al. 2018) and Montúfar et al.'s (2014) attainable
   ``D^{K-1} (D + 1)``.
3. A 2-input deep net's regions on a grid (each colour one activation pattern).
Writes ``folding.png``, ``regions_vs_depth.png``, ``regions_2d.png`` and ``deep_net_regions.json``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from jaxdl.analysis import (
    compose,
    deep_region_lower_bound,
    deep_region_upper_bound,
    evaluate_layers,
    random_dense_layers,
    regions_along_line,
    regions_on_grid,
    zigzag_layers,
)
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure


CONFIG = {
    "width": Param(4, "units per hidden layer (D)", minimum=1),
    "max_depth": Param(6, "deepest net counted (K)", minimum=1),
    "seeds": Param(20, "random nets per depth", minimum=1),
    "resolution": Param(600, "grid points per axis of the 2-input region map", minimum=2),
}
QUICK = {"max_depth": 3, "seeds": 3, "resolution": 200}


def run(config, out: str) -> dict:

    # 1. Folding.
    first = zigzag_layers(3, 1)
    second = [(np.array([[1.0, 1.0, 1.0]]), np.array([-0.2, -0.5, -0.8])), (np.array([[1.5], [-3.0], [3.0]]), np.array([0.1]))]
    deep = compose(first, second)
    x = np.linspace(0, 1, 1001)[:, None]
    counts = {name: regions_along_line(net, [0.0], [1.0]).num_regions
              for name, net in (("first", first), ("second", second), ("composed", deep))}
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    axes[0].plot(x, evaluate_layers(first, x)), axes[0].set_title(f"first net: x -> y ({counts['first']} regions)")
    axes[1].plot(x, evaluate_layers(second, x)), axes[1].set_title(f"second net: y -> y' ({counts['second']} regions)")
    axes[2].plot(x, evaluate_layers(deep, x)), axes[2].set_title(f"composed: x -> y' ({counts['composed']} regions)")
    save_figure(fig, f"{out}/folding.png")
    print(f"folding: first {counts['first']}, second {counts['second']}, composed {counts['composed']} regions "
          f"(= {counts['first']} x {counts['second']})")

    # 2. Regions against depth.
    d, depths = config.width, np.arange(1, config.max_depth + 1)
    random_counts = np.array([[regions_along_line(random_dense_layers([1, *[d] * k, 1], seed=s), [-3.0], [3.0]).num_regions
                               for s in range(config.seeds)] for k in depths])
    zigzag = [regions_along_line(zigzag_layers(d, k), [0.0], [1.0]).num_regions for k in depths]
    upper = [deep_region_upper_bound([d] * k) for k in depths]
    lower = [deep_region_lower_bound(d, k) for k in depths]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    mean, std = random_counts.mean(axis=1), random_counts.std(axis=1)
    ax.plot(depths, mean, "o-", label=f"random He nets (mean of {config.seeds})")
    ax.fill_between(depths, mean - std, mean + std, alpha=0.25)
    ax.plot(depths, zigzag, "s-", label="zigzag net: D^K")
    ax.plot(depths, upper, "k--", label="upper bound (D+1)^K")
    ax.plot(depths, lower, "k:", label="Montúfar et al.: D^(K-1)(D+1)")
    ax.set_yscale("log"), ax.set_xlabel("depth K (hidden layers)"), ax.set_ylabel("linear regions")
    ax.set_title(f"1 input, width D = {d}"), ax.legend(fontsize=8)
    save_figure(fig, f"{out}/regions_vs_depth.png")
    for k, m, z, u in zip(depths, mean, zigzag, upper):
        print(f"depth {k}: random {m:7.1f}   zigzag {z:6d}   upper bound {u:7d}")

    # 3. Two inputs.
    net2d = random_dense_layers([2, 8, 8, 1], seed=0)
    grid = regions_on_grid(net2d, [-2, -2], [2, 2], resolution=config.resolution)
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    rng = np.random.default_rng(0)
    ax.imshow(rng.permutation(grid.num_regions)[grid.labels], origin="lower", extent=(-2, 2, -2, 2), cmap="tab20")
    ax.set_title(f"2 -> 8 -> 8 -> 1: {grid.num_regions} regions on the grid")
    save_figure(fig, f"{out}/regions_2d.png")

    result = {"folding_regions": counts, "width": d, "depths": depths.tolist(),
              "random_regions_mean": mean.tolist(), "random_regions_std": std.tolist(),
              "random_regions": random_counts.tolist(), "zigzag_regions": zigzag, "upper_bound": upper,
              "montufar_lower_bound": lower, "grid_2d_regions": grid.num_regions,
              "grid_2d_guaranteed_radius": grid.guaranteed_radius}
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

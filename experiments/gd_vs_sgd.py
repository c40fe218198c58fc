"""Gradient descent against SGD on a loss with a poor and a good minimum.

    python experiments/gd_vs_sgd.py [--quick] [--out DIR]

Each of 200 examples has the loss ``g(theta - s_i)``, a tilted double well shifted by
``s_i ~ N(0, 0.4^2)`` (``jaxdl.analysis._sgd_noise``); their mean has a poor minimum on the
right and a better one on the left. Every run starts at ``theta = 1.5``, in the poor basin,
and takes the same number of steps with a cosine-decaying step size. Full-batch gradient
descent only goes downhill and stays in the poor minimum; with small batches the gradient
noise carries a share of the runs over the barrier, and the decaying step lets them settle
in the good minimum. 256 runs per batch size, all in one vmapped program. Writes
``gd_vs_sgd.png`` and ``gd_vs_sgd.json``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from jaxdl.analysis import descend, double_well_offsets, tilted_double_well
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure


CONFIG = {
    "batch_sizes": Param([200, 16, 4, 2, 1], "batch sizes compared (200 = full batch)", minimum=1),
    "steps": Param(3000, "steps per run", minimum=1),
    "lr": Param(0.05, "SGD learning rate", minimum=0.0),
    "runs": Param(256, "runs per batch size (vmapped)", minimum=1),
}
QUICK = {"batch_sizes": [200, 1], "steps": 300, "runs": 16}


def run(config, out: str) -> dict:
    offsets = double_well_offsets(key=jax.random.key(0), num_examples=200, spread=0.4)

    def per_example(theta, s):
        return tilted_double_well(theta - s)

    full_loss = jax.jit(jax.vmap(lambda t: jnp.mean(per_example(t, offsets))))
    grid = jnp.linspace(-2.0, 2.0, 4001)
    values = np.asarray(full_loss(grid))
    left, right = np.argmin(np.where(grid < 0, values, np.inf)), np.argmin(np.where(grid > 0, values, np.inf))
    barrier = int(left + np.argmax(values[left:right + 1]))
    good, poor, ridge = float(grid[left]), float(grid[right]), float(grid[barrier])
    print(f"full loss: good minimum {good:.3f} (L = {values[left]:.3f}), poor minimum {poor:.3f} "
          f"(L = {values[right]:.3f}), barrier at {ridge:.3f} (L = {values[barrier]:.3f})")
    tx = optax.sgd(optax.cosine_decay_schedule(config.lr, config.steps))
    result = {"good_minimum": good, "poor_minimum": poor, "barrier": ridge, "learning_rate": config.lr,
              "steps": config.steps, "runs": config.runs, "by_batch_size": {}}
    fig, (ax_loss, ax_frac) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(grid, values, "k", label="full loss L(theta)")
    for batch_size in config.batch_sizes:
        run = jax.jit(jax.vmap(lambda key, b=batch_size: descend(per_example, 1.5, offsets, tx, key=key, batch_size=b,
                                                                   num_steps=config.steps)[-1]))
        final = np.asarray(run(jax.random.split(jax.random.key(1), config.runs)))
        share = float(np.mean(final < ridge))
        label = "GD (full batch)" if batch_size >= len(offsets) else f"SGD, batch {batch_size}"
        result["by_batch_size"][str(batch_size)] = {"label": label, "fraction_in_good_minimum": share,
                                                    "mean_final_loss": float(np.mean(np.asarray(full_loss(jnp.asarray(final))))),
                                                    "final_theta_quantiles": np.quantile(final, [0, 0.25, 0.5, 0.75, 1]).tolist()}
        print(f"{label:16s}: {share:6.1%} of {config.runs} runs end in the good minimum")
        ax_loss.scatter(final, np.asarray(full_loss(jnp.asarray(final))), s=8, alpha=0.4, label=f"{label}: final theta")
    ax_loss.axvline(1.5, color="grey", ls=":", lw=1)  # the start
    ax_loss.set_ylim(0, 2.0)
    ax_loss.set_xlabel("theta"), ax_loss.set_ylabel("L"), ax_loss.legend(fontsize=7)
    sizes = [int(b) for b in result["by_batch_size"]]
    ax_frac.plot(sizes, [r["fraction_in_good_minimum"] for r in result["by_batch_size"].values()], "o-")
    ax_frac.set_xscale("log", base=2), ax_frac.set_xlabel("batch size (200 = full batch)")
    ax_frac.set_ylabel("share of runs ending in the good minimum"), ax_frac.set_ylim(-0.05, 1.05)
    save_figure(fig, f"{out}/gd_vs_sgd.png")
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

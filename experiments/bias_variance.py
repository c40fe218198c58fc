"""The bias-variance trade-off (Prince, *Understanding Deep Learning*, §8.2, notebook 8.3):
the expected test error of a model fitted to many training sets drawn from one generator,
split into bias^2, variance and noise, against the model's capacity.

    python experiments/bias_variance.py [--quick] [--out DIR]

Generator: ``y = sin(2 pi x) + N(0, noise^2)``, ``x ~ U[0, 1]``, ``--points`` per training set.
Model: a shallow ReLU network whose first layer is fixed (``K`` hinges at equally spaced
joints) and whose output layer is fitted by least squares, so capacity is ``K`` and every fit
is exact; all training sets are fitted in one vmapped program per capacity. Writes
``bias_variance.png`` (the three terms and their sum against ``K``) and ``bias_variance.json``.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

from jaxdl.analysis import bias_variance, hinge_regression
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_curves

CONFIG = {
    "sets": Param(500, "training sets drawn from the generator", minimum=2),
    "points": Param(15, "examples per training set", minimum=2),
    "noise": Param(0.3, "standard deviation of the target noise", minimum=0.0),
    "max_hinges": Param(14, "largest capacity K", minimum=1),
    "seed": Param(0, "random seed", minimum=0),
}
QUICK = {"sets": 20, "max_hinges": 4}


def run(config, out: str) -> dict:
    kx, ke = jax.random.split(jax.random.key(config.seed))
    x = jax.random.uniform(kx, (config.sets, config.points))
    y = jnp.sin(2 * jnp.pi * x) + config.noise * jax.random.normal(ke, x.shape)
    x_test = jnp.linspace(0.0, 1.0, 201)
    truth = jnp.sin(2 * jnp.pi * x_test)
    rows = []
    for k in range(1, config.max_hinges + 1):
        predictions = jax.vmap(lambda a, b, k=k: hinge_regression(a, b, x_test, k))(x, y)
        terms = bias_variance(predictions, truth, config.noise)
        rows.append({"hinges": k, **{name: float(v) for name, v in terms._asdict().items()}})
        print(f"K = {k:2d}: bias^2 {rows[-1]['bias2']:.4f}  variance {rows[-1]['variance']:.4f}  "
              f"noise {rows[-1]['noise']:.4f}  expected test error {rows[-1]['expected_error']:.4f}")
    ks = [r["hinges"] for r in rows]
    plot_curves(ks, {name: [r[name] for r in rows] for name in ("bias2", "variance", "noise", "expected_error")},
                os.path.join(out, "bias_variance.png"), xlabel="capacity K (hidden units)", ylabel="squared error",
                title=f"{config.sets} training sets of {config.points} points", log=True)
    best = min(rows, key=lambda r: r["expected_error"])
    print(f"lowest expected test error at K = {best['hinges']}")
    return {"rows": rows, "best_hinges": best["hinges"]}


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)

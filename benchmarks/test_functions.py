"""Every optimizer of jaxdl.optim on Rosenbrock, Beale and Rastrigin (the "hilly landscape").

    python benchmarks/test_functions.py            # 3,000 steps, 25 learning rates each
    python benchmarks/test_functions.py --quick    # for tests

Each optimizer gets its best learning rate from a log grid (lowest final loss, all rates run
as one vmapped program); its trajectory is drawn over the contours. Writes
OUT/test_functions.json (final distance to the minimiser and loss per optimizer) and one PNG
per function.
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxdl import optim  # noqa: E402
from jaxdl.analysis import TEST_FUNCTIONS, trajectory  # noqa: E402
from common import output_dir, save_json  # noqa: E402

OPTIMIZERS = {
    "sgd": optim.sgd,
    "momentum": optim.momentum,
    "nesterov": optim.nesterov,
    "adagrad": optim.adagrad,
    "rmsprop": optim.rmsprop,
    "adam": optim.adam,
}


def best_trajectory(make, fn, start, steps, rates):
    """Run every rate at once; return the rate whose final loss is lowest and its path."""
    x0 = jnp.asarray(start, jnp.float32)
    paths = jax.jit(jax.vmap(lambda lr: trajectory(make(lr), fn, x0, steps)))(jnp.asarray(rates))
    final = jax.vmap(fn)(paths[:, -1])
    final = jnp.where(jnp.isfinite(final), final, jnp.inf)
    best = int(jnp.argmin(final))
    return float(rates[best]), np.asarray(paths[best]), float(final[best])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--rates", type=int, default=25, help="learning rates on a log grid 1e-5..1")
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.rates = 200, 5
    output_dir(args.out)
    rates = np.logspace(-5, 0, args.rates).astype(np.float32)
    results = {}
    for name, tf in TEST_FUNCTIONS.items():
        xs = np.linspace(tf.box[0], tf.box[1], 200)
        ys = np.linspace(tf.box[2], tf.box[3], 200)
        grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        zs = np.asarray(jax.vmap(tf.fn)(jnp.asarray(grid))).reshape(200, 200)
        fig, ax = plt.subplots(figsize=(6.5, 5.5))
        ax.contour(xs, ys, np.log1p(zs - zs.min()), levels=30, cmap="viridis", linewidths=0.6)
        results[name] = {}
        for opt_name, make in OPTIMIZERS.items():
            lr, path, loss = best_trajectory(make, tf.fn, tf.start, args.steps, rates)
            distance = float(np.linalg.norm(path[-1] - np.asarray(tf.minimum)))
            results[name][opt_name] = {"learning_rate": lr, "final_loss": loss, "distance_to_minimum": distance,
                                       "final_point": path[-1].tolist()}
            ax.plot(path[:, 0], path[:, 1], lw=1.2, label=f"{opt_name} (lr {lr:.1e}): d={distance:.2g}")
            print(f"{name:10s} {opt_name:9s} lr {lr:.2e}  final loss {loss:.3g}  distance to minimum {distance:.3g}")
        ax.plot(*tf.start, "ko", ms=5)
        ax.plot(*tf.minimum, "r*", ms=12)
        ax.set_xlim(tf.box[:2])
        ax.set_ylim(tf.box[2:])
        ax.set_title(f"{name}: {args.steps} steps, best learning rate per optimizer")
        ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        png = os.path.join(args.out, f"test_function_{name}.png")
        fig.savefig(png, dpi=120)
        plt.close(fig)
        print(f"wrote {png}")
    save_json({"steps": args.steps, "learning_rates": rates.tolist(), "results": results}, args.out, "test_functions.json")
    return results


if __name__ == "__main__":
    main()

"""A 51x51 filter-normalised loss surface: jaxdl's one compiled program against a Python loop over grid points.

    python benchmarks/landscape.py            # full measurement
    python benchmarks/landscape.py --quick    # a small grid, for tests

The model is the MNIST-1D MLP (40-100-100-10) trained for ``--train-steps`` Adam steps; the
surface is its mean test loss over ``--eval-examples`` fixed examples at
``theta + a d1 + b d2`` for ``a, b`` on a 51x51 grid over ``[-1, 1]`` (Li et al. 2018), with
filter-normalised directions. Two ways, timed in alternating rounds in one process:

* ``jaxdl``: ``jaxdl.loss_surface``, the whole grid as one XLA program (``lax.map`` over the
  points, ``--chunk-size`` of them at a time under ``vmap``: 1 by default);
* ``loop``: what tomgoldstein/loss-landscape and loss-landscapes do, one point at a time: move
  the parameters on the host, then evaluate the (jit-compiled) data-set loss there and read
  the number back.

Both must give the same surface (checked). Prints points/s of each and their ratio, and
writes OUT/landscape.json.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np
import optax

import jaxdl
from common import interleaved_seconds, output_dir, save_json


def trained_mlp(train_steps: int, num_samples: int):
    data = jaxdl.data.mnist1d(num_samples=num_samples)
    model = jaxdl.MLP(features=(100, 100, 10))
    state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(0), input_shape=data.input_shape)
    if train_steps:
        state = jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=jax.random.key(1),
                          num_steps=train_steps, batch_size=100, progress=False).state
    return model, state.params, data


def loop_surface(loss_fn, params, d1, d2, coords) -> np.ndarray:
    """One grid point at a time, as the anchors do."""
    loss = jax.jit(loss_fn)
    values = []
    for a, b in coords:
        moved = jax.tree.map(lambda p, u, v: p + a * u + b * v, params, d1, d2)
        values.append(float(loss(moved)))
    return np.asarray(values, np.float32)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--grid", type=int, default=51, help="points per axis")
    p.add_argument("--eval-examples", type=int, default=1000)
    p.add_argument("--train-steps", type=int, default=3000)
    p.add_argument("--chunk-size", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.grid, args.eval_examples, args.train_steps, args.rounds = 7, 200, 50, 1
    output_dir(args.out)

    model, params, data = trained_mlp(args.train_steps, num_samples=max(4000, 2 * args.eval_examples))
    n = min(args.eval_examples, data.num_test)
    loss_fn = jaxdl.dataset_loss(model, jaxdl.softmax_cross_entropy, data.x_test[:n], data.y_test[:n])
    d1 = jaxdl.random_direction(jax.random.key(2), params)
    d2 = jaxdl.random_direction(jax.random.key(3), params)
    axis = np.linspace(-1.0, 1.0, args.grid, dtype=np.float32)
    coords = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)

    def run_jaxdl():
        return np.asarray(jaxdl.loss_surface(loss_fn, params, (d1, d2), coords, chunk_size=args.chunk_size))

    def run_loop():
        return loop_surface(loss_fn, params, d1, d2, coords)

    surfaces = {"jaxdl": run_jaxdl(), "loop": run_loop()}  # compile and warm up, untimed
    max_diff = float(np.max(np.abs(surfaces["jaxdl"] - surfaces["loop"])))
    scale = float(np.max(np.abs(surfaces["loop"])))
    if not max_diff <= 1e-4 * max(scale, 1.0):
        raise SystemExit(f"the two surfaces differ: max |difference| {max_diff:g} (losses up to {scale:g})")
    median = interleaved_seconds({"jaxdl": run_jaxdl, "loop": run_loop}, rounds=args.rounds, warm_up=False)
    points = len(coords)
    result = {
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
        "grid": args.grid,
        "points": points,
        "eval_examples": n,
        "param_count": jaxdl.param_count(params),
        "chunk_size": args.chunk_size,
        "jaxdl_seconds": median["jaxdl"],
        "loop_seconds": median["loop"],
        "jaxdl_points_per_second": points / median["jaxdl"],
        "loop_points_per_second": points / median["loop"],
        "speedup": median["loop"] / median["jaxdl"],
        "max_abs_difference": max_diff,
        "surface_min": float(surfaces["jaxdl"].min()),
        "surface_centre": float(surfaces["jaxdl"][points // 2]),
        "quick": args.quick,
    }
    print(f"{args.grid}x{args.grid} filter-normalised surface of the MNIST-1D MLP ({result['param_count']:,} parameters), "
          f"{n} test examples, on {result['device']}:")
    print(f"  jaxdl.loss_surface (one program): {median['jaxdl']:.3f} s, {result['jaxdl_points_per_second']:,.0f} points/s")
    print(f"  Python loop over points:          {median['loop']:.3f} s, {result['loop_points_per_second']:,.0f} points/s")
    print(f"  speed-up: {result['speedup']:.1f}x  (same surface: max |difference| {max_diff:.2e})")
    save_json(result, args.out, "landscape.json")
    return result


if __name__ == "__main__":
    main()

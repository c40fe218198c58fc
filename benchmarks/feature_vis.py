"""Rendering 10 class visualisations (512 steps each): one batched program against one class
after another.

    python benchmarks/feature_vis.py [--data-dir MNIST_IDX_DIR]   # full measurement
    python benchmarks/feature_vis.py --quick                      # tiny sizes, for tests

The network is jaxdl's ``LeNet5()`` (trained for ``--train-steps`` Adam steps on MNIST when
``--data-dir`` is given, else left at its initialisation: the cost does not depend on the
weights). Each visualisation is ``jaxdl.maximize_activation`` with Lucent's recipe (Adam 0.05,
jitter 1, scale 0.9-1.1, rotation +-10 degrees, total variation). Two ways, both compiled
before timing, in alternating rounds (medians):

* ``batched``: the 10 class objectives as the 10 rows of one program;
* ``sequential``: 10 calls with one row each (one compiled program, the class an argument).

Both compute the same images (checked over the first 8 steps). Prints the seconds of each and their ratio, writes
OUT/feature_vis.json.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxdl
from jaxdl.analysis import class_score
from common import interleaved_seconds, output_dir, save_json


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--train-steps", type=int, default=500)
    p.add_argument("--steps", type=int, default=512)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.train_steps = 4, 1, 0
    output_dir(args.out)
    model = jaxdl.LeNet5()
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=jax.random.key(0), input_shape=(28, 28, 1))
    if args.data_dir and args.train_steps:
        data = jaxdl.data.mnist_idx(args.data_dir, train_count=8000)
        state = jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=jax.random.key(1),
                          num_steps=args.train_steps, batch_size=128, progress=False).state
    logits_fn = lambda v: model.apply({"params": state.params}, v)
    x0 = 0.5 + 0.01 * jax.random.normal(jax.random.key(2), (10, 28, 28, 1))
    kw = dict(steps=args.steps, learning_rate=0.05, tv=1e-3, jitter=1, scale=(0.9, 1.1), rotate=10.0,
              key=jax.random.key(3))
    all_classes = class_score(logits_fn, jnp.arange(10))
    # One row at a time, the class as data: one compiled program serves all ten.
    one_row = jax.jit(lambda x, c: jaxdl.maximize_activation(class_score(logits_fn, c[None]), x, **kw))

    def run_batched():
        return jaxdl.maximize_activation(all_classes, x0, **kw)

    def run_sequential():
        return jnp.concatenate([one_row(x0[c:c + 1], jnp.asarray(c)) for c in range(10)])

    # The same computation, checked over the first 8 steps (over hundreds of steps the rounding
    # of batch-size-dependent convolution kernels grows, through clipping, into other images).
    check_kw = dict(kw, steps=min(8, args.steps))
    first = jaxdl.maximize_activation(all_classes, x0, **check_kw)
    alone = jnp.concatenate([jaxdl.maximize_activation(class_score(logits_fn, jnp.array([c])), x0[c:c + 1], **check_kw)
                             for c in range(10)])
    max_diff = float(np.max(np.abs(np.asarray(first) - np.asarray(alone))))
    if max_diff > 1e-4:
        raise SystemExit(f"batched and sequential images differ: max |difference| {max_diff:g}")
    runners = {"batched": run_batched, "sequential": run_sequential}
    images = {name: np.asarray(run()) for name, run in runners.items()}  # compile, untimed
    probs = {name: np.asarray(jax.nn.softmax(logits_fn(v)))[np.arange(10), np.arange(10)] for name, v in images.items()}
    median = interleaved_seconds(runners, rounds=args.rounds, warm_up=False)
    result = {"device": jax.devices()[0].device_kind, "jax_version": jax.__version__, "steps": args.steps,
              "batched_seconds": median["batched"], "sequential_seconds": median["sequential"],
              "speedup": median["sequential"] / median["batched"], "max_abs_difference": max_diff,
              "softmax_of_own_class": {k: v.tolist() for k, v in probs.items()},
              "trained": bool(args.data_dir and args.train_steps), "quick": args.quick}
    print(f"10 class visualisations of LeNet-5, {args.steps} steps each, on {result['device']}:")
    print(f"  one batched program: {median['batched']:.2f} s")
    print(f"  one after another:   {median['sequential']:.2f} s")
    print(f"  speed-up: {result['speedup']:.2f}x  (same images over 8 steps: max |difference| {max_diff:.1e}; "
          f"mean softmax of the own class {probs['batched'].mean():.3f} batched, {probs['sequential'].mean():.3f} one by one)")
    save_json(result, args.out, "feature_vis.json")
    return result


if __name__ == "__main__":
    main()

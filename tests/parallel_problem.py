"""The training problem both data-parallel jobs (data_parallel_job.py, multihost_job.py) solve,
so "equals one device on the full batch" means the same thing in both."""

import jax
import numpy as np
import optax

import jaxdl

STEPS, BATCH = 20, 64


def problem() -> dict:
    """Spirals, MLP 2-32-32-2 with an L2 penalty (must be added exactly once), and 20 fixed
    batches of 64 whose last 5 examples are masked out (a padded last batch: the loss must be
    normalised by the *global* count of real examples). Plain momentum SGD, not Adam: Adam's
    update is invariant to the gradient's scale and would hide a gradient counted
    num_devices times."""
    data = jaxdl.data.spirals(key=jax.random.key(3), num_train=200, num_test=40)
    order = np.asarray(jax.random.permutation(jax.random.key(2), 200))
    mask = (np.arange(BATCH) < BATCH - 5).astype(np.float32)
    batches = []
    for s in range(STEPS):
        idx = np.resize(order, 200 * 7)[s * BATCH:(s + 1) * BATCH]
        batches.append({"x": data.x_train[idx], "y": data.y_train[idx], "mask": mask})
    return {
        "data": data,
        "model": jaxdl.MLP(features=(32, 32, 2)),
        "tx": optax.sgd(0.1, momentum=0.9),
        "regularizer": lambda p: 1e-3 * jaxdl.l2_penalty(p),
        "rng": jax.random.key(1),
        "batches": batches,
    }


def max_diff(a, b) -> float:
    """Largest absolute difference between two pytrees of arrays, as a float64."""
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))

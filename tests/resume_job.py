"""A small training run for the resume tests:
`python resume_job.py WORKDIR NUM_STEPS OUT.npz [CHECKPOINT_EVERY]`.

Each invocation is a fresh process; fit resumes from WORKDIR's latest checkpoint.
"""

import sys

import jax
import numpy as np
import optax

import jaxdl


def main(workdir: str, num_steps: int, out: str, checkpoint_every: int = 7) -> None:
    data = jaxdl.data.spirals(key=jax.random.key(3), num_train=90, num_test=30)
    model = jaxdl.MLP(features=(16, 16, 2), dropout_rate=0.3)  # dropout: the rng stream must resume too
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
    state = jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape)
    step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy)
    result = jaxdl.fit(state, data, step, key=jax.random.key(1), num_steps=num_steps, batch_size=20,
                       eval_step=jaxdl.make_eval_step(jaxdl.softmax_cross_entropy), workdir=workdir,
                       checkpoint_every=checkpoint_every, progress=False)
    leaves = jax.tree_util.tree_leaves_with_path(jax.device_get(result.state.params))
    arrays = {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}
    arrays["step"] = np.asarray(result.state.step)
    np.savez(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:5]))

"""One of two processes of a multi-host run on 127.0.0.1, launched by test_parallel.py:
`python multihost_job.py PROCESS_ID NUM_PROCESSES PORT OUT.json`.

Every process runs this same script (as on a GPU cluster or a TPU pod; there,
``jax.distributed.initialize()`` finds its arguments in the environment). Each process owns
one CPU device and feeds its own half of every global batch (parallel_problem.py: the same
problem as the 8-device job, masked examples included); the 20-step result must equal
one process training on the full batches. CPU collectives go through gloo.
"""

import os
import sys

os.environ["JAX_PLATFORMS"] = "cpu"

import importlib.util  # noqa: E402
import json  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402


def main(process_id: int, num_processes: int, port: int, out: str) -> None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=num_processes,
                               process_id=process_id, initialization_timeout=120)
    import jaxdl  # after initialize, so nothing touches the backend before it
    from parallel_problem import BATCH, STEPS, max_diff, problem

    p = problem()
    data, model, tx, rng, batches = (p[k] for k in ("data", "model", "tx", "rng", "batches"))
    state0 = jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape)
    train_step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=p["regularizer"])

    # Reference: this process alone, its own device, the full batches.
    single = jax.jit(train_step)
    ref = jax.device_put(state0, jax.local_devices()[0])
    for b in batches:
        ref, _ = single(ref, b, rng)
    ref_params = jax.device_get(ref.params)

    # The global run: a mesh over both processes' devices, each process giving its half.
    mesh = jaxdl.data_mesh()
    step = jax.jit(train_step, out_shardings=jaxdl.replicated(mesh))
    state = jaxdl.replicate(state0, mesh)
    per_process = BATCH // jax.process_count()
    mine = slice(process_id * per_process, (process_id + 1) * per_process)
    for b in batches:
        local = jax.tree.map(lambda a: a[mine], b)
        state, metrics = step(state, jaxdl.shard_batch(local, mesh), rng)
    params = jax.device_get(state.params)  # replicated: every process can read it
    diff = max_diff(params, ref_params)

    # fit itself, on the global mesh (every process passes the same data and key).
    # Each process is given its own log folder, so the test can tell who wrote: only process 0 may.
    # (Without tensorboardX, the dev extra, nothing is logged and the test checks nothing of it.)
    has_board = importlib.util.find_spec("tensorboardX") is not None
    log_dir = os.path.join(os.path.dirname(out), f"tb_{process_id}") if has_board else None
    fitted = jaxdl.fit(jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape),
                       data, train_step, key=rng, num_steps=STEPS, batch_size=BATCH, progress=False,
                       eval_step=jaxdl.make_eval_step(jaxdl.softmax_cross_entropy, metrics={"accuracy": jaxdl.accuracy}),
                       log_dir=log_dir, hparams={"process": process_id})
    from jaxdl.plotting import plot_history, write_figures

    figure = plot_history(fitted.history, os.path.join(os.path.dirname(out), f"curves_{process_id}.png"))
    figure_tags = write_figures(os.path.join(log_dir, "figures"), [figure]) if has_board else []
    fit_local = jaxdl.fit(jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape),
                          data, train_step, key=rng, num_steps=STEPS, batch_size=BATCH, progress=False,
                          devices=jax.local_devices()[:1])
    fit_diff = max_diff(jax.device_get(fitted.state.params), jax.device_get(fit_local.state.params))
    result = {
        "process_id": process_id,
        "process_count": jax.process_count(),
        "device_count": jax.device_count(),
        "local_device_count": jax.local_device_count(),
        "step_diff": diff,
        "fit_diff": fit_diff,
        "fit_eval_accuracy": fitted.history[-1]["eval_accuracy"],
        "fit_history": [{n: float(r[n]) for n in ("step", "eval_accuracy")} for r in fitted.history],
        "figure_tags": figure_tags,
        "final_train_loss": float(np.asarray(metrics["train_loss"])),
    }
    with open(out, "w") as f:
        json.dump(result, f)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])

"""Data-parallel checks on 8 fake CPU devices, run in a subprocess by test_parallel.py:
`python data_parallel_job.py OUT.json WORKDIR`.

(The device count is fixed when jax starts, hence a separate process.) Every path trains the
same MLP for 20 steps on the same batches; the reference is one device on the full batch.
Writes {name: max |param difference| vs the reference} and the checkpoint checks as JSON.
"""

import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
os.environ["JAX_PLATFORMS"] = "cpu"

import json  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

import jaxdl  # noqa: E402

from parallel_problem import BATCH, STEPS, max_diff, problem  # noqa: E402


def main(out: str, workdir: str) -> None:
    p = problem()
    data, model, tx, regularizer, rng, batches = (p[k] for k in ("data", "model", "tx", "regularizer", "rng", "batches"))
    state0 = jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape)

    single = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=regularizer))
    ref = state0
    for b in batches:
        ref, _ = single(ref, b, rng)
    results = {"devices": jax.device_count(), "diffs": {}}
    step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=regularizer, axis_name="data")

    for n in (1, 2, 8):
        devices = jax.devices()[:n]
        mesh = jaxdl.data_mesh(devices)

        # 1. jit over a Mesh: the batch sharded, the state replicated, no collectives in user code.
        jit_step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=regularizer),
                           out_shardings=jaxdl.replicated(mesh))
        s = jaxdl.replicate(state0, mesh)
        for b in batches:
            s, _ = jit_step(s, jaxdl.shard_batch(b, mesh), rng)
        results["diffs"][f"jit_mesh/{n}"] = max_diff(s.params, ref.params)
        if n > 1:
            hlo = jit_step.lower(s, jaxdl.shard_batch(batches[0], mesh), rng).compile().as_text()
            results[f"jit_mesh_all_reduce/{n}"] = "all-reduce" in hlo

        # 2. shard_map, with and without its varying-manual-axes check.
        for check in (True, False):
            f = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P()),
                                      out_specs=(P(), P()), check_vma=check))
            s = state0
            for b in batches:
                s, _ = f(s, b, rng)
            results["diffs"][f"shard_map_check_vma_{check}/{n}"] = max_diff(s.params, ref.params)

        # 3. pmap: a leading device axis on the state and the batch.
        f = jax.pmap(step, axis_name="data", in_axes=(0, 0, None), devices=devices)
        s = jax.tree.map(lambda a: jnp.stack([a] * n), state0)
        for b in batches:
            s, _ = f(s, jax.tree.map(lambda a: a.reshape(n, BATCH // n, *a.shape[1:]), b), rng)
        results["diffs"][f"pmap/{n}"] = max_diff(jax.tree.map(lambda a: a[0], s.params), ref.params)

        # 4. fit: data parallel by default over the devices it is given (vs fit on one device).
        def run_fit(devs, workdir=None, num_steps=STEPS):
            st = jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape)
            return jaxdl.fit(st, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=regularizer),
                             key=rng, num_steps=num_steps, batch_size=BATCH, progress=False, devices=devs,
                             workdir=workdir, checkpoint_every=5)

        if n == 1:
            fit_ref = run_fit(devices).state
        else:
            results["diffs"][f"fit/{n}"] = max_diff(run_fit(devices).state.params, fit_ref.params)

    # fit with no devices argument uses all 8, replicated.
    default = jaxdl.fit(jaxdl.create_train_state(model, tx, key=jax.random.key(0), input_shape=data.input_shape),
                        data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=regularizer),
                        key=rng, num_steps=STEPS, batch_size=BATCH, progress=False)
    results["diffs"]["fit/default"] = max_diff(default.state.params, fit_ref.params)
    results["fit_default_devices"] = len(jax.tree.leaves(default.state.params)[0].sharding.device_set)

    # A stack of 3 runs (vmapped) on 8 devices: each run's batch split over the devices.
    def run_stacked(devs):
        keys = jax.random.split(jax.random.key(0), 3)
        st = jax.vmap(lambda k: jaxdl.create_train_state(model, tx, key=k, input_shape=data.input_shape))(keys)
        return jaxdl.fit(st, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=regularizer),
                         key=jax.random.split(rng, 3), num_steps=STEPS, batch_size=BATCH, progress=False,
                         devices=devs, stacked=True).state
    results["diffs"]["fit_stacked/8"] = max_diff(run_stacked(jax.devices()).params, run_stacked(jax.devices()[:1]).params)

    # Checkpoints of a run on 8 devices: stop at step 10, resume to 20, compare with one run.
    run_fit(jax.devices(), os.path.join(workdir, "fit8"), num_steps=10)
    resumed = run_fit(jax.devices(), os.path.join(workdir, "fit8"))
    uninterrupted = run_fit(jax.devices())
    results["resume_8_devices_equal"] = bool(max_diff(resumed.state, uninterrupted.state) == 0.0)
    results["resume_8_devices_sharding"] = str(jax.tree.leaves(resumed.state.params)[0].sharding.spec)

    # A genuinely sharded state (each kernel split over 8 devices) saved and restored into
    # the same sharding: every shard comes back to the device that held it.
    mesh = jaxdl.data_mesh()
    sharded = NamedSharding(mesh, P(None, "data"))
    params = {"kernel": jax.device_put(jnp.arange(4 * 16, dtype=jnp.float32).reshape(4, 16), sharded),
              "bias": jaxdl.replicate(jnp.ones(16), mesh)}
    ckpt = jaxdl.Checkpointer(os.path.join(workdir, "sharded"))
    ckpt.save(1, params, {"note": "sharded"})
    target = {"kernel": jax.device_put(jnp.zeros((4, 16)), sharded), "bias": jaxdl.replicate(jnp.zeros(16), mesh)}
    restored, meta = ckpt.restore(target)
    ckpt.close()
    results["sharded_restore_equal"] = bool(max_diff(restored, params) == 0.0)
    results["sharded_restore_spec"] = str(restored["kernel"].sharding.spec)
    results["sharded_restore_shard_shapes"] = sorted({tuple(s.data.shape) for s in restored["kernel"].addressable_shards})
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

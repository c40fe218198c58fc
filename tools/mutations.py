"""The defects that issue 35 found the suite blind to, as mutations that must fail a named test.

    python tools/mutations.py            # every mutation: KILLED (good) or SURVIVED, a line each
    python tools/mutations.py --list     # the table only

Each mutation is one or more exact text replacements in the working tree. For each, the tree
(the files git tracks, plus untracked ones it does not ignore) is copied to a temporary
directory, the mutation applied there, and each named test run on its own in that copy; a
mutation is killed when every named test fails. A control run first checks that every named
test passes on the unmutated copy, so a failure means the mutation, not a broken test. Exit
status 1 if any mutation survives. The broader, automatic check is ``tools/mutmut.sh``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Mutation(NamedTuple):
    name: str
    edits: tuple[tuple[str, str, str], ...]  # (path, old text, new text)
    tests: tuple[str, ...]  # pytest node ids, each of which must fail


MUTATIONS = (
    Mutation("every micro-batch draws dropout with the same key",
             (("jaxdl/_step.py", "gradients(state, part, jax.random.fold_in(rng, i), count)",
               "gradients(state, part, rng, count)"),),
             ("tests/test_step.py::test_microbatches_draw_dropout_per_micro_batch",)),
    Mutation("the penalty enters the gradient as data loss - 10 * penalty",
             (("jaxdl/_step.py", "jax.tree.map(jnp.add, grads, penalty_grads)",
               "jax.tree.map(lambda g, r: g - 10 * r, grads, penalty_grads)"),),
             ("tests/test_step.py::test_penalized_step_follows_the_gradient_of_the_penalised_objective",)),
    Mutation("the all-reduced gradient is multiplied by the device count",
             (("jaxdl/_step.py", "return Gradients(jax.lax.psum(grads, axis_name),",
               "return Gradients(jax.tree.map(lambda g: g * jax.lax.psum(1, axis_name), "
               "jax.lax.psum(grads, axis_name)),"),),
             ("tests/test_step.py::test_named_axis_equals_full_batch[False]",
              "tests/test_step.py::test_named_axis_equals_full_batch[True]",
              "tests/test_step.py::test_microbatches_compose_with_a_named_axis",
              "tests/test_step.py::test_pmap_on_two_cpu_devices_equals_full_batch")),
    Mutation("shard_map with check_vma: replicated parameters are not cast to device-varying (gradients summed twice)",
             (("jaxdl/_step.py", "    if axis_name not in _varying_axes(x):\n        return params",
               "    if True:\n        return params"),),
             ("tests/test_parallel.py::test_data_parallel_step_equals_full_batch[shard_map_check_vma_True-2]",
              "tests/test_parallel.py::test_data_parallel_step_equals_full_batch[shard_map_check_vma_True-8]")),
    Mutation("eval_step multiplies by the example count instead of dividing",
             (("jaxdl/_step.py", 'masked_sum(fn(outputs, batch["y"]), batch.get("mask")) / count',
               'masked_sum(fn(outputs, batch["y"]), batch.get("mask")) * count'),),
             ("tests/test_step.py::test_eval_step_is_the_masked_mean_in_inference_mode",)),
    Mutation("read_idx no longer checks the data size against the header (NumPy's reshape error instead)",
             (("jaxdl/data/_idx.py", "    if actual != expected:", "    if False:"),),
             ("tests/test_fuzz.py::test_malformed_inputs_get_named_errors",)),
    Mutation("fit no longer checks its key (JAX's own error instead)",
             (("jaxdl/_fit.py", "    keys = as_key(key)\n", "    keys = jax.numpy.asarray(key)\n"),),
             ("tests/test_fuzz.py::test_malformed_inputs_get_named_errors",)),
    Mutation("a wrong entry in the activation table (leaky_relu is relu)",
             (("jaxdl/models/_components.py", '"leaky_relu": nn.leaky_relu,', '"leaky_relu": nn.relu,'),),
             ("tests/test_models.py::test_every_activation_builds[leaky_relu]",)),
    Mutation("the README's example asserts are deleted and the parameter count is off by one",
             (("README.md", "assert count == jaxdl.deep_param_count(8, 2) == 97", "pass"),
              ("jaxdl/_pytrees.py", "    return int(sum(np.prod(np.shape(leaf), dtype=np.int64)",
               "    return 1 + int(sum(np.prod(np.shape(leaf), dtype=np.int64)")),
             ("tests/test_readme.py::test_readme_python_examples_run",)),
    Mutation("the library reads a file with `from pickle import loads`",
             (("jaxdl/_checkpoint.py", "from __future__ import annotations\n",
               "from __future__ import annotations\n\nfrom pickle import loads  # noqa: F401\n"),),
             ("tests/test_checkpoint.py::test_nothing_loads_pickle",)),
)


def _copy_tree(dest: str) -> None:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    for rel in filter(None, listed):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))


def _apply(dest: str, edits) -> None:
    for path, old, new in edits:
        full = os.path.join(dest, path)
        with open(full) as f:
            text = f.read()
        if text.count(old) != 1:
            raise SystemExit(f"mutation text not found exactly once in {path}: {old!r}")
        with open(full, "w") as f:
            f.write(text.replace(old, new))


def _passes(dest: str, test: str) -> bool:
    # `python -m pytest` from the copy's root puts the copy's jaxdl first on sys.path.
    env = dict(os.environ, PYTHONPATH=dest, PYTHONDONTWRITEBYTECODE="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                         cwd=dest, env=env, capture_output=True, text=True)
    return run.returncode == 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="print the table and exit")
    args = p.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name}: {', '.join(m.tests)}")
        return 0
    with tempfile.TemporaryDirectory() as control:
        _copy_tree(control)
        broken = [t for m in MUTATIONS for t in m.tests if not _passes(control, t)]
    if broken:
        print("these tests fail without any mutation, so they cannot judge one:", *broken, sep="\n  ")
        return 2
    survived = 0
    for m in MUTATIONS:
        with tempfile.TemporaryDirectory() as dest:
            _copy_tree(dest)
            _apply(dest, m.edits)
            alive = [t for t in m.tests if _passes(dest, t)]
        survived += bool(alive)
        print(f"{'SURVIVED' if alive else 'KILLED  '} {m.name}"
              + (f" (still passing: {', '.join(alive)})" if alive else ""), flush=True)
    print(f"{len(MUTATIONS) - survived} of {len(MUTATIONS)} mutations killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

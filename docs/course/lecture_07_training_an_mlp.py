r"""
7. Training an MLP: the main job
================================

Training minimises the mean loss over the training set,
:math:`\hat\phi = \arg\min_\phi \frac{1}{I} \sum_i \ell(f(x_i; \phi), y_i)`, by stochastic
gradient steps on mini-batches. jaxdl's engine is one pure function,
``train_step(state, batch, rng) -> (state, metrics)``, jit-compiled with the state donated;
``fit`` loops it over epochs with evaluation, checkpoints and exact resume, and
``train_seeds`` runs several seeds as one vmapped program. The main job trains the MNIST-1D
MLP 40-100-100-10 with Adam.

Full configuration: ``python experiments/train.py`` (5 seeds, 6,000 steps):
**67.24% +- 0.98%** test accuracy on a 2-core Intel Xeon (``benchmarks/REPORT.md`` §2);
published: **68%** (Greydanus 2020, MNIST-1D's MLP).
"""

# %%
# The lines of jaxdl
# ------------------
import optax

import jaxdl

data = jaxdl.data.mnist1d()
result = jaxdl.train_seeds(jaxdl.MLP(features=(100, 100, 10)), optax.adam(1e-2), data,
                           loss=jaxdl.softmax_cross_entropy, seeds=[0, 1], num_steps=300, batch_size=100,
                           metrics={"accuracy": jaxdl.accuracy}, progress=False)
print(f"test accuracy after 300 steps: {result['test_accuracy']:.3f} +- {result['test_accuracy_std']:.3f}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("train"))

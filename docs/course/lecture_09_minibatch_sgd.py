r"""
9. Mini-batch SGD and backpropagation
=====================================

An epoch is one pass over a shuffled training set in mini-batches; the loss of each step
is noisy, the loss per epoch smooth. The gradient of each step is computed by backpropagation:
the forward pass stores each layer's input, the backward pass multiplies the incoming gradient
by each layer's Jacobian, :math:`\partial L / \partial h_{k-1} = (\partial h_k / \partial
h_{k-1})^\top \partial L / \partial h_k`. ``jaxdl.analysis`` writes backpropagation out by hand
for an MLP and checks it against ``jax.grad`` and finite differences. The experiment trains
with several batch sizes and draws the loss per step and per epoch (code example 4).

Full configuration: ``python experiments/minibatch_sgd.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp

import jaxdl
from jaxdl.analysis import check_gradients

net = jaxdl.MLP(features=(8, 8, 1))
params = net.init(jax.random.key(0), jnp.ones((1, 3)))["params"]
x = jax.random.normal(jax.random.key(1), (16, 3))
check = check_gradients(lambda p, x: net.apply({"params": p}, x).sum(), params, x)
print("autodiff agrees with finite differences:", check.ok, f"(max error {check.max_error:.2e})")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("minibatch_sgd"))

r"""
8. Gradient descent and SGD
===========================

Gradient descent steps :math:`\phi \leftarrow \phi - \alpha \nabla_\phi L(\phi)` on the full
loss; stochastic gradient descent uses the gradient of a random mini-batch, an unbiased but
noisy estimate. The noise is not only a cost: on a loss with a poor, narrow minimum and a good,
wide one, SGD's noise can carry it out of the poor basin where full-batch gradient descent
settles (UDL §6.2). The experiment runs both from the same starts on a tilted double well.

Full configuration: ``python experiments/gd_vs_sgd.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp
import optax

from jaxdl.analysis import descend, double_well_offsets, tilted_double_well

offsets = double_well_offsets(key=jax.random.key(0), num_examples=200)
per_example = lambda theta, c: tilted_double_well(theta - c)  # noqa: E731
for batch_size in (200, 1):
    path = descend(per_example, jnp.array(-1.0), offsets, optax.sgd(0.05), key=jax.random.key(1),
                   batch_size=batch_size, num_steps=300)
    print(f"batch {batch_size:3d}: ends at theta = {float(path[-1]):+.2f}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("gd_vs_sgd"))

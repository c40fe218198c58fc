r"""
3. Shallow networks
===================

A shallow network with :math:`D` hidden ReLU units maps :math:`x \in \mathbb{R}` to

.. math:: y = \phi_0 + \sum_{d=1}^{D} \phi_d\, \mathrm{ReLU}(\theta_{d0} + \theta_{d1} x),

a piecewise-linear function with at most :math:`D + 1` linear regions: each unit adds one
joint where its pre-activation crosses zero. It has :math:`3D + 1` parameters for one input
and one output. The experiment draws the lectures' 1 -> 3 -> 1 network unit by unit: the three
pre-activations, the clipped units, their weighted sum (UDL §3, code example 1).

Full configuration: ``python experiments/shallow_net.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp

import jaxdl
from jaxdl.analysis import regions_along_line, shallow_param_count

net = jaxdl.ShallowNet(hidden=3, num_outputs=1)
params = net.init(jax.random.key(0), jnp.ones((1, 1)))["params"]
print("parameters:", jaxdl.param_count(params), "=", shallow_param_count(1, 3, 1))
regions = regions_along_line(params, [-3.0], [3.0])
print("linear regions on [-3, 3]:", regions.num_regions, "(at most 4)")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("shallow_net"))

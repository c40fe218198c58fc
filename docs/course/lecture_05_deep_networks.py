r"""
5. Deep networks and their linear regions
=========================================

Composing ReLU layers folds the input space: a deep network with :math:`K` hidden layers of
width :math:`D` can create up to :math:`(D + 1)^K` linear regions on a line, against
:math:`D + 1` for a shallow network with :math:`D` units, for only :math:`3D + 1 + (K - 1)D(D +
1)` parameters (one input, one output). On a 2D input a shallow network of :math:`D` units has
at most :math:`\sum_{j=0}^{2} \binom{D}{j}` regions (Zaslavsky's hyperplane arrangement).
``jaxdl.analysis`` counts regions exactly along a line (from the breakpoints) and on a grid,
with the known bounds beside them (Montufar et al. 2014; Serra et al. 2018). The experiment
counts the regions of random deep nets as the depth grows (the lectures' code example 2).

Full configuration: ``python experiments/deep_net_regions.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp

import jaxdl
from jaxdl.analysis import deep_param_count, deep_region_upper_bound, regions_along_line

for depth in (1, 2, 3):
    net = jaxdl.MLP(features=(8,) * depth + (1,))
    params = net.init(jax.random.key(depth), jnp.ones((1, 1)))["params"]
    count = regions_along_line(params, [-3.0], [3.0]).num_regions
    print(f"depth {depth}: {count} regions on [-3, 3] (bound {deep_region_upper_bound([8] * depth)}), "
          f"{jaxdl.param_count(params)} = {deep_param_count(8, depth)} parameters")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("deep_net_regions"))

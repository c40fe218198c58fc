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
from jaxdl.analysis import deep_param_count, deep_region_upper_bound, random_dense_layers, regions_along_line

for depth in (1, 2, 3):
    # He-normal weights and N(0, 0.5^2) biases (with Flax's zero biases every unit would switch at 0)
    layers = random_dense_layers([1] + [8] * depth + [1], seed=depth)
    count = regions_along_line(layers, [-3.0], [3.0]).num_regions
    print(f"depth {depth}: {count} regions on [-3, 3] (bound {deep_region_upper_bound([8] * depth)}), "
          f"{deep_param_count(8, depth)} parameters")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("deep_net_regions"))

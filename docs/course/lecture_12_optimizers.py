r"""
12. Momentum, AdaGrad, RMSProp and Adam
=======================================

Momentum averages past gradients, :math:`m \leftarrow \beta m + g`,
:math:`\phi \leftarrow \phi - \alpha m`; AdaGrad divides by the root of the summed squared
gradients, RMSProp by the root of their moving average; Adam (Kingma & Ba 2015) combines a
momentum average :math:`m_t` and a squared-gradient average :math:`v_t`, both bias-corrected:
:math:`\phi \leftarrow \phi - \alpha\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)`. jaxdl writes
each as an optax ``GradientTransformation`` from optax's ``scale_by_*`` blocks, tested equal to
optax's own. This page runs every optimizer on the Rosenbrock, Beale and Rastrigin functions,
each with its best learning rate from a log grid (one vmapped program per optimizer), and
draws the trajectories.

Full configuration: ``python benchmarks/test_functions.py`` (3,000 steps, 25 rates); the
optimizer benchmark suite is :doc:`../tutorials/optimizers`.
"""

# %%
# The lines of jaxdl
# ------------------
import jax.numpy as jnp

from jaxdl import optim
from jaxdl.analysis import rosenbrock, trajectory

start = jnp.array([-1.5, 2.0])
for name, tx in (("sgd", optim.sgd(1e-3)), ("momentum", optim.momentum(1e-3, 0.9)),
                 ("adagrad", optim.adagrad(0.5)), ("rmsprop", optim.rmsprop(1e-2)), ("adam", optim.adam(5e-2))):
    path = trajectory(tx, rosenbrock, start, 1000)
    print(f"{name:8s}: loss after 1,000 steps {float(rosenbrock(path[-1])):.2e}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import run_script

out = run_script("benchmarks/test_functions.py", "--quick")  # its output folder

r"""
10. Initialisation: Glorot and He
=================================

With weights drawn with variance :math:`\sigma^2`, a layer of fan-in :math:`D` multiplies
the variance of its pre-activations by :math:`D \sigma^2` (times 1/2 after a ReLU). Glorot and
Bengio (2010) choose :math:`\sigma^2 = 2 / (D_{in} + D_{out})`, He et al. (2015)
:math:`\sigma^2 = 2 / D_{in}` for ReLU, so activations and gradients keep their scale through
many layers. A constant initialisation fails differently: every unit of a layer computes the
same function and gets the same gradient, forever (the symmetry problem). The experiment
measures signal propagation through a 20-layer net under each scheme.

Full configuration: ``python experiments/initialisation.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp

import jaxdl
from jaxdl.analysis import signal_propagation

x = jax.random.normal(jax.random.key(0), (256, 32))
y = jax.random.randint(jax.random.key(1), (256,), 0, 10)
for init in ("glorot_uniform", "he_normal"):
    net = jaxdl.MLP(features=(32,) * 10 + (10,), kernel_init=init)
    params = net.init(jax.random.key(2), x)["params"]
    stats = signal_propagation(params, x, y, activation="relu", loss=jaxdl.softmax_cross_entropy)
    print(init, {k: float(jnp.asarray(v)[-1]) for k, v in stats.items()})

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("initialisation"))

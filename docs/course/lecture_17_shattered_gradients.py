r"""
17. Shattered gradients
=======================

Along a line of inputs, the gradient of a deep plain network's output with respect to its
input decorrelates with depth until it looks like white noise; a residual network's stays
correlated (Balduzzi et al. 2017; UDL §11.1.2). ``jaxdl.analysis.input_gradients`` and
``autocorrelation`` measure it; the correlation length is the first lag where the
autocorrelation falls below :math:`1/e`.

Full configuration: ``python experiments/shattered_gradients.py``: at 32 blocks the
correlation length is 8.2 +- 7.4 for the plain network and 32.4 +- 17.9 for the residual one
(``benchmarks/REPORT.md`` §13).
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp

import jaxdl
from jaxdl.analysis import autocorrelation, correlation_length, input_gradients

xs = jnp.linspace(-2, 2, 256)[:, None]
for skip in (False, True):
    net = jaxdl.ResidualMLP(width=64, depth=16, num_classes=1, skip=skip, bias_std=0.5)  # kinks spread out
    params = net.init(jax.random.key(0), xs[:1])
    g = input_gradients(lambda x: net.apply(params, x)[:, 0], xs)[:, 0]
    print(f"skip={skip}: correlation length {correlation_length(autocorrelation(g, max_lag=64))}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("shattered_gradients"))

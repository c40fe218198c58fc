r"""
16. Residual networks and batch norm
====================================

A residual block adds its input to its output, :math:`h_{k+1} = h_k + F(h_k)`, so the
gradient reaches early layers through the identity path and very deep networks stay trainable
(He et al. 2016). Batch norm (Ioffe & Szegedy 2015) standardises each unit over the batch and
learns a scale and offset. The experiment trains plain and residual MLPs of growing depth on
MNIST-1D (UDL ch. 11).

Full configuration: ``python experiments/residual_mlp.py``: test accuracy plain 0.612 / 0.504 /
0.356 at 1 / 4 / 16 blocks, residual 0.625 / 0.589 / 0.533 (``benchmarks/REPORT.md`` §13).
"""

# %%
# The lines of jaxdl
# ------------------
import jax

import jaxdl

x = jax.numpy.zeros((1, 40))
for skip in (True, False):
    net = jaxdl.ResidualMLP(width=64, depth=4, num_classes=10, skip=skip, batch_norm=True)
    variables = net.init(jax.random.key(0), x)
    print(f"skip={skip}: {jaxdl.param_count(variables['params'])} parameters, "
          f"collections {sorted(variables)}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("residual_mlp"))

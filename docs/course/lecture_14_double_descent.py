r"""
14. Double descent
==================

Past the interpolation threshold, where a model first fits its training set exactly, the
test error of wider models falls again: the classical U-curve is followed by a second descent
(Belkin et al. 2019; Nakkiran et al. 2020; UDL §8.4). Label noise makes the peak at the
threshold more visible. The experiment trains MNIST-1D MLPs of growing width on 1,000
examples, with and without noisy labels.

Full configuration: ``python experiments/double_descent.py``: without noise the test error
falls to 0.667 at width 12, rises to 0.710 at width 16 (1,098 parameters for 1,000 examples,
the first width with zero training error) and falls again to 0.561 at width 128
(``benchmarks/REPORT.md`` §13; UDL Fig. 8.10 shows a taller peak with noise).
"""

# %%
# The lines of jaxdl
# ------------------
import jax

import jaxdl

data = jaxdl.data.mnist1d()
noisy = jaxdl.data.with_label_noise(data, 0.15, key=jax.random.key(0))
changed = float((noisy.y_train != data.y_train).mean())
print(f"labels changed: {changed:.3f}")
for width in (4, 16, 64):
    count = jaxdl.param_count(jaxdl.MLP(features=(width, width, 10)).init(jax.random.key(0), data.x_train[:1]))
    print(f"width {width:3d}: {count} parameters")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("double_descent"))

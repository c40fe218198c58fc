r"""
4. Universal approximation
==========================

A shallow ReLU network can approximate any continuous function on a compact set as closely
as we like, given enough hidden units (Cybenko 1989; Hornik 1991; for ReLU, Leshno et al.
1993): with :math:`D` units it can interpolate :math:`D + 1` points of the target with a
piecewise-linear function, and the error of that interpolant falls as :math:`O(1/D^2)` for a
smooth 1D target. The experiment trains nets of width 1, 2, 4, ... on a continuous 1D target
and draws the fits and the error against the width.

Full configuration: ``python experiments/universal_approximation.py`` (widths up to 1,024).
"""

# %%
# The lines of jaxdl
# ------------------
import numpy as np

from jaxdl.analysis import fit_shallow, relu_interpolant

x = np.linspace(-1.0, 1.0, 200)[:, None]
y = np.sin(3 * x) + 0.5 * x**2
for width in (2, 8, 32):
    params, predict = fit_shallow(width, x, y, steps=500, learning_rate=0.02)
    print(f"width {width:3d}: mean squared error {float(np.mean((predict(x) - y) ** 2)):.4f}")
layers = relu_interpolant(np.linspace(-1, 1, 9), np.sin(3 * np.linspace(-1, 1, 9)))
print("the ReLU interpolant of 9 knots: a shallow net of", layers[0][0].shape[-1], "units")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("universal_approximation"))

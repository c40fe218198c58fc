r"""
13. Measuring performance: bias and variance
============================================

The expected test error of a model fitted to a random training set splits into three
terms (UDL §8.2): :math:`\mathbb{E}[(f(x; \hat\phi) - y)^2] = \underbrace{(\mathbb{E}[f] -
\mu(x))^2}_{\text{bias}^2} + \underbrace{\mathrm{Var}[f]}_{\text{variance}} +
\underbrace{\sigma^2}_{\text{noise}}`. More capacity lowers the bias and raises the variance.
The experiment fits ReLU hinge models of growing capacity to many training sets from one
generator and splits the error.

Full configuration: ``python experiments/bias_variance.py`` (500 sets of 15 points): bias^2
falls from 0.200 (1 hinge) to 0.017 (3), the variance rises from 0.051 to 0.118 (3) and 0.59
(5), and the expected test error is lowest at 3 hinges (``benchmarks/REPORT.md`` §13).
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp

from jaxdl.analysis import bias_variance, hinge_regression

x_test = jnp.linspace(0, 1, 50)
truth = jnp.sin(2 * jnp.pi * x_test)
keys = jax.random.split(jax.random.key(0), 200)
def fit_one(key, hinges):
    x = jax.random.uniform(key, (15,))
    y = jnp.sin(2 * jnp.pi * x) + 0.3 * jax.random.normal(jax.random.fold_in(key, 1), (15,))
    return hinge_regression(x, y, x_test, hinges)
for hinges in (1, 3, 6):
    split = bias_variance(jax.vmap(lambda k: fit_one(k, hinges))(keys), truth, 0.3)
    print(f"{hinges} hinges: bias^2 {float(split.bias2):.3f}, variance {float(split.variance):.3f}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("bias_variance"))

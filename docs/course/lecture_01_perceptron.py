"""
1. Linear models and the perceptron
===================================

A linear model scores an input :math:`x \\in \\mathbb{R}^D` with :math:`w^\\top x + b`. Linear
regression fits it by least squares, the maximum-likelihood solution under Gaussian noise,
:math:`[w; b] = (A^\\top A)^{-1} A^\\top y` with :math:`A = [X\\;\\mathbf{1}]`
(``jaxdl.least_squares``), which gradient descent on the squared error reaches too.
Rosenblatt's perceptron predicts :math:`\\hat y = H(w^\\top x + b)` (the Heaviside step) and,
after each mistake, moves the weights towards the example: :math:`w \\leftarrow w + (y -
\\hat y)\\, x`. That is gradient descent with step 1 on the surrogate loss
:math:`L(s) = \\mathrm{sg}(H(s) - y)\\, s` of the score :math:`s` (``jaxdl.perceptron_loss``;
sg stops the gradient), which is :math:`|s|` on a mistake and 0 otherwise, and it converges
whenever the classes are linearly separable (Novikoff 1962). The experiment trains it on the McCulloch-Pitts truth table of the
LxMLS slides (AND, OR; XOR is not separable and never converges).

Full configuration: ``python experiments/perceptron.py`` (it is small enough to be the quick
one too).
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp
import optax

import jaxdl

# Linear regression: the closed form, as LinearRegression's parameters.
xs = jax.random.normal(jax.random.key(1), (100, 1))
ys = 3.0 * xs + 1.0 + 0.1 * jax.random.normal(jax.random.key(2), (100, 1))
fit = jaxdl.least_squares(xs, ys)["params"]["linear"]
print("slope", float(fit["kernel"][0, 0]), "intercept", float(fit["bias"][0]))

# The perceptron on AND.
x = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = jnp.array([0.0, 0.0, 0.0, 1.0])  # AND
model = jaxdl.Perceptron()
params = model.init(jax.random.key(0), x)["params"]
loss = lambda p: jaxdl.perceptron_loss(model.apply({"params": p}, x)[:, 0], y).mean()  # noqa: E731
opt = optax.sgd(1.0)
opt_state = opt.init(params)
for _ in range(20):
    updates, opt_state = opt.update(jax.grad(loss)(params), opt_state)
    params = optax.apply_updates(params, updates)
print("predictions:", jaxdl.heaviside(model.apply({"params": params}, x)[:, 0]))

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("perceptron"))

r"""
20. Adversarial examples
========================

A small perturbation :math:`\delta` with :math:`\|\delta\|_\infty \le \epsilon`, chosen to
increase the loss, changes a network's answer. FGSM takes one step,
:math:`x + \epsilon\, \mathrm{sign}(\nabla_x L)` (Goodfellow et al. 2015); PGD takes many
projected steps from a random start (Madry et al. 2018), and adversarial training minimises the
loss at PGD's maximum. The experiment trains a CNN, draws robust accuracy against
:math:`\epsilon`, then trains it adversarially.

Full configuration: ``python experiments/adversarial.py --data-dir DIR``
(``benchmarks/REPORT.md`` §11: our adversarially trained LeNet-5 keeps 72.3% against PGD-40 at
eps 0.3; Madry et al.'s 3.3M-parameter network on the MNIST challenge 89.6% with 50 restarts).
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import optax

import jaxdl

data = jaxdl.data.moons(key=jax.random.key(0)).standardized()
model = jaxdl.MLP(features=(32, 32, 2))
state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(1), input_shape=data.input_shape)
state = jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=jax.random.key(2),
                  num_steps=300, batch_size=64, progress=False).state
logits_fn = lambda x: state.apply_fn({"params": state.params}, x)  # noqa: E731
curve = jaxdl.robust_accuracy(logits_fn, data.x_test, data.y_test, eps=[0.0, 0.1, 0.2, 0.4], attack="pgd",
                              steps=20, clip=None, key=jax.random.key(3))
print("robust accuracy at eps 0, 0.1, 0.2, 0.4:", [round(float(a), 3) for a in curve])

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("adversarial"))

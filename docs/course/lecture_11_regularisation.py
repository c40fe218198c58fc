r"""
11. Regularisation: L2, L1 and dropout
======================================

Regularisation adds a preference to the loss: L2 (weight decay) adds
:math:`\lambda \sum_j \phi_j^2`, the log of a Gaussian prior; L1 adds
:math:`\lambda \sum_j |\phi_j|`, a Laplace prior that drives weights to exactly zero. Dropout
(Srivastava et al. 2014) zeroes each hidden unit with probability :math:`p` during training and
scales the survivors by :math:`1/(1 - p)` (inverted dropout), so the test-time network needs no
rescaling. The experiment trains the MNIST-1D baseline MLP with none, L2, L1 and dropout.

Full configuration: ``python experiments/regularisation.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import optax

import jaxdl

data = jaxdl.data.mnist1d()
for name, penalty in (("none", None), ("L2", lambda p: 1e-4 * jaxdl.l2_penalty(p)),
                      ("L1", lambda p: 1e-5 * jaxdl.l1_penalty(p))):
    state = jaxdl.create_train_state(jaxdl.MLP(features=(100, 100, 10)), optax.adam(1e-2), key=jax.random.key(0),
                                     input_shape=data.input_shape)
    step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy, regularizer=penalty)
    result = jaxdl.fit(state, data, step, key=jax.random.key(1), num_steps=300, batch_size=100, progress=False)
    print(f"{name:4s}: near-zero weights {float(jaxdl.near_zero_fraction(result.state.params)):.3f}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("regularisation"))

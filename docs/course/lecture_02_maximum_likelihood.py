r"""
2. Losses from maximum likelihood
=================================

A loss is the negative log-likelihood of the data under the distribution the network
predicts. For a binary label the network outputs :math:`\lambda = \sigma(f(x))`, the
Bernoulli likelihood is :math:`\lambda^{y}(1 - \lambda)^{1 - y}`, and its negative logarithm is
the binary cross-entropy

.. math:: L = -y \log \sigma(f(x)) - (1 - y) \log(1 - \sigma(f(x))).

A normal likelihood gives the squared error, a categorical one the softmax cross-entropy, a
Poisson one the Poisson loss: ``jaxdl.analysis.RECIPES`` derives each and checks it against
the loss of the same name. The experiment fits a 1D toy set with the binary cross-entropy and
draws the predicted probability over the data (UDL §5, the lectures' code example 3).

Full configuration: ``python experiments/binary_cross_entropy.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import optax

import jaxdl
from jaxdl.analysis import RECIPES

print("recipes:", sorted(RECIPES))
data = jaxdl.data.binary_1d(key=jax.random.key(0))
model = jaxdl.MLP(features=(16, 16, 1))
state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(1),
                                 input_shape=data.input_shape)
step = jaxdl.make_train_step(jaxdl.binary_cross_entropy)
result = jaxdl.fit(state, data, step, key=jax.random.key(2), num_steps=300, batch_size=50, progress=False)
probability = jax.nn.sigmoid(jaxdl.predict(result.state, data.x_test)[:, 0])
print("mean predicted probability of class 1:", float(probability.mean()))

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("binary_cross_entropy"))

r"""
6. Decision boundaries: more layers, more cuts
==============================================

A classifier's decision boundary is where two logits are equal. A ReLU network's boundary is
piecewise linear, made of pieces of the linear regions above; more layers give more pieces
for the same parameter budget, so deeper networks can carve spirals that a shallow one of the
same size cannot. The experiment trains nets of growing depth on the TensorFlow-Playground
sets (moons, circles, spirals, XOR) and draws their boundaries.

Full configuration: ``python experiments/decision_boundaries.py``.
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import optax

import jaxdl

data = jaxdl.data.spirals(key=jax.random.key(0)).standardized()
for features in ((16, 2), (16, 16, 16, 2)):
    state = jaxdl.create_train_state(jaxdl.MLP(features=features), optax.adam(1e-2), key=jax.random.key(1),
                                     input_shape=data.input_shape)
    step = jaxdl.make_train_step(jaxdl.softmax_cross_entropy)
    result = jaxdl.fit(state, data, step, key=jax.random.key(2), num_steps=500, batch_size=64, progress=False)
    accuracy = (jaxdl.predict(result.state, data.x_test).argmax(-1) == data.y_test).mean()
    print(f"MLP {features}: test accuracy {float(accuracy):.3f}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("decision_boundaries"))

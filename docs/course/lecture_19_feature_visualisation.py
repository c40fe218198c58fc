r"""
19. Feature visualisation and attribution
=========================================

What has a trained network learned? Attribution asks which pixels an answer depends on:
the saliency map :math:`|\partial s / \partial x|` (Simonyan et al. 2014), SmoothGrad's average
over noisy copies, Integrated Gradients' path integral from a baseline, which sums to the score
difference (Sundararajan et al. 2017), Grad-CAM's class map on the last convolution.
Feature visualisation optimises an input to maximise a unit or class score, regularised to stay
natural (Olah et al. 2017). The experiment trains a CNN and draws all of them.

Full configuration: ``python experiments/feature_visualisation.py --data-dir DIR``
(``benchmarks/REPORT.md`` §12).
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import jax.numpy as jnp
import optax

import jaxdl
from jaxdl.analysis import class_score

data = jaxdl.data.moons(key=jax.random.key(0)).standardized()
model = jaxdl.MLP(features=(32, 32, 2))
state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(1), input_shape=data.input_shape)
state = jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=jax.random.key(2),
                  num_steps=300, batch_size=64, progress=False).state
logits_fn = lambda x: state.apply_fn({"params": state.params}, x)  # noqa: E731
score = class_score(logits_fn, data.y_test)
ig = jaxdl.integrated_gradients(score, data.x_test, steps=128)
gap = score(data.x_test) - score(0 * data.x_test)
print("completeness, max |sum(ig) - gap|:", float(jnp.abs(ig.sum(1) - gap).max()))

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("feature_visualisation"))

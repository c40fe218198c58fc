r"""
18. Loss landscapes and curvature
=================================

A loss surface has as many dimensions as the network has parameters; Li et al. (2018) look
at a 2D slice :math:`L(\phi^* + a\, d_1 + b\, d_2)` through the trained parameters along two
random directions, each filter normalised to the norm of the trained filter so that
differently scaled networks compare. Curvature comes from Hessian-vector products: the top
eigenvalues by Lanczos, the trace by Hutchinson's estimator (PyHessian, Yao et al. 2020).
The experiment compares a ResNet with and without skip connections, and sharp against flat
minima.

Full configuration: ``python experiments/loss_landscape.py`` (``benchmarks/REPORT.md`` §10:
without skips the minimum is the sharper one and its surface has side basins; Li et al. see
that only from about 56 layers on CIFAR-10).
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
loss_fn = jaxdl.dataset_loss(model, jaxdl.softmax_cross_entropy, data.x_train, data.y_train)
d1, d2 = (jaxdl.random_direction(jax.random.key(k), state.params) for k in (3, 4))
axis = jax.numpy.linspace(-1.0, 1.0, 11)
grid = jax.numpy.stack(jax.numpy.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
surface = jaxdl.loss_surface(loss_fn, state.params, (d1, d2), grid)
top = jaxdl.hessian_eigenvalues(loss_fn, state.params, k=2, key=jax.random.key(5))
print(f"loss at the minimum {float(surface[60]):.3f}, at a corner {float(surface[0]):.3f}; "
      f"top Hessian eigenvalues {[round(float(v), 3) for v in top]}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("loss_landscape"))
